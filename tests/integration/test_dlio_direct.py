"""DLIO mode on direct:// (O_DIRECT), against the same workload on file://: generation
writes aligned blocks and cuts the last one back, training makes DLIO's reads widened to
the alignment, checkpoints taken during training are whole aligned blocks of the same
torch.save zips.  What DLIO asks for (the per-request trace), the names and sizes of
every file and the zips' validity must be the same on both roots."""
import collections
import io
import os
import zipfile

import pytest

from fiorun import run
from test_dlio_trace import tiny_training_yaml

BLOCK = 8192  # dlio_write_size: files and checkpoints of several blocks


def tree(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def trace(path, ranks):
    """{(rank, epoch, worker): [(op, open, offset, length, path)]} in issue order."""
    out = collections.defaultdict(list)
    for r in range(ranks):
        with open("%s.%d" % (path, r)) as f:
            for line in f.read().splitlines()[1:]:
                e, w, op, o, off, n, p = line.split(" ", 6)
                out[(r, int(e), int(w))].append((op, int(o), int(off), int(n), p))
    return out


def run_on(workdir, scheme, fmt, nspf, ranks):
    yaml = os.path.join(workdir, "w.yaml")
    with open(yaml, "w") as f:
        f.write(tiny_training_yaml(fmt, 8, nspf, 20000, 5000, 2, 2, 1))
    base = os.path.join(workdir, scheme)
    data, ckpt, tr = (os.path.join(base, x) for x in ("data", "ckpt", "trace"))
    common = ["--dlio_workload=" + yaml, "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks,
              "--dlio_write_size=%d" % BLOCK]
    gen = run(["--uri=%s://%s" % (scheme, data), "--dlio_phase=generate", "--rw=write",
               "--iodepth=4"] + common)
    res = run(["--uri=%s://%s" % (scheme, data), "--dlio_phase=train", "--rw=read",
               "--dlio_checkpoint_uri=%s://%s" % (scheme, ckpt), "--dlio_trace=" + tr]
              + common)
    return gen, res, tree(data), tree(ckpt), trace(tr, ranks)


@pytest.mark.parametrize("fmt,nspf", [("npz", 1), ("hdf5", 3)])
def test_direct_matches_file(workdir, fmt, nspf):
    ranks = 2
    fg, fres, fdata, fckpt, ftr = run_on(workdir, "file", fmt, nspf, ranks)
    dg, dres, ddata, dckpt, dtr = run_on(workdir, "direct", fmt, nspf, ranks)
    # the same files of the same sizes; generation counts each file's bytes once
    assert {k: len(v) for k, v in ddata.items()} == {k: len(v) for k, v in fdata.items()}
    assert len(fdata) == 8
    total = sum(len(v) for v in ddata.values())
    written = sum(j["write"]["io_bytes"] for j in dg.jobs)
    # plus each file's padding and npz's rewritten first block: under 4 KiB each
    assert total <= written < total + 2 * 4096 * len(ddata)
    # DLIO's reads, worker by worker: the same on both roots
    reads = {k: [x for x in v if x[0] == "read"] for k, v in ftr.items()}
    assert reads == {k: [x for x in v if x[0] == "read"] for k, v in dtr.items()}
    nreads = sum(len(v) for v in reads.values())
    asked = sum(x[3] for v in reads.values() for x in v)
    got = sum(j["read"]["io_bytes"] for j in dres.jobs)
    assert sum(j["read"]["io_bytes"] for j in fres.jobs) == asked
    # widened to the alignment: at most 4 KiB on either side, and npz's end records
    # and hdf5's samples are not all aligned
    assert asked < got <= asked + 8192 * nreads
    # the checkpoints: the same zips, written in aligned blocks on direct://
    assert {k: len(v) for k, v in dckpt.items()} == {k: len(v) for k, v in fckpt.items()}
    # two checkpoints (epochs 1 and 2): ZeRO-1, the model's layers and two optimizer shards
    assert len(dckpt) == 2 * 3
    for rel, blob in dckpt.items():
        with zipfile.ZipFile(io.BytesIO(blob)) as z, \
                zipfile.ZipFile(io.BytesIO(fckpt[rel])) as y:
            assert z.testzip() is None
            assert [(i.filename, i.file_size) for i in z.infolist()] == \
                [(i.filename, i.file_size) for i in y.infolist()]
    writes = [x for v in dtr.values() for x in v if x[0] == "write"]
    by_file = collections.defaultdict(list)
    for _, _, off, n, p in writes:
        by_file[p].append((off, n))
    assert sorted(by_file) == sorted(dckpt)
    for p, w in by_file.items():
        assert [o for o, _ in w] == list(range(0, len(dckpt[p]), BLOCK))
        assert sum(n for _, n in w) == len(dckpt[p])
    for r in range(ranks):
        assert "rank %d epoch 2:" % r in dres.stdout
