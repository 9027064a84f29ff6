/*
 * One DLIO rank's training (and evaluation) as a discrete-event model driven by
 * real time and real I/O completions (SPEC 6, 7, 11): read_threads workers
 * each read one sample at a time (open, the format's reads, close, preprocess
 * sleep); the loader keeps as many batches requested as DLIO's loader does and
 * asks for one more each time the accelerator takes a batch; the accelerator
 * starts step k when batch k has fully arrived and step k-1 has finished, and
 * computes for computation_time while reads go on.  After the last step, the
 * batches already requested are still read before the next epoch begins (the
 * loader's look-ahead); with the HEAD flavour the training loop first takes one
 * more batch (waits for it, no step), which asks the loader for one more.
 *
 * No I/O here: the caller asks for the next read that may start now, issues
 * it, and reports its completion; times are seconds on any monotonic clock.
 */
#ifndef FIODLIO_DLIO_TRAIN_H
#define FIODLIO_DLIO_TRAIN_H

#include <stdint.h>

#include "dlio/checkpoint.h"
#include "dlio/geometry.h"
#include "dlio/plan.h"
#include "dlio/reads.h"
#include "dlio/rng.h"

#define DLIO_TRAIN_MAX_WORKERS 256

struct dlio_train_req {
	int64_t worker;
	enum dlio_split split;
	int64_t file;	/* index within the split, as generated (names, sizes) */
	int open;	/* the worker opens this file first (closing the one it had) */
	int64_t offset, len;
	/* a checkpoint write (worker is then -1): file ck_file, part ck_part of the
	 * rank's checkpoint in global_epoch<ck_epoch>_step<ck_step>/, ck_size bytes */
	int write;
	int last; /* the file's last piece: close it once this completes */
	int64_t ck_file, ck_part, ck_epoch, ck_step, ck_size;
};

struct dlio_train_worker {
	struct dlio_plan_iter it;
	struct dlio_sample cur;
	int have_cur;	  /* cur is the worker's next (or current) sample */
	int started;	  /* cur's reads have begun */
	int phase;	  /* 0: the format's open reads, 1: the sample's reads */
	struct dlio_read_iter rd;
	int inflight;
	double busy_until; /* preprocess sleep */
	int64_t open_file; /* -1: none */
	int64_t since_open; /* samples read from open_file */
	int64_t allowed;    /* its batches the loader has requested */
	int64_t done;	    /* its batches fully read, in order */
	int exhausted;
};

/* Step timings of one block (an epoch, or the eval pass), DLIO's statscounter lists. */
struct dlio_train_block {
	int64_t nsteps, cap;
	double *load, *compute, *proc;
	double start, end;
};

struct dlio_train_epoch {
	double start, end;
	struct dlio_train_block train, eval;
	/* step-mode saves (SPEC 9.2): save i after cut_step[i] steps, from cut_t0[i] to
	 * cut_t1[i]; each ends a block of the training and the next block starts after
	 * it (SPEC 11.2), so the saves are in no block's wall time */
	int64_t ncut, cut_cap;
	int64_t *cut_step;
	double *cut_t0, *cut_t1;
	int has_eval;
	double au, throughput;		/* DLIO's per-rank formulas (SPEC 11.2) */
	double eval_au, eval_throughput;
};

/* A TFRecordDataset reader: one file of the rank's shard, streamed in chunks. */
struct dlio_tfr_stream {
	int64_t file;	   /* index in the split, -1: none yet */
	int64_t size, rec_len, nrec;
	int64_t offset;	   /* bytes asked for so far */
	int64_t arrived;   /* bytes read so far */
	int inflight;
	int fresh;	   /* the next read opens the file */
};

enum dlio_train_state {
	DLIO_TS_TRAIN,
	DLIO_TS_DRAIN, /* steps done: the look-ahead batches still get read */
	DLIO_TS_EVAL,
	DLIO_TS_EVAL_DRAIN,
	DLIO_TS_CKPT, /* the accelerator saves a checkpoint; loaders go on reading */
	DLIO_TS_DONE,
};

struct dlio_train {
	const struct dlio_geom *g;
	const struct dlio_config *cfg;
	int64_t rank, comm;
	int whole_file; /* object stores: one GET of the whole file per open */
	int64_t *dims;	/* d1, d2 of every file, by generation index */
	int64_t ndims;

	struct dlio_plan plan; /* the split being read */
	enum dlio_train_state state;
	int64_t epoch, epochs;
	int64_t next_eval;
	int64_t nworkers, batch, steps, nbatches, prefetch;
	/* batches the loop takes past its last step: DLIO HEAD's training loop fetches
	 * the next batch before it checks the step count (SPEC 6.1), v2.0 does not */
	int64_t extra;
	int main_process;
	int keep_open; /* iterative path: a thread keeps its file for n samples */
	struct dlio_train_worker w[DLIO_TRAIN_MAX_WORKERS];
	/* tfrecord with the tensorflow loader (SPEC 6.2c) */
	int tfr;
	struct dlio_tfr_stream s[DLIO_TRAIN_MAX_WORKERS];
	int64_t tfr_next;     /* next shard position to hand to a stream */
	int64_t tfr_nfiles;
	int64_t tfr_total;    /* records of this rank's stream in one pass */
	int64_t tfr_arrived;  /* records fully read this epoch */
	int64_t tfr_factor;   /* records of the stream per record of the rank */
	int64_t tfr_chunk;    /* TFRecordDataset buffer_size */
	int64_t requested, consumed;
	int computing;
	double compute_end, start_loading;
	double compute_len;
	struct dlio_rng rng;

	/* DLIO's MPI barrier after every training step: the caller says when all ranks
	 * have finished step n (counted over the run); NULL: no barrier */
	int (*barrier)(void *arg, int64_t step);
	void *barrier_arg;
	int64_t gstep;	    /* training steps finished, over all epochs */
	int barrier_wait;   /* step finished, waiting for the other ranks */

	/* checkpoints during training (SPEC 9.2); ck NULL: none */
	const struct dlio_ckpt *ck;
	int64_t ck_chunk;
	/* the caller's cut of a checkpoint file into writes (torch.save's zip streams): the
	 * length of the write at r->offset (r is filled but for len and last), at most cap
	 * bytes, or < 0 with err set; NULL: cap-byte pieces */
	int64_t (*ck_piece)(void *arg, const struct dlio_train_req *r, int64_t cap, char *err,
			    size_t errlen);
	void *ck_piece_arg;
	enum dlio_train_state ck_resume; /* the state after the save */
	int64_t ck_nfiles, ck_file, ck_part, ck_off, ck_size, ck_inflight;
	int64_t ck_epoch, ck_step, ck_count;
	double ck_start;
	double ck_dur[64];
	int64_t ck_bytes;

	struct dlio_train_epoch *ep; /* one per epoch */
	int64_t nep;
	int64_t samples_read, reads, bytes;
	char err[256];
};

/* Returns 0 or -errno with err set.  whole_file: read each file with one request
 * when it is opened (S3/Azure readers fetch the object). */
int dlio_train_init(struct dlio_train *t, const struct dlio_geom *g, int64_t rank,
		    int whole_file, double now, char *err, size_t errlen);
void dlio_train_free(struct dlio_train *t);

#define DLIO_TRAIN_DONE (-1000)
/* 1: *r may be issued now (its worker waits for it); 0: nothing can start now;
 * DLIO_TRAIN_DONE: the phase is over; other < 0: error (t->err). */
int dlio_train_next(struct dlio_train *t, double now, struct dlio_train_req *r);
void dlio_train_complete(struct dlio_train *t, const struct dlio_train_req *r, double now);
/* Let time pass to now (compute ends, the barrier) without starting anything. */
void dlio_train_poll(struct dlio_train *t, double now);
/* When the model changes without a completion (compute end, a sleep ending); a
 * negative value when nothing is pending. */
double dlio_train_next_event(const struct dlio_train *t);

/* Block k (from 0) of an epoch's training, blocks without steps left out: its steps
 * [*first, *first + *n) of ep->train and its wall time.  0, or -1 past the last. */
int dlio_train_block_span(const struct dlio_train_epoch *ep, int64_t k, int64_t *first,
			  int64_t *n, double *start, double *end);

/* The largest single read the phase can issue, for sizing buffers. */
int64_t dlio_train_max_read(const struct dlio_geom *g, int whole_file);
/* Size of file idx of a split (for opens and whole-file reads). */
int64_t dlio_train_file_size(const struct dlio_train *t, enum dlio_split s, int64_t idx);

#endif
