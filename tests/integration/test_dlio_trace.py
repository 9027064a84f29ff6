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
import os

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


def test_trace_only_for_training(workdir):
    res = run(["--uri=file://" + workdir, "--dlio_phase=generate",
               "--dlio_workload=" + write_yaml(workdir, "dataset:\n  format: npz\n"),
               "--rw=write", "--dlio_trace=" + os.path.join(workdir, "t")],
              expect_error=True)
    assert "dlio_trace" in res.stderr and "only the train phase" in res.stderr
