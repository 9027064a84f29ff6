"""What DLIO itself would generate, computed independently with numpy (the
library DLIO uses), to check the engine's DLIO mode against.  Follows DLIO's
mlperf_storage_v2.0 semantics: dims from np.random.seed(10), names, sizes."""
import math
import os
import struct

import numpy as np


def dims(record_length, stdev, total_files):
    d = int(math.sqrt(record_length))
    sd = stdev / 2 / math.sqrt(record_length)
    if sd <= 0:
        return [(d, d)] * total_files
    np.random.seed(10)
    v = np.random.normal(d, sd, size=2 * total_files)
    out = [max(int(x), 1) for x in v]
    return [(out[2 * i], out[2 * i + 1]) for i in range(total_files)]


def name(prefix, i, n, fmt):
    return "%s_%s_of_%d.%s" % (prefix, str(i).rjust(len(str(n)), "0"), n, fmt)


def relpath(split, i, n, fmt, subfolders=0, prefix="img"):
    base = "train" if split == "train" else "valid"
    if subfolders > 1:
        sub = str(i % subfolders).rjust(len(str(subfolders)), "0")
        return "%s/%s/%s" % (base, sub, name(prefix, i, n, fmt))
    return "%s/%s" % (base, name(prefix, i, n, fmt))


def files(ntrain, neval, fmt, record_length, stdev, subfolders=0, prefix="img"):
    """[(relpath, (d1, d2), generation index)] in generation order."""
    total = ntrain + (neval if neval > 0 else 0)
    dd = dims(record_length, stdev, total)
    out = []
    for g in range(total):
        if g < ntrain:
            out.append((relpath("train", g, ntrain, fmt, subfolders, prefix), dd[g], g))
        else:
            out.append((relpath("valid", g - ntrain, neval, fmt, subfolders, prefix), dd[g], g))
    return out


def varint_len(x):
    n = 1
    while x >= 128:
        x >>= 7
        n += 1
    return n


def tfrecord_example_len(p, s):
    v = varint_len
    l1 = 1 + v(p) + p
    f1 = 1 + v(l1) + l1
    e1 = 8 + v(f1) + f1
    vb = v(s)
    l2 = 1 + v(vb) + vb
    f2 = 1 + v(l2) + l2
    e2 = 7 + v(f2) + f2
    fl = 1 + v(e1) + e1 + 1 + v(e2) + e2
    return 1 + v(fl) + fl


_CRC32C = []


def crc32c(data, crc=0):
    if not _CRC32C:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C.append(c)
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC32C[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# The requests of DLIO's training loop, per rank and loader worker, in the order each
# worker issues them: DLIO's samplers and PyTorch's / tf.data's loaders as DLIO drives them
# (mlperf_storage_v2.0: the loop stops right after the last step), and the reads each format
# reader makes, measured on the generated files themselves (zip structures, HDF5 layout).

NPZ_CHUNK = 262144  # numpy reads a zip member's array in 2^18-byte pieces


def listing(data, split, fmt):
    """DLIO's file list: the split folder's names ending in the format, sorted."""
    d = os.path.join(data, split)
    return sorted(os.path.join(split, n) for n in os.listdir(d) if n.endswith(fmt))


def shuffled(files, seed, epoch, cumulative=True):
    """reconfigure(epoch) with file_shuffle on: np.random.seed(seed + e) and the legacy
    in-place shuffle, once per epoch 1..epoch (the shuffles accumulate)."""
    out = list(files)
    for e in range(1, epoch + 1) if cumulative else [1]:
        np.random.seed(seed + e)
        np.random.shuffle(out)
    return out


def npz_reads(path):
    """What np.load(path)['x'] reads, from the file's own zip structures: the end record,
    the zip64 locator probe before it, the central directory, x.npy's local header, its
    name and extra field, the npy header, then the array in 256 KiB pieces."""
    with open(path, "rb") as f:
        raw = f.read()
    size = len(raw)
    eocd = raw[-22:]
    assert eocd[:4] == b"PK\x05\x06", path
    cd_size, cd_off = struct.unpack("<II", eocd[12:20])
    # the central directory's entries: find x.npy's local header and its size
    pos, member = cd_off, None
    while pos < cd_off + cd_size:
        assert raw[pos:pos + 4] == b"PK\x01\x02"
        csize, usize = struct.unpack("<II", raw[pos + 20:pos + 28])
        nlen, elen, clen = struct.unpack("<HHH", raw[pos + 28:pos + 34])
        lho = struct.unpack("<I", raw[pos + 42:pos + 46])[0]
        name = raw[pos + 46:pos + 46 + nlen].decode()
        if name == "x.npy":
            member = (lho, usize)
        pos += 46 + nlen + elen + clen
    lho, usize = member
    assert raw[lho:lho + 4] == b"PK\x03\x04"
    nlen, elen = struct.unpack("<HH", raw[lho + 26:lho + 30])
    npy = lho + 30 + nlen + elen
    assert raw[npy:npy + 6] == b"\x93NUMPY"
    hdr = 10 + struct.unpack("<H", raw[npy + 8:npy + 10])[0]
    reads = [(size - 22, 22), (size - 42, 20), (cd_off, cd_size), (lho, 30),
             (lho + 30, nlen + elen), (npy, hdr)]
    start, left = npy + hdr, usize - hdr
    while left > 0:
        n = min(NPZ_CHUNK, left)
        reads.append((start, n))
        start += n
        left -= n
    return reads


_H5_OFFSET = {}


def hdf5_data_offset(tmpdir, n, d1, d2):
    """Where DLIO's generator (h5py, default libver) puts `records` of shape (n, d1, d2)
    uint8: made with h5py here and asked."""
    import h5py

    key = (n, d1, d2)
    if key not in _H5_OFFSET:
        path = os.path.join(tmpdir, "layout.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("records", data=np.zeros((n, d1, d2), dtype=np.uint8))
            f.create_dataset("labels", data=np.zeros(n, dtype=np.int64))
        with h5py.File(path, "r") as f:
            _H5_OFFSET[key] = f["records"].id.get_offset()
        os.unlink(path)
    return _H5_OFFSET[key]


def sample_reads(fmt, data, relpath, in_file, nspf, dims, tmpdir):
    """[(offset, length)] of one on-demand sample read (open, read, close), SPEC 6.4."""
    path = os.path.join(data, relpath)
    if fmt == "npz":
        return npz_reads(path)
    if fmt == "hdf5":
        d1, d2 = dims
        off = hdf5_data_offset(tmpdir, nspf, d1, d2)
        # h5py.File(): the metadata before the data; then the sample's row
        return [(0, off), (off + in_file * d1 * d2, d1 * d2)]
    raise ValueError(fmt)


def rank_range(total, comm, rank):
    spp = -(-total // comm)
    start = rank * spp
    return spp, start, max(0, min(total, start + spp) - start)


def pytorch_batches(total, comm, rank, batch, workers, prefetch, fetched):
    """DLIO's index sampler under torch's DataLoader, one pass (an epoch's training, or
    an evaluation): [(k, worker, [global sample])] of the batches read, k being the
    batch's place in the rank's sequence.  The rank's range in ascending order, batch k
    to worker k % workers; the loader primes prefetch_factor * workers batches
    (prefetch_factor = ceil(prefetch_size / workers), 0 becomes 2) and asks for one
    more each time the loop takes a batch, so when the loop takes `fetched` batches,
    min(primed + fetched, batches) batches are read."""
    spp, start, count = rank_range(total, comm, rank)
    nb = count // batch
    primed = (-(-prefetch // workers) if prefetch else 2) * workers
    return [(k, k % workers, [start + k * batch + j for j in range(batch)])
            for k in range(min(primed + fetched, nb))]


def pytorch_worker_samples(total, comm, rank, batch, workers, prefetch, steps):
    """{worker: [global sample]} in read order, the loop taking `steps` batches (v2.0
    breaks right after the last step)."""
    out = {w: [] for w in range(workers)}
    for _, w, samples in pytorch_batches(total, comm, rank, batch, workers, prefetch,
                                         steps):
        out[w] += samples
    return out


def iterative_batches(nfiles, nspf, comm, rank, batch, threads, prefetch, fetched,
                      file_list):
    """DLIO's iterative sampler (tensorflow loader, non-tfrecord), one pass:
    [(k, thread, [(file list entry, in-file index)])] of the batches read, k being the
    batch's place in tf.data's interleaving.  Position p of the rank's samples goes to
    thread (p // spt) % threads, its file is file_list[p // n] except the rank's first
    sample, file_list[rank * fpr] (DLIO's bug); a thread's last batch is padded (no
    I/O); tf.data interleaves the threads' batches round robin and prefetches
    prefetch_size batches, so when the loop takes `fetched` batches the first
    min(prefetch + fetched, batches) of that interleaving are read."""
    total = nfiles * nspf
    spp, start, count = rank_range(total, comm, rank)
    spt = spp // threads
    per = {t: [] for t in range(threads)}
    fpr = (nfiles // comm) % nfiles
    for p in range(count):
        f = file_list[rank * fpr] if p == 0 else file_list[(p // nspf) % nfiles]
        per[(p // spt) % threads].append((f, (start + p) % nspf))
    batches = {t: [per[t][i:i + batch] for i in range(0, len(per[t]), batch)]
               for t in range(threads)}
    order, rnd = [], 0
    while any(len(batches[t]) > rnd for t in range(threads)):
        order += [(t, rnd) for t in range(threads) if len(batches[t]) > rnd]
        rnd += 1
    return [(k, t, batches[t][i]) for k, (t, i) in enumerate(order[:prefetch + fetched])]


def iterative_worker_samples(nfiles, nspf, comm, rank, batch, threads, prefetch, steps,
                             file_list):
    """{thread: [(file list entry, in-file index)]} in read order, `steps` batches taken."""
    out = {t: [] for t in range(threads)}
    for _, t, samples in iterative_batches(nfiles, nspf, comm, rank, batch, threads,
                                           prefetch, steps, file_list):
        out[t] += samples
    return out


def shuffled_splits(train, valid, seed, epoch):
    """reconfigure(1..epoch) with file_shuffle on: each epoch seeds numpy with seed + e
    and shuffles the train list in place, then the eval list, from the same stream."""
    train, valid = list(train), list(valid)
    for e in range(1, epoch + 1):
        np.random.seed(seed + e)
        np.random.shuffle(train)
        np.random.shuffle(valid)
    return train, valid


def checkpoint_files(rank, ranks, model, ext="pt"):
    """{file name: tensor bytes} one rank saves per checkpoint (SPEC 9.1, 9.3), for
    tensor = pipeline = 1 (so MP = 1, dp = rank, DP = ranks): the plain model tensor
    (int8, model_size_bytes) unless the model is a transformer; the layers 0..L+2 and
    the optimizer state of the computed transformer geometry.  ZeRO 0: only rank 0
    saves; ZeRO 1-2: the layers once, by dp 0; ZeRO 3: the layers sharded over DP."""
    m = dict(type="", model_size_bytes=10240, num_layers=-1, zero_stage=0,
             hidden_size=2048, ffn_hidden_size=8192, vocab_size=32000,
             num_attention_heads=32, num_kv_heads=8, dt=2, ot=4)
    m.update(model)
    zero, dp = m["zero_stage"], rank
    if zero == 0 and rank >= 1:
        return {}
    out = {}
    if m["type"] != "transformer" and m["model_size_bytes"] > 0:
        out["model_states-%d" % rank] = m["model_size_bytes"]
    h, f, V, L = m["hidden_size"], m["ffn_hidden_size"], m["vocab_size"], m["num_layers"]
    if L > 0:
        kv = h // m["num_attention_heads"] * m["num_kv_heads"]
        sf = ranks if zero == 3 else 1
        layer = [h // sf, h * (h + 2 * kv) // sf, h * h // sf, h // sf, 2 * h * f // sf,
                 h * f // sf]
        elems = 2 * (h * V // sf) + h // sf + L * sum(layer)
        if zero in (0, 3):
            out["zero_pp_rank_%d_mp_rank_0_model_states" % dp] = elems * m["dt"]
        elif dp == 0:
            out["model_0_model_states"] = elems * m["dt"]
        params = 2 * V * h + L * (2 * h + h * (h + 2 * kv) + h * h + 3 * h * f) + h
        n = params // ranks if zero > 0 else params
        out["zero_pp_rank_%d_mp_rank_0_optim_states" % dp] = 3 * (n + 5 * h) * m["ot"]
    if ext == "pb":  # tf.train.Checkpoint: the tensors go to <name>-1.data-00000-of-00001
        return {k + ".pb-1.data-00000-of-00001": v for k, v in out.items()}
    return {k + "." + ext: v for k, v in out.items()}


def tfrecord_shard(file_list, comm, rank):
    """TFRecordDataset's file shard of the rank: positions i with i % comm == rank."""
    return file_list[rank::comm] if len(file_list) >= comm else list(file_list)


def chunks(size, chunk):
    return [(o, min(chunk, size - o)) for o in range(0, size, chunk)]


def torch_zip_pieces(blob, chunk):
    """The writes a torch.save file of a checkpoint is made of, read back from the file
    itself: each stream (the leading small records; per tensor record its local header,
    its data, its data descriptor; the trailing records with the central directory) in
    pieces of at most chunk bytes, none across a stream's edge.  Checks every CRC-32."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        assert z.testzip() is None
        recs = sorted(z.infolist(), key=lambda i: i.header_offset)
    tensors = [i for i in recs if i.filename.startswith("archive/data/")]
    assert tensors, "no tensor records"
    edges = [0]
    for i in tensors:
        hdr = i.header_offset
        nl, xl = struct.unpack("<HH", blob[hdr + 26:hdr + 30])
        data = hdr + 30 + nl + xl
        edges += [hdr, data, data + i.file_size]
    tail = [i for i in recs if i.header_offset > tensors[-1].header_offset][0].header_offset
    edges += [tail, len(blob)]
    out = []
    for a, b in zip(edges, edges[1:]):
        assert a <= b, edges  # (a tensor the framing took whole has no data)
        out += [(a + o, n) for o, n in chunks(b - a, chunk)]
    return out
