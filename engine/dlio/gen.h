/*
 * DLIO data generation as a stream of file writes (SPEC 4): which files a rank
 * writes, in which order, of which exact size, and the container bytes around
 * the payload so the files are valid for the format's own readers.
 *
 * The payload is the caller's: fio's write buffers (random unless the job asks
 * otherwise).  dlio_gen_fill() overlays only the container bytes (npy headers,
 * zip structures, TFRecord framing and CRCs, index side files) on a buffer that
 * already holds the payload, and must see each file's bytes in order: the
 * checksums written after a payload are computed from it as it passes.
 */
#ifndef FIODLIO_DLIO_GEN_H
#define FIODLIO_DLIO_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/geometry.h"

enum dlio_gen_valid {
	DLIO_GEN_VALID,	      /* the format's reader opens it */
	DLIO_GEN_SIZE_ONLY,   /* exact size, random content (no container written) */
	DLIO_GEN_APPROXIMATE, /* size from DLIO's typical output, random content */
};

struct dlio_gen_file {
	enum dlio_split split;
	int64_t idx;  /* file index within the split */
	int64_t gidx; /* generation index across splits */
	int aux;      /* 0: the data file; k > 0: its k-th side file */
	char relpath[512];
	int64_t size;
	enum dlio_gen_valid valid;

	/* internal: shape and streaming state */
	enum dlio_format format;
	int64_t d1, d2, p, n;
	int64_t hx, hy;	 /* npz/npy header lengths; hdf5: metadata length, data offset */
	int64_t rec_len; /* tfrecord framed record; or index line state */
	int64_t ehead;	 /* tfrecord: Example bytes before the payload */
	int64_t pos;	 /* next byte fill() expects */
	uint32_t crc, crc2;
};

struct dlio_gen {
	const struct dlio_geom *g;
	int64_t rank, comm;
	int64_t next_gidx; /* next generation index for this rank */
	int next_aux;	   /* side file of the last data file still to come */
	struct dlio_dims_iter dims;
	int64_t cur_d1, cur_d2, cur_gidx;
};

int dlio_gen_init(struct dlio_gen *gen, const struct dlio_geom *g, int64_t rank, int64_t comm,
		  char *err, size_t errlen);
/* The next file this rank writes: 1 with *f set, 0 when the rank is done, -errno. */
int dlio_gen_next(struct dlio_gen *gen, struct dlio_gen_file *f, char *err, size_t errlen);
/* Files and bytes this rank writes in all (walks the stream once). */
int dlio_gen_totals(const struct dlio_geom *g, int64_t rank, int64_t comm, int64_t *files,
		    int64_t *bytes, int64_t *largest, char *err, size_t errlen);

/*
 * What dlio_gen_fill() may reuse: the CRC-32 of a payload run of the buffer it filled
 * before (offsets in the buffer).  fio's buffer is the payload and does not change between
 * requests unless fio refills it (refill_buffers, verify) or the caller writes into it: a
 * caller keeps one per buffer, and clears valid when anything but dlio_gen_fill() may have
 * changed the run (fill() itself clears it when its container bytes land on the run).
 */
struct dlio_crc_cache {
	int64_t boff, len;
	uint32_t crc;
	int valid;
};
/* runs shorter than this are not remembered */
#define DLIO_CRC_CACHE_MIN 65536

/*
 * Overlay the container bytes of [off, off + len) on buf, which holds payload.
 * Calls for one file must come in order without gaps (off == f->pos).  cc (or NULL):
 * the buffer's CRC cache, for npz's CRC-32 of the payload.
 * Returns how many container bytes went into buf, or -EINVAL (out of order / past the end).
 */
int64_t dlio_gen_fill(const struct dlio_geom *g, struct dlio_gen_file *f, uint64_t off,
		      void *buf, uint64_t len, struct dlio_crc_cache *cc);

/*
 * Bytes to write again once the whole file has passed through fill(): npz's
 * first local header, whose CRC is only known after the payload (Python's
 * zipfile seeks back and rewrites it the same way).  Returns the length (0:
 * nothing to rewrite) with *off set; -ENOSPC if cap is too small.
 */
int64_t dlio_gen_rewrite(const struct dlio_gen_file *f, uint64_t *off, void *buf, size_t cap);

/* What the generated files of the workload's format hold, in one line (--explain). */
const char *dlio_gen_content(const struct dlio_config *cfg);

uint32_t dlio_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t dlio_tfrecord_mask(uint32_t crc);

#endif
