/*
 * Which sample each rank reads, in which worker, batch and order (SPEC 6.2, 6.3), one epoch
 * at a time and lazily: a plan holds only the rank's file order (and, when DLIO's v2.0
 * sample shuffle changes the in-file index, the rank's shuffled sample labels), and
 * iterators walk a worker's samples without materialising the epoch.
 *
 * Three loaders read differently:
 *  - index sampler (pytorch, dali): the rank's contiguous sample range in ascending order
 *    every epoch, batch k to worker k % read_threads, sorted file list;
 *  - iterative sampler (tensorflow loader, non-tfrecord): the file list is shuffled in place
 *    every epoch (cumulatively), samples go to threads in blocks of spp/threads, and the
 *    file of position p is file_list[p / n] for every rank (DLIO's rank-offset bug);
 *  - tfrecord with the tensorflow loader: a file shard (position % comm == rank) of the
 *    epoch-1 file order, streamed; records are not planned one by one here.
 */
#ifndef FIODLIO_DLIO_PLAN_H
#define FIODLIO_DLIO_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/geometry.h"

/* bounds on what a plan may allocate */
#define DLIO_PLAN_MAX_FILES (1LL << 27)
#define DLIO_PLAN_MAX_LABELS (1LL << 26)

enum dlio_plan_kind {
	DLIO_PLAN_INDEX,
	DLIO_PLAN_ITERATIVE,
	DLIO_PLAN_TFRECORD,
	DLIO_PLAN_NO_IO, /* synthetic loader / format: nothing reaches storage */
};

struct dlio_plan {
	const struct dlio_geom *g;
	enum dlio_plan_kind kind;
	enum dlio_split split;
	int64_t rank, comm, epoch;
	int64_t nfiles, nspf, total;
	int64_t spp;	      /* ceil(total / comm) */
	int64_t start, count; /* this rank's global samples [start, start + count) */
	int64_t batch;
	int64_t workers; /* read_threads, at least 1 */
	int main_process; /* index path with read_threads 0: batches read when requested */
	int64_t spt;	  /* iterative: spp / threads */
	int64_t steps;	  /* batches the loop consumes per epoch */
	uint32_t *order;  /* file order of this epoch (both splits kept: eval's shuffle
			     draws from the stream after train's) */
	uint32_t *order_other;
	int64_t nother;
	uint64_t *labels; /* iterative + sample_shuffle: rank's shuffled sample labels */
	int in_file_from_label; /* v2.0 iterative: in-file index = label % n */
};

/* One sample read. */
struct dlio_sample {
	int64_t label;	 /* global sample number DLIO tags it with */
	int64_t file;	 /* index into the split's files as generated (names/sizes) */
	int64_t in_file; /* sample index inside the file */
	int64_t worker;	 /* PyTorch worker / TF reader thread */
	int64_t batch;	 /* batch number within the worker's stream */
	int64_t pos;	 /* position in that batch */
};

/* Plan for one rank and split at epoch 1. Returns 0 or -errno with err set. */
int dlio_plan_init(struct dlio_plan *p, const struct dlio_geom *g, enum dlio_split split,
		   int64_t rank, char *err, size_t errlen);
/* Move to a later epoch (shuffles accumulate, so epochs only go forward). */
int dlio_plan_set_epoch(struct dlio_plan *p, int64_t epoch, char *err, size_t errlen);
void dlio_plan_free(struct dlio_plan *p);

/* File at position i of this epoch's file list (identity for the index sampler). */
int64_t dlio_plan_file_at(const struct dlio_plan *p, int64_t i);

/* Batches per epoch a worker produces (index: drop_last; iterative: last one padded). */
int64_t dlio_plan_worker_batches(const struct dlio_plan *p, int64_t worker);
/* The loop's n-th batch of the epoch comes from (worker, batch): round robin. -ERANGE past
 * the end of what the loader produces. */
int dlio_plan_step_source(const struct dlio_plan *p, int64_t step, int64_t *worker,
			  int64_t *batch);
/* Batches the loader keeps in flight: PyTorch prefetch_factor * workers, TF prefetch_size. */
int64_t dlio_plan_prefetch_batches(const struct dlio_plan *p);

struct dlio_plan_iter {
	const struct dlio_plan *p;
	int64_t worker;
	int64_t k;   /* index: batch number of the rank; iterative: block number */
	int64_t j;   /* index: position in batch; iterative: offset in block */
	int64_t out; /* samples produced by this worker so far */
};

/* Walk one worker's samples in the order it reads them. */
void dlio_plan_iter_init(struct dlio_plan_iter *it, const struct dlio_plan *p, int64_t worker);
/* 1 and *s filled, or 0 at the end. */
int dlio_plan_iter_next(struct dlio_plan_iter *it, struct dlio_sample *s);

/* tfrecord: files of this rank's shard, in read order; all files if fewer than ranks (then
 * records are sharded: record i of the stream goes to rank i % comm). */
int64_t dlio_plan_tfr_nfiles(const struct dlio_plan *p);
int64_t dlio_plan_tfr_file(const struct dlio_plan *p, int64_t k);
int dlio_plan_tfr_record_sharded(const struct dlio_plan *p);

#endif
