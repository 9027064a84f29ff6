"""dlio2fio end to end: the committed job files are what the translator writes now, bad
input is refused with exit code 2 and leaves no file, --hosts splits ranks, --explain
states the derived numbers, and fio parses what we write."""
import os
import re
import subprocess

import pytest

import fiorun

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D2F = os.path.join(fiorun.BUILD, "dlio2fio")
WL = os.path.join(REPO, "jobfiles", "workload")


def d2f(*args, cwd=REPO):
    return subprocess.run([D2F, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_committed_jobfiles_match_the_translator():
    r = subprocess.run([os.path.join(REPO, "scripts", "make-jobfiles"), D2F, "--check"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_every_listed_workload_has_a_yaml_and_a_jobfile():
    names = [l.split()[0] for l in open(os.path.join(REPO, "jobfiles", "workloads.list"))
             if l.strip() and not l.startswith("#")]
    assert len(names) >= 39
    for n in names:
        assert os.path.exists(os.path.join(WL, n + ".yaml")), n
        assert os.path.exists(os.path.join(REPO, "jobfiles", n + ".fio")), n


BAD = {
    "malformed.yaml": "dataset: {num_files_train: 3\n",
    "wrongtype.yaml": "dataset:\n  num_files_train: lots\n",
    "negative.yaml": "reader: {data_loader: pytorch, batch_size: -4}\ndataset: {format: npz}\n",
    "zerobatch.yaml": "reader: {data_loader: pytorch, batch_size: 0}\nframework: pytorch\n"
                      "dataset: {format: npz}\n",
    "billion.yaml": "framework: pytorch\nreader: {data_loader: pytorch}\n"
                    "dataset: {format: npz, num_files_train: 1000000000}\n",
    "overflow.yaml": "framework: pytorch\nreader: {data_loader: pytorch}\n"
                     "dataset: {format: npz, num_samples_per_file: 9223372036854775807,"
                     " num_files_train: 4}\n",
    "hugerecord.yaml": "framework: pytorch\nreader: {data_loader: pytorch}\n"
                       "dataset: {format: npz, record_length_bytes: 1e30}\n",
    "int64.yaml": "dataset: {num_files_train: 99999999999999999999}\n",
    "noloader.yaml": "dataset: {format: npz}\n",
    "nothing.yaml": "workflow: {train: false}\n",
    "toosteps.yaml": "framework: pytorch\nreader: {data_loader: pytorch}\n"
                     "dataset: {format: npz}\ntrain: {total_training_steps: 100}\n",
    "notyaml.yaml": "\t- [\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_and_writes_nothing(workdir, name):
    src = os.path.join(workdir, name)
    with open(src, "w") as f:
        f.write(BAD[name])
    out = os.path.join(workdir, name + ".fio")
    r = d2f("-o", out, src)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("dlio2fio: ") and r.stderr.strip(), r.stderr
    assert not os.path.exists(out)
    assert not [f for f in os.listdir(workdir) if f.startswith(name + ".fio")]


@pytest.mark.parametrize("args", [
    ["--ranks", "0", "jobfiles/workload/default.yaml"],
    ["--ranks", "-3", "jobfiles/workload/default.yaml"],
    ["--ranks", "99999999999999999999", "jobfiles/workload/default.yaml"],
    ["--ranks", "3", "jobfiles/workload/llama_70b.yaml"],            # not a multiple of 32
    ["jobfiles/workload/llama_1t.yaml"],                             # DLIO fails on it too
    ["jobfiles/workload/nonexistent.yaml"],
    ["workload=default"],                                            # no --config-dir
    ["--config-dir", "jobfiles", "workload=../x"],
    ["--hosts", "a,b,c", "--ranks", "2", "-o", "x", "jobfiles/workload/default.yaml"],
    ["--hosts", "a,a", "--ranks", "2", "-o", "x", "jobfiles/workload/default.yaml"],
    ["--hosts", "a,b", "jobfiles/workload/default.yaml"],            # no -o for many files
    ["--data-folder", "ftp://x/y", "jobfiles/workload/default.yaml"],
    ["--flavor", "v3", "jobfiles/workload/default.yaml"],
    ["jobfiles/workload/default.yaml", "workload.dataset.nonexistent=3"],
    ["jobfiles/workload/default.yaml", "++workload.reader.batch_size=[1,2]"],
    [],
])
def test_bad_usage_exits_2(args):
    r = d2f(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stdout == ""


def test_atomic_write_replaces_only_on_success(workdir):
    out = os.path.join(workdir, "keep.fio")
    with open(out, "w") as f:
        f.write("old\n")
    r = d2f("-o", out, "jobfiles/workload/default.yaml", "++workload.reader.batch_size=0")
    assert r.returncode == 2
    assert open(out).read() == "old\n"
    r = d2f("-o", out, "jobfiles/workload/default.yaml")
    assert r.returncode == 0, r.stderr
    assert open(out).read().startswith("; fio job file for the DLIO workload")
    assert oct(os.stat(out).st_mode & 0o777) == "0o644"


def global_opts(text):
    opts, sect = {}, None
    for line in text.splitlines():
        if line.startswith("["):
            sect = line.strip("[]")
        elif sect == "global" and "=" in line and not line.startswith(";"):
            k, v = line.split("=", 1)
            opts[k] = v
    return opts


def test_overrides_reach_dlio_config_and_comments():
    r = d2f("--ranks", "8", "jobfiles/workload/unet3d_a100.yaml",
            "++workload.dataset.num_files_train=56", "++workload.reader.read_threads=2")
    assert r.returncode == 0, r.stderr
    g = global_opts(r.stdout)
    assert "num_files_train: 56" in g["dlio_config"]
    assert "read_threads: 2" in g["dlio_config"]
    assert g["dlio_ranks"] == "8" and g["numjobs"] == "8" and g["dlio_rank_base"] == "0"
    # by default the engine built beside this dlio2fio
    assert g["ioengine"] == "external:" + os.path.realpath(fiorun.ENGINE)
    assert g["uri"] == "file://${PWD}/data/unet3d"
    assert g["dlio_checkpoint_uri"] == "file://${PWD}/checkpoints/unet3d"
    assert "; overrides: ++workload.dataset.num_files_train=56" in r.stdout
    # floor(56 / 7 / 8) = 1 step
    assert "steps per epoch: 1 (batch 7" in r.stdout
    assert re.search(r"^\[train\]\ndlio_phase=train$", r.stdout, re.M)


def test_hosts_split_ranks(workdir):
    r = d2f("--ranks", "8", "--hosts", "h1,h2,h3", "-o", os.path.join(workdir, "%h.job"),
            "--engine", "/opt/fio-dlio.so", "--data-folder", "s3://bucket/unet",
            "--checkpoint-folder", "file:///ckpt", "jobfiles/workload/unet3d_a100.yaml")
    assert r.returncode == 0, r.stderr
    bases = []
    for h in ("h1", "h2", "h3"):
        text = open(os.path.join(workdir, h + ".job")).read()
        g = global_opts(text)
        assert "barrier" in text and "host " + h in text
        assert g["uri"] == "s3://bucket/unet" and g["dlio_checkpoint_uri"] == "file:///ckpt"
        assert g["ioengine"] == "external:/opt/fio-dlio.so"
        bases.append((int(g["dlio_rank_base"]), int(g["numjobs"])))
    assert bases == [(0, 2), (2, 3), (5, 3)]
    os.makedirs(os.path.join(workdir, "hostdir"), exist_ok=True)
    r = d2f("--ranks", "2", "--hosts", "a,b", "-o", os.path.join(workdir, "hostdir"),
            "jobfiles/workload/default.yaml")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(os.path.join(workdir, "hostdir"))) == ["a.fio", "b.fio"]


def test_explain_numbers():
    r = d2f("--explain", "--ranks", "8", "--config-dir", "jobfiles", "workload=unet3d_a100")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "steps per epoch: 3 (batch 7, 5 epochs)" in out
    assert "25,286,065,583 train" in out                      # exact, WORKLOADS.md
    assert "46,889,148 .. 301,602,477 bytes" in out
    assert "checkpoint bytes per rank: rank 0 10,240" in out
    assert "quirk model_size_not_read" in out and "quirk file_shuffle_string" in out
    assert "warning:" in out and "model.model_size" in out
    r = d2f("--explain", "--ranks", "8", "jobfiles/workload/llama_8b_zero3.yaml")
    assert r.returncode == 0, r.stderr
    # SPEC 9.3 / WORKLOADS.md: llama3-8b at 8 ranks is 16 files, 112,425,623,552 B
    assert "all ranks: 112,425,623,552 bytes" in r.stdout
    r = d2f("--explain", "--config-dir", "jobfiles", "workload=cosmoflow_a100",
            "--flavor", "head")
    assert "1,480,653,885,908 train" in r.stdout               # exact HEAD total, all files


def test_data_folder_paths():
    r = d2f("jobfiles/workload/default.yaml", "++workload.storage.storage_root=/mnt/x/",
            "++workload.dataset.data_folder=./a//b/")
    assert global_opts(r.stdout)["uri"] == "file:///mnt/x/a/b"
    r = d2f("jobfiles/workload/default.yaml", "++workload.dataset.data_folder=/abs/d")
    assert global_opts(r.stdout)["uri"] == "file:///abs/d"
    r = d2f("jobfiles/workload/default.yaml", "++workload.dataset.data_folder='x;y'")
    assert r.returncode == 2


def engine_has_dlio():
    if not os.path.exists(fiorun.ENGINE):
        return False
    r = subprocess.run([fiorun.FIO, "--enghelp=" + fiorun.ENGINE], env=fiorun.fio_env(), capture_output=True,
                       text=True, timeout=60)
    return "dlio_config" in r.stdout


def test_fio_parses_every_jobfile(workdir):
    """fio --parse-only accepts every committed job file. Until the engine has its DLIO
    options, the dlio_* lines are left out and the rest must parse (the engine's uri= and
    fio's own options, with the engine loaded)."""
    if not os.path.exists(fiorun.ENGINE):
        pytest.fail("engine not built: " + fiorun.ENGINE)
    full = engine_has_dlio()
    env = dict(fiorun.fio_env(), FIODLIO_ENGINE=fiorun.ENGINE, PWD=workdir)
    jobdir = os.path.join(REPO, "jobfiles")
    for name in sorted(os.listdir(jobdir)):
        if not name.endswith(".fio") or name == "local-demo.fio":
            continue
        path = os.path.join(jobdir, name)
        if not full:
            text = "".join(l for l in open(path) if not l.startswith("dlio_"))
            path = os.path.join(workdir, name)
            with open(path, "w") as f:
                f.write(text)
        r = subprocess.run([fiorun.FIO, "--parse-only", path], env=env, cwd=workdir,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (name, r.stdout, r.stderr)


def test_engine_option_and_committed_default():
    r = d2f("--engine", "${FIODLIO_ENGINE}", "jobfiles/workload/unet3d_a100.yaml")
    assert r.returncode == 0, r.stderr
    assert global_opts(r.stdout)["ioengine"] == "external:${FIODLIO_ENGINE}"
    for name in os.listdir(os.path.join(REPO, "jobfiles")):
        if name.endswith(".fio") and name != "local-demo.fio":
            text = open(os.path.join(REPO, "jobfiles", name)).read()
            assert "ioengine=external:${FIODLIO_ENGINE}" in text, name


def scaled_line(text):
    m = re.search(r"^(?:; )?scaled down \(--scale-down\):(.*)$", text, re.M)
    assert m, text
    return m.group(1).split()


def test_scale_down_bounds_a_training_workload():
    r = d2f("--explain", "--scale-down", "--config-dir", "jobfiles", "workload=unet3d_a100")
    assert r.returncode == 0, r.stderr
    added = scaled_line(r.stdout)
    assert "++workload.dataset.num_files_train=6" in added
    assert "++workload.dataset.record_length_bytes=4096" in added
    # the spread keeps its proportion: 68341808 * 4096 / 146600628
    assert "++workload.dataset.record_length_bytes_stdev=1910" in added
    assert "++workload.train.epochs=2" in added
    assert "++workload.train.computation_time=0.001" in added
    # the checkpoint after epoch 5 moves to the last epoch that still runs
    assert "++workload.checkpoint.checkpoint_after_epoch=2" in added
    assert "steps per epoch: 3 (batch 2, 2 epochs)" in r.stdout
    assert "checkpoints during training: 1" in r.stdout
    # what the user overrides stays as given
    r = d2f("--explain", "--scale-down", "--config-dir", "jobfiles", "workload=unet3d_a100",
            "++workload.train.epochs=3", "workload.dataset.num_files_train=10")
    assert r.returncode == 0, r.stderr
    added = scaled_line(r.stdout)
    assert not [a for a in added if "epochs=" in a.split(".")[-1] or "num_files_train" in a]
    assert "dataset: npz, 10 train files" in r.stdout
    assert "(batch 2, 3 epochs)" in r.stdout


def test_scale_down_shrinks_parallelism_to_the_ranks():
    r = d2f("--explain", "--scale-down", "--ranks", "4", "--config-dir", "jobfiles",
            "workload=mlperf_llama3_405b")
    assert r.returncode == 0, r.stderr
    added = scaled_line(r.stdout)
    # tensor 8 x pipeline 32 becomes 2 x 2: both kinds of parallelism stay
    assert "++workload.model.parallelism.tensor=2" in added
    assert "++workload.model.parallelism.pipeline=2" in added
    assert "++workload.model.transformer.hidden_size=64" in added
    # grouped-query attention keeps its kind: 8 of 128 heads -> 1 of 4
    assert "++workload.model.transformer.num_attention_heads=4" in added
    assert "++workload.model.transformer.num_kv_heads=1" in added
    assert "checkpoint-only: 2 written, then 1 read back" in r.stdout
    m = re.search(r"all ranks: ([\d,]+) bytes", r.stdout)
    assert 0 < int(m.group(1).replace(",", "")) < 8 << 20
    # 3 ranks: a prime, so no model parallelism is left
    r = d2f("--explain", "--scale-down", "--ranks", "3", "--config-dir", "jobfiles",
            "workload=llama_70b")
    assert r.returncode == 0, r.stderr
    added = scaled_line(r.stdout)
    assert "++workload.model.parallelism.tensor=1" in added
    assert "++workload.model.parallelism.pipeline=1" in added


def test_scale_down_is_listed_in_the_job_file_and_reproducible(workdir):
    out = os.path.join(workdir, "s.fio")
    r = d2f("--scale-down", "--ranks", "2", "--config-dir", "jobfiles",
            "workload=llama_8b_zero3", "-o", out)
    assert r.returncode == 0, r.stderr
    text = open(out).read()
    added = scaled_line(text)
    assert "--scale-down" in text.splitlines()[1]
    # the same overrides by hand give the same workload line
    r = d2f("--ranks", "2", "--config-dir", "jobfiles", "workload=llama_8b_zero3", *added)
    assert r.returncode == 0, r.stderr
    assert global_opts(r.stdout)["dlio_config"] == global_opts(text)["dlio_config"]
    # a workload already small has nothing to shrink
    small = os.path.join(workdir, "small.yaml")
    with open(small, "w") as f:
        f.write("framework: pytorch\nreader: {data_loader: pytorch, batch_size: 1}\n"
                "dataset: {format: npz, num_files_train: 4, record_length_bytes: 1024}\n")
    r = d2f("--explain", "--scale-down", small)
    assert r.returncode == 0, r.stderr
    assert "scaled down (--scale-down): nothing to do" in r.stdout
