"""Every request of DLIO training, as the engine issues it, against DLIO's plan computed
independently (tests/integration/dlio_oracle.py): which file, offset and length each loader
worker of each rank reads, in which order, including the look-ahead batches the loader
reads past the last step.

fio's own write_iolog cannot show this: it logs io_u->file, which in DLIO mode is fio's
placeholder file (the engine picks the real file in prep()), so the engine records its
requests itself (dlio_trace=<path>, one file per rank).

What is compared, and why: each loader worker reads its samples one after another, so a
worker's sequence of requests is fixed by DLIO's plan and is compared exactly, request by
request.  The workers (PyTorch worker processes, TF reader threads, TFRecordDataset's
parallel streams) read concurrently, so how their requests interleave in the rank's trace
follows I/O completion times and is not compared; the rank's whole multiset of requests
is (it is the union of the workers' sequences), and so is the order of epochs (a rank
finishes reading epoch e, look-ahead included, before epoch e+1 starts).  For TFRecord,
which stream takes a file when a stream finishes one also follows timing: there each
file's reads are compared exactly, each stream must read whole files in shard order, and
the streams together must read every file of the shard once per epoch."""
import collections
import io
import os
import zipfile

import pytest

import dlio_oracle as oracle
from fiorun import run


def write_yaml(workdir, text):
    path = os.path.join(workdir, "w.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def generate_and_train(workdir, yaml, ranks):
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--rw=write", "--iodepth=4"])
    trace = os.path.join(workdir, "trace")
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
               "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--rw=read",
               "--dlio_trace=" + trace])
    traces = {}
    for r in range(ranks):
        with open("%s.%d" % (trace, r)) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith("# epoch worker op open offset length path")
        recs = []
        for line in lines[1:]:
            e, w, op, o, off, n, path = line.split(" ", 6)
            recs.append((int(e), int(w), op, int(o), int(off), int(n), path))
        traces[r] = recs
    return data, res, traces


def by_worker(recs):
    """{(epoch, worker): [(open, offset, length, path)]} in issue order; every request a
    read, and epochs never go back."""
    out = collections.defaultdict(list)
    assert {r[2] for r in recs} == {"read"}
    epochs = [r[0] for r in recs]
    assert epochs == sorted(epochs), "a request of an earlier epoch after a later one"
    for e, w, _, o, off, n, path in recs:
        out[(e, w)].append((o, off, n, path))
    return out


def sample_requests(fmt, data, relpath, in_file, nspf, dims, workdir):
    reads = oracle.sample_reads(fmt, data, relpath, in_file, nspf, dims, workdir)
    return [(1 if i == 0 else 0, off, n, relpath) for i, (off, n) in enumerate(reads)]


def assert_sequences(got, want):
    assert sorted(got) == sorted(k for k, v in want.items() if v)
    for key, seq in want.items():
        g = got.get(key, [])
        for i, (a, b) in enumerate(zip(g, seq)):
            assert a == b, "epoch %d worker %d request %d: engine %s, DLIO %s" % (
                key[0], key[1], i, a, b)
        assert len(g) == len(seq), "epoch %d worker %d: %d requests, DLIO %d" % (
            key[0], key[1], len(g), len(seq))


def check_index_loader(workdir, fmt, nfiles, nspf, rl, stdev, batch, workers, prefetch,
                       steps, epochs, ranks):
    """PyTorch loader (DLIO's index sampler) on an on-demand format."""
    data, res, traces = generate_and_train(workdir, write_yaml(workdir, """model:
  name: t
framework: pytorch
workflow:
  generate_data: False
  train: True
dataset:
  data_folder: data/
  format: %s
  num_files_train: %d
  num_samples_per_file: %d
  record_length_bytes: %d
  record_length_bytes_stdev: %d
reader:
  data_loader: pytorch
  batch_size: %d
  read_threads: %d
  prefetch_size: %d
train:
  epochs: %d
  computation_time: 0.001
  total_training_steps: %d
""" % (fmt, nfiles, nspf, rl, stdev, batch, workers, prefetch, epochs, steps)), ranks)
    files = oracle.listing(data, "train", fmt)
    assert len(files) == nfiles
    dims = [d for _, d, _ in oracle.files(nfiles, 0, fmt, rl, stdev)]
    nsteps = min(steps, nfiles * nspf // batch // ranks) if steps > 0 else \
        nfiles * nspf // batch // ranks
    for r in range(ranks):
        per = oracle.pytorch_worker_samples(nfiles * nspf, ranks, r, batch, workers,
                                            prefetch, nsteps)
        want = {}
        for e in range(1, epochs + 1):  # the same samples every epoch
            for w, samples in per.items():
                want[(e, w)] = [req for g in samples
                                for req in sample_requests(fmt, data, files[g // nspf],
                                                           g % nspf, nspf,
                                                           dims[g // nspf], workdir)]
        assert_sequences(by_worker(traces[r]), want)
        assert "rank %d epoch %d: %d steps" % (r, epochs, nsteps) in res.stdout
    return traces


def test_unet3d_npz_four_workers(workdir):
    # npz of ~600 KB (dims vary with the stdev, so do the 256 KiB pieces), one sample per
    # file, batch 2, 4 workers, 2 ranks, 2 epochs: 10 steps per epoch read every sample
    traces = check_index_loader(workdir, "npz", nfiles=40, nspf=1, rl=600000, stdev=300000,
                                batch=2, workers=4, prefetch=4, steps=0, epochs=2, ranks=2)
    # the four workers really did read side by side: their requests interleave
    workers = [w for _, w, *_ in traces[0]]
    switches = sum(1 for a, b in zip(workers, workers[1:]) if a != b)
    assert switches > 4 * 2


def test_resnet50_hdf5_several_samples_per_file(workdir):
    # 13 files of 5 samples: rank 0 owns samples 0..32, rank 1 33..64 (file 6 is split
    # between them); 3 workers, prefetch_factor 1, so 3 batches primed; 3 steps: 6 of the
    # 8 batches are read (3 past the last step), each sample opening its file (metadata)
    # and reading its row
    check_index_loader(workdir, "hdf5", nfiles=13, nspf=5, rl=40000, stdev=0, batch=4,
                       workers=3, prefetch=2, steps=3, epochs=2, ranks=2)


def test_bert_npz_step_cap_tensorflow_loader(workdir):
    """Iterative sampler (tensorflow loader): the file list shuffled in place every epoch
    with numpy's legacy shuffle (seed + epoch, cumulative), samples to threads in blocks
    of spp/threads, every rank reading file_list[p] (but for its first sample, DLIO's
    rank-offset bug), tf.data interleaving the threads' batches; total_training_steps 3
    of 8, prefetch 2: 5 batches per epoch."""
    nfiles, ranks, batch, threads, prefetch, steps, epochs = 32, 2, 2, 2, 2, 3, 2
    data, res, traces = generate_and_train(workdir, write_yaml(workdir, """model:
  name: bert
framework: tensorflow
workflow:
  generate_data: False
  train: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: %d
  num_samples_per_file: 1
  record_length_bytes: 4096
  record_length_bytes_stdev: 1024
reader:
  data_loader: tensorflow
  batch_size: %d
  read_threads: %d
  prefetch_size: %d
  file_shuffle: seed
train:
  epochs: %d
  computation_time: 0.001
  total_training_steps: %d
  seed: 7
""" % (nfiles, batch, threads, prefetch, epochs, steps)), ranks)
    files = oracle.listing(data, "train", "npz")
    for r in range(ranks):
        want = {}
        for e in range(1, epochs + 1):
            order = oracle.shuffled(files, 7, e)
            per = oracle.iterative_worker_samples(nfiles, 1, ranks, r, batch, threads,
                                                  prefetch, steps, order)
            for t, samples in per.items():
                want[(e, t)] = [req for f, i in samples
                                for req in sample_requests("npz", data, f, i, 1, None,
                                                           workdir)]
        got = by_worker(traces[r])
        assert_sequences(got, want)
        # the shuffles differ between epochs: the epochs read different files
        assert [p for *_, p in got[(1, 0)]] != [p for *_, p in got[(2, 0)]]
        assert "rank %d epoch 2: 3 steps" % r in res.stdout


def test_tfrecord_shards_stream_whole_files(workdir):
    """TFRecordDataset: rank r's shard is every ranks-th file of the list as shuffled for
    epoch 1 (and kept in later epochs), read_threads files stream at once in
    transfer_size pieces, a stream that ends a file takes the shard's next one; all 20
    steps of each epoch consume the whole shard, so every file is read whole."""
    nfiles, ranks, threads, chunk, epochs = 10, 2, 2, 16384, 2
    data, res, traces = generate_and_train(workdir, write_yaml(workdir, """model:
  name: resnet50
framework: tensorflow
workflow:
  generate_data: False
  train: True
dataset:
  data_folder: data/
  format: tfrecord
  num_files_train: %d
  num_samples_per_file: 20
  record_length_bytes: 10000
  record_length_bytes_stdev: 3000
reader:
  data_loader: tensorflow
  batch_size: 5
  read_threads: %d
  prefetch_size: 2
  transfer_size: %d
  file_shuffle: seed
train:
  epochs: %d
  computation_time: 0.001
  seed: 11
""" % (nfiles, threads, chunk, epochs)), ranks)
    files = oracle.listing(data, "train", "tfrecord")
    order = oracle.shuffled(files, 11, 1)
    assert order != files  # the shuffle is seen
    for r in range(ranks):
        shard = oracle.tfrecord_shard(order, ranks, r)
        got = by_worker(traces[r])
        assert {w for _, w in got} == set(range(threads))
        for e in range(1, epochs + 1):
            seen = []
            for w in range(threads):
                seq = got[(e, w)]
                # split the stream into its files, each read whole, in order
                runs = []
                for req in seq:
                    if not runs or runs[-1][0][3] != req[3]:
                        runs.append([])
                    runs[-1].append(req)
                names = [run_[0][3] for run_ in runs]
                assert names[0] == shard[w], "stream %d starts with shard file %d" % (w, w)
                pos = [shard.index(n) for n in names]
                assert pos == sorted(pos), "stream %d took shard files out of order" % w
                for run_ in runs:
                    path = run_[0][3]
                    size = os.path.getsize(os.path.join(data, path))
                    want = [(1 if i == 0 else 0, off, n, path)
                            for i, (off, n) in enumerate(oracle.chunks(size, chunk))]
                    assert run_ == want, "epoch %d stream %d: %s" % (e, w, path)
                seen += names
            assert sorted(seen) == sorted(shard), "epoch %d: files read %s" % (e, seen)
        assert "rank %d epoch 2: 20 steps" % r in res.stdout


def test_trace_not_for_generation(workdir):
    res = run(["--uri=file://" + workdir, "--dlio_phase=generate",
               "--dlio_workload=" + write_yaml(workdir, "dataset:\n  format: npz\n"),
               "--rw=write", "--dlio_trace=" + os.path.join(workdir, "t")],
              expect_error=True)
    assert "dlio_trace" in res.stderr and "only the train and checkpoint phases" in res.stderr


# ---------------------------------------------------------------------------------------
# Evaluation, DLIO HEAD's extra batch and checkpoints during training.
#
# A trace line is read by one worker of one pass: the epoch's training (train/ paths)
# or its evaluation (valid/ paths), each with its own loader and workers.  Each pass's
# per-worker sequences are compared exactly as above; each read is thereby tied to the
# batch it belongs to (its place in the loader's sequence), which places the checkpoint
# writes: DLIO saves after the barrier of the step that triggers it, so every read of an
# earlier batch was issued before the first write, and the loader asks for nothing new
# until the save is over and the loop takes its next batch, so a batch the loader could
# not have requested yet is read after the last write.  Batches already requested may
# be read during the save (DLIO's loader workers are other processes): those are not
# placed.  Likewise an evaluation (or the next epoch) starts after the save and after
# the loop ended; the training look-ahead still being read then is not placed either.
# (The engine reads a pass's look-ahead to the end before the next pass starts, which
# is why epochs never go back in its trace; in DLIO the training loader's workers may
# still be reading theirs while the evaluation loader starts, and the evaluation's
# while the next epoch starts.  That overlap is timing, not order within a worker.)

def parse_trace(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("# epoch worker op open offset length path")
    out = []
    for line in lines[1:]:
        e, w, op, o, off, n, p = line.split(" ", 6)
        out.append((int(e), int(w), op, int(o), int(off), int(n), p))
    return out


def train_with_trace(workdir, yaml, ranks, extra=()):
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--rw=write", "--iodepth=4"]
        + list(extra))
    trace = os.path.join(workdir, "trace")
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
               "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks, "--rw=read",
               "--dlio_checkpoint_uri=file://" + os.path.join(workdir, "ckpt"),
               "--dlio_write_size=%d" % CK_CHUNK, "--dlio_trace=" + trace] + list(extra))
    return data, res, {r: parse_trace("%s.%d" % (trace, r)) for r in range(ranks)}


CK_CHUNK = 65536


def split_of(path):
    return "eval" if path.startswith("valid/") else "train"


def compare_passes(recs, want):
    """want: {(epoch, split, worker): [(batch, request)]}.  Compares every pass's
    worker sequences exactly; returns {line index: (epoch, split, batch)}."""
    got = collections.defaultdict(list)
    epochs = [r[0] for r in recs]
    assert epochs == sorted(epochs), "a request of an earlier epoch after a later one"
    for i, (e, w, op, o, off, n, path) in enumerate(recs):
        if op == "read":
            got[(e, split_of(path), w)].append((i, (o, off, n, path)))
        else:
            assert op == "write" and w == -1, recs[i]
    assert sorted(got) == sorted(k for k, v in want.items() if v)
    label = {}
    for key, seq in want.items():
        g = got.get(key, [])
        for j, ((i, a), (batch, b)) in enumerate(zip(g, seq)):
            assert a == b, "epoch %d %s worker %d request %d: engine %s, DLIO %s" % (
                key + (j, a, b))
            label[i] = (key[0], key[1], batch)
        assert len(g) == len(seq), "epoch %d %s worker %d: %d requests, DLIO %d" % (
            key + (len(g), len(seq)))
    return label


def index_pass(fmt, data, files, dims, nspf, batches, workdir):
    """[(worker, batch, request)] of pytorch_batches' output, per format."""
    out = []
    for k, w, samples in batches:
        for g in samples:
            for req in sample_requests(fmt, data, files[g // nspf], g % nspf, nspf,
                                       dims[g // nspf], workdir):
                out.append((w, k, req))
    return out


def iterative_pass(data, batches, workdir):
    return [(t, k, req) for k, t, samples in batches for f, i in samples
            for req in sample_requests("npz", data, f, i, 1, None, workdir)]


def add_pass(want, epoch, split, reqs):
    for w, k, req in reqs:
        want.setdefault((epoch, split, w), []).append((k, req))


def check_saves(recs, label, rank, ranks, model, ext, saves, ckdir):
    """saves: [(epoch, folder step, B, A)]: the save's writes are the rank's files of
    that folder (DLIO's names and tensor bytes), each written whole in CK_CHUNK pieces
    (dlio_write_size; pt files too small for torch.save's framing) or, as torch.save
    zips, in the zip's streams read back from the file under ckdir (CRCs right), and
    before the next one starts (in which order the SPEC does not
    say, so that is not compared); batches 0..B-1 of the epoch's training were read
    before its first write, and batch A on (None: the loader asks for nothing more in
    the epoch), the evaluation of the epoch and the later epochs after its last write
    (see above).  Nothing else is written."""
    files = oracle.checkpoint_files(rank, ranks, model, ext)
    writes = [(i, r) for i, r in enumerate(recs) if r[2] == "write"]
    seen = zips = 0
    for epoch, step, before, after in saves:
        folder = "global_epoch%d_step%d/" % (epoch, step)
        mine = [(i, r) for i, r in writes if r[6].startswith(folder)]
        seen += len(mine)
        runs = []
        for i, r in mine:
            assert r[0] == epoch, "write of %s in epoch %d" % (folder, r[0])
            if not runs or runs[-1][0] != r[6]:
                runs.append((r[6], []))
            runs[-1][1].append((r[3], r[4], r[5]))
        assert sorted(p for p, _ in runs) == sorted(folder + n for n in files), \
            "rank %d: %s holds %s" % (rank, folder, [p for p, _ in runs])
        for path, seq in runs:
            size = files[path[len(folder):]]
            with open(os.path.join(ckdir, path), "rb") as f:
                blob = f.read()
            assert len(blob) == size, path
            pieces = oracle.chunks(size, CK_CHUNK)
            if ext == "pt" and zipfile.is_zipfile(io.BytesIO(blob)):
                pieces = oracle.torch_zip_pieces(blob, CK_CHUNK)
                zips += 1
            assert seq == [(1 if off == 0 else 0, off, n) for off, n in pieces], path
        if not mine:
            continue
        first, last = mine[0][0], mine[-1][0]
        for i, (e, split, batch) in label.items():
            if e == epoch and split == "train" and batch < before:
                assert i < first, "batch %d of epoch %d read after %s began" % (
                    batch, e, folder)
            if (e == epoch and split == "train" and after is not None and batch >= after) or \
                    (e == epoch and split == "eval") or e > epoch:
                assert i > last, "%s batch %d of epoch %d read before %s was saved" % (
                    split, batch, e, folder)
    assert seen == len(writes), "writes outside the expected checkpoints"
    # pt_save: the model's files are torch.save zips, tf_save's are not
    assert (zips > 0) == (ext == "pt" and seen > 0), (ext, zips)


def tiny_transformer(zero):
    return dict(type="transformer", num_layers=2, zero_stage=zero, hidden_size=32,
                ffn_hidden_size=64, vocab_size=64, num_attention_heads=4, num_kv_heads=4)


TINY_TRANSFORMER_YAML = """model:
  name: tiny
  type: transformer
  model_datatype: fp16
  optimizer_datatype: fp32
  num_layers: 2
  parallelism:
    zero_stage: %d
  transformer:
    vocab_size: 64
    hidden_size: 32
    ffn_hidden_size: 64
    num_attention_heads: 4
    num_kv_heads: 4
"""


def tiny_training_yaml(fmt, nfiles, nspf, rl, stdev, batch, workers, prefetch):
    """The tiny ZeRO-1 transformer trained for 2 epochs (PyTorch loader), a checkpoint after
    each."""
    return TINY_TRANSFORMER_YAML % 1 + """framework: pytorch
workflow:
  generate_data: False
  train: True
  checkpoint: True
dataset:
  data_folder: data/
  format: %s
  num_files_train: %d
  num_samples_per_file: %d
  record_length_bytes: %d
  record_length_bytes_stdev: %d
reader:
  data_loader: pytorch
  batch_size: %d
  read_threads: %d
  prefetch_size: %d
train:
  epochs: 2
  computation_time: 0.001
checkpoint:
  checkpoint_folder: ckpt
  checkpoint_after_epoch: 1
  epochs_between_checkpoints: 1
""" % (fmt, nfiles, nspf, rl, stdev, batch, workers, prefetch)


def test_eval_and_epoch_checkpoints_pytorch_hdf5(workdir):
    """PyTorch loader, hdf5 of 3 samples: 3 epochs of 3 steps (of 6 batches; the loader
    primes 2 and reads 5), evaluation after epochs 1 and 3 (eval_after_epoch 1, every
    2 epochs) on its own 9 files with batch_size_eval 2: rank 0 holds 14 of the 27 eval
    samples, 7 batches, and eval_steps = 27 / 2 / 2 = 6, so its 7th batch is look-ahead.
    Checkpoints after epochs 2 and 3 into global_epoch<e>_step4, before the evaluation:
    a ZeRO-1 transformer, rank 0 saving the layers and its optimizer shard, rank 1 its
    shard."""
    ranks, nspf, ntrain, neval, batch, beval, workers, prefetch, steps, epochs = \
        2, 3, 16, 9, 4, 2, 2, 1, 3, 3
    rl, stdev = 4096, 1024
    yaml = write_yaml(workdir, TINY_TRANSFORMER_YAML % 1 + """framework: pytorch
workflow:
  generate_data: False
  train: True
  evaluation: True
  checkpoint: True
dataset:
  data_folder: data/
  format: hdf5
  num_files_train: %d
  num_files_eval: %d
  num_samples_per_file: %d
  record_length_bytes: %d
  record_length_bytes_stdev: %d
reader:
  data_loader: pytorch
  batch_size: %d
  batch_size_eval: %d
  read_threads: %d
  prefetch_size: %d
train:
  epochs: %d
  computation_time: 0.001
  total_training_steps: %d
evaluation:
  eval_time: 0.001
  eval_after_epoch: 1
  epochs_between_evals: 2
checkpoint:
  checkpoint_folder: ckpt
  checkpoint_after_epoch: 2
  epochs_between_checkpoints: 1
""" % (ntrain, neval, nspf, rl, stdev, batch, beval, workers, prefetch, epochs, steps))
    data, res, traces = train_with_trace(workdir, yaml, ranks)
    tfiles = oracle.listing(data, "train", "hdf5")
    vfiles = oracle.listing(data, "valid", "hdf5")
    dims = [d for _, d, _ in oracle.files(ntrain, neval, "hdf5", rl, stdev)]
    eval_steps = nspf * neval // beval // ranks
    for r in range(ranks):
        want = {}
        for e in range(1, epochs + 1):
            add_pass(want, e, "train", index_pass(
                "hdf5", data, tfiles, dims[:ntrain], nspf, oracle.pytorch_batches(
                    ntrain * nspf, ranks, r, batch, workers, prefetch, steps), workdir))
            if e in (1, 3):
                add_pass(want, e, "eval", index_pass(
                    "hdf5", data, vfiles, dims[ntrain:], nspf, oracle.pytorch_batches(
                        neval * nspf, ranks, r, beval, workers, prefetch, eval_steps),
                    workdir))
        label = compare_passes(traces[r], want)
        # v2.0 breaks after the last step: nothing past the primed look-ahead is read
        check_saves(traces[r], label, r, ranks, tiny_transformer(1), "pt",
                    [(e, steps + 1, steps, None) for e in (2, 3)],
                    os.path.join(workdir, "ckpt"))
        assert "rank %d epoch 3: %d steps" % (r, steps) in res.stdout
    # what the set-up is for: rank 0's evaluation reads a 7th batch past its 6 steps,
    # and training reads 5 of the 6 batches
    assert len(oracle.pytorch_batches(neval * nspf, ranks, 0, beval, workers, prefetch,
                                      eval_steps)) == eval_steps + 1 == 7
    assert len(oracle.pytorch_batches(ntrain * nspf, ranks, 0, batch, workers, prefetch,
                                      steps)) == 5


def test_eval_tensorflow_loader_shuffled_eval_list(workdir):
    """Iterative sampler for both passes, file_shuffle on: every epoch's reconfigure
    seeds numpy with seed + epoch and shuffles the train list, then the eval list, from
    that one stream (cumulatively).  Evaluation after each epoch on 40 files,
    batch_size_eval 3: a rank's 20 samples go to 2 threads in runs of 10, 4 batches
    each (the last one padded, no I/O for the padding), eval_steps = 40 / 3 / 2 = 6 and
    prefetch 1: 7 of the 8 interleaved batches are read."""
    ranks, ntrain, neval, batch, beval, threads, prefetch, steps, epochs, seed = \
        2, 16, 40, 2, 3, 2, 1, 2, 2, 5
    yaml = write_yaml(workdir, """model:
  name: bert
framework: tensorflow
workflow:
  generate_data: False
  train: True
  evaluation: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: %d
  num_files_eval: %d
  num_samples_per_file: 1
  record_length_bytes: 4096
  record_length_bytes_stdev: 1024
reader:
  data_loader: tensorflow
  batch_size: %d
  batch_size_eval: %d
  read_threads: %d
  prefetch_size: %d
  file_shuffle: seed
train:
  epochs: %d
  computation_time: 0.001
  total_training_steps: %d
  seed: %d
evaluation:
  eval_time: 0.001
""" % (ntrain, neval, batch, beval, threads, prefetch, epochs, steps, seed))
    data, res, traces = train_with_trace(workdir, yaml, ranks)
    tfiles = oracle.listing(data, "train", "npz")
    vfiles = oracle.listing(data, "valid", "npz")
    eval_steps = neval // beval // ranks
    for r in range(ranks):
        want = {}
        for e in range(1, epochs + 1):
            torder, vorder = oracle.shuffled_splits(tfiles, vfiles, seed, e)
            add_pass(want, e, "train", iterative_pass(data, oracle.iterative_batches(
                ntrain, 1, ranks, r, batch, threads, prefetch, steps, torder), workdir))
            add_pass(want, e, "eval", iterative_pass(data, oracle.iterative_batches(
                neval, 1, ranks, r, beval, threads, prefetch, eval_steps, vorder),
                workdir))
        compare_passes(traces[r], want)
        assert len(want[(1, "eval", 0)]) != len(want[(1, "eval", 1)])  # 4 and 3 batches
    # the eval list is reshuffled every epoch
    assert oracle.shuffled_splits(tfiles, vfiles, seed, 1)[1] != \
        oracle.shuffled_splits(tfiles, vfiles, seed, 2)[1]


@pytest.mark.parametrize("flavor", ["v2.0", "head"])
@pytest.mark.parametrize("loader", ["pytorch", "tensorflow"])
def test_checkpoints_and_the_batch_after_the_last_step(workdir, loader, flavor):
    """DLIO HEAD's loop takes the batch after the last step before it stops (SPEC 6.1):
    that batch is read, the loader is asked for one more, and only then does the epoch
    end; v2.0 stops right after the last step.
    pytorch: 32 files, batch 2, 2 workers primed with 2 batches, 3 steps: batches 0..4
    of 8 are read (HEAD: 0..5); a checkpoint after step 2 of every epoch
    (steps_between_checkpoints 2), after batches 0-1 were read and before batch 4 is.
    tensorflow: 16 files, 2 threads, 2 steps, prefetch 1: 3 of the 4 interleaved batches
    are read (HEAD: all 4); the epoch checkpoint comes after the loop, with tf_save's
    names: in HEAD after batch 2 (the fetch past step 2) is read.  That batch is
    requested when step 1 begins, so it would usually be in before the save anyway: a
    preprocess sleep of 20 ms per sample keeps its second sample unread for ~20 ms
    after the last step, long enough for a save started too early to show."""
    ranks, batch, workers, epochs = 2, 2, 2, 2
    head = flavor == "head"
    preprocess = 0.02 if loader == "tensorflow" else 0
    if loader == "pytorch":
        nfiles, prefetch, steps, ck = 32, 2, 3, "  steps_between_checkpoints: 2\n"
    else:
        nfiles, prefetch, steps, ck = 16, 1, 2, "  checkpoint_after_epoch: 1\n"
    yaml = write_yaml(workdir, """model:
  name: unet3d
  model_size_bytes: 100000
framework: %s
workflow:
  generate_data: False
  train: True
  checkpoint: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: %d
  num_samples_per_file: 1
  record_length_bytes: 4096
  record_length_bytes_stdev: 1024
reader:
  data_loader: %s
  batch_size: %d
  read_threads: %d
  prefetch_size: %d
  preprocess_time: %g
train:
  epochs: %d
  computation_time: 0.001
  total_training_steps: %d
checkpoint:
  checkpoint_folder: ckpt
%s""" % (loader, nfiles, loader, batch, workers, prefetch, preprocess, epochs, steps, ck))
    data, res, traces = train_with_trace(workdir, yaml, ranks, ["--dlio_flavor=" + flavor])
    files = oracle.listing(data, "train", "npz")
    model = dict(model_size_bytes=100000)
    fetched = steps + 1 if head else steps
    for r in range(ranks):
        want = {}
        for e in range(1, epochs + 1):
            if loader == "pytorch":
                bs = oracle.pytorch_batches(nfiles, ranks, r, batch, workers, prefetch,
                                            fetched)
                add_pass(want, e, "train", index_pass("npz", data, files, [None] * nfiles,
                                                      1, bs, workdir))
            else:
                bs = oracle.iterative_batches(nfiles, 1, ranks, r, batch, workers, prefetch,
                                              fetched, files)
                add_pass(want, e, "train", iterative_pass(data, bs, workdir))
            assert len(bs) == (5 if loader == "pytorch" else 3) + head
        label = compare_passes(traces[r], want)
        if loader == "pytorch":
            saves = [(e, 2, 2, 2 + 2) for e in range(1, epochs + 1)]
            check_saves(traces[r], label, r, ranks, model, "pt", saves,
                        os.path.join(workdir, "ckpt"))
        else:
            saves = [(e, steps + 1, fetched, None) for e in range(1, epochs + 1)]
            check_saves(traces[r], label, r, ranks, model, "pb", saves,
                        os.path.join(workdir, "ckpt"))
        assert "rank %d epoch 2: %d steps" % (r, steps) in res.stdout


@pytest.mark.parametrize("fsync", [0, 1])
def test_checkpoints_during_training_fsync(workdir, fsync):
    """dlio_checkpoint_fsync=1: each checkpoint file written during training is fsynced once
    its last piece is stored, before the next file (and the output says so); without it,
    none is (DLIO's own behaviour)."""
    yaml = write_yaml(workdir, tiny_training_yaml("npz", 4, 1, 4096, 0, 1, 1, 0))
    data, res, traces = train_with_trace(workdir, yaml, 1,
                                         ["--dlio_checkpoint_fsync=%d" % fsync])
    recs = [r for r in traces[0] if r[1] == -1]
    files = sorted({r[6] for r in recs if r[2] == "write"})
    assert len(files) == 2 * 2  # two checkpoints: the model's layers and the optimizer shard
    syncs = [r[6] for r in recs if r[2] == "sync"]
    if not fsync:
        assert not syncs and "fsynced" not in res.stdout
        return
    assert sorted(syncs) == files
    for f in files:
        ops = [r[2] for r in recs if r[6] == f]
        assert ops[-1] == "sync" and ops.count("sync") == 1  # after the file's last write
    assert res.stdout.count("during training in ") == 2
    assert res.stdout.count("; files fsynced") == 2
