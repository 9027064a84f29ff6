/*
 * The storage reads behind one DLIO sample (SPEC 6.4), as (offset, length) pairs on the data
 * file, split in two phases: what the format reader does when it opens a file, and what it
 * does per sample while the file is open. The index path (PyTorch/DALI) opens, reads one
 * sample and closes for every sample; the iterative path keeps a file open for its n
 * consecutive samples, so whole-file formats pay their I/O once per open.
 *
 * These are the logical reads the Python readers issue (numpy's 256 KiB zip-member chunks,
 * one big read() for npy, the sample's bytes for hdf5 / indexed_binary); buffering inside
 * Python may merge small ones. tfrecord is streamed by tf.data and not described here.
 */
#ifndef FIODLIO_DLIO_READS_H
#define FIODLIO_DLIO_READS_H

#include <stdint.h>

#include "dlio/geometry.h"

enum dlio_io_phase { DLIO_IO_OPEN, DLIO_IO_SAMPLE };

/* numpy reads zip members in 2^18-byte pieces */
#define DLIO_NPZ_CHUNK 262144
/* Linux returns at most this much from one read() */
#define DLIO_MAX_RW 0x7ffff000LL

struct dlio_read {
	int64_t offset, len;
};

struct dlio_read_iter {
	struct dlio_read fixed[8];
	int nfixed, next_fixed;
	int64_t range_off, range_len, range_chunk, range_done;
};

/* Reads of one phase for sample in_file of a file of shape (d1, d2). -ENOTSUP for tfrecord.
 * odirect: npy/npz with reader.odirect (one aligned read of the whole file at open). */
int dlio_reads_init(struct dlio_read_iter *it, const struct dlio_geom *g, int64_t d1, int64_t d2,
		    int64_t in_file, enum dlio_io_phase phase);
/* 1 with *r filled, 0 when done */
int dlio_reads_next(struct dlio_read_iter *it, struct dlio_read *r);
/* bytes of every read still to come, without walking them */
static inline int64_t dlio_reads_total(const struct dlio_read_iter *it)
{
	int64_t n = it->range_len - it->range_done;

	for (int i = it->next_fixed; i < it->nfixed; i++)
		n += it->fixed[i].len;
	return n;
}

/* whether dlio_reads_next() has another read to give */
static inline int dlio_reads_more(const struct dlio_read_iter *it)
{
	return it->next_fixed < it->nfixed || it->range_done < it->range_len;
}

/* Where indexed_binary's .off.idx says sample idx starts: DLIO's generator restarts the
 * offsets at 0 in every generation_buffer_size chunk. */
int64_t dlio_indexed_binary_offset(const struct dlio_geom *g, int64_t sample_bytes, int64_t idx);

#endif
