"""What DLIO itself would generate, computed independently with numpy (the
library DLIO uses), to check the engine's DLIO mode against.  Follows DLIO's
mlperf_storage_v2.0 semantics: dims from np.random.seed(10), names, sizes."""
import math

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


def files(ntrain, neval, fmt, record_length, stdev, subfolders=0):
    """[(relpath, (d1, d2), generation index)] in generation order."""
    total = ntrain + (neval if neval > 0 else 0)
    dd = dims(record_length, stdev, total)
    out = []
    for g in range(total):
        if g < ntrain:
            out.append((relpath("train", g, ntrain, fmt, subfolders), dd[g], g))
        else:
            out.append((relpath("valid", g - ntrain, neval, fmt, subfolders), dd[g], g))
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
