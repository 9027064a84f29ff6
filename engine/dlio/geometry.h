/*
 * DLIO dataset geometry (SPEC sections 4-7): file names and folders, the per-file sample
 * shape drawn from numpy's MT19937 seeded with 10, the exact size of each file in each
 * container format, and the number of training and evaluation steps.
 *
 * File shapes form one prefix-stable stream (file i's shape does not depend on how many
 * files exist), so callers walk it with a dlio_dims_iter instead of materialising a table
 * of 524288 shapes; dlio_geom_file_dims() is the O(i) random-access form.
 *
 * A struct dlio_geom borrows the config it was built from: keep the config alive.
 */
#ifndef FIODLIO_DLIO_GEOMETRY_H
#define FIODLIO_DLIO_GEOMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/config.h"
#include "dlio/rng.h"

enum dlio_split { DLIO_SPLIT_TRAIN = 0, DLIO_SPLIT_EVAL = 1 };

/* HEAD's alignment trimming of the file count (SPEC 5.3). v2.0 does not trim. */
enum dlio_trim {
	DLIO_TRIM_NONE,	   /* v2.0 */
	DLIO_TRIM_HEAD,	   /* HEAD as written: files rounded down to n*batch*comm */
	DLIO_TRIM_HEAD_N1, /* HEAD's intent: only when num_samples_per_file == 1 */
};

/* DLIO's reader seed for the sample dimensions; fixed, not configurable */
#define DLIO_GEN_SEED 10

struct dlio_geom {
	const struct dlio_config *cfg;
	int64_t comm_size;
	enum dlio_trim trim;
	int64_t nfiles_gen[2]; /* as generated and named (YAML counts) */
	int64_t nfiles[2];     /* as read: after trimming */
	int64_t nspf;
	int64_t dim;	  /* int(sqrt(record_length_bytes)) */
	double dim_stdev; /* record_length_bytes_stdev / 2 / sqrt(record_length_bytes) */
	int64_t elem_bytes;
	int64_t fixed_dims_bytes; /* HEAD record_dims: prod(dims)*elem, else 0 */
	int64_t max_steps;	  /* floor(n*F/B/comm) with the read file count */
	int64_t steps;		  /* per epoch, after total_training_steps */
	int64_t eval_steps;
};

/* Returns 0, or -EINVAL with err set (e.g. total_training_steps above the steps that
 * exist, which DLIO turns into exit(-1)). */
int dlio_geom_init(struct dlio_geom *g, const struct dlio_config *cfg, int64_t comm_size,
		   enum dlio_trim trim, char *err, size_t errlen);

/* Path of file idx of a split relative to data_folder, e.g. "train/1/img_001_of_168.npz".
 * idx counts files as generated (0..nfiles_gen-1). Returns the length, or -ENAMETOOLONG /
 * -ERANGE. */
int dlio_geom_file_relpath(const struct dlio_geom *g, enum dlio_split s, int64_t idx, char *buf,
			   size_t len);
/* os.path.join(storage_root, data_folder, relpath): what DLIO opens on local_fs. An absolute
 * data_folder or a URI data_folder (s3://...) ignores storage_root. */
int dlio_geom_file_path(const struct dlio_geom *g, enum dlio_split s, int64_t idx, char *buf,
			size_t len);
/* Subfolders the generator creates under train/ or valid/ (0 = flat); names via relpath. */
int64_t dlio_geom_subfolders(const struct dlio_geom *g, enum dlio_split s);

/* Generation index across splits: train i -> i, eval j -> num_files_train + j. Rank
 * gidx % comm_size generates it. */
static inline int64_t dlio_geom_gen_index(const struct dlio_geom *g, enum dlio_split s,
					  int64_t idx)
{
	return s == DLIO_SPLIT_TRAIN ? idx : g->nfiles_gen[0] + idx;
}

struct dlio_dims_iter {
	struct dlio_rng rng;
	int64_t next; /* generation index of the next file */
	int64_t dim;
	double sd;
};

void dlio_dims_iter_init(struct dlio_dims_iter *it, const struct dlio_geom *g);
/* Shape of the next file in generation order. */
void dlio_dims_iter_next(struct dlio_dims_iter *it, int64_t *d1, int64_t *d2);
/* Skip to generation index gidx (forward only; -EINVAL if already past it). */
int dlio_dims_iter_seek(struct dlio_dims_iter *it, int64_t gidx);
/* Shape of one file, O(gidx). */
void dlio_geom_file_dims(const struct dlio_geom *g, int64_t gidx, int64_t *d1, int64_t *d2);

/* Sizes of one generated data file. */
struct dlio_file_size {
	int64_t sample_bytes; /* P: payload of one sample */
	int64_t size;	      /* bytes of the data file */
	int exact;	      /* 0 when the format's size depends on an encoder or library */
	int64_t aux_size;     /* tfrecord: its .idx; indexed_binary: each of .off.idx, .sz.idx */
	int naux;	      /* number of side files of that size */
	int64_t data_offset;  /* where the first sample's bytes start (npy/npz/hdf5) */
};

int dlio_geom_file_size(const struct dlio_geom *g, int64_t d1, int64_t d2,
			struct dlio_file_size *fs);

/* Building blocks, exposed for tests and for the engine's writers */
int64_t dlio_npy_header_len(const char *descr, const int64_t *shape, size_t ndim);
int64_t dlio_tfrecord_example_len(int64_t image_bytes, int64_t size_value);
/* bytes of "<offset> <len>\n" lines for n records of rec_len bytes */
int64_t dlio_tfrecord_index_len(int64_t n, int64_t rec_len);

/* Side file i (< naux) of a data file, relative to data_folder: indexed_binary's
 * "<relpath>.off.idx" / ".sz.idx", tfrecord's "index/<train|valid>/<basename>.idx". */
int dlio_geom_aux_relpath(const struct dlio_geom *g, enum dlio_split s, int64_t idx, int i,
			  char *buf, size_t len);

#endif
