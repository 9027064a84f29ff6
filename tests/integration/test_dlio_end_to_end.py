"""DLIO workloads from the project's own copies, translated by dlio2fio (scaled down
with Hydra overrides) and run by fio through the engine: the translator and the
engine agree on the job file contract, and the phases produce DLIO's files."""
import json
import os
import subprocess

import pytest

import fiorun
from fiorun import check_result

REPO = fiorun.REPO
DLIO2FIO = os.path.join(fiorun.BUILD, "dlio2fio")

SMALL = ["++workload.train.epochs=1", "++workload.train.computation_time=0.001",
         "++workload.workflow.generate_data=True"]

CASES = {
    # PyTorch + npz, the MLPerf U-Net3D setup
    "unet3d_h100": ["++workload.dataset.num_files_train=8",
                    "++workload.dataset.record_length_bytes=65536",
                    "++workload.dataset.record_length_bytes_stdev=8192",
                    "++workload.reader.batch_size=2"],
    # TensorFlow + tfrecord, streamed
    "resnet50_h100": ["++workload.dataset.num_files_train=4",
                      "++workload.dataset.num_samples_per_file=20",
                      "++workload.dataset.record_length_bytes=4096",
                      "++workload.reader.batch_size=8"],
}


def translate(workdir, name, extra, ranks=1):
    job = os.path.join(workdir, name + ".fio")
    args = [DLIO2FIO, "--ranks", str(ranks), "--config-dir", os.path.join(REPO, "jobfiles"),
            "workload=" + name, "--data-folder", "file://" + os.path.join(workdir, "data"),
            "--checkpoint-folder", "file://" + os.path.join(workdir, "ckpt"),
            "--output", os.path.join(workdir, "out"), "-o", job] + extra
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return job


def run_job(workdir, job):
    env = dict(fiorun.fio_env(), FIODLIO_ENGINE=fiorun.ENGINE)
    p = subprocess.run([fiorun.FIO, "--output-format=json", job], capture_output=True,
                       text=True, env=env, cwd=workdir, timeout=600)
    data = check_result(p.returncode, p.stdout, p.stderr)
    return data, p.stdout


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("ranks", [1, 2])
def test_generate_then_train(workdir, name, ranks):
    job = translate(workdir, name, SMALL + CASES[name], ranks)
    data, out = run_job(workdir, job)
    phases = {j["jobname"] for j in data["jobs"]}
    assert {"generate", "train"} <= phases, phases
    gen = sum(j["write"]["io_bytes"] for j in data["jobs"] if j["jobname"] == "generate")
    train = sum(j["read"]["io_bytes"] for j in data["jobs"] if j["jobname"] == "train")
    files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(workdir, "data", "train"))
             for f in fs]
    assert files and gen >= sum(os.path.getsize(f) for f in files)
    assert train > 0
    summary = json.load(open(os.path.join(workdir, "out", "summary.json")))
    assert summary["num_accelerators"] == ranks
    assert "[METRIC] Training Accelerator Utilization" in out


def test_checkpoint_workload(workdir):
    # MLPerf's llama3 8b checkpointing, with a tiny transformer
    job = translate(workdir, "mlperf_llama3_8b",
                    ["++workload.model.num_layers=2",
                     "++workload.model.transformer.hidden_size=128",
                     "++workload.model.transformer.ffn_hidden_size=256",
                     "++workload.model.transformer.vocab_size=512",
                     "++workload.checkpoint.num_checkpoints_write=1",
                     "++workload.checkpoint.num_checkpoints_read=1",
                     "++workload.checkpoint.time_between_checkpoints=0.01"], ranks=8)
    data, out = run_job(workdir, job)
    written = sum(j["write"]["io_bytes"] for j in data["jobs"])
    read = sum(j["read"]["io_bytes"] for j in data["jobs"])
    on_disk = sum(os.path.getsize(os.path.join(d, f))
                  for d, _, fs in os.walk(os.path.join(workdir, "ckpt")) for f in fs)
    assert written == on_disk > 0
    # torch.load reads each file once, plus its last 4096 bytes and central directory again
    nfiles = sum(len(fs) for _, _, fs in os.walk(os.path.join(workdir, "ckpt")))
    assert on_disk < read < on_disk + nfiles * 8192
    assert out.count("save_checkpoint: 1 checkpoints") == 8
