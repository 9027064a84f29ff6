"""The engine's az:// backend driven by the real fio against a real Azurite (SharedKey on)."""
import base64
import os
import re
import subprocess
import time
import uuid

import pytest

from azurite import ACCOUNT, KEY, Azurite, az_tool, azurite, free_port  # noqa: F401
from fiorun import ENGINE, FIO, FioFailed, _env, check_result, run

KiB, MiB = 1 << 10, 1 << 20
WRONG_KEY = base64.b64encode(b"k" * 64).decode()


@pytest.fixture
def container(azurite):
    return "t" + uuid.uuid4().hex[:12]


def uri(container, prefix="d"):
    return "--uri=az://%s/%s/%s" % (ACCOUNT, container, prefix)


def log(res):
    """What the engine printed: log_info goes to stdout (before fio's JSON), log_err to stderr."""
    return res.stdout[:res.stdout.find("{")] + res.stderr


def io_bytes(res, ddir):
    return sum(j[ddir]["io_bytes"] for j in res.jobs)


def listing(az_tool, container, prefix="d/"):
    out = az_tool("list", "%s/%s/%s" % (ACCOUNT, container, prefix)).stdout
    return {line.split(" ", 1)[1]: int(line.split(" ", 1)[0]) for line in out.splitlines()}


def write(container, size, bs, extra=(), prefix="d", name="blob", expect_error=False):
    return run([uri(container, prefix), "--filename=" + name, "--az_create_container=1",
                "--rw=write", "--bs=%d" % bs, "--size=%d" % size, "--iodepth=8",
                "--iodepth_batch_complete_max=8", "--verify=crc32c", "--do_verify=1",
                "--verify_fatal=1"] + list(extra), expect_error=expect_error)


@pytest.mark.parametrize("size,bs", [(1 * KiB, 1 * KiB), (64 * KiB, 16 * KiB),
                                     (1 * MiB, 128 * KiB), (8 * MiB, 1 * MiB),
                                     (64 * MiB, 8 * MiB)])
def test_write_verify_then_read_back(container, size, bs):
    res = write(container, size, bs)
    assert io_bytes(res, "write") == size
    assert io_bytes(res, "read") == size  # the verify pass read it all back
    # one write of the whole blob is one Put Blob; anything else a committed block list
    if size == bs:
        assert "1 blobs by Put Blob, 0 by Put Block List" in log(res)
    else:
        assert "0 blobs by Put Blob, 1 by Put Block List (%d blocks)" % (size // bs) in log(res)
    # a new job finds the size by itself (Get Blob Properties) and verifies the stored data
    res = run([uri(container), "--filename=blob", "--rw=read", "--bs=%d" % bs, "--iodepth=4",
               "--verify=crc32c", "--verify_fatal=1"])
    assert io_bytes(res, "read") == size


def test_block_list_blob_64m_from_gathered_small_writes(container, az_tool):
    # 256 KiB writes gathered into 8 MiB blocks: a block-list blob, verified by another job
    res = write(container, 64 * MiB, 256 * KiB, ["--az_block_size=8m", "--iodepth=32",
                                                  "--iodepth_batch_complete_max=32"])
    assert io_bytes(res, "write") == 64 * MiB
    m = re.search(r"0 blobs by Put Blob, 1 by Put Block List \((\d+) blocks\)", log(res))
    assert m and 8 <= int(m.group(1)) <= 64 * 4, log(res)
    assert listing(az_tool, container) == {"%s/%s/d/blob" % (ACCOUNT, container): 64 * MiB}
    res = run([uri(container), "--filename=blob", "--rw=read", "--bs=256k", "--iodepth=16",
               "--verify=crc32c", "--verify_fatal=1"])
    assert io_bytes(res, "read") == 64 * MiB


def test_random_ranged_reads(container):
    write(container, 16 * MiB, 64 * KiB)
    # random 64 KiB reads check fio's verify header of each block they land on
    res = run([uri(container), "--filename=blob", "--rw=randread", "--bs=64k", "--iodepth=16",
               "--iodepth_batch_complete_max=16", "--verify=crc32c", "--verify_fatal=1"])
    assert io_bytes(res, "read") == 16 * MiB
    # odd-sized ranges: every byte asked for comes back, one Get Blob each
    res = run([uri(container), "--filename=blob", "--rw=randread", "--bsrange=1k-96k",
               "--norandommap", "--number_ios=500", "--io_size=1g", "--iodepth=8"])
    assert res.jobs[0]["read"]["total_ios"] == 500
    assert re.search(r"az: 500 requests", log(res)), log(res)


def test_listing_1100_blobs(container, az_tool):
    n = 1100  # more than one List Blobs page (1,000)
    res = run([uri(container, "many"), "--az_create_container=1", "--rw=write", "--bs=1k",
               "--nrfiles=%d" % n, "--filesize=1k", "--iodepth=16",
               "--filename_format=f$filenum", "--alloc-size=65536"])
    assert io_bytes(res, "write") == n * KiB
    blobs = listing(az_tool, container, "many/")
    assert len(blobs) == n
    assert set(blobs.values()) == {KiB}
    # a prefix narrows it; a prefix with no blobs lists nothing
    assert len(listing(az_tool, container, "many/f10")) == 1 + 10 + 100  # f10, f100-9, f1000-99
    assert listing(az_tool, container, "none/") == {}
    # a root ending in '/' is a dataset: the engine lists it and reads every blob, no size=
    res = run(["--uri=az://%s/%s/many/" % (ACCOUNT, container), "--rw=read", "--bs=1k",
               "--iodepth=16", "--alloc-size=65536"])
    assert io_bytes(res, "read") == n * KiB
    assert res.jobs[0]["read"]["total_ios"] == n


def test_wrong_key_is_a_clear_403(container, azurite):
    write(container, 64 * KiB, 64 * KiB)
    res = run([uri(container), "--filename=blob", "--az_account_key=" + WRONG_KEY,
               "--az_endpoint=" + azurite.endpoint, "--rw=read", "--bs=4k", "--size=64k"],
              expect_error=True)
    assert re.search(r"Get Blob Properties %s/%s/d/blob: HTTP 403 (AuthorizationFailure|"
                     r"AuthenticationFailed)" % (ACCOUNT, container), log(res)), log(res)
    assert "the account key option" in log(res)
    assert io_bytes(res, "read") == 0 if res.data and res.data.get("jobs") else True


def test_wrong_key_on_write_fails_and_commits_nothing(container, azurite, az_tool):
    res = run([uri(container), "--filename=blob", "--az_account_key=" + WRONG_KEY,
               "--az_endpoint=" + azurite.endpoint, "--rw=write", "--bs=64k", "--size=1m"],
              expect_error=True)
    assert "HTTP 403" in log(res)
    run([uri(container), "--filename=x", "--az_create_container=1", "--rw=write", "--bs=1k",
         "--size=1k"])
    assert list(listing(az_tool, container)) == ["%s/%s/d/x" % (ACCOUNT, container)]


def test_anonymous_is_refused(container, azurite):
    write(container, 64 * KiB, 64 * KiB)
    res = run([uri(container), "--filename=blob", "--az_anonymous=1",
               "--az_endpoint=" + azurite.endpoint, "--rw=read", "--bs=4k", "--size=64k"],
              expect_error=True)
    assert "HTTP 403" in log(res)
    assert "anonymous" in log(res)


def test_missing_blob_is_an_error_not_zeros(container):
    write(container, 1 * KiB, 1 * KiB, name="other")
    res = run([uri(container), "--filename=nope", "--rw=read", "--bs=4k", "--size=1m"],
              expect_error=True)
    assert ("Get Blob %s/%s/d/nope bytes 0-4095: HTTP 404 BlobNotFound"
            % (ACCOUNT, container)) in log(res)
    assert res.jobs[0]["error"] == 2  # ENOENT
    assert res.jobs[0]["read"]["io_bytes"] == 0


def test_read_past_the_end_is_an_error(container):
    write(container, 64 * KiB, 64 * KiB)
    res = run([uri(container), "--filename=blob", "--rw=read", "--bs=64k", "--size=1m"],
              expect_error=True)
    assert res.jobs[0]["read"]["io_bytes"] == 0
    assert "65536 bytes but the job reads up to byte 1048576" in log(res)


def test_sas_made_by_our_code(container, azurite, az_tool):
    write(container, 1 * KiB, 1 * KiB, name="seed")  # creates the container
    sas = az_tool("sas", container, "racwdl", "600").stdout.strip()
    env_free = ["--az_endpoint=" + azurite.endpoint]
    res = run([uri(container), "--filename=blob", "--az_sas_token=" + sas] + env_free +
              ["--rw=write", "--bs=256k", "--size=2m", "--iodepth=4", "--verify=crc32c",
               "--do_verify=1", "--verify_fatal=1"])
    assert io_bytes(res, "read") == 2 * MiB
    assert "SAS token from the SAS token option" in log(res)
    # a read-only SAS reads but cannot write
    ro = az_tool("sas", container, "r", "600").stdout.strip()
    res = run([uri(container), "--filename=blob", "--az_sas_token=" + ro] + env_free +
              ["--rw=read", "--bs=256k", "--verify=crc32c"])
    assert io_bytes(res, "read") == 2 * MiB
    res = run([uri(container), "--filename=blob2", "--az_sas_token=" + ro] + env_free +
              ["--rw=write", "--bs=256k", "--size=1m"], expect_error=True)
    assert "HTTP 403" in log(res)


def test_failed_blob_is_never_committed(container, azurite, az_tool):
    """A SAS that expires mid-write fails the later blocks: the blob must not appear."""
    write(container, 1 * KiB, 1 * KiB, name="seed")
    sas = az_tool("sas", container, "racwdl", "3").stdout.strip()
    res = run([uri(container), "--filename=half", "--az_sas_token=" + sas,
               "--az_endpoint=" + azurite.endpoint, "--rw=write", "--bs=256k", "--size=16m",
               "--rate=1m", "--iodepth=1"], expect_error=True)
    assert "HTTP 403" in log(res)
    assert 0 < io_bytes(res, "write") < 16 * MiB
    assert "%s/%s/d/half" % (ACCOUNT, container) not in listing(az_tool, container)


def test_unlink_tolerates_fios_second_delete(container, az_tool):
    res = run([uri(container), "--filename=gone", "--az_create_container=1", "--rw=write",
               "--bs=64k", "--size=256k", "--unlink=1"])
    assert io_bytes(res, "write") == 256 * KiB
    assert listing(az_tool, container) == {}


def test_no_secret_in_any_output(container, azurite, az_tool):
    write(container, 1 * KiB, 1 * KiB, name="seed")
    sas = az_tool("sas", container, "racwdl", "600").stdout.strip()
    sig = re.search(r"sig=([^&]+)", sas).group(1)
    outputs = []
    for cred in (["--az_account_key=" + KEY], ["--az_sas_token=" + sas],
                 ["--az_connection_string=" + azurite.connection_string]):
        for fmt in ("json", "normal"):
            cmd = [FIO, "--output-format=" + fmt, "--name=s", "--ioengine=external:" + ENGINE,
                   uri(container), "--filename=blob"] + cred + [
                "--az_endpoint=" + azurite.endpoint, "--rw=write", "--bs=64k", "--size=256k",
                "--verify=crc32c", "--http_verbose=0"]
            if "connection_string" in cred[0]:
                cmd.remove("--az_endpoint=" + azurite.endpoint)
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env(),
                               cwd=os.path.dirname(ENGINE))
            if fmt == "json":
                check_result(p.returncode, p.stdout, p.stderr)
            outputs.append(p.stdout + p.stderr)
    # the same failures that print errors must not print secrets either
    p = subprocess.run([FIO, "--name=s", "--ioengine=external:" + ENGINE, uri(container),
                        "--filename=nope", "--az_sas_token=" + sas,
                        "--az_endpoint=" + azurite.endpoint, "--rw=read", "--bs=4k",
                        "--size=4k"], capture_output=True, text=True, timeout=120, env=_env())
    outputs.append(p.stdout + p.stderr)
    for out in outputs:
        for secret in (KEY, KEY[:20], sig, sig.replace("%2B", "+").replace("%2F", "/")):
            assert secret not in out
    assert any("<hidden>" in out for out in outputs)


def test_server_stopped_mid_run_ends_with_a_clear_error(container):
    """Its own Azurite, stopped 2 s into a 60 s job: retries, then an error; never a hang."""
    server = Azurite(free_port())
    server.start()
    try:
        env = dict(_env(), **server.env())
        write_cmd = [FIO, "--output-format=json", "--name=w", "--ioengine=external:" + ENGINE,
                     uri(container), "--filename=blob", "--az_create_container=1",
                     "--rw=write", "--bs=1m", "--size=8m"]
        p = subprocess.run(write_cmd, capture_output=True, text=True, timeout=120, env=env)
        check_result(p.returncode, p.stdout, p.stderr)
        cmd = [FIO, "--output-format=json", "--name=r", "--ioengine=external:" + ENGINE,
               uri(container), "--filename=blob", "--rw=randread", "--bs=64k",
               "--iodepth=8", "--time_based", "--runtime=60", "--retries=4"]
        start = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        time.sleep(2)
        server.stop()
        out, err = proc.communicate(timeout=60)
        elapsed = time.time() - start
    finally:
        server.stop()
    assert elapsed < 30, "fio took %.0f s after the server stopped" % elapsed
    data = check_result(proc.returncode, out, err, expect_error=True)
    assert re.search(r"Get Blob %s/%s/d/blob bytes \d+-\d+: .*(connect|Connection).* after 5 "
                     r"attempts" % (ACCOUNT, container), err), err
    assert data["jobs"][0]["read"]["io_bytes"] > 0
    m = re.search(r"az: \d+ requests, (\d+) retries \(\d+ after 5xx/429/408, (\d+) after "
                  r"connection errors", out + err)
    assert m and int(m.group(1)) >= 4 and int(m.group(2)) >= 4, out + err


def test_describe_names_the_credential_source(container):
    res = write(container, 1 * KiB, 1 * KiB)
    assert ("az://%s: shared key from AZURE_STORAGE_CONNECTION_STRING; endpoint "
            % ACCOUNT) in log(res)
    assert "x-ms-version 2021-12-02" in log(res)


def test_bad_uri_and_container_name(container):
    res = run(["--uri=az://%s/Bad_Name/d" % ACCOUNT, "--filename=x", "--rw=read", "--bs=4k",
               "--size=4k"], expect_error=True)
    assert "invalid container name 'Bad_Name'" in log(res)
    res = run(["--uri=az://%s/%s/d" % (ACCOUNT, container), "--filename=x", "--rw=write",
               "--bs=4k", "--size=4k"], expect_error=True)
    assert "ContainerNotFound" in log(res)


# DLIO mode on az:// (the write side and the read side of the DLIO issues)

def test_dlio_generate_train_and_checkpoint_on_azure(container, az_tool, tmp_path):
    import dlio_oracle as oracle
    from test_s3 import DLIO_CKPT, DLIO_NPZ  # noqa: the same scaled-down workloads

    wl = tmp_path / "w.yaml"
    wl.write_text(DLIO_NPZ)
    root = "--uri=az://%s/%s/ds" % (ACCOUNT, container)
    res = run([root, "--az_create_container=1", "--dlio_phase=generate",
               "--dlio_workload=" + str(wl), "--dlio_ranks=2", "--numjobs=2", "--rw=write",
               "--iodepth=4"])
    expect = {"%s/%s/ds/%s" % (ACCOUNT, container, p): d1 * d2 + 8 + 490
              for p, (d1, d2), _ in oracle.files(6, 0, "npz", 262144, 65536)}
    assert listing(az_tool, container, "ds/") == expect
    res = run([root, "--dlio_phase=train", "--dlio_workload=" + str(wl), "--rw=read"])
    assert io_bytes(res, "read") == sum(expect.values())

    ck = tmp_path / "c.yaml"
    ck.write_text(DLIO_CKPT)
    res = run([root, "--dlio_checkpoint_uri=az://%s/%s/ckpt" % (ACCOUNT, container),
               "--dlio_phase=checkpoint", "--dlio_workload=" + str(ck), "--dlio_ranks=2",
               "--numjobs=2", "--iodepth=4", "--dlio_write_size=1m"])
    written = io_bytes(res, "write")
    # torch.load reads every byte, the tail and the central directory twice
    assert 0 < written < io_bytes(res, "read") < written + 4 * 8192  # 4 files
    blobs = listing(az_tool, container, "ckpt/")
    assert sum(blobs.values()) == written and len(blobs) == 4  # 2 ranks x (model, optim)
