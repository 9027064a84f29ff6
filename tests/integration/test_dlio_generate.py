"""DLIO data generation through the engine (dlio_phase=generate), checked against
numpy's own reading of the files and an independent computation of DLIO's names,
dims and sizes (dlio_oracle)."""
import os
import struct

import numpy as np
import pytest

import dlio_oracle as oracle
from fiorun import run

KiB = 1024


def workload(tmp, fmt, ntrain, neval, rl, sd, nspf=1, subfolders=0, extra=""):
    path = os.path.join(tmp, "w.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: test
framework: pytorch
workflow:
  generate_data: True
  train: False
dataset:
  data_folder: data/
  format: %s
  num_files_train: %d
  num_files_eval: %d
  num_samples_per_file: %d
  record_length_bytes: %d
  record_length_bytes_stdev: %d
  num_subfolders_train: %d
  num_subfolders_eval: %d
reader:
  data_loader: pytorch
  batch_size: 1
%s""" % (fmt, ntrain, neval, nspf, rl, sd, subfolders, subfolders, extra))
    return path


def generate(workdir, yaml, ranks=2, iodepth=4, extra=()):
    data = os.path.join(workdir, "data")
    res = run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
               "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--iodepth=%d" % iodepth,
               "--rw=write"] + list(extra))
    return data, res


def listing(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


@pytest.mark.parametrize("ranks,iodepth,wsize", [(1, 1, "0"), (2, 4, "0"), (3, 8, "100000")])
def test_npz_names_sizes_and_content(workdir, ranks, iodepth, wsize):
    yaml = workload(workdir, "npz", 7, 3, 64 * KiB, 8 * KiB)
    data, res = generate(workdir, yaml, ranks, iodepth, ["--dlio_write_size=" + wsize])
    expect = oracle.files(7, 3, "npz", 64 * KiB, 8 * KiB)
    got = listing(data)
    assert sorted(got) == sorted(p for p, _, _ in expect)
    for rel, (d1, d2), _ in expect:
        assert got[rel] == d1 * d2 + 8 + 490, rel
        z = np.load(os.path.join(data, rel))  # numpy checks the zip CRC as it reads
        x = z["x"]
        assert x.shape == (d1, d2, 1) and x.dtype == np.uint8
        assert (z["y"] == 0).all() and z["y"].shape == (1,)
        assert x.std() > 50  # fio's random payload, not zeros
    # rank r wrote the files r, r + ranks, ...; fio counted every byte it wrote
    assert len(res.jobs) == ranks
    written = sum(j["write"]["io_bytes"] for j in res.jobs)
    assert written == sum(got.values()) + 55 * len(got)  # + each zip header rewrite
    assert "valid npz containers" in res.stdout


def test_npy_subfolders_and_several_samples(workdir):
    yaml = workload(workdir, "npy", 4, 0, 10000, 0, nspf=3, subfolders=2)
    data, _ = generate(workdir, yaml, ranks=2)
    expect = oracle.files(4, 0, "npy", 10000, 0, subfolders=2)
    got = listing(data)
    assert sorted(got) == sorted(p for p, _, _ in expect)
    assert "train/0/img_0_of_4.npy" in got and "train/1/img_1_of_4.npy" in got
    for rel, (d1, d2), _ in expect:
        a = np.load(os.path.join(data, rel))
        assert a.shape == (d1, d2, 3) and a.dtype == np.uint8
        assert got[rel] == d1 * d2 * 3 + 128


def test_tfrecord_framing_and_index(workdir):
    yaml = workload(workdir, "tfrecord", 3, 1, 2000, 300, nspf=4)
    data, _ = generate(workdir, yaml, ranks=2, extra=["--dlio_write_size=777"])
    expect = oracle.files(3, 1, "tfrecord", 2000, 300)
    d_mean = int(2000 ** 0.5)
    for rel, (d1, d2), _ in expect:
        p = d1 * d2
        e = oracle.tfrecord_example_len(p, d_mean)  # v2.0: the size feature is d
        blob = open(os.path.join(data, rel), "rb").read()
        assert len(blob) == 4 * (16 + e)
        off = 0
        for _ in range(4):
            (n,) = struct.unpack_from("<Q", blob, off)
            (lcrc,) = struct.unpack_from("<I", blob, off + 8)
            assert n == e
            assert lcrc == oracle.masked(oracle.crc32c(blob[off:off + 8]))
            example = blob[off + 12:off + 12 + n]
            (dcrc,) = struct.unpack_from("<I", blob, off + 12 + n)
            assert dcrc == oracle.masked(oracle.crc32c(example))
            assert b"\x0a\x05image" in example[:32] and b"\x0a\x04size" in example[-16:]
            off += 16 + n
        split = "train" if rel.startswith("train/") else "valid"
        idx = os.path.join(data, "index", split, os.path.basename(rel) + ".idx")
        lines = open(idx).read().splitlines()
        assert lines == ["%d %d" % (k * (16 + e), 16 + e) for k in range(4)]


def test_indexed_binary_side_files(workdir):
    yaml = workload(workdir, "indexed_binary", 3, 0, 4096, 0, nspf=5)
    data, _ = generate(workdir, yaml, ranks=1)
    for rel, (d1, d2), _ in oracle.files(3, 0, "indexed_binary", 4096, 0):
        s = d1 * d2
        assert os.path.getsize(os.path.join(data, rel)) == 5 * s
        off = np.fromfile(os.path.join(data, rel + ".off.idx"), dtype="<u8")
        sz = np.fromfile(os.path.join(data, rel + ".sz.idx"), dtype="<u8")
        assert list(off) == [k * s for k in range(5)]
        assert list(sz) == [s] * 5


def test_approximate_formats_say_so(workdir):
    yaml = workload(workdir, "csv", 2, 0, 4096, 0)
    data, res = generate(workdir, yaml, ranks=1)
    assert "0 valid csv containers, 2 of approximate size with random content" in res.stdout
    assert len(listing(data)) == 2


@pytest.mark.parametrize("opts,msg", [
    (["--dlio_ranks=1", "--numjobs=2"], "do not fit in dlio_ranks=1"),
    (["--dlio_ranks=2", "--numjobs=1", "--dlio_rank_base=2"], "do not fit"),
])
def test_bad_rank_layout(workdir, opts, msg):
    yaml = workload(workdir, "npz", 2, 0, 4096, 0)
    res = run(["--uri=file://" + workdir, "--dlio_phase=generate", "--dlio_workload=" + yaml,
               "--rw=write"] + opts, expect_error=True)
    assert msg in res.stderr


def test_bad_workload_is_reported(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("dataset:\n  num_files_train: lots\n")
    res = run(["--uri=file://" + workdir, "--dlio_phase=generate", "--dlio_workload=" + path,
               "--rw=write"], expect_error=True)
    assert "num_files_train" in res.stderr
    res = run(["--uri=file://" + workdir, "--dlio_phase=generate", "--rw=write"],
              expect_error=True)
    assert "dlio_config=" in res.stderr
