"""The engine's s3:// backend driven by the real fio against a real S3 server (Ceph RADOS
Gateway on 127.0.0.1, SigV4 enforced), started for this session by scripts/s3-server."""
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest

import fiorun
from fiorun import run
from s3server import Gateway, TlsProxy, server_env

MiB = 1 << 20
KiB = 1 << 10

_outputs = []  # every fio stdout/stderr of this module, for the secret check


def s3run(args, **kw):
    res = run(args, **kw)
    _outputs.append(res.stdout + res.stderr)
    return res


@pytest.fixture(scope="session")
def gateway():
    if not shutil.which("radosgw") and os.geteuid() != 0:
        pytest.skip("Ceph RADOS Gateway not installed (scripts/install-deps)")
    gw = Gateway()
    gw.start()
    env = server_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield gw
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    gw.stop()


@pytest.fixture
def bucket(gateway):
    """A fresh bucket per test, made by the engine (s3_create_bucket)."""
    name = "t-" + uuid.uuid4().hex[:16]
    s3run(["--uri=s3://%s/" % name, "--filename=.keep", "--s3_create_bucket=1",
           "--rw=write", "--bs=1", "--size=1"])
    yield name
    gateway.purge(name)


def io_bytes(res, ddir):
    return sum(j[ddir]["io_bytes"] for j in res.jobs)


def engine_lines(res, what):
    return [l for l in res.stderr.splitlines() + res.stdout.splitlines()
            if l.startswith("fio-dlio:") and what in l]


@pytest.mark.parametrize("size,bs", [(1 * KiB, 1 * KiB), (64 * KiB, 16 * KiB), (1 * MiB, 1 * MiB),
                                     (7 * MiB, 1 * MiB), (64 * MiB, 4 * MiB)])
def test_write_verify_then_read_back(bucket, size, bs):
    res = s3run(["--uri=s3://%s/obj" % bucket, "--filename=o", "--rw=write", "--bs=%d" % bs,
                 "--size=%d" % size, "--iodepth=8", "--verify=crc32c", "--do_verify=1",
                 "--verify_fatal=1"])
    assert io_bytes(res, "write") == size
    assert io_bytes(res, "read") == size
    # a second job finds the object and its size by HEAD (no size=) and verifies it
    res = s3run(["--uri=s3://%s/obj" % bucket, "--filename=o", "--rw=read", "--bs=%d" % bs,
                 "--iodepth=4", "--verify=crc32c", "--verify_fatal=1"])
    assert io_bytes(res, "read") == size


def test_multipart_64m_in_8m_parts(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=big", "--rw=write", "--bs=1m",
                 "--size=72m", "--s3_part_size=8m", "--iodepth=16", "--verify=crc32c",
                 "--do_verify=1", "--verify_fatal=1"])
    summary = engine_lines(res, "requests")[0]
    assert "UploadPart 9," in summary and "completed 1 " in summary, summary
    res = s3run(["--uri=s3://" + bucket, "--filename=big", "--rw=read", "--bs=1m",
                 "--iodepth=2", "--verify=crc32c"])
    assert io_bytes(res, "read") == 72 * MiB


def test_part_size_limits_are_checked_before_any_data(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=toomany", "--rw=write", "--bs=5m",
                 "--size=60g", "--s3_part_size=5m", "--io_size=5m"], expect_error=True)
    assert "10,000" in res.stderr and "s3_part_size=" in res.stderr
    assert io_bytes(res, "write") == 0
    res = s3run(["--uri=s3://" + bucket, "--filename=small", "--rw=write", "--bs=1m",
                 "--size=16m", "--s3_part_size=1m"], expect_error=True)
    assert "5 MiB minimum" in res.stderr


def test_whole_object_write_is_one_put_and_partial_pass_leaves_nothing(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=one", "--rw=write", "--bs=3m",
                 "--size=3m"])
    assert "PUT 1," in engine_lines(res, "requests")[0]
    # a job that stops halfway through a multipart object aborts the upload
    res = s3run(["--uri=s3://" + bucket, "--filename=half", "--rw=write", "--bs=1m",
                 "--size=20m", "--io_size=10m", "--s3_part_size=5m"])
    assert "upload was aborted" in res.stderr
    assert "aborted 1" in engine_lines(res, "requests")[0] or "aborted 0" not in \
        engine_lines(res, "requests")[0]
    res = s3run(["--uri=s3://" + bucket, "--filename=half", "--rw=read", "--bs=1m",
                 "--size=1m"], expect_error=True)
    assert "HTTP 404" in res.stderr


def test_random_ranged_reads(bucket):
    s3run(["--uri=s3://" + bucket, "--filename=r", "--rw=write", "--bs=64k", "--size=16m",
           "--iodepth=8", "--verify=crc32c", "--do_verify=0"])
    res = s3run(["--uri=s3://" + bucket, "--filename=r", "--rw=randread", "--bs=64k",
                 "--iodepth=16", "--verify=crc32c", "--verify_fatal=1", "--randseed=7"])
    assert io_bytes(res, "read") == 16 * MiB
    res = s3run(["--uri=s3://" + bucket, "--filename=r", "--rw=randread", "--bs=4k",
                 "--bsrange=512-12k", "--norandommap", "--io_size=2m", "--iodepth=8"])
    assert io_bytes(res, "read") >= 2 * MiB


def test_listing_1005_objects_with_pagination(bucket):
    s3run(["--uri=s3://%s/ds/" % bucket, "--rw=write", "--bs=1k", "--filesize=1k",
           "--nrfiles=1005", "--filename_format=f$filenum", "--iodepth=32",
           "--file_service_type=sequential"], timeout=600)
    # a filename ending in '/' is the objects under it
    res = s3run(["--uri=s3://" + bucket, "--filename=ds/", "--rw=read", "--bs=1k",
                 "--iodepth=32", "--file_service_type=sequential"], timeout=600)
    assert io_bytes(res, "read") == 1005 * KiB
    assert res.jobs[0]["read"]["total_ios"] == 1005
    # so is a root ending in '/' for a job that only reads
    res = s3run(["--uri=s3://%s/ds/" % bucket, "--rw=read", "--bs=1k", "--iodepth=32",
                 "--file_service_type=sequential"], timeout=600)
    assert io_bytes(res, "read") == 1005 * KiB


def test_missing_object_is_a_clear_error(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=nope", "--rw=read", "--bs=4k",
                 "--size=1m"], expect_error=True)
    assert "HTTP 404 NoSuchKey" in res.stderr
    assert "s3://%s/nope" % bucket in res.stderr
    assert res.jobs[0]["error"] == 2
    assert io_bytes(res, "read") == 0


def test_wrong_secret_is_a_clear_403(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=x", "--rw=read", "--bs=4k", "--size=4k",
                 "--s3_access_key=" + os.environ["AWS_ACCESS_KEY_ID"],
                 "--s3_secret_key=wrong-secret-0123456789"], expect_error=True)
    assert "HTTP 403" in res.stderr and "SignatureDoesNotMatch" in res.stderr
    assert "wrong-secret-0123456789" not in res.stdout + res.stderr
    assert io_bytes(res, "read") == 0


def test_anonymous_request_is_refused(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=x", "--rw=write", "--bs=4k",
                 "--size=4k", "--s3_anonymous=1"], expect_error=True)
    assert "HTTP 403 AccessDenied" in res.stderr
    assert "anonymous" in res.stderr + res.stdout


def test_unreachable_endpoint_fails_fast_and_clearly(gateway):
    t = time.time()
    res = s3run(["--uri=s3://nobucket", "--filename=x", "--rw=read", "--bs=4k", "--size=4k",
                 "--s3_endpoint=http://127.0.0.1:9", "--retries=2", "--connect_timeout=2000"],
                expect_error=True, timeout=120)
    assert time.time() - t < 60
    assert "127.0.0.1:9" in res.stderr
    assert re.search(r"connect|refused", res.stderr, re.I), res.stderr
    assert "3 attempts" in res.stderr


PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")


def test_proxy_environment_applies_as_libcurl_reads_it(bucket, monkeypatch):
    """The engine reads the proxy variables once per job for libcurl: the same variables must
    act as libcurl's own rules say (a proxy on a closed port makes a request fail)."""
    for k in PROXY_VARS:
        monkeypatch.delenv(k, raising=False)
    args = ["--uri=s3://%s/p" % bucket, "--filename=p", "--rw=write", "--bs=4k", "--size=4k",
            "--retries=0"]

    def through_proxy():
        res = s3run(args, expect_error=True, timeout=120)
        assert re.search(r"127\.0\.0\.1 port 9\b", res.stderr), res.stderr

    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    through_proxy()
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")  # the gateway's host goes direct
    s3run(args)
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("http_proxy")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not read for http:// URLs
    s3run(args)
    monkeypatch.setenv("http_proxy", "")  # empty: as unset, so ALL_PROXY applies
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    through_proxy()
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # only for https:// URLs
    monkeypatch.delenv("ALL_PROXY")
    s3run(args)


def test_gateway_killed_and_restarted_mid_run(bucket, gateway):
    s3run(["--uri=s3://" + bucket, "--filename=k", "--rw=write", "--bs=64k", "--size=4m"])
    result = {}

    def job():
        p = subprocess.run([fiorun.FIO, "--output-format=json", "--name=job",
                            "--ioengine=external:" + fiorun.ENGINE, "--uri=s3://" + bucket,
                            "--filename=k", "--rw=randread", "--bs=64k", "--iodepth=4",
                            "--time_based", "--runtime=12", "--retries=10",
                            "--connect_timeout=2000", "--io_timeout=5"],
                           capture_output=True, text=True, timeout=180, env=fiorun._env(),
                           cwd=os.path.join(fiorun.BUILD, "test-data"))
        result["p"] = p

    t = threading.Thread(target=job)
    start = time.time()
    t.start()
    time.sleep(3)
    gateway.kill_rgw()
    time.sleep(2)
    gateway.restart_rgw()
    t.join(200)
    assert not t.is_alive(), "fio hung after the gateway restart"
    p = result["p"]
    _outputs.append(p.stdout + p.stderr)
    assert time.time() - start < 150
    assert not fiorun.CRASH_RE.search(p.stderr), p.stderr
    data = fiorun.parse_json(p.stdout)
    if p.returncode == 0 and data["jobs"][0]["error"] == 0:
        # it rode the restart out by retrying, and says so
        summary = [l for l in (p.stdout + p.stderr).splitlines() if "retries (" in l][0]
        assert not summary.split("requests")[1].startswith(" (") or \
            re.search(r"[1-9]\d* retries", summary), summary
        assert data["jobs"][0]["read"]["io_bytes"] > 0
    else:
        assert "s3://%s/k" % bucket in p.stderr and "attempts" in p.stderr, p.stderr


KEYS = ["with space/a+b=c&d", "utf8/\u00fcber-\u65e5\u672c-\u00e9", "pct/100%;x,y*z!'()",
        "a//double/./dot/../x", "tilde~/_-."]


def test_keys_that_need_encoding(bucket):
    for i, key in enumerate(KEYS):
        s3run(["--uri=s3://%s/enc/" % bucket, "--filename=" + key, "--rw=write",
               "--bs=4k", "--size=8k", "--verify=crc32c", "--do_verify=1"])
        res = s3run(["--uri=s3://%s/enc/" % bucket, "--filename=" + key, "--rw=read",
                     "--bs=4k", "--verify=crc32c", "--verify_fatal=1"])
        assert io_bytes(res, "read") == 8 * KiB, key
    res = s3run(["--uri=s3://%s/enc/" % bucket, "--rw=read", "--bs=4k"])
    assert io_bytes(res, "read") == len(KEYS) * 8 * KiB


def test_unlink_deletes_and_tolerates_the_second_call(bucket):
    s3run(["--uri=s3://" + bucket, "--filename=u", "--rw=write", "--bs=4k", "--size=8k",
           "--unlink=1"])
    res = s3run(["--uri=s3://" + bucket, "--filename=u", "--rw=read", "--bs=4k",
                 "--size=8k"], expect_error=True)
    assert "HTTP 404" in res.stderr


def test_job_output_names_credential_source_and_retry_counts(bucket):
    res = s3run(["--uri=s3://" + bucket, "--filename=d", "--rw=write", "--bs=4k",
                 "--size=4k"])
    line = engine_lines(res, "credentials from")[0]
    assert "AWS_ACCESS_KEY_ID" in line and "path-style" in line
    assert engine_lines(res, "retries (")


@pytest.fixture(scope="module")
def tls(gateway):
    if not shutil.which("nginx"):
        pytest.skip("nginx not installed (scripts/install-deps)")
    proxy = TlsProxy()
    proxy.start()
    yield proxy
    proxy.stop()


def test_https_verification(bucket, tls, monkeypatch):
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    base = ["--uri=s3://" + bucket, "--filename=tls", "--s3_endpoint=" + tls.endpoint,
            "--rw=write", "--bs=64k", "--size=256k", "--retries=0"]
    res = s3run(base + ["--ca_file=" + tls.ca, "--verify=crc32c", "--do_verify=1"])
    assert io_bytes(res, "read") == 256 * KiB
    assert engine_lines(res, "TLS verified against " + tls.ca)
    res = s3run(base, expect_error=True)
    assert re.search(r"certificate", res.stderr, re.I) and "ca_file=" in res.stderr
    res = s3run(base + ["--insecure=1"])
    assert engine_lines(res, "verification OFF")
    monkeypatch.setenv("AWS_CA_BUNDLE", tls.ca)
    s3run(base)


def test_no_output_ever_contains_the_secret(gateway):
    """Runs last in this module: everything fio printed in it, plus a verbose HTTP trace."""
    secret = server_env()["AWS_SECRET_ACCESS_KEY"]
    res = run(["--uri=s3://nobucket-x", "--filename=x", "--rw=read", "--bs=4k", "--size=4k",
               "--http_verbose=1", "--s3_secret_key=" + secret,
               "--s3_access_key=" + os.environ["AWS_ACCESS_KEY_ID"]], expect_error=True)
    _outputs.append(res.stdout + res.stderr)
    assert "Authorization" in res.stderr  # the trace did run
    assert len(_outputs) > 10
    for out in _outputs:
        assert secret not in out


# DLIO mode on s3:// (the write side and the read side of the DLIO issues)

def dlio_yaml(tmp_path, body):
    path = str(tmp_path / "w.yaml")
    with open(path, "w") as f:
        f.write(body)
    return path


DLIO_NPZ = """model:
  name: unet3d
framework: pytorch
workflow:
  generate_data: True
  train: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: 6
  num_samples_per_file: 1
  record_length_bytes: 262144
  record_length_bytes_stdev: 65536
reader:
  data_loader: pytorch
  batch_size: 1
  read_threads: 2
train:
  epochs: 1
  computation_time: 0.001
"""


def test_dlio_generate_and_train_on_s3(bucket, tmp_path):
    import dlio_oracle as oracle

    yaml = dlio_yaml(tmp_path, DLIO_NPZ)
    root = "--uri=s3://%s/ds" % bucket
    res = s3run([root, "--dlio_phase=generate", "--dlio_workload=" + yaml, "--dlio_ranks=2",
                 "--numjobs=2", "--rw=write", "--iodepth=4"])
    expect = {p: d1 * d2 + 8 + 490 for p, (d1, d2), _ in
              oracle.files(6, 0, "npz", 262144, 65536)}
    assert io_bytes(res, "write") == sum(expect.values())
    # the objects, as a plain fio job lists them (a root ending in '/')
    res = s3run(["--uri=s3://%s/ds/train/" % bucket, "--rw=read", "--bs=64k"])
    assert engine_lines(res, ": 6 objects, %d bytes" % sum(expect.values()))
    # training reads every sample as one GET of the whole object
    res = s3run([root, "--dlio_phase=train", "--dlio_workload=" + yaml, "--rw=read"])
    assert io_bytes(res, "read") == sum(expect.values())
    assert res.jobs[0]["read"]["total_ios"] == 6


DLIO_CKPT = """model:
  name: llama_tiny
  type: transformer
  model_datatype: fp16
  optimizer_datatype: fp32
  num_layers: 2
  parallelism:
    tensor: 1
    pipeline: 1
    zero_stage: 3
  transformer:
    vocab_size: 1000
    hidden_size: 256
    ffn_hidden_size: 512
    num_attention_heads: 8
    num_kv_heads: 8
framework: pytorch
workflow:
  generate_data: False
  train: False
  checkpoint: True
checkpoint:
  checkpoint_folder: ckpt
  time_between_checkpoints: 0.01
  num_checkpoints_write: 1
  num_checkpoints_read: 1
"""


def test_dlio_checkpoints_on_s3(bucket, tmp_path):
    yaml = dlio_yaml(tmp_path, DLIO_CKPT)
    res = s3run(["--uri=s3://%s/ds" % bucket, "--dlio_checkpoint_uri=s3://%s/ckpt" % bucket,
                 "--dlio_phase=checkpoint", "--dlio_workload=" + yaml, "--dlio_ranks=2",
                 "--numjobs=2", "--iodepth=4", "--dlio_write_size=1m"])
    written, read = io_bytes(res, "write"), io_bytes(res, "read")
    # torch.load reads every byte, the tail and the central directory twice
    assert 0 < written < read < written + 4 * 8192  # 4 files
    res = s3run(["--uri=s3://%s/ckpt/global_epoch1_step1/" % bucket, "--rw=read", "--bs=1m"])
    assert engine_lines(res, "4 objects, %d bytes" % written)  # 2 ranks x (model, optim)
