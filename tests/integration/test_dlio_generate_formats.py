"""DLIO data generation of the MLPerf workloads' formats (scaled down) on file://, direct://
(O_DIRECT: aligned blocks, the last one cut back), s3:// (the RADOS Gateway) and az:// (Azurite): every object's name and size against an independent
computation of DLIO's (dlio_oracle), then each file opened by its format's own reader --
numpy for npz, Debian's h5py for hdf5, and for TFRecord the framing's masked CRC-32C and the
tf.train.Example inside, decoded here. Objects on s3/az are downloaded with plain HTTP
(SigV4 signed here for S3, a SAS from az-tool for Azure)."""
import io
import os
import struct
import subprocess
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zipfile

import h5py
import numpy as np
import pytest

import dlio_oracle as oracle
from azurite import ACCOUNT, az_tool, azurite  # noqa: F401 (fixtures)
from fiorun import BUILD, REPO, run
from s3server import s3_get
from test_s3 import bucket, gateway  # noqa: F401 (fixtures)

WL = os.path.join(REPO, "jobfiles", "workload")

# workload, format, train files, eval files, samples per file, record length, stdev, prefix
CASES = {
    "cosmoflow-tfrecord": ("cosmoflow_h100", "tfrecord", 3, 1, 1, 2000, 300, "img"),
    "cosmoflow-hdf5": ("cosmoflow_h100", "hdf5", 3, 1, 1, 2000, 300, "img"),
    "resnet50-tfrecord": ("resnet50_h100", "tfrecord", 2, 0, 5, 3000, 0, "img"),
    "resnet50-hdf5": ("resnet50_h100", "hdf5", 2, 0, 5, 3000, 0, "img"),
    "unet3d-npz": ("unet3d_h100", "npz", 3, 0, 1, 65536, 8192, "img"),
    "bert-npz": ("bert_v100", "npz", 2, 0, 4, 2500, 0, "part"),
}
# bert asks for 1000 steps, which the scaled-down dataset does not have (DLIO refuses)
EXTRA = {"bert_v100": ["train.total_training_steps=2", "reader.batch_size=2"]}


def overrides(wl, fmt, ntrain, neval, nspf, rl, sd):
    return " ".join(["++workload.dataset.%s=%s" % kv for kv in [
        ("format", fmt), ("num_files_train", ntrain), ("num_files_eval", neval),
        ("num_samples_per_file", nspf), ("record_length_bytes", rl),
        ("record_length_bytes_stdev", sd)]] + ["++workload." + o for o in EXTRA.get(wl, [])])


def expected(case):
    """{relpath: (size, d1, d2)} of the data files and the TFRecord index files."""
    _, fmt, ntrain, neval, n, rl, sd, prefix = CASES[case]
    out = {}
    for rel, (d1, d2), _ in oracle.files(ntrain, neval, fmt, rl, sd, prefix=prefix):
        p = d1 * d2
        if fmt == "npz":
            out[rel] = (p * n + 8 * n + 490, d1, d2)
        elif fmt == "hdf5":
            out[rel] = (2048 + p * n + 8 * n, d1, d2)
        else:
            rec = 16 + oracle.tfrecord_example_len(p, int(rl ** 0.5))  # v2.0: size is d
            out[rel] = (n * rec, d1, d2)
            split, base = rel.split("/", 1)
            idx = "".join("%d %d\n" % (k * rec, rec) for k in range(n))
            out["index/%s/%s.idx" % (split, base)] = (len(idx), d1, d2)
    return out


def generate(case, uri, extra=(), expect_error=False):
    wl, fmt, ntrain, neval, n, rl, sd, _ = CASES[case]
    return run(["--uri=" + uri, "--dlio_phase=generate",
                "--dlio_workload=%s/%s.yaml" % (WL, wl),
                "--dlio_overrides=" + overrides(wl, fmt, ntrain, neval, n, rl, sd),
                "--dlio_ranks=2", "--numjobs=2", "--iodepth=4", "--rw=write"] + list(extra),
               expect_error=expect_error)


# -- the format's readers ---------------------------------------------------------------------

def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def pb_fields(b):
    """A protobuf message's (field, value) pairs: bytes for length-delimited, int for varint."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 2:
            n, i = varint(b, i)
            out.append((key >> 3, b[i:i + n]))
            i += n
        else:
            assert key & 7 == 0, "unexpected wire type %d" % (key & 7)
            v, i = varint(b, i)
            out.append((key >> 3, v))
    assert i == len(b)
    return out


def example_features(ex):
    """tf.train.Example -> {name: (kind field, list payload)}."""
    [(f, features)] = pb_fields(ex)
    assert f == 1
    out = {}
    for f, entry in pb_fields(features):
        assert f == 1  # map<string, Feature> entry
        kv = dict(pb_fields(entry))
        [(kind, values)] = pb_fields(kv[2])
        out[kv[1].decode()] = (kind, values)
    return out


def check_tfrecord(blob, n, p, size_value):
    off = 0
    for _ in range(n):
        length = int.from_bytes(blob[off:off + 8], "little")
        assert int.from_bytes(blob[off + 8:off + 12], "little") == \
            oracle.masked(oracle.crc32c(blob[off:off + 8]))
        ex = blob[off + 12:off + 12 + length]
        assert int.from_bytes(blob[off + 12 + length:off + 16 + length], "little") == \
            oracle.masked(oracle.crc32c(ex))
        feats = example_features(ex)
        assert sorted(feats) == ["image", "size"]
        kind, image = feats["image"]
        [(f, data)] = pb_fields(image)
        assert kind == 1 and f == 1 and len(data) == p  # bytes_list with the sample
        assert np.frombuffer(data, np.uint8).std() > 50  # fio's random payload
        kind, sizes = feats["size"]
        [(f, packed)] = pb_fields(sizes)
        assert kind == 3 and f == 1 and varint(packed, 0) == (size_value, len(packed))
        off += 16 + length
    assert off == len(blob)


def check_file(case, rel, blob, d1, d2):
    _, fmt, _, _, n, rl, _, _ = CASES[case]
    p = d1 * d2
    if rel.endswith(".idx"):
        rec = 16 + oracle.tfrecord_example_len(p, int(rl ** 0.5))
        assert blob.decode() == "".join("%d %d\n" % (k * rec, rec) for k in range(n))
    elif fmt == "npz":
        z = np.load(io.BytesIO(blob))  # zipfile checks each member's CRC-32 as it reads
        assert sorted(z.files) == ["x", "y"]
        assert z["x"].shape == (d1, d2, n) and z["x"].dtype == np.uint8
        assert z["y"].shape == (n,) and z["y"].dtype == np.int64 and not z["y"].any()
        assert z["x"].std() > 50
    elif fmt == "hdf5":
        with h5py.File(io.BytesIO(blob), "r") as f:
            assert sorted(f) == ["labels", "records"]
            rec, lab = f["records"], f["labels"]
            assert rec.shape == (n, d1, d2) and rec.dtype == np.uint8
            assert lab.shape == (n,) and lab.dtype == np.int64 and not lab[:].any()
            # where the engine's training reads look for sample k: 2048 + k * P
            assert rec.id.get_offset() == 2048
            data = rec[:]
            assert data.tobytes() == blob[2048:2048 + p * n]
            assert data.std() > 50
    else:
        check_tfrecord(blob, n, p, int(rl ** 0.5))


def check_all(case, got):
    """got: {relpath: bytes}, everything under the data folder."""
    want = expected(case)
    assert sorted(got) == sorted(want)
    assert {r: len(b) for r, b in got.items()} == {r: s for r, (s, _, _) in want.items()}
    for rel, (_, d1, d2) in want.items():
        check_file(case, rel, got[rel], d1, d2)


# -- file:// and direct:// --------------------------------------------------------------------

def read_tree(root):
    got = {}
    for d, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                got[os.path.relpath(os.path.join(d, name), root)] = f.read()
    return got


def check_npz_local_headers(got):
    """Local files get x.npy's local header rewritten with its CRC (as Python's zipfile
    does): it must agree with the central directory's."""
    for rel, blob in got.items():
        if rel.endswith(".npz"):
            info = zipfile.ZipFile(io.BytesIO(blob)).getinfo("x.npy")
            assert blob[:4] == b"PK\x03\x04" and blob[30:35] == b"x.npy"
            assert struct.unpack("<I", blob[14:18])[0] == info.CRC, rel


@pytest.mark.parametrize("scheme", ["file", "direct"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_local(workdir, case, scheme):
    data = os.path.join(workdir, "data")
    # direct:// writes 4 KiB-aligned blocks, so small write sizes make files of several
    res = generate(case, "%s://%s" % (scheme, data),
                   ["--dlio_write_size=8192"] if scheme == "direct" else [])
    got = read_tree(data)
    check_all(case, got)
    check_npz_local_headers(got)
    # each rank says how many valid files (index files included) it wrote, and their bytes
    lines = [l for l in res.stdout.splitlines() if " valid %s containers" % CASES[case][1] in l]
    assert len(lines) == 2 and not any("random content" in l for l in lines)
    assert sum(int(l.split(" valid ")[0].rsplit(" ", 1)[1]) for l in lines) == len(got)
    assert sum(int(l.split(" files, ")[1].split(" ")[0]) for l in lines) == \
        sum(len(b) for b in got.values())


@pytest.mark.parametrize("scheme", ["file", "direct"])
def test_regenerating_smaller_files_leaves_exact_sizes(workdir, scheme):
    """An existing dataset of larger files is overwritten as DLIO's writers do (open for
    writing truncates), not left with the old files' tails."""
    wl, fmt, ntrain, neval, n, rl, sd, _ = CASES["unet3d-npz"]
    data = os.path.join(workdir, "data")
    for length in (3 * rl, rl):
        run(["--uri=%s://%s" % (scheme, data), "--dlio_phase=generate",
             "--dlio_workload=%s/%s.yaml" % (WL, wl),
             "--dlio_overrides=" + overrides(wl, fmt, ntrain, neval, n, length, sd),
             "--rw=write"])
    check_all("unet3d-npz", read_tree(data))


@pytest.mark.parametrize("stdev,extra", [(0, []), (40000, []), (0, ["--refill_buffers=1"]),
                                         (0, ["--buffer_compress_percentage=50"])])
def test_npz_crcs_with_reused_buffers(workdir, stdev, extra):
    """fio's buffers go round (iodepth 2, one rank, many files): the CRC-32 of a buffer's
    payload is remembered, and must be right whether the next file has the same layout,
    another one (container bytes land where payload was), or fio refills the buffer."""
    yaml = os.path.join(workdir, "w.yaml")
    with open(yaml, "w") as f:
        f.write("""model:
  name: t
framework: pytorch
workflow:
  generate_data: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: 12
  num_samples_per_file: 1
  record_length_bytes: 200000
  record_length_bytes_stdev: %d
reader:
  data_loader: pytorch
""" % stdev)
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--iodepth=2", "--rw=write"] + extra)
    got = read_tree(data)
    assert len(got) == 12 and len({len(b) for b in got.values()}) == (1 if not stdev else 12)
    for rel, blob in got.items():
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            assert z.testzip() is None, rel  # every member's bytes against its CRC-32
    check_npz_local_headers(got)


@pytest.mark.parametrize("case", ["unet3d-npz", "resnet50-hdf5"])
def test_payload_is_fios_pattern(workdir, case):
    """buffer_pattern: every file's data is fio's pattern, though fio's one buffer (iodepth
    1) carried the other files' container bytes before."""
    wl, fmt, ntrain, neval, n, rl, sd, _ = CASES[case]
    data = os.path.join(workdir, "data")
    # sizes that vary widely: a file's data lands where another's container bytes were
    # (rw= first: fio makes buffer_pattern refill every buffer when it parses it for a job
    # that may read, which rw's default does)
    run(["--uri=file://" + data, "--dlio_phase=generate", "--rw=write", "--buffer_pattern=0x5a",
         "--dlio_workload=%s/%s.yaml" % (WL, wl),
         "--dlio_overrides=" + overrides(wl, fmt, 6, 0, n, 200000, 50000), "--iodepth=1"])
    got = read_tree(data)
    assert len(got) == 6
    for rel, blob in got.items():
        if fmt == "npz":
            arr = np.load(io.BytesIO(blob))["x"]
        else:
            with h5py.File(io.BytesIO(blob), "r") as f:
                arr = f["records"][:]
        assert arr.size > 0 and (arr == 0x5a).all(), rel


def test_fio_verify_is_refused(workdir):
    """fio's verify= writes its own header into each buffer, over DLIO's container."""
    data = os.path.join(workdir, "data")
    res = generate("unet3d-npz", "file://" + data, ["--verify=crc32c"], expect_error=True)
    assert "verify= does not apply in DLIO mode" in res.stderr
    assert not os.path.exists(data)


def test_direct_write_size_must_be_aligned(workdir):
    data = os.path.join(workdir, "data")
    res = generate("unet3d-npz", "direct://" + data, ["--dlio_write_size=10000"],
                   expect_error=True)
    assert "dlio_write_size=10000: files under direct://%s are written with O_DIRECT, in " \
        "blocks that must be a multiple of 4096 bytes" % data in res.stderr
    assert not os.path.exists(data)


# -- s3:// ------------------------------------------------------------------------------------

def s3_download(bucket, prefix):
    doc = ET.fromstring(s3_get("/" + bucket, [("list-type", "2"), ("prefix", prefix)]))
    assert doc.findtext("{*}IsTruncated") == "false"
    got = {}
    for c in doc.findall("{*}Contents"):
        key = c.findtext("{*}Key")
        got[key[len(prefix):]] = s3_get("/%s/%s" % (bucket, key))
        assert len(got[key[len(prefix):]]) == int(c.findtext("{*}Size"))  # the listing agrees
    return got


@pytest.mark.parametrize("case", sorted(CASES))
def test_s3(bucket, case):  # noqa: F811 (fixture)
    generate(case, "s3://%s/ds" % bucket)
    check_all(case, s3_download(bucket, "ds/"))


# -- az:// ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_azure(azurite, az_tool, case):  # noqa: F811 (fixtures)
    container = "t" + uuid.uuid4().hex[:12]
    generate(case, "az://%s/%s/ds" % (ACCOUNT, container), ["--az_create_container=1"])
    sas = az_tool("sas", container, "rl", "600").stdout.strip()
    root = "%s/%s/ds/" % (ACCOUNT, container)
    got = {}
    for line in az_tool("list", root).stdout.splitlines():
        size, path = line.split(" ", 1)
        url = "%s/%s/%s?%s" % (azurite.endpoint, container, urllib.parse.quote(path[len(
            "%s/%s/" % (ACCOUNT, container)):]), sas)
        with urllib.request.urlopen(url, timeout=30) as r:
            got[path[len(root):]] = r.read()
        assert len(got[path[len(root):]]) == int(size)
    check_all(case, got)


# -- what cannot be valid says so --------------------------------------------------------------

def test_csv_keeps_the_model_size_and_says_it_is_random(workdir):
    wl, _, ntrain, neval, n, rl, sd, _ = CASES["resnet50-hdf5"]
    data = os.path.join(workdir, "data")
    res = run(["--uri=file://" + data, "--dlio_phase=generate",
               "--dlio_workload=%s/%s.yaml" % (WL, wl),
               "--dlio_overrides=" + overrides(wl, "csv", ntrain, neval, n, rl, sd), "--rw=write"])
    assert "0 valid csv containers, 2 of approximate size with random content" in res.stdout
    for rel, (d1, d2), _ in oracle.files(ntrain, neval, "csv", rl, sd):
        # DLIO's typical csv size: ~3.57 bytes per uint8 value (SPEC 4.4.5)
        assert os.path.getsize(os.path.join(data, rel)) == int(n * d1 * d2 * 3.57)
    d2f = os.path.join(BUILD, "dlio2fio")
    for fmt, says in (("csv", "content: NOT valid csv"), ("hdf5", "content: valid HDF5"),
                      ("tfrecord", "content: valid TFRecord")):
        p = subprocess.run([d2f, "--explain", "%s/%s.yaml" % (WL, wl),
                            "++workload.dataset.format=" + fmt,
                            "++workload.workflow.generate_data=True"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert says in p.stdout, p.stdout
