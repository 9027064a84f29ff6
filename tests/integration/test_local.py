"""The engine's file:// and direct:// backends driven by the real fio."""
import hashlib
import os

import pytest

from fiorun import ENGINE, run, run_raw

MiB = 1 << 20
SCHEMES = ["file", "direct"]


def io_bytes(res, ddir):
    return sum(j[ddir]["io_bytes"] for j in res.jobs)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("iodepth", [1, 32])
def test_write_then_verify_256m_8_files(workdir, scheme, iodepth):
    res = run(["--uri=%s://%s" % (scheme, workdir), "--rw=write", "--bs=128k",
               "--size=128m", "--nrfiles=4", "--numjobs=2", "--iodepth=%d" % iodepth,
               "--iodepth_batch_complete_max=%d" % iodepth,
               "--filename_format=data/$jobnum/f$filenum",
               "--verify=crc32c", "--do_verify=1", "--verify_fatal=1"])
    assert len(res.jobs) == 2
    for j in res.jobs:
        assert j["write"]["io_bytes"] == 128 * MiB
        assert j["read"]["io_bytes"] == 128 * MiB  # the verify pass read everything back
        assert j["write"]["total_ios"] == 1024
    files = [os.path.join(workdir, "data", str(n), "f%d" % i) for n in range(2) for i in range(4)]
    assert sorted(os.path.getsize(f) for f in files) == [32 * MiB] * 8


def write_file(path, size, seed=1):
    data = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    with open(path, "wb") as f:
        f.write(data[:size])
    return data[:size]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_read_existing_file_without_size(workdir, scheme):
    # an odd size that is still a multiple of 4 KiB so O_DIRECT can read it all
    write_file(os.path.join(workdir, "existing"), 3 * MiB + 12288)
    res = run(["--uri=%s://%s" % (scheme, workdir), "--filename=existing",
               "--rw=read", "--bs=4k", "--iodepth=8"])
    assert io_bytes(res, "read") == 3 * MiB + 12288


def test_read_back_verifies_data_written_by_an_earlier_job(workdir):
    run(["--uri=file://" + workdir, "--filename=v", "--rw=write", "--bs=64k",
         "--size=8m", "--verify=crc32c", "--do_verify=0"])
    res = run(["--uri=file://" + workdir, "--filename=v", "--rw=read", "--bs=64k",
               "--verify=crc32c", "--verify_fatal=1"])
    assert io_bytes(res, "read") == 8 * MiB
    # Corrupt one block: the same verifying read must now fail.
    with open(os.path.join(workdir, "v"), "r+b") as f:
        f.seek(5 * 65536 + 100)
        f.write(b"\xff" * 16)
    res = run(["--uri=file://" + workdir, "--filename=v", "--rw=read", "--bs=64k",
               "--verify=crc32c", "--verify_fatal=1"], expect_error=True)
    assert "verify" in res.stderr.lower()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_missing_file_is_an_error(workdir, scheme):
    res = run(["--uri=%s://%s" % (scheme, workdir), "--filename=nope", "--rw=read",
               "--bs=4k", "--size=1m"], expect_error=True)
    assert "nope does not exist" in res.stderr
    assert res.jobs[0]["error"] == 2  # ENOENT
    assert res.jobs[0]["read"]["io_bytes"] == 0


def test_read_past_end_is_an_error_not_zeros(workdir):
    write_file(os.path.join(workdir, "short"), 64 * 1024)
    res = run(["--uri=file://" + workdir, "--filename=short", "--rw=read", "--bs=64k",
               "--size=1m", "--offset=32k"], expect_error=True)
    assert res.jobs[0]["read"]["io_bytes"] == 0
    assert "short is 65536 bytes but the job reads up to byte 1081344" in res.stderr


def test_unknown_scheme(workdir):
    res = run(["--uri=foo://bucket/x", "--rw=read", "--bs=4k", "--size=1m"],
              expect_error=True)
    assert "unknown storage scheme 'foo'" in res.stderr
    assert "file://, direct://" in res.stderr


def test_file_uri_with_host_is_rejected(workdir):
    res = run(["--uri=file://data/x", "--rw=write", "--bs=4k", "--size=1m"], expect_error=True)
    assert "names a host ('data')" in res.stderr


@pytest.mark.parametrize("opts,what", [
    (["--bs=1000"], "length 1000 is not a multiple of"),
    (["--bs=4k", "--offset=100"], "offset 100 is not a multiple of"),
    (["--bs=4k", "--mem_align=100"], "buffer address"),
])
def test_misaligned_direct_io_is_explained(workdir, opts, what):
    write_file(os.path.join(workdir, "a"), MiB)
    res = run(["--uri=direct://" + workdir, "--filename=a", "--rw=read", "--size=512k"] + opts,
              expect_error=True)
    assert what in res.stderr
    assert "required alignment" in res.stderr
    assert res.jobs[0]["error"] == 22


def test_escaped_uri_filename_and_bare_path(workdir):
    path = os.path.join(workdir, "esc")
    run(["--filename=file\\://" + path, "--rw=write", "--bs=64k", "--size=1m"])
    assert os.path.getsize(path) == MiB
    res = run(["--filename=" + path, "--rw=read", "--bs=64k"])
    assert io_bytes(res, "read") == MiB
    res = run(["--filename=direct\\://" + path, "--rw=read", "--bs=64k"])
    assert io_bytes(res, "read") == MiB


def test_files_outside_root_are_not_touched(workdir):
    # a file name under a root is a path below it, even if it starts with '/'
    run(["--uri=file://" + workdir, "--filename=/sub/x", "--rw=write", "--bs=4k",
         "--size=64k"])
    assert os.path.getsize(os.path.join(workdir, "sub", "x")) == 65536


@pytest.mark.parametrize("opts,check", [
    (["--rw=randrw", "--bs=4k", "--size=4m", "--verify=md5", "--iodepth=16"], None),
    (["--rw=randwrite", "--bssplit=4k/50:64k/50", "--norandommap", "--size=4m",
      "--iodepth=8"], "bssplit"),
    (["--rw=write", "--bsrange=4k-64k", "--size=4m"], None),
    (["--rw=write", "--bs=4k", "--size=1m", "--fsync=8", "--end_fsync=1"], "sync"),
    (["--rw=write", "--bs=4k", "--size=1m", "--fdatasync=4"], "sync"),
    (["--rw=write", "--bs=64k", "--size=2m", "--nrfiles=4", "--openfiles=2",
      "--file_service_type=sequential"], None),
    (["--rw=randwrite", "--bs=4k", "--size=2m", "--nrfiles=4",
      "--file_service_type=random"], None),
    (["--rw=write", "--bs=64k", "--size=1m", "--loops=3"], "loops"),
    (["--rw=write", "--bs=64k", "--size=1m", "--io_size=3m"], "loops"),
    (["--rw=write", "--bs=4k", "--size=1m", "--time_based", "--runtime=1"], "time"),
    (["--rw=write", "--bs=4k", "--size=256k", "--rate=2m"], None),
    (["--rw=write", "--bs=4k", "--size=256k", "--thinktime=1ms", "--thinktime_blocks=8",
      "--iodepth=4"], None),
    (["--rw=write", "--bs=64k", "--size=1m", "--create_on_open=1"], None),
    (["--rw=write", "--bs=64k", "--size=1m", "--unlink=1"], "unlink"),
    (["--rw=write", "--bs=4k", "--size=1m", "--iodepth=16", "--iodepth_batch_submit=4",
      "--iodepth_batch_complete_min=2", "--iodepth_batch_complete_max=16"], None),
    (["--rw=write", "--bs=4k", "--size=1m", "--filesize=256k", "--nrfiles=4"], None),
])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_fio_options_keep_their_meaning(workdir, scheme, opts, check):
    res = run(["--uri=%s://%s" % (scheme, workdir), "--filename_format=f.$jobnum.$filenum"]
              + opts)
    j = res.jobs[0]
    written = j["write"]["io_bytes"]
    assert written > 0
    if check == "sync":
        assert j["sync"]["lat_ns"]["N"] > 0  # fio counts syncs here, not in total_ios
    if check == "loops":
        assert written == 3 * MiB
    if check == "unlink":
        assert not os.listdir(workdir)
    else:
        assert os.listdir(workdir)
    if check == "bssplit":
        assert j["write"]["total_ios"] > 0


def test_enghelp_lists_options():
    rc, out, err = run_raw(["--enghelp=" + ENGINE])
    assert rc == 0, err
    assert "uri" in out and "Storage root URI" in out
    assert "mkdirs" in out


def test_secret_options_are_hidden_from_fio_output(workdir):
    res = run(["--uri=file://" + workdir, "--rw=write", "--bs=4k", "--size=64k",
               "--s3_secret_key=NOT-TO-BE-SEEN-1", "--az_account_key=NOT-TO-BE-SEEN-2",
               "--az_sas_token=NOT-TO-BE-SEEN-3", "--retries=2"])
    assert "NOT-TO-BE-SEEN" not in res.stdout + res.stderr
    opts = res.jobs[0]["job options"]
    assert opts["s3_secret_key"] == "<hidden>"
    assert opts["retries"] == "2"
