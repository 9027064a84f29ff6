"""Every shipped job file, scaled down, run to the end on file://, s3:// and az://.

For each workload of jobfiles/workloads.list the job file is translated again with the
arguments scripts/make-jobfiles gives dlio2fio, plus --scale-down (few small files, 2 epochs,
1 ms compute, a tiny model), the backend's data and checkpoint folders and at most
MAX_RANKS ranks; fio runs every job it holds, and DLIO's metrics must come out."""
import json
import os
import re
import shlex
import subprocess
import uuid

import pytest

import fiorun
from azurite import ACCOUNT, azurite  # noqa: F401 (the session's Azurite)
from fiorun import check_result
from test_s3 import gateway  # noqa: F401 (the session's RADOS Gateway)

REPO = fiorun.REPO
JOBFILES = os.path.join(REPO, "jobfiles")
DLIO2FIO = os.path.join(fiorun.BUILD, "dlio2fio")
# fio forks one process per rank: the 256 to 1024 ranks of the largest checkpoint workloads
# run as 4, with tensor x pipeline parallelism shrunk by --scale-down to divide them.
MAX_RANKS = 4


def shipped():
    """(name, ranks, extra dlio2fio arguments) as scripts/make-jobfiles reads them."""
    out = []
    with open(os.path.join(JOBFILES, "workloads.list")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, ranks, *extra = line.split()
            out.append((name, int(ranks), extra))
    return out


WORKLOADS = {w[0]: w for w in shipped()}


def phases(text):
    """The DLIO phases a job file holds, in order."""
    return re.findall(r"^dlio_phase=(\w+)$", text, re.M)


def dlio_config(text):
    return re.search(r"^dlio_config=(.*)$", text, re.M).group(1)


@pytest.fixture(scope="module")
def s3_bucket(gateway):  # noqa: F811
    name = "jobs-" + uuid.uuid4().hex[:12]
    fiorun.run(["--uri=s3://%s/" % name, "--filename=.keep", "--s3_create_bucket=1",
                "--rw=write", "--bs=1", "--size=1"])
    yield name
    gateway.purge(name)  # about 80 MB: the gateway keeps its data in RAM


@pytest.fixture(scope="module")
def az_container(azurite):  # noqa: F811
    name = "jobs" + uuid.uuid4().hex[:12]
    fiorun.run(["--uri=az://%s/%s/" % (ACCOUNT, name), "--filename=.keep",
                "--az_create_container=1", "--rw=write", "--bs=1", "--size=1"])
    return name


@pytest.fixture(params=["file", "s3", "az"])
def backend(request, workdir):
    """(data folder, checkpoint folder) URIs on the backend, fresh for the test."""
    if request.param == "file":
        return ("file://" + os.path.join(workdir, "data"),
                "file://" + os.path.join(workdir, "ckpt"))
    tag = os.path.basename(workdir)
    if request.param == "s3":
        root = "s3://%s/%s" % (request.getfixturevalue("s3_bucket"), tag)
    else:
        root = "az://%s/%s/%s" % (ACCOUNT, request.getfixturevalue("az_container"), tag)
    return root + "/data", root + "/ckpt"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_jobfile_scaled_down(workdir, backend, name):
    _, ranks, extra = WORKLOADS[name]
    with open(os.path.join(JOBFILES, name + ".fio")) as f:
        want = phases(f.read())
    assert want, "jobfiles/%s.fio holds no DLIO phase" % name
    run_ranks = min(ranks, MAX_RANKS)
    if run_ranks != ranks:
        print("%s: %d ranks run as %d (fio forks one process per rank)"
              % (name, ranks, run_ranks))
    overrides = []
    if "train" in want and "generate" not in want:
        # the workload reads a dataset made beforehand: generate it first, in the same file
        overrides.append("++workload.workflow.generate_data=True")
        want = ["generate"] + want
    job = os.path.join(workdir, name + ".fio")
    out_dir = os.path.join(workdir, "output")
    data, ckpt = backend
    # what scripts/make-jobfiles runs, then the scaling
    args = ([DLIO2FIO, "--ranks", str(ranks)] + extra +
            ["--engine", "${FIODLIO_ENGINE}", "--config-dir", JOBFILES, "workload=" + name] +
            ["--ranks", str(run_ranks), "--scale-down", "--data-folder", data,
             "--checkpoint-folder", ckpt, "--output", out_dir, "-o", job] + overrides)
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, "%s\n%s" % (shlex.join(args), p.stderr)
    with open(job) as f:
        text = f.read()
    assert phases(text) == want, text
    assert "; scaled down (--scale-down):" in text
    cfg = dlio_config(text)
    header = re.search(r"^; phases:(.*)$", text, re.M).group(1)

    env = dict(fiorun.fio_env(), FIODLIO_ENGINE=fiorun.ENGINE)
    p = subprocess.run([fiorun.FIO, "--output-format=json", job], capture_output=True,
                       text=True, env=env, cwd=workdir, timeout=300)
    res = check_result(p.returncode, p.stdout, p.stderr)
    out = p.stdout
    jobs = res["jobs"]
    assert [j["jobname"] for j in jobs] == [ph for ph in want for _ in range(run_ranks)]

    def moved(phase, ddir):
        return sum(j[ddir]["io_bytes"] for j in jobs if j["jobname"] == phase)

    if "generate" in want:
        assert moved("generate", "write") > 0
        assert len(re.findall(r"generate: rank \d+ of %d generated [1-9]" % run_ranks,
                              out)) >= 1, out[-3000:]
    if "train" in want:
        if "mmap_indexed_binary" not in cfg:  # DLIO maps it and reads nothing
            assert moved("train", "read") > 0
        assert "[METRIC] Training Accelerator Utilization [AU]" in out, out[-3000:]
        assert "[METRIC] Training Throughput (samples/second)" in out
        with open(os.path.join(out_dir, "summary.json")) as f:
            summary = json.load(f)
        assert summary["num_accelerators"] == run_ranks
        assert len(summary["metric"]["train_au_percentage"]) == summary["epochs"] >= 1
        assert all(t > 0 for t in summary["metric"]["train_throughput_samples_per_second"]), (summary, out[-6000:])
        if "(+ evaluation)" in header:
            assert summary["metric"]["eval_au_percentage"], summary
        if "(+ checkpoints during training)" in header:
            assert moved("train", "write") > 0
            saved = re.findall(r"train: rank \d+ saved checkpoint 1 during training", out)
            assert len(saved) == run_ranks, out[-3000:]
    if "checkpoint" in want:
        assert moved("checkpoint", "write") > 0 and moved("checkpoint", "read") > 0
        for what in ("save", "load"):
            n = len(re.findall(r"\[METRIC\] rank \d+ %s_checkpoint: [1-9]" % what, out))
            assert n == run_ranks, out[-3000:]
