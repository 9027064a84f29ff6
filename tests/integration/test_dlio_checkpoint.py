"""DLIO's checkpoint-only benchmark through the engine (dlio_phase=checkpoint) on file://,
s3:// (the RADOS Gateway) and az:// (Azurite): the folders, file names and per-rank sizes of
a (tiny) llama transformer, computed here from DLIO's formulas; the files are torch.save
zips (read back here with Python's zipfile and pickle); torch.load's read sequence (tail,
central directory, one read per record) from the engine's request trace; and the summary."""
import collections
import io
import os
import pickle
import re
import struct
import urllib.request
import xml.etree.ElementTree as ET
import zipfile

import pytest

from fiorun import run
from s3server import s3_get

V, H, F, HEADS, KV_HEADS, L = 1000, 64, 128, 8, 8, 2
ELEM = {"HalfStorage": 2, "FloatStorage": 4, "CharStorage": 1}  # torch.int8: CharStorage


def params():
    kv = (H // HEADS) * KV_HEADS
    return 2 * V * H + L * (2 * H + H * (H + 2 * kv) + H * H + 3 * H * F) + H


def layer_tensors(sf):
    """Elements of each layer tensor, layers 0 .. L+2 (embedding, L layers, lm_head, norm)."""
    kv = (H // HEADS) * KV_HEADS
    per = [H, H * (H + 2 * kv), H * H, H, 2 * H * F, H * F]
    return [H * V // sf] + [x // sf for _ in range(L) for x in per] + [H * V // sf, H // sf]


def expected(ranks, zero, step=1):
    """{relative path: (bytes, tensors)} of a checkpoint for TP=PP=1, fp16 model, fp32
    optimizer."""
    out = {}
    n = params() // ranks
    d = "global_epoch1_step%d/" % step
    for r in range(ranks):
        out[d + "zero_pp_rank_%d_mp_rank_0_optim_states.pt" % r] = (3 * (n + 5 * H) * 4, 6)
        if zero == 3:
            t = layer_tensors(ranks)
            out[d + "zero_pp_rank_%d_mp_rank_0_model_states.pt" % r] = (sum(t) * 2, len(t))
    if zero == 1:
        t = layer_tensors(1)
        out[d + "model_0_model_states.pt"] = (sum(t) * 2, len(t))
    return out


def workload(tmp, zero, nwrite, nread):
    path = os.path.join(tmp, "c.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: llama_tiny
  type: transformer
  model_datatype: fp16
  optimizer_datatype: fp32
  num_layers: %d
  parallelism:
    tensor: 1
    pipeline: 1
    zero_stage: %d
  transformer:
    vocab_size: %d
    hidden_size: %d
    ffn_hidden_size: %d
    num_attention_heads: %d
    num_kv_heads: %d
framework: pytorch
workflow:
  generate_data: False
  train: False
  checkpoint: True
checkpoint:
  checkpoint_folder: ckpt
  time_between_checkpoints: 0.01
  num_checkpoints_write: %d
  num_checkpoints_read: %d
""" % (L, zero, V, H, F, HEADS, KV_HEADS, nwrite, nread))
    return path


def checkpoint(workdir, yaml, ranks, extra=(), expect_error=False, uri=None):
    return run(["--uri=file://" + workdir, "--dlio_checkpoint_uri=" +
                (uri or "file://" + os.path.join(workdir, "ckpt")), "--dlio_phase=checkpoint",
                "--dlio_workload=" + yaml, "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks,
                # (rw= before buffer_pattern: fio then fills each buffer once, as it
                # does by default, rather than refilling it for every write)
                "--iodepth=4", "--rw=write", "--buffer_pattern=0x5a"] + list(extra),
               expect_error=expect_error)


def listing(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


# Reading what the engine stored, without the engine.

class LocalStore:
    def __init__(self, root, scheme="file", args=()):
        self.root, self.uri, self.args = root, scheme + "://" + root, list(args)
        self.direct = scheme == "direct"

    def list(self):
        return listing(self.root)

    def get(self, rel):
        with open(os.path.join(self.root, rel), "rb") as f:
            return f.read()


class S3Store:
    """ListObjectsV2 and GET, signed here with SigV4 (the engine's signer is not used)."""

    def __init__(self, bucket):
        self.bucket, self.uri, self.args = bucket, "s3://%s/ckpt" % bucket, []

    def list(self):
        doc = ET.fromstring(s3_get("/" + self.bucket, [("list-type", "2"),
                                                          ("prefix", "ckpt/")]))
        ns = {"s": doc.tag.split("}")[0][1:]} if doc.tag.startswith("{") else {"s": ""}
        pre = "s:" if ns["s"] else ""
        assert doc.findtext(pre + "IsTruncated", namespaces=ns) in ("false", None)
        return {c.findtext(pre + "Key", namespaces=ns)[len("ckpt/"):]:
                int(c.findtext(pre + "Size", namespaces=ns))
                for c in doc.findall(pre + "Contents", ns)}

    def get(self, rel):
        return s3_get("/%s/ckpt/%s" % (self.bucket, rel))


class AzStore:
    """List Blobs through the project's az-tool, Get Blob with a SAS token it signs."""

    def __init__(self, az_tool, account, container, endpoint):
        self.az_tool, self.account, self.container = az_tool, account, container
        self.endpoint = endpoint
        self.uri = "az://%s/%s/ckpt" % (account, container)
        self.args = ["--az_create_container=1"]

    def list(self):
        pre = "%s/%s/ckpt/" % (self.account, self.container)
        out = self.az_tool("list", pre).stdout
        return {line.split(" ", 1)[1][len(pre):]: int(line.split(" ", 1)[0])
                for line in out.splitlines()}

    def get(self, rel):
        sas = self.az_tool("sas", self.container, "r", "600").stdout.strip()
        url = "%s/%s/ckpt/%s?%s" % (self.endpoint, self.container, rel, sas)
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.read()


@pytest.fixture(params=["file", "direct", "s3", "az"])
def store(request, workdir):
    if request.param == "file":
        return LocalStore(os.path.join(workdir, "ckpt"))
    if request.param == "direct":
        # O_DIRECT: aligned 8 KiB blocks across the zip's streams, reads widened
        return LocalStore(os.path.join(workdir, "ckpt"), "direct", ["--dlio_write_size=8192"])
    if request.param == "s3":
        return S3Store(request.getfixturevalue("bucket"))
    from azurite import ACCOUNT
    import uuid
    server = request.getfixturevalue("azurite")
    return AzStore(request.getfixturevalue("az_tool"), ACCOUNT, "c" + uuid.uuid4().hex[:12],
                   server.endpoint)


from test_s3 import bucket, gateway  # noqa: E402,F401 (fixtures, started only when used)
from azurite import az_tool, azurite  # noqa: E402,F401


class Unpickler(pickle.Unpickler):
    """torch.save's data.pkl without torch: tensors become (storage class, key, numel)."""

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, grad, hooks: (storage, offset, size)
        if module == "torch":
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError("unexpected global %s.%s" % (module, name))

    def persistent_load(self, pid):
        return pid


def zip_reads(blob):
    """What torch.load reads of this file, from its own zip structure: the last 4096
    bytes, the central directory, then each record from its local header to the next."""
    eocd = blob.rfind(b"PK\x05\x06")
    count, cd_size, cd_off = struct.unpack("<HII", blob[eocd + 10:eocd + 20])
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        offs = sorted(i.header_offset for i in z.infolist())
    assert len(offs) == count
    tail = min(4096, len(blob))
    return ([(len(blob) - tail, tail), (cd_off, cd_size)] +
            [(o, e - o) for o, e in zip(offs, offs[1:] + [cd_off])])


def check_torch_zip(blob, size, ntensors, payload=True):
    """A torch.save file of exactly size bytes, every CRC right, data.pkl's tensors the
    size of their records, the tensor data fio's payload (the 0x5a pattern; payload
    False: whatever a training job's buffers held, the dataset's reads)."""
    assert len(blob) == size
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert names[:4] == ["archive/data.pkl", "archive/.format_version",
                             "archive/.storage_alignment", "archive/byteorder"]
        assert names[-2:] == ["archive/version", "archive/.data/serialization_id"]
        assert z.read("archive/byteorder") == b"little"
        state = Unpickler(io.BytesIO(z.read("archive/data.pkl"))).load()
        assert len(state) == ntensors == len(names) - 6
        for key, ((tag, storage, skey, loc, numel), offset, shape) in state.items():
            info = z.getinfo("archive/data/" + skey)
            assert (tag, loc, offset, shape) == ("storage", "cpu", 0, (numel,))
            assert info.file_size == numel * ELEM[storage]
            data = z.read(info)
            assert not payload or data == b"\x5a" * len(data)
            hdr = info.header_offset
            name_len, extra_len = struct.unpack("<HH", blob[hdr + 26:hdr + 30])
            assert (hdr + 30 + name_len + extra_len) % 64 == 0  # torch's alignment


def trace(path, ranks):
    """The engine's request trace (dlio_trace), one file per rank: {(op, path): [(offset,
    length)]} in issue order, op W, R or S."""
    rows = collections.defaultdict(list)
    for r in range(ranks):
        with open("%s.%d" % (path, r)) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                ck, worker, op, opens, off, length, rel = line.split()
                assert worker == "-1"
                rows[(op[0].upper(), rel)].append((int(off), int(length)))
    return rows


@pytest.mark.parametrize("ranks,zero", [(1, 1), (2, 1), (1, 3), (2, 3)])
def test_checkpoints_are_torch_save_files(workdir, store, ranks, zero):
    nck = 2 if isinstance(store, LocalStore) else 1
    yaml = workload(workdir, zero, nck, nck)
    tr = os.path.join(workdir, "trace")
    res = checkpoint(workdir, yaml, ranks, store.args + [
        "--dlio_checkpoint_verify=1", "--dlio_trace=" + tr], uri=store.uri)
    exp = {}
    for k in range(1, nck + 1):
        exp.update(expected(ranks, zero, k))
    # names and sizes: the model's, whatever the zip framing
    assert store.list() == {k: v[0] for k, v in exp.items()}
    total = sum(v[0] for v in exp.values())
    direct = getattr(store, "direct", False)
    written = sum(j["write"]["io_bytes"] for j in res.jobs)
    # (O_DIRECT: each file's last block goes out whole, at most 4 KiB past its end)
    assert total <= written < total + 4096 * len(exp) if direct else written == total
    rows = trace(tr, ranks)
    reads = 0
    nrec = 0
    for rel, (size, ntensors) in sorted(exp.items()):
        blob = store.get(rel)
        check_torch_zip(blob, size, ntensors)
        # writes: the file once, in order, no write across a record or a tensor's data edge
        # (O_DIRECT: in aligned blocks of the write size, whatever the streams)
        w = rows[("W", rel)]
        assert w[0][0] == 0 and all(a[0] + a[1] == b[0] for a, b in zip(w, w[1:]))
        assert w[-1][0] + w[-1][1] == size
        if direct:
            assert all(n == 8192 for _, n in w[:-1]) and 0 < w[-1][1] <= 8192
        else:
            starts = [o for o, _ in w]
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                for i in z.infolist():
                    if i.filename.startswith("archive/data/"):
                        hdr = i.header_offset
                        nl, xl = struct.unpack("<HH", blob[hdr + 26:hdr + 30])
                        start = hdr + 30 + nl + xl
                        assert hdr in starts and start in starts
                        assert start + i.file_size in starts  # the data descriptor follows
        # reads: torch.load's sequence, each record in one read
        # (the direct store's 8 KiB write size cuts them in 8 KiB pieces)
        want = zip_reads(blob)
        if direct:
            want = [(o + k, min(8192, n - k)) for o, n in want for k in range(0, n, 8192)]
        assert rows[("R", rel)] == want, rel
        reads += sum(n for _, n in zip_reads(blob))
        nrec += ntensors + 6
    got = sum(j["read"]["io_bytes"] for j in res.jobs)
    # (O_DIRECT: each read widened to the alignment, at most 4 KiB on either side)
    nreads = sum(len(v) for k, v in rows.items() if k[0] == "R")
    assert reads <= got <= reads + 8192 * nreads if direct else got == reads
    # every record's CRC-32 checked on load against the central directory
    checked = sum(int(n) for n in re.findall(r"; (\d+) zip records CRC-checked", res.stdout))
    assert checked == nrec
    # the summary: DLIO's checkpoint size (GiB of computed tensors over all ranks),
    # duration and GB/s, for saves and loads
    gib = sum(v[0] for v in expected(ranks, zero).values()) / 2**30
    for what in ("save", "load"):
        m = re.search(r"\[METRIC\] rank 0 %s_checkpoint: %d checkpoints of ([0-9.]+) GiB .*"
                      r"duration mean ([0-9.]+) s .* throughput mean ([0-9.]+) GB/s"
                      % (what, nck), res.stdout)
        assert m, res.stdout
        assert m.group(1) == "%.4f" % gib and float(m.group(2)) > 0 and float(m.group(3)) > 0
    assert "saved checkpoint %d" % nck in res.stdout and "loaded checkpoint %d" % nck in res.stdout
    # the run as MLPerf counts it: each checkpoint as slow as its slowest rank
    for what, verb in (("save", "saved"), ("load", "loaded")):
        per = collections.defaultdict(list)
        for k, gbs in re.findall(r"rank \d+ %s checkpoint (\d+) \(.*, ([0-9.]+) GB/s" % verb,
                                 res.stdout):
            per[int(k)].append(float(gbs))
        assert sorted(per) == list(range(1, nck + 1)) and all(len(v) == ranks
                                                               for v in per.values())
        m = re.search(r"\[METRIC\] checkpoint run, ranks 0\.\.%d: checkpoint size %.4f GiB.*"
                      r"%s: %d checkpoints, duration \(slowest rank\) mean [0-9.]+ s, "
                      r"throughput mean ([0-9.]+) GB/s" % (ranks - 1, gib, what, nck),
                      res.stdout)
        assert m, res.stdout
        assert abs(float(m.group(1)) - sum(min(v) for v in per.values()) / nck) < 2e-4


def test_a_damaged_checkpoint_fails_its_load(workdir):
    yaml = workload(workdir, 1, 1, 0)
    checkpoint(workdir, yaml, 1)
    path = os.path.join(workdir, "ckpt", "global_epoch1_step1", "model_0_model_states.pt")
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("archive/data/3")
    with open(path, "r+b") as f:
        blob = f.read()
        nl, xl = struct.unpack("<HH", blob[info.header_offset + 26:info.header_offset + 30])
        f.seek(info.header_offset + 30 + nl + xl + 5)
        f.write(b"\x00")
    yaml = workload(workdir, 1, 0, 1)
    res = checkpoint(workdir, yaml, 1)  # torch.load checks no CRC: nor does the default
    res = checkpoint(workdir, yaml, 1, ["--dlio_checkpoint_verify=1"], expect_error=True)
    assert re.search(r"model_0_model_states.pt: record archive/data/3: CRC-32 [0-9a-f]{8} of "
                     r"the bytes read, [0-9a-f]{8} in the central directory", res.stderr)
    # a file that is not a zip at all: said so, naming the file
    with open(path, "r+b") as f:
        f.seek(blob.rfind(b"PK\x05\x06"))
        f.write(b"\0" * 4)
    res = checkpoint(workdir, yaml, 1, expect_error=True)
    assert re.search(r"model_0_model_states.pt: no zip end of central directory record in the "
                     r"last 4096 bytes: not a torch.save file", res.stderr)


def test_fsync_is_a_choice(workdir):
    yaml = workload(workdir, 1, 1, 0)
    res = checkpoint(workdir, yaml, 1)
    assert res.jobs[0]["sync"]["lat_ns"]["N"] == 0 and "not fsynced" in res.stdout
    res = checkpoint(workdir, yaml, 1, ["--dlio_checkpoint_fsync=1"])
    assert res.jobs[0]["sync"]["lat_ns"]["N"] == 2  # one per file
    assert ", fsynced" in res.stdout


def test_reading_checkpoints_that_were_never_written(workdir):
    yaml = workload(workdir, 1, 0, 1)
    res = checkpoint(workdir, yaml, 1, expect_error=True)
    assert "does not exist" in res.stderr and "num_checkpoints_write" in res.stderr


def train_workload(tmp, ckpt_lines):
    path = os.path.join(tmp, "tc.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: unet3d
  model_size_bytes: 3000000
framework: pytorch
workflow:
  generate_data: False
  train: True
  checkpoint: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: 16
  num_samples_per_file: 1
  record_length_bytes: 65536
reader:
  data_loader: pytorch
  batch_size: 2
  read_threads: 2
train:
  epochs: 3
  computation_time: 0.001
checkpoint:
  checkpoint_folder: ckpt
%s
metric:
  au: 0.5
""" % ckpt_lines)
    return path


@pytest.mark.parametrize("lines,folders,blocks", [
    # epoch mode: after epochs 1 and 3; the folder's step is the epoch's 8 steps + 1;
    # the save is after the epoch's one block
    ("  checkpoint_after_epoch: 1\n  epochs_between_checkpoints: 2",
     ["global_epoch1_step9", "global_epoch3_step9"], 1),
    # step mode: after steps 3 and 6 of every epoch, each save ending a block: steps
    # 1-3, 4-6 and 7-8
    ("  steps_between_checkpoints: 3",
     ["global_epoch%d_step%d" % (e, s) for e in (1, 2, 3) for s in (3, 6)], 3),
    # after steps 4 and 8: the block after the last save has no step and is no block
    ("  steps_between_checkpoints: 4",
     ["global_epoch%d_step%d" % (e, s) for e in (1, 2, 3) for s in (4, 8)], 2),
])
def test_checkpoints_during_training(workdir, lines, folders, blocks):
    import datetime
    import json

    yaml = train_workload(workdir, lines)
    data = os.path.join(workdir, "data")
    out = os.path.join(workdir, "out")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--rw=write"])
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
               "--dlio_checkpoint_uri=file://" + os.path.join(workdir, "ckpt"),
               "--rw=read", "--dlio_write_size=1m", "--dlio_output=" + out])
    # DLIO's blocks (SPEC 9.2, 11.2): a step-mode save closes the block and the next
    # one starts after it, so no save lies inside a block's wall time
    stats = json.load(open(os.path.join(out, "0_per_epoch_stats.json")))

    def t(s):
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f")

    for e in ("1", "2", "3"):
        names = sorted(k for k in stats[e] if k.startswith("block"))
        assert names == ["block%d" % (k + 1) for k in range(blocks)], stats[e]
        spans = [(t(stats[e][b]["start"]), t(stats[e][b]["end"])) for b in names]
        assert all(a <= b for a, b in spans)
        # the save between two blocks (3 MB written, opened and closed) takes > 1 us
        assert all(spans[k][1] < spans[k + 1][0] for k in range(blocks - 1))
        assert t(stats[e]["start"]) <= spans[0][0] and spans[-1][1] <= t(stats[e]["end"])
    got = listing(os.path.join(workdir, "ckpt"))
    # unet3d is not a transformer: rank 0 saves the model_size_bytes tensor
    assert got == {f + "/model_states-0.pt": 3000000 for f in folders}
    # pt_save during training writes the same torch.save zips as the checkpoint workflow
    for rel in got:
        with open(os.path.join(workdir, "ckpt", rel), "rb") as f:
            check_torch_zip(f.read(), 3000000, 1, payload=False)
    assert "writes checkpoint files as torch.save zips" in res.stdout
    assert res.jobs[0]["write"]["io_bytes"] == 3000000 * len(folders)
    assert "saved checkpoint %d during training" % len(folders) in res.stdout
    assert "epoch 3: 8 steps" in res.stdout
