"""DLIO training through the engine (dlio_phase=train): the rank reads exactly the
samples, files and byte ranges DLIO's loader reads, computed here independently
(PyTorch index sampler, npz reads as numpy's zipfile does them)."""
import math
import os

import pytest

import dlio_oracle as oracle
import fiorun
from fiorun import run

NPZ_CHUNK = 262144


def workload(tmp, ntrain=16, neval=0, rl=65536, batch=2, threads=2, prefetch=2, epochs=2,
             steps=0, compute=0.002, extra=""):
    path = os.path.join(tmp, "t.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: test
framework: pytorch
workflow:
  generate_data: False
  train: True
  evaluation: %s
dataset:
  data_folder: data/
  format: npz
  num_files_train: %d
  num_files_eval: %d
  num_samples_per_file: 1
  record_length_bytes: %d
  record_length_bytes_stdev: 0
reader:
  data_loader: pytorch
  batch_size: %d
  batch_size_eval: 1
  read_threads: %d
  prefetch_size: %d
train:
  epochs: %d
  computation_time: %s
  total_training_steps: %d
evaluation:
  eval_time: 0.001
metric:
  au: 0.5
%s""" % ("True" if neval else "False", ntrain, neval, rl, batch, threads, prefetch, epochs,
         compute, steps, extra))
    return path


def generate(workdir, yaml):
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--rw=write", "--iodepth=4"])
    return data


def npz_sample_reads(rl):
    """numpy's np.load(...)['x'] of a one-sample npz: zip structures, then the array
    in 256 KiB pieces."""
    d = int(math.sqrt(rl))
    p = d * d
    fixed = [22, 20, 102, 30, 25, 128]
    chunks = [min(NPZ_CHUNK, p - o) for o in range(0, p, NPZ_CHUNK)]
    return len(fixed) + len(chunks), sum(fixed) + p


def train(workdir, yaml, ranks=1, iodepth=2, expect_error=False):
    data = os.path.join(workdir, "data")
    return run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
                "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--rw=read",
                "--iodepth=%d" % iodepth], expect_error=expect_error)


def test_every_sample_once_per_epoch(workdir):
    yaml = workload(workdir)
    generate(workdir, yaml)
    res = train(workdir, yaml)
    nreads, nbytes = npz_sample_reads(65536)
    samples = 2 * 16  # epochs x files: 8 steps of 2 consume every sample
    j = res.jobs[0]
    assert j["read"]["total_ios"] == samples * nreads
    assert j["read"]["io_bytes"] == samples * nbytes
    assert "epoch 1: 8 steps" in res.stdout and "epoch 2: 8 steps" in res.stdout
    assert "[METRIC] rank 0 of 1" in res.stdout


def test_lookahead_reads_past_the_last_step(workdir):
    # 3 steps of 2; the loader keeps prefetch_factor(=ceil(2/2)) x 2 workers = 2 batches
    # requested and asks for one more per step: 5 batches are read per epoch
    yaml = workload(workdir, steps=3, epochs=1)
    generate(workdir, yaml)
    res = train(workdir, yaml)
    nreads, nbytes = npz_sample_reads(65536)
    assert res.jobs[0]["read"]["io_bytes"] == 5 * 2 * nbytes
    assert "epoch 1: 3 steps" in res.stdout


def test_two_ranks_read_their_own_ranges(workdir):
    yaml = workload(workdir, ntrain=12, threads=1, prefetch=1, epochs=1)
    generate(workdir, yaml)
    res = train(workdir, yaml, ranks=2)
    nreads, nbytes = npz_sample_reads(65536)
    # 12 samples, 2 ranks: 6 each, 3 steps of 2
    for j in res.jobs:
        assert j["read"]["io_bytes"] == 6 * nbytes
    assert "rank 1 epoch 1: 3 steps" in res.stdout


def test_evaluation_runs_after_training(workdir):
    yaml = workload(workdir, ntrain=8, neval=4, epochs=1)
    generate(workdir, yaml)
    res = train(workdir, yaml)
    nreads, nbytes = npz_sample_reads(65536)
    assert "eval 4 steps" in res.stdout
    assert res.jobs[0]["read"]["io_bytes"] == (8 + 4) * nbytes


def test_samples_in_many_subfolders(workdir):
    # 40 files in 20 subfolders: more directories than the local backend keeps open for
    # its opens (16), so the later ones are opened by their whole path
    yaml = workload(workdir, ntrain=40, rl=4096, epochs=1)
    sub = "--dlio_overrides=++workload.dataset.num_subfolders_train=20"
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml, sub,
         "--rw=write", "--iodepth=4"])
    assert len(os.listdir(os.path.join(data, "train"))) == 20
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml, sub,
               "--rw=read", "--iodepth=2"])
    nreads, nbytes = npz_sample_reads(4096)
    j = res.jobs[0]
    assert j["read"]["total_ios"] == 40 * nreads
    assert j["read"]["io_bytes"] == 40 * nbytes


def test_missing_dataset_says_generate_first(workdir):
    yaml = workload(workdir)
    res = train(workdir, yaml, expect_error=True)
    assert "does not exist" in res.stderr and "dlio_phase=generate" in res.stderr


def test_iodepth_follows_read_threads(workdir):
    yaml = workload(workdir, threads=4, epochs=1)
    generate(workdir, yaml)
    res = train(workdir, yaml, iodepth=1)
    assert "iodepth=1 raised to 4" in res.stdout
    assert res.jobs[0]["job options"]["iodepth"] == "1"
    # the four workers' reads were in flight together
    depth = res.jobs[0]["iodepth_level"]
    assert float(depth.get("4", 0)) > 0 or float(depth.get(">=64", 0)) > 0


@pytest.mark.parametrize("fmt,rl,nspf", [("npy", 40000, 2), ("hdf5", 40000, 2),
                                         ("indexed_binary", 40000, 3)])
def test_other_formats_read_what_dlio_reads(workdir, fmt, rl, nspf):
    yaml = workload(workdir, ntrain=4, batch=1, threads=1, prefetch=1, epochs=1)
    with open(yaml) as f:
        text = f.read().replace("format: npz", "format: " + fmt)
        text = text.replace("num_samples_per_file: 1", "num_samples_per_file: %d" % nspf)
        text = text.replace("record_length_bytes: 65536", "record_length_bytes: %d" % rl)
    with open(yaml, "w") as f:
        f.write(text)
    generate(workdir, yaml)
    res = train(workdir, yaml)
    d = int(math.sqrt(rl))
    p = d * d
    samples = 4 * nspf
    got = res.jobs[0]["read"]["io_bytes"]
    if fmt == "npy":  # np.load per sample: 8 KiB header read + the whole array
        assert got == samples * (8192 + p * nspf)
    elif fmt == "hdf5":  # metadata (2048 B) + one sample's row
        assert got == samples * (2048 + p)
    else:  # one sample's bytes
        assert got == samples * p


def tf_workload(tmp, steps=0, shuffle="seed"):
    path = os.path.join(tmp, "r.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: resnet50
framework: tensorflow
workflow:
  generate_data: False
  train: True
dataset:
  data_folder: data/
  format: tfrecord
  num_files_train: 8
  num_samples_per_file: 50
  record_length_bytes: 10000
  record_length_bytes_stdev: 0
reader:
  data_loader: tensorflow
  batch_size: 10
  read_threads: 2
  prefetch_size: 2
  shuffle_size: 20
  sample_shuffle: %s
  transfer_size: 65536
train:
  epochs: 2
  computation_time: 0.001
  total_training_steps: %d
metric:
  au: 0.5
""" % (shuffle, steps))
    return path


def test_tfrecord_streams_every_file_each_epoch(workdir):
    yaml = tf_workload(workdir)
    data = generate(workdir, yaml)
    sizes = [os.path.getsize(os.path.join(data, "train", n))
             for n in os.listdir(os.path.join(data, "train"))]
    assert len(sizes) == 8
    res = train(workdir, yaml)
    j = res.jobs[0]
    # 40 steps of 10 records use all 400: both epochs stream every file, in
    # transfer_size pieces
    assert j["read"]["io_bytes"] == 2 * sum(sizes)
    assert j["read"]["total_ios"] == 2 * sum(-(-s // 65536) for s in sizes)
    assert "epoch 1: 40 steps" in res.stdout and "epoch 2: 40 steps" in res.stdout


def test_tfrecord_reads_ahead_only_what_tf_data_buffers(workdir):
    yaml = tf_workload(workdir, steps=3)
    data = generate(workdir, yaml)
    record = os.path.getsize(os.path.join(data, "train", "img_0_of_8.tfrecord")) // 50
    res = train(workdir, yaml)
    got = res.jobs[0]["read"]["io_bytes"] // 2  # per epoch
    # 3 steps + 2 prefetched + 1 being built, of 10 records, + a 20-record shuffle
    # buffer: 80 records; the two streams read 64 KiB pieces until they have them
    need = 80 * record
    assert need <= got <= need + 2 * 2 * 65536
    assert got < 8 * 50 * record


def test_run_summary_in_dlio_layout(workdir):
    import json

    yaml = workload(workdir, ntrain=8, neval=4, epochs=2)
    generate(workdir, yaml)
    out = os.path.join(workdir, "out")
    data = os.path.join(workdir, "data")
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
               "--dlio_ranks=2", "--numjobs=2", "--rw=read", "--iodepth=2",
               "--dlio_output=" + out])
    summary = json.load(open(os.path.join(out, "summary.json")))
    m = summary["metric"]
    assert summary["num_accelerators"] == 2 and summary["epochs"] == 2
    assert len(m["train_au_percentage"]) == 2 and len(m["eval_au_percentage"]) == 2
    assert 0 < m["train_au_mean_percentage"] <= 100
    assert m["train_au_meet_expectation"] in ("success", "fail")
    # MB/s is DLIO's: samples/s times the configured record length, in MiB
    assert abs(m["train_io_mean_MB_per_second"] -
               m["train_throughput_mean_samples_per_second"] * 65536 / 2 ** 20) < 1e-3
    for r in (0, 1):
        stats = json.load(open(os.path.join(out, "%d_per_epoch_stats.json" % r)))
        assert sorted(stats) == ["1", "2"]
        assert {"start", "end", "duration", "block1", "eval"} <= set(stats["1"])
    assert "Number of Simulated Accelerators: 2" in res.stdout


def test_dlio_report_from_fio_output_alone(workdir):
    """scripts/dlio-report computes the run's figures from fio's output (the engine's
    per-rank lines), and they equal the summary.json the engine wrote."""
    import json
    import subprocess

    yaml = workload(workdir, ntrain=8, neval=4, epochs=3)
    generate(workdir, yaml)
    out = os.path.join(workdir, "out")
    res = run(["--uri=file://" + os.path.join(workdir, "data"), "--dlio_phase=train",
               "--dlio_workload=" + yaml, "--dlio_ranks=2", "--numjobs=2", "--rw=read",
               "--iodepth=2", "--dlio_output=" + out])
    log = os.path.join(workdir, "fio.out")
    with open(log, "w") as f:
        f.write(res.stdout)
    script = os.path.join(fiorun.REPO, "scripts", "dlio-report")
    rep, png = os.path.join(workdir, "rep.json"), os.path.join(workdir, "rep.png")
    p = subprocess.run([script, log, "--json", rep, "--plot", png], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert "Number of Simulated Accelerators: 2" in p.stdout
    mine = json.load(open(rep))["job"]["metric"]
    engine = json.load(open(os.path.join(out, "summary.json")))["metric"]
    for key in ("train_au_percentage", "train_throughput_samples_per_second",
                "eval_au_percentage"):
        assert mine[key] == pytest.approx(engine[key], rel=1e-5), key
    assert mine["train_au_meet_expectation"] == engine["train_au_meet_expectation"]
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    p = subprocess.run([script, yaml], capture_output=True, text=True)
    assert p.returncode != 0 and "no fio-dlio-metrics lines" in p.stderr


def summary_of(workdir, yaml, extra=()):
    import json

    out = os.path.join(workdir, "out")
    run(["--uri=file://" + os.path.join(workdir, "data"), "--dlio_phase=train",
         "--dlio_workload=" + yaml, "--rw=read", "--dlio_output=" + out] + list(extra))
    return json.load(open(os.path.join(out, "summary.json")))["metric"]


def test_compute_bound_matches_dlio_formula(workdir):
    # tiny page-cached samples, 10 steps of 0.1 s: every step takes computation_time, so
    # DLIO's figures are AU ~100 % and ranks*(steps-2)*batch / ((steps-1)*computation_time)
    yaml = workload(workdir, ntrain=20, epochs=1, compute=0.1)
    generate(workdir, yaml)
    m = summary_of(workdir, yaml)
    assert m["train_au_mean_percentage"] >= 95
    expect = 1 * (10 - 2) * 2 / ((10 - 1) * 0.1)
    assert m["train_throughput_mean_samples_per_second"] == pytest.approx(expect, rel=0.02)


@pytest.fixture
def slow_server(workdir):
    """nginx on 127.0.0.1 serving the work directory, every response sent at 512 KiB/s:
    slow storage that, unlike fio's rate=, gives no credit for idle time."""
    import shutil
    import socket
    import subprocess
    import time

    if not shutil.which("nginx"):
        pytest.skip("nginx not installed (scripts/install-deps)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
worker_processes 1;
pid %(w)s/nginx.pid;
error_log %(w)s/nginx.err;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %(w)s;
    server {
        listen 127.0.0.1:%(p)d;
        root %(w)s;
        limit_rate 512k;
    }
}
""" % {"w": workdir, "p": port})
    p = subprocess.Popen(["nginx", "-c", conf, "-p", workdir], stderr=subprocess.PIPE)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield "http://127.0.0.1:%d" % port
    p.terminate()
    p.wait(timeout=10)


@pytest.mark.parametrize("threads,au_ok", [(2, True), (0, False)])
def test_prefetch_overlaps_io_with_compute(workdir, slow_server, threads, au_ok):
    # Each 64 KiB sample is one GET that the server sends at 512 KiB/s (nginx sends the
    # first piece at once): a worker's batch of 2 takes 0.13-0.25 s, and two workers
    # deliver a batch every 0.06-0.13 s, below the 0.18 s of compute, so the reads
    # overlap the compute (AU >= 90 %); read in the main process (read_threads 0) they
    # add to it (AU 40-60 %).
    yaml = workload(workdir, ntrain=16, epochs=1, compute=0.18, threads=threads)
    generate(workdir, yaml)
    out = os.path.join(workdir, "out")
    run(["--uri=s3://data", "--s3_endpoint=" + slow_server, "--s3_anonymous=1",
         "--s3_region=us-east-1", "--dlio_phase=train", "--dlio_workload=" + yaml,
         "--rw=read", "--dlio_output=" + out])
    import json

    m = json.load(open(os.path.join(out, "summary.json")))["metric"]
    if au_ok:
        assert m["train_au_mean_percentage"] >= 90
    else:
        assert m["train_au_mean_percentage"] < 70
