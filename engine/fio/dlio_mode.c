#include "dlio_mode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verify.h" /* fio's: VERIFY_NONE */

#include "dlio/checkpoint.h"
#include "dlio/crc32.h"
#include "dlio/config.h"
#include "dlio/gen.h"
#include "dlio/geometry.h"
#include "dlio/ptzip.h"
#include "dlio/train.h"

enum { PHASE_NONE, PHASE_GENERATE, PHASE_TRAIN, PHASE_CHECKPOINT };

/* Large enough that fio never ends the job on its own byte count: the plan does. */
#define PLACEHOLDER_SIZE (1ULL << 60)
#define LOCAL_WRITE_SIZE (1ULL << 20)
#define OBJECT_WRITE_MAX (64ULL << 20)
/* Requests on O_DIRECT files (direct://, or file:// with direct=1) are made aligned to
 * the file system's direct I/O alignment, which DLIO mode takes up to this: reads widen
 * to it, writes go out in aligned blocks, and buffers have room for the widening. */
#define DIO_ALIGN_MAX 4096
#define MAX_OVERRIDES 64

/* One dataset file being written. */
struct gen_file {
	struct dlio_gen_file f;
	struct storage_target target;
	struct storage_file *sf;
	uint64_t next_off;    /* next byte to hand to a request */
	unsigned int inflight; /* requests queued and not yet completed */
	bool failed;
	bool rewrite; /* a header rewrite is the file's last request, once the rest is stored */
	bool rewrite_issued;
	uint32_t align;	 /* O_DIRECT alignment of its requests, 0: none */
	uint8_t *block0; /* O_DIRECT: the first block as written, for the header rewrite */
	struct gen_file *next_ready; /* in the queue of files whose rewrite may go out */
};

enum { SLOT_FREE, SLOT_READ, SLOT_DEFERRED };

struct worker_file {
	struct storage_file *sf;
	struct storage_target target;
	/* the file target names (kept after close: a worker reopens the same file for
	 * each of its samples, so its name is built once), file -1: none */
	enum dlio_split split;
	int64_t file;
	uint32_t align; /* O_DIRECT alignment of its requests, 0: none */
};

/* How long queue() may sleep when the model has nothing to issue and no I/O is in
 * flight (the accelerator computes); short, so fio's own timers stay live. */
#define IDLE_SLEEP_MAX_NS 50000000LL
/* How often a rank waiting at the step barrier looks at the others. */
#define BARRIER_POLL_S 0.0005

#define MAX_CHECKPOINTS 4096

enum { ZR_TAIL, ZR_CDIR, ZR_RECORDS };

/* a zip record's CRC-32 on load, from its pieces (dlio_checkpoint_verify) */
struct ck_verify {
	uint32_t *crc;
	int64_t pieces, done;
	int64_t hl; /* local header length, from the first piece */
};

/* One checkpoint file being written or read, in write_size pieces: sequentially, or as
 * torch.save's zip (writes by the plan; reads tail, central directory, then records). */
struct ck_stream {
	char rel[600];
	int64_t size;
	struct storage_target target;
	struct storage_file *sf;
	int64_t next_off;
	unsigned int inflight;
	bool all_issued;
	bool sync_done; /* the fsync after the last write was issued */
	bool failed;
	bool zip;
	bool traced; /* dlio_trace has a line of it */
	uint32_t align;	 /* O_DIRECT alignment of its requests, 0: none */
	bool truncated;	 /* O_DIRECT: the last block's padding cut off */
	struct dlio_ptz ptz; /* writes */
	int stage;	      /* reads: ZR_* */
	uint8_t *meta;	      /* reads: the tail, then the central directory */
	int64_t meta_off, meta_len, count;
	struct dlio_ptz_span *spans;
	int64_t nspan, span;
	struct ck_verify *ver;
};

enum { CKQ_DATA, CKQ_META, CKQ_SPAN };

/* what an io_u of the checkpoint benchmark carries */
struct ck_req {
	int kind;
	int64_t off, len, span, piece;
	int64_t delta; /* O_DIRECT reads: where off is in the widened request */
};

/* a slot whose io_u waits (FIO_Q_BUSY) for a sleep or for completions */
#define CK_DEFER ((struct ck_stream *)1)

/* The checkpoint-only benchmark (SPEC 9.5): write N checkpoints, then read N. */
struct ckpt_run {
	int64_t nwrite, nread;
	int64_t index;	      /* 1-based checkpoint in progress (writes, then reads) */
	int64_t file;	      /* next file of this rank in the checkpoint */
	int64_t part;	      /* tf_save: .index then .data */
	int64_t nfiles;	      /* files of this rank per checkpoint */
	bool writing;
	bool fsync;
	double sleep;	      /* before each checkpoint */
	double wake;	      /* sleeping until */
	bool started;	      /* the current checkpoint's first request went out */
	bool reported;	      /* its duration is taken */
	struct ck_stream *cur;
	struct ck_stream **by_slot;
	struct ck_req *req;   /* per slot */
	bool verify;
	int64_t verified;     /* records CRC-checked in the current checkpoint */
	unsigned int inflight;
	double t_start;
	int64_t bytes;	      /* of the current checkpoint, this rank */
	int64_t rank_bytes;   /* per checkpoint, this rank */
	double dur[2][MAX_CHECKPOINTS];
	int64_t ndur[2];
};

#define MAX_LOCAL_RANKS 256
#define MAX_REPORT_EPOCHS 64
/* A rank waiting this long at the step barrier gives up: another rank died. */
#define BARRIER_TIMEOUT_S 600.0

struct rank_result {
	int64_t nep;
	double au[MAX_REPORT_EPOCHS], tput[MAX_REPORT_EPOCHS];
	double eval_au[MAX_REPORT_EPOCHS], eval_tput[MAX_REPORT_EPOCHS];
	int has_eval[MAX_REPORT_EPOCHS];
	double start, end; /* wall clock, seconds since the epoch */
};

/*
 * Shared by the ranks (numjobs clones) of one job on this host: mapped in fio's
 * parent before it forks the jobs.  Step counters make DLIO's barrier; results
 * let the last rank to finish print the run's figures as DLIO's rank 0 does.
 */
struct dlio_shared {
	int64_t nlocal, base;
	int64_t steps[MAX_LOCAL_RANKS];
	int64_t finished;
	struct rank_result res[MAX_LOCAL_RANKS];
	/* checkpoint-only: per save (0) and load (1), the slowest rank's duration of each
	 * checkpoint, as the bits of a non-negative double (they order as integers) */
	int64_t ck_slowest[2][MAX_CHECKPOINTS];
	int64_t ck_count[2];
	int64_t ck_finished;
};

static struct dlio_shared *setup_shared; /* of the job whose clones are being set up */

static int64_t train_ck_piece(void *arg, const struct dlio_train_req *r, int64_t cap, char *err,
			      size_t errlen);

struct fiodlio_dlio {
	struct dlio_config *cfg;
	struct dlio_geom geom;
	int phase;
	int64_t comm;
	int64_t rank; /* set in the job */
	uint64_t write_size;

	/* train */
	struct dlio_train train;
	bool whole_file;
	struct dlio_train_req *treq;	 /* the read each slot carries */
	unsigned char *tstate;		 /* per slot: SLOT_FREE, SLOT_READ, SLOT_DEFERRED */
	struct worker_file *wfile;	 /* per loader worker: the file it has open */
	unsigned int inflight;
	double reaped_at; /* > 0: the clock read once for the completions being handed over */
	int64_t short_reads;
	bool missing_reported;
	struct worker_file ckf; /* the checkpoint file being written during training */
	int64_t ckf_size;	/* its size */
	struct dlio_ptz ckz;	/* its torch.save layout (pt_save), when ckz_on */
	bool ckz_on;
	bool ck_direct;		/* checkpoints go to an O_DIRECT root: aligned blocks */
	bool ck_fsync;		/* dlio_checkpoint_fsync */
	int64_t ck_synced;	/* checkpoint files fsynced */
	char ckf_rel[600];	/* the checkpoint file's path below the checkpoint root */
	bool train_ckpt;
	FILE *trace; /* dlio_trace: this rank's requests, as issued */

	struct dlio_shared *shared;
	int64_t local; /* this rank's index among the job's clones */
	double barrier_since;
	double wall0;  /* wall clock at t0 */

	/* checkpoint-only */
	struct dlio_ckpt ck;
	struct ckpt_run *run;

	/* generate */
	struct dlio_gen gen;
	struct gen_file *cur; /* receiving requests */
	struct gen_file **by_io_u; /* the file each io_u's request belongs to */
	unsigned int nio_u;
	unsigned char *gen_wait;   /* per io_u: waits (FIO_Q_BUSY) for a rewrite to be due */
	/* per io_u: the CRC-32 of the payload its buffer held last, NULL when fio may change
	 * the buffer between requests (refill_buffers, verify) */
	struct dlio_crc_cache *crc_cache;
	/* fio's buffers hold a pattern (buffer_pattern, zero_buffers) that fio fills once:
	 * a buffer that carried the engine's bytes is filled again after its request */
	bool refill_pattern;
	/* per io_u: the engine wrote into its buffer (container bytes, zip framing, padding) */
	unsigned char *buf_dirty;
	struct gen_file *ready, **ready_tail; /* rewrites due, oldest first */
	int64_t rewrites_owed;	   /* files whose rewrite has not gone out */
	unsigned long long buf_cap; /* bytes of each fio buffer */
	bool gen_done;
	int64_t files_done, bytes_done, files_valid, files_size_only, files_approx;
	struct timespec t0;
};

static unsigned int slot_of(const struct io_u *io_u)
{
	return ((const struct storage_req *)io_u->engine_data)->slot;
}

bool fiodlio_dlio_enabled(struct thread_data *td)
{
	struct fiodlio_options *o = td->eo;

	return o && o->dlio_phase != PHASE_NONE;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int step_barrier(void *arg, int64_t step)
{
	struct fiodlio_dlio *d = arg;
	struct dlio_shared *sh = d->shared;
	double now;

	__atomic_store_n(&sh->steps[d->local], step, __ATOMIC_RELEASE);
	for (int64_t i = 0; i < sh->nlocal; i++)
		if (__atomic_load_n(&sh->steps[i], __ATOMIC_ACQUIRE) < step) {
			now = now_s();
			if (!d->barrier_since)
				d->barrier_since = now;
			return now - d->barrier_since > BARRIER_TIMEOUT_S ? -1 : 0;
		}
	d->barrier_since = 0;
	return 1;
}

static int load_config(struct thread_data *td, struct dlio_config *cfg)
{
	struct fiodlio_options *o = td->eo;
	struct dlio_load_opts opts = { .flavour = o->dlio_flavor ? DLIO_FLAVOUR_HEAD :
								   DLIO_FLAVOUR_V20 };
	const char *ovr[MAX_OVERRIDES];
	char *copy = NULL, *save = NULL;
	char err[512] = "";
	int ret;

	if (o->dlio_config && o->dlio_workload) {
		log_err("fio-dlio: %s: give dlio_config or dlio_workload, not both\n", td->o.name);
		return -EINVAL;
	}
	if (o->dlio_overrides) {
		copy = strdup(o->dlio_overrides);
		for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (opts.noverrides == MAX_OVERRIDES) {
				log_err("fio-dlio: %s: more than %d dlio_overrides\n", td->o.name,
					MAX_OVERRIDES);
				free(copy);
				return -E2BIG;
			}
			ovr[opts.noverrides++] = t;
		}
		opts.overrides = ovr;
	}
	if (o->dlio_config) {
		ret = dlio_config_load_buf(cfg, "dlio_config", o->dlio_config, strlen(o->dlio_config),
					   &opts, NULL, err, sizeof(err));
	} else if (o->dlio_workload) {
		ret = dlio_config_load(cfg, o->dlio_workload, &opts, NULL, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "dlio_phase needs the workload: dlio_config= (what "
					   "dlio2fio writes) or dlio_workload=<file.yaml>");
		ret = -EINVAL;
	}
	free(copy);
	if (ret)
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
	return ret;
}

/* fio sizes its buffers from these; the engine's largest request must fit. */
static void set_block_size(struct thread_data *td, unsigned long long bs)
{
	for (int d = DDIR_READ; d <= DDIR_WRITE; d++) {
		td->o.bs[d] = bs;
		td->o.min_bs[d] = bs;
		td->o.max_bs[d] = bs;
		td->o.ba[d] = 1;
	}
	td->o.rw_min_bs = bs;
}

static bool object_store(const char *uri)
{
	return uri && (!strncasecmp(uri, "s3://", 5) || !strncasecmp(uri, "az://", 5));
}

/* Files under uri are opened with O_DIRECT: direct://, or local files with direct=1. */
static bool uri_direct(const struct thread_data *td, const char *uri)
{
	if (!uri)
		return false;
	if (!strncasecmp(uri, "direct://", 9))
		return true;
	return td->o.odirect && !object_store(uri);
}

/* direct:// writes go out in write_size blocks at multiples of write_size */
static int check_direct_write_size(struct thread_data *td, const char *uri, uint64_t ws)
{
	if (!uri_direct(td, uri) || ws % DIO_ALIGN_MAX == 0)
		return 0;
	log_err("fio-dlio: %s: dlio_write_size=%llu: files under %s are written with O_DIRECT, "
		"in blocks that must be a multiple of %d bytes\n",
		td->o.name, (unsigned long long)ws, uri, DIO_ALIGN_MAX);
	return -EINVAL;
}

static const char *ckpt_root(struct thread_data *td, const struct fiodlio_dlio *d, char *root,
			     size_t len);

int fiodlio_dlio_setup(struct thread_data *td)
{
	struct fiodlio_options *o = td->eo;
	struct fiodlio_dlio *d;
	struct fio_file *f;
	unsigned int i;
	char err[512] = "", root[2100];
	const char *ckroot;
	int64_t files, bytes, largest;
	int ret;

	if (!td->o.create_serialize) {
		log_err("fio-dlio: %s: DLIO mode needs create_serialize=1 (fio's default)\n",
			td->o.name);
		return 1;
	}
	if (td->o.verify != VERIFY_NONE) {
		/* fio writes its verify header into each buffer after prep(): it would tear
		 * the containers, and what DLIO mode writes is not fio's pattern to check */
		log_err("fio-dlio: %s: verify= does not apply in DLIO mode: the engine writes "
			"DLIO's files (their own checksums: npz CRC-32, TFRecord CRC-32C, zip "
			"records; dlio_checkpoint_verify=1 checks checkpoints as they load)\n",
			td->o.name);
		return 1;
	}
	if (o->dlio_ranks < 1 || o->dlio_rank_base + td->o.numjobs > o->dlio_ranks) {
		log_err("fio-dlio: %s: ranks %u..%u (dlio_rank_base + numjobs) do not fit in "
			"dlio_ranks=%u\n",
			td->o.name, o->dlio_rank_base, o->dlio_rank_base + td->o.numjobs - 1,
			o->dlio_ranks);
		return 1;
	}
	if (!o->uri || !*o->uri) {
		log_err("fio-dlio: %s: DLIO mode needs uri= (the storage root of "
			"dataset.data_folder)\n",
			td->o.name);
		return 1;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->cfg = calloc(1, sizeof(*d->cfg)))) {
		free(d);
		return 1;
	}
	d->phase = (int)o->dlio_phase;
	d->comm = o->dlio_ranks;
	if (o->dlio_trace && *o->dlio_trace && d->phase == PHASE_GENERATE) {
		log_err("fio-dlio: %s: dlio_trace=%s: only the train and checkpoint phases record "
			"their requests (this job is dlio_phase=generate)\n",
			td->o.name, o->dlio_trace);
		goto fail;
	}
	ret = load_config(td, d->cfg);
	if (!ret)
		ret = dlio_geom_init(&d->geom, d->cfg, d->comm, DLIO_TRIM_NONE, err, sizeof(err));
	if (ret) {
		if (err[0])
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
		goto fail;
	}

	switch (d->phase) {
	case PHASE_GENERATE:
		ret = dlio_gen_totals(&d->geom, o->dlio_rank_base + td->subjob_number, d->comm,
				      &files, &bytes, &largest, err, sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			goto fail;
		}
		d->write_size = o->dlio_write_size;
		if (!d->write_size)
			d->write_size = object_store(o->uri) ?
						(largest < (int64_t)OBJECT_WRITE_MAX ? (uint64_t)largest :
										       OBJECT_WRITE_MAX) :
						LOCAL_WRITE_SIZE;
		if (!d->write_size)
			d->write_size = 1;
		if (check_direct_write_size(td, o->uri, d->write_size))
			goto fail;
		set_block_size(td, d->write_size);
		td->o.td_ddir = TD_DDIR_WRITE;
		break;
	case PHASE_TRAIN: {
		int64_t maxr;

		ret = dlio_config_validate(d->cfg, d->comm, NULL, err, sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			goto fail;
		}
		d->whole_file = object_store(o->uri);
		maxr = dlio_train_max_read(&d->geom, d->whole_file);
		if (maxr <= 0) {
			/* mmap'd views (mmap_indexed_binary) and synthetic data: the steps,
			 * their compute, the barrier and the checkpoints still happen */
			if (td->subjob_number == 0)
				log_info("fio-dlio: %s: the loader reads nothing from storage "
					 "(format %s): steps and checkpoints only\n",
					 td->o.name, dlio_format_name(d->cfg->dataset.format));
			maxr = 1;
		}
		{
			/* each loader worker (or TFRecord stream) has one read in flight */
			int64_t need = d->cfg->reader.read_threads > 0 ? d->cfg->reader.read_threads : 1;

			if (need > 4096) {
				log_err("fio-dlio: %s: reader.read_threads=%lld is more than fio-dlio "
					"models\n",
					td->o.name, (long long)need);
				goto fail;
			}
			if ((int64_t)td->o.iodepth < need) {
				if (td->subjob_number == 0)
					log_info("fio-dlio: %s: iodepth=%u raised to %lld, the loader's "
						 "read_threads\n",
						 td->o.name, td->o.iodepth, (long long)need);
				td->o.iodepth = (unsigned int)need;
			}
			td->o.iodepth_low = td->o.iodepth;
			/* the reads that are ready go out together, with one submission:
			 * a worker's next read only exists once its last one completed,
			 * so fio's loop never holds one back waiting for others */
			td->o.iodepth_batch = td->o.iodepth;
			if (td->o.iodepth_batch_complete_max < td->o.iodepth)
				td->o.iodepth_batch_complete_max = td->o.iodepth;
		}
		td->o.td_ddir = TD_DDIR_READ;
		if (d->cfg->workflow.checkpoint) {
			ret = dlio_ckpt_init(&d->ck, d->cfg, d->comm, err, sizeof(err));
			if (ret) {
				log_err("fio-dlio: %s: %s\n", td->o.name, err);
				goto fail;
			}
			d->train_ckpt = true;
			d->write_size = o->dlio_write_size ? o->dlio_write_size : 8ULL << 20;
			ckroot = ckpt_root(td, d, root, sizeof(root));
			if (check_direct_write_size(td, ckroot, d->write_size))
				goto fail;
			d->ck_direct = uri_direct(td, ckroot);
			d->ck_fsync = o->dlio_checkpoint_fsync;
			if ((int64_t)d->write_size > maxr)
				maxr = (int64_t)d->write_size;
			td->o.td_ddir = TD_DDIR_RW;
		}
		if (uri_direct(td, o->uri) || d->ck_direct)
			/* a read widened to the alignment; fio's buffers lie back to back, so
			 * their size keeps each one aligned */
			maxr = (maxr + 3 * DIO_ALIGN_MAX - 1) / DIO_ALIGN_MAX * DIO_ALIGN_MAX;
		set_block_size(td, (unsigned long long)maxr);
		break;
	}
	case PHASE_CHECKPOINT: {
		int64_t w = d->cfg->checkpoint.num_checkpoints_write;
		int64_t r = d->cfg->checkpoint.num_checkpoints_read;

		ret = dlio_ckpt_init(&d->ck, d->cfg, d->comm, err, sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			goto fail;
		}
		if (w <= 0 && r <= 0) {
			log_err("fio-dlio: %s: the checkpoint-only workflow writes "
				"checkpoint.num_checkpoints_write checkpoints and reads "
				"num_checkpoints_read: both are %lld, %lld\n",
				td->o.name, (long long)w, (long long)r);
			goto fail;
		}
		if (w > MAX_CHECKPOINTS || r > MAX_CHECKPOINTS) {
			log_err("fio-dlio: %s: at most %d checkpoints are written or read\n",
				td->o.name, MAX_CHECKPOINTS);
			goto fail;
		}
		d->write_size = o->dlio_write_size ? o->dlio_write_size : 8ULL << 20;
		ckroot = ckpt_root(td, d, root, sizeof(root));
		if (check_direct_write_size(td, ckroot, d->write_size))
			goto fail;
		/* (O_DIRECT: room for a read widened to the alignment) */
		set_block_size(td, d->write_size + (uri_direct(td, ckroot) ? 2 * DIO_ALIGN_MAX : 0));
		td->o.td_ddir = TD_DDIR_RW;
		break;
	}
	default:
		goto fail;
	}

	d->buf_cap = td->o.max_bs[DDIR_WRITE];

	/* fio scrambles write buffers after prep(), which would tear the container
	 * bytes and checksums the engine wrote: the payload stays fio's random data */
	td->o.scramble_buffers = 0;
	td->flags &= ~TD_F_SCRAMBLE_BUFFERS;

	/* fio's file is a placeholder the plan never touches */
	td->o.size = PLACEHOLDER_SIZE;
	td->o.io_size = 0;
	for_each_file(td, f, i) {
		f->real_file_size = PLACEHOLDER_SIZE;
		fio_file_set_size_known(f);
	}
	if (td->o.numjobs > MAX_LOCAL_RANKS) {
		log_err("fio-dlio: %s: numjobs=%u: at most %d ranks per job and host\n", td->o.name,
			td->o.numjobs, MAX_LOCAL_RANKS);
		goto fail;
	}
	if (td->subjob_number == 0 || !setup_shared) {
		setup_shared = mmap(NULL, sizeof(*setup_shared), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (setup_shared == MAP_FAILED) {
			setup_shared = NULL;
			log_err("fio-dlio: %s: cannot map memory shared by the ranks\n", td->o.name);
			goto fail;
		}
		setup_shared->nlocal = td->o.numjobs;
		setup_shared->base = o->dlio_rank_base;
	}
	d->shared = setup_shared;
	d->local = td->subjob_number;
	o->dlio_state = d;
	return 0;
fail:
	free(d->cfg);
	free(d);
	return 1;
}

int fiodlio_dlio_init(struct thread_data *td, struct fiodlio_job *job)
{
	struct fiodlio_options *o = td->eo;
	struct fiodlio_dlio *d = o->dlio_state;
	char err[256];

	if (!d) {
		log_err("fio-dlio: %s: DLIO state missing (setup did not run)\n", td->o.name);
		return 1;
	}
	d->rank = o->dlio_rank_base + td->subjob_number;
	/* the geometry points at the config; both were copied into this process by fork */
	d->geom.cfg = d->cfg;
	d->nio_u = td->o.iodepth;
	d->by_io_u = calloc(d->nio_u, sizeof(*d->by_io_u));
	d->gen_wait = calloc(d->nio_u, 1);
	d->buf_dirty = calloc(d->nio_u, 1);
	if (!d->by_io_u || !d->gen_wait || !d->buf_dirty)
		return 1;
	d->refill_pattern = (td->o.buffer_pattern_bytes || td->o.zero_buffers) &&
			    !(td->flags & TD_F_REFILL_BUFFERS);
	if (d->phase == PHASE_GENERATE &&
	    !(td->flags & (TD_F_REFILL_BUFFERS | TD_F_DO_VERIFY | TD_F_SCRAMBLE_BUFFERS)) &&
	    !(d->crc_cache = calloc(d->nio_u, sizeof(*d->crc_cache))))
		return 1;
	d->ready_tail = &d->ready;
	if (d->phase == PHASE_GENERATE &&
	    dlio_gen_init(&d->gen, &d->geom, d->rank, d->comm, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	{
		struct timespec w;

		clock_gettime(CLOCK_REALTIME, &w);
		d->wall0 = (double)w.tv_sec + (double)w.tv_nsec / 1e9;
	}
	if (d->phase == PHASE_CHECKPOINT) {
		struct ckpt_run *c = calloc(1, sizeof(*c));

		if (!c || !(c->by_slot = calloc(d->nio_u, sizeof(*c->by_slot))) ||
		    !(c->req = calloc(d->nio_u, sizeof(*c->req)))) {
			if (c)
				free(c->by_slot);
			free(c);
			return 1;
		}
		c->verify = o->dlio_checkpoint_verify;
		c->nwrite = d->cfg->checkpoint.num_checkpoints_write > 0 ?
				    d->cfg->checkpoint.num_checkpoints_write :
				    0;
		c->nread = d->cfg->checkpoint.num_checkpoints_read > 0 ?
				   d->cfg->checkpoint.num_checkpoints_read :
				   0;
		c->writing = c->nwrite > 0;
		c->index = 1;
		c->nfiles = dlio_ckpt_rank_nfiles(&d->ck, d->rank);
		c->rank_bytes = dlio_ckpt_rank_bytes(&d->ck, d->rank);
		c->fsync = o->dlio_checkpoint_fsync;
		/* DLIO sleeps |time_between_checkpoints| before each one (-1: 1 s) */
		c->sleep = fabs(d->cfg->checkpoint.time_between_checkpoints);
		c->wake = now_s() + c->sleep;
		d->run = c;
	}
	if (d->phase == PHASE_TRAIN) {
		job->conf.defer_opens = true;
		d->treq = calloc(d->nio_u, sizeof(*d->treq));
		d->tstate = calloc(d->nio_u, 1);
		if (!d->treq || !d->tstate)
			return 1;
		if (dlio_train_init(&d->train, &d->geom, d->rank, d->whole_file, now_s(), err,
				    sizeof(err))) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			return 1;
		}
		if (d->shared && d->shared->nlocal > 1) {
			d->train.barrier = step_barrier;
			d->train.barrier_arg = d;
		}
		if (d->train_ckpt) {
			d->train.ck = &d->ck;
			d->train.ck_nfiles = dlio_ckpt_rank_nfiles(&d->ck, d->rank);
			d->train.ck_chunk = (int64_t)d->write_size;
			d->train.ck_piece = train_ck_piece;
			d->train.ck_piece_arg = td;
		}
		d->wfile = calloc((size_t)DLIO_TRAIN_MAX_WORKERS, sizeof(*d->wfile));
		if (!d->wfile)
			return 1;
		for (int i = 0; i < DLIO_TRAIN_MAX_WORKERS; i++)
			d->wfile[i].file = -1;
	}
	/* train: "<epoch> <worker>"; checkpoint: "<checkpoint> -1" */
	if (o->dlio_trace && *o->dlio_trace) {
		char path[4096];

		snprintf(path, sizeof(path), "%s.%lld", o->dlio_trace, (long long)d->rank);
		d->trace = fopen(path, "w");
		if (!d->trace) {
			log_err("fio-dlio: %s: dlio_trace: cannot create %s: %s\n", td->o.name,
				path, strerror(errno));
			return 1;
		}
		fprintf(d->trace, "# epoch worker op open offset length path\n");
	}
	job->dlio = d;
	return 0;
}

static void gen_file_free(struct gen_file *g)
{
	storage_target_free(&g->target);
	free(g->block0);
	free(g);
}

/* The request of io_u is complete: if the engine wrote into its buffer and the payload is a
 * pattern fio filled once, fio fills the buffer again, so the next request's payload is
 * the pattern, not this one's container bytes.  (Random payload stays as it is: a refill
 * would cost as much as the write on fast storage.) */
static void buf_restore(struct thread_data *td, struct fiodlio_dlio *d, struct io_u *io_u)
{
	unsigned int slot = slot_of(io_u);

	if (slot >= d->nio_u || !d->buf_dirty[slot])
		return;
	d->buf_dirty[slot] = 0;
	if (!d->refill_pattern)
		return;
	io_u_fill_buffer(td, io_u, td->o.min_bs[DDIR_WRITE], d->buf_cap);
	if (d->crc_cache)
		d->crc_cache[slot].valid = 0;
}

/* A file whose last O_DIRECT block went out whole (padded): cut it back to its size.
 * 0, or -1 with the reason logged and the job failed. */
static int dio_cut(struct thread_data *td, struct fiodlio_job *job, struct storage_file *sf,
		   const char *path, uint32_t align, int64_t size)
{
	int fd;

	if (!align || size % align == 0)
		return 0;
	fd = job->backend->fd(sf);
	if (fd >= 0 && ftruncate(fd, (off_t)size) == 0)
		return 0;
	log_err("fio-dlio: %s: truncate %s to %lld bytes after its last O_DIRECT block: %s\n",
		td->o.name, path, (long long)size, fd < 0 ? "no descriptor" : strerror(errno));
	if (!td->error)
		td_verror(td, EIO, "dlio truncate");
	return -1;
}

/* The O_DIRECT alignment requests on sf need (0: none); more than DLIO mode makes room
 * for is an error naming the file. */
static int file_align(struct thread_data *td, struct fiodlio_job *job, struct storage_file *sf,
		      const char *path, uint32_t *align)
{
	*align = job->backend->dio_align ? job->backend->dio_align(sf) : 0;
	if (*align <= DIO_ALIGN_MAX)
		return 0;
	log_err("fio-dlio: %s: %s needs O_DIRECT requests aligned to %u bytes; DLIO mode aligns "
		"to at most %d (use file://)\n",
		td->o.name, path, *align, DIO_ALIGN_MAX);
	td_verror(td, EINVAL, "dlio open");
	return -EINVAL;
}

/* A generated file whose requests are all stored: an O_DIRECT file's padding cut off
 * (its last block went out whole), closed, counted. */
static void gen_close(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		      struct gen_file *g)
{
	char err[STORAGE_ERR_LEN];

	if (!g->failed && dio_cut(td, job, g->sf, g->target.path, g->align, g->f.size))
		g->failed = true;
	if (job->backend->close(job->ctx, g->sf, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		if (!td->error)
			td_verror(td, EIO, "dlio generate close");
	} else if (!g->failed) {
		d->files_done++;
		d->bytes_done += g->f.size;
	}
	gen_file_free(g);
}

bool fiodlio_dlio_direct(struct thread_data *td, struct fiodlio_job *job)
{
	struct fiodlio_dlio *d = job->dlio;
	char root[2100];

	return (d->phase == PHASE_CHECKPOINT || d->train_ckpt) &&
	       uri_direct(td, ckpt_root(td, d, root, sizeof(root)));
}

static int gen_open_next(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d)
{
	struct fiodlio_options *o = td->eo;
	char err[STORAGE_ERR_LEN];
	struct gen_file *g;
	int ret;

	for (;;) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		ret = dlio_gen_next(&d->gen, &g->f, err, sizeof(err));
		if (ret <= 0) {
			free(g);
			if (ret < 0) {
				/* the job fails, not ends early as if the dataset were complete */
				log_err("fio-dlio: %s: %s\n", td->o.name, err);
				td_verror(td, -ret, "dlio generate");
			} else {
				d->gen_done = true;
			}
			return ret;
		}
		ret = storage_resolve(o->uri, g->f.relpath, &g->target, err, sizeof(err));
		if (!ret)
			ret = fiodlio_job_ctx(td, job, &g->target);
		if (!ret)
			ret = job->backend->open(job->ctx, g->target.path,
						 STORAGE_O_WRITE | STORAGE_O_CREATE | STORAGE_O_TRUNC,
						 &g->sf, err, sizeof(err));
		if (!ret && job->backend->size_hint)
			ret = job->backend->size_hint(job->ctx, g->sf, (uint64_t)g->f.size, err,
						      sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			td_verror(td, -ret, "dlio generate open");
		} else {
			ret = file_align(td, job, g->sf, g->target.path, &g->align);
		}
		if (ret) {
			if (g->sf)
				job->backend->close(job->ctx, g->sf, err, sizeof(err));
			gen_file_free(g);
			return ret;
		}
		switch (g->f.valid) {
		case DLIO_GEN_VALID:
			d->files_valid++;
			break;
		case DLIO_GEN_SIZE_ONLY:
			d->files_size_only++;
			break;
		case DLIO_GEN_APPROXIMATE:
			d->files_approx++;
			break;
		}
		if (g->f.size > 0) {
			d->cur = g;
			return 1;
		}
		/* an empty file is complete once created */
		job->backend->close(job->ctx, g->sf, err, sizeof(err));
		d->files_done++;
		gen_file_free(g);
	}
}

/* Bytes [a, z) of a slot's buffer were written: a remembered payload CRC there is gone */
static void crc_cache_touch(struct fiodlio_dlio *d, unsigned int slot, uint64_t a, uint64_t z)
{
	struct dlio_crc_cache *cc = d->crc_cache ? &d->crc_cache[slot] : NULL;

	if (cc && cc->valid && (int64_t)a < cc->boff + cc->len && cc->boff < (int64_t)z)
		cc->valid = 0;
}

/* Local files get npz's local header rewritten with its CRC, as Python's zipfile does */
static bool gen_rewrites(struct fiodlio_job *job, struct gen_file *g)
{
	uint64_t off;
	uint8_t probe[64];

	return job->backend->fd(g->sf) >= 0 &&
	       dlio_gen_rewrite(&g->f, &off, probe, sizeof(probe)) > 0;
}

/* Pad an O_DIRECT request of len bytes to whole blocks of align (zeros past the file's
 * end, cut off when the file is complete); the padded length, or 0 when the buffer has
 * no room. */
static uint64_t dio_pad(struct fiodlio_dlio *d, uint8_t *buf, uint64_t len, uint32_t align)
{
	uint64_t n = align ? (len + align - 1) / align * align : len;

	if (n > d->buf_cap)
		return 0;
	memset(buf + len, 0, (size_t)(n - len));
	return n;
}

static int gen_prep(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		    struct io_u *io_u)
{
	struct storage_req *req = io_u->engine_data;
	unsigned int slot = slot_of(io_u);
	struct gen_file *g;
	uint64_t len, off, n;
	int64_t filled;
	int ret;

	d->gen_wait[slot] = 0;
	if (d->ready) {
		/* a file whose other requests are all stored: its header rewrite */
		uint8_t hdr[64];
		int64_t hl;

		g = d->ready;
		d->ready = g->next_ready;
		if (!d->ready)
			d->ready_tail = &d->ready;
		g->rewrite_issued = true;
		d->rewrites_owed--;
		if (g->block0) {
			/* O_DIRECT: the whole first block again, with the header in it */
			hl = dlio_gen_rewrite(&g->f, &off, hdr, sizeof(hdr));
			if (hl <= 0 || off + (uint64_t)hl > g->align)
				goto internal;
			memcpy(g->block0 + off, hdr, (size_t)hl);
			io_u->xfer_buf = g->block0;
			off = 0;
			len = g->align;
		} else {
			hl = dlio_gen_rewrite(&g->f, &off, io_u->buf, d->buf_cap);
			if (hl <= 0)
				goto internal;
			crc_cache_touch(d, slot, 0, hl); /* the header went into fio's buffer */
			d->buf_dirty[slot] = 1;
			io_u->xfer_buf = io_u->buf;
			len = (uint64_t)hl;
		}
		goto request;
	}
	if (!d->cur) {
		if (d->gen_done || (ret = gen_open_next(td, job, d)) <= 0) {
			if (td->error || !d->rewrites_owed)
				return 1;
			/* done but for rewrites of files still being stored: wait for them */
			d->gen_wait[slot] = 1;
			return 0;
		}
	}
	g = d->cur;
	len = (uint64_t)g->f.size - g->next_off;
	if (len > d->write_size)
		len = d->write_size;
	if (len > d->buf_cap)
		len = d->buf_cap;
	io_u->xfer_buf = io_u->buf;
	filled = dlio_gen_fill(&d->geom, &g->f, g->next_off, io_u->xfer_buf, len,
			       d->crc_cache ? &d->crc_cache[slot] : NULL);
	if (filled < 0) {
		log_err("fio-dlio: %s: internal: %s written out of order\n", td->o.name,
			g->f.relpath);
		return 1;
	}
	if (filled > 0)
		d->buf_dirty[slot] = 1;
	off = g->next_off;
	g->next_off += len;
	if (g->next_off == (uint64_t)g->f.size) {
		/* local files get npz's header rewritten as Python's zipfile does, once the
		 * rest is stored (requests in flight together may land in any order); an
		 * object cannot be rewritten in place, so there the local header's CRC
		 * stays 0 (readers check the central directory's) */
		if (gen_rewrites(job, g)) {
			g->rewrite = true;
			d->rewrites_owed++;
		}
		d->cur = NULL; /* complete once its requests are */
	}
	if (g->align) {
		n = dio_pad(d, io_u->xfer_buf, len, g->align);
		if (!n)
			goto internal;
		crc_cache_touch(d, slot, len, n); /* zeros went into fio's buffer */
		if (n > len)
			d->buf_dirty[slot] = 1;
		if (off == 0 && gen_rewrites(job, g)) {
			/* the first block as it goes out, for the header rewrite */
			if (posix_memalign((void **)&g->block0, DIO_ALIGN_MAX, g->align))
				return 1;
			memcpy(g->block0, io_u->xfer_buf, g->align);
		}
		len = n;
	}
request:
	io_u->ddir = DDIR_WRITE;
	io_u->offset = off;
	io_u->buflen = len;
	io_u->xfer_buflen = len;

	req->op = STORAGE_WRITE;
	req->file = g->sf;
	req->offset = off;
	req->len = len;
	req->buf = io_u->xfer_buf;
	req->result = 0;
	req->err[0] = '\0';

	g->inflight++;
	d->by_io_u[slot] = g;
	return 0;
internal:
	log_err("fio-dlio: %s: internal: %s: request at %llu does not fit fio's buffer\n",
		td->o.name, g->f.relpath, (unsigned long long)off);
	return 1;
}

static int worker_open(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		       const struct dlio_train_req *r)
{
	struct fiodlio_options *o = td->eo;
	struct worker_file *wf = &d->wfile[r->worker];
	char rel[512], err[STORAGE_ERR_LEN];
	int ret = 0;

	err[0] = '\0';
	if (wf->sf) {
		job->backend->close(job->ctx, wf->sf, err, sizeof(err));
		wf->sf = NULL;
	}
	if (wf->file != r->file || wf->split != r->split || !wf->target.path) {
		storage_target_free(&wf->target);
		wf->file = -1;
		ret = dlio_geom_file_relpath(&d->geom, r->split, r->file, rel, sizeof(rel));
		if (ret < 0) {
			log_err("fio-dlio: %s: file %lld: name too long\n", td->o.name,
				(long long)r->file);
			return ret;
		}
		ret = storage_resolve(o->uri, rel, &wf->target, err, sizeof(err));
		if (!ret)
			ret = fiodlio_job_ctx(td, job, &wf->target);
		if (!ret) {
			wf->split = r->split;
			wf->file = r->file;
		}
	}
	/* a sample's file is opened for its one or two reads: the open may go out with the
	 * first read (one submission for both on file://) */
	if (!ret)
		ret = job->backend->open(job->ctx, wf->target.path, STORAGE_O_DEFER, &wf->sf, err,
					 sizeof(err));
	if (!ret && job->backend->size_hint)
		ret = job->backend->size_hint(job->ctx, wf->sf,
					      (uint64_t)dlio_train_file_size(&d->train, r->split,
									      r->file),
					      err, sizeof(err));
	if (!ret && file_align(td, job, wf->sf, wf->target.path, &wf->align)) {
		job->backend->close(job->ctx, wf->sf, err, sizeof(err));
		wf->sf = NULL;
		return -EINVAL;
	}
	if (ret) {
		log_err("fio-dlio: %s: %s (generate the dataset first: dlio_phase=generate)\n",
			td->o.name, err);
		td_verror(td, -ret, "dlio train open");
		if (wf->sf)
			job->backend->close(job->ctx, wf->sf, err, sizeof(err));
		wf->sf = NULL;
		storage_target_free(&wf->target);
		wf->file = -1;
	}
	return ret;
}

static const char *ckpt_root(struct thread_data *td, const struct fiodlio_dlio *d, char *root,
			     size_t len);
static const char *ckpt_rel(const struct fiodlio_dlio *d, const char *path);

static void ckf_close(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d)
{
	char err[STORAGE_ERR_LEN];

	if (d->ckf.sf && job->backend->close(job->ctx, d->ckf.sf, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		if (!td->error)
			td_verror(td, EIO, "dlio checkpoint close");
	}
	d->ckf.sf = NULL;
	storage_target_free(&d->ckf.target);
}

/* dlio_checkpoint_fsync during training: the file's last piece is stored; it is on
 * stable storage before it is closed (MLPerf's rule), the training loop waiting as for
 * torch.save.  A synchronous fsync, traced as the checkpoint phase's is; object stores
 * have nothing to sync (an upload is durable once it completes).  True when it ran. */
static bool ckf_fsync(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d)
{
	int fd = d->ckf.sf ? job->backend->fd(d->ckf.sf) : -1;

	if (fd < 0)
		return false;
	if (d->trace)
		fprintf(d->trace, "%lld -1 sync 0 0 0 %s\n", (long long)d->train.epoch,
			d->ckf_rel);
	if (fsync(fd)) {
		log_err("fio-dlio: %s: fsync %s: %s\n", td->o.name, d->ckf.target.path,
			strerror(errno));
		if (!td->error)
			td_verror(td, errno, "dlio checkpoint fsync");
	}
	d->ck_synced++;
	return true;
}

/* A checkpoint file of the training loop: opened at its first piece (tf_save's empty
 * .index part is created with it), closed when its last piece is stored. */
static int ckf_open(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		    const struct dlio_train_req *r)
{
	struct dlio_ckpt_file f;
	char path[600], root[2100], err[STORAGE_ERR_LEN];
	const char *uri = ckpt_root(td, d, root, sizeof(root));
	int ret;

	ckf_close(td, job, d);
	ret = dlio_ckpt_rank_file(&d->ck, d->rank, r->ck_file, &f);
	for (int part = dlio_ckpt_parts(&d->ck) == 2 ? 0 : (int)r->ck_part;
	     !ret && part <= r->ck_part; part++) {
		ret = dlio_ckpt_file_path(&d->ck, r->ck_epoch, r->ck_step, &f, part, path,
					  sizeof(path));
		if (ret < 0)
			break;
		snprintf(d->ckf_rel, sizeof(d->ckf_rel), "%s", ckpt_rel(d, path));
		ret = storage_resolve(uri, d->ckf_rel, &d->ckf.target, err, sizeof(err));
		if (!ret)
			ret = fiodlio_job_ctx(td, job, &d->ckf.target);
		if (!ret)
			ret = job->backend->open(job->ctx, d->ckf.target.path,
						 STORAGE_O_WRITE | STORAGE_O_CREATE | STORAGE_O_TRUNC,
						 &d->ckf.sf, err, sizeof(err));
		d->ckf_size = part < r->ck_part ? 0 : r->ck_size;
		if (!ret && job->backend->size_hint)
			ret = job->backend->size_hint(job->ctx, d->ckf.sf, (uint64_t)d->ckf_size,
						      err, sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: checkpoint %s: %s\n", td->o.name, path, err);
			td_verror(td, -ret, "dlio checkpoint open");
		} else {
			ret = file_align(td, job, d->ckf.sf, d->ckf.target.path, &d->ckf.align);
		}
		if (part < r->ck_part || ret)
			ckf_close(td, job, d); /* the empty .index part, or a failed open */
	}
	return ret < 0 ? ret : 0;
}

static int train_ckpt_prep(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
			   struct io_u *io_u, struct dlio_train_req *r)
{
	struct storage_req *req = io_u->engine_data;

	const uint8_t *src = NULL;

	if (r->open && ckf_open(td, job, d, r))
		return 1;
	io_u->ddir = DDIR_WRITE;
	io_u->offset = (unsigned long long)r->offset;
	io_u->buflen = (unsigned long long)r->len;
	io_u->xfer_buflen = io_u->buflen;
	if (d->ckf.align) {
		/* O_DIRECT: whole aligned blocks across the zip's streams, the last padded
		 * (cut back once stored) */
		int64_t framing = d->ckz_on ? dlio_ptz_fill(&d->ckz, r->offset, io_u->buf, r->len)
					    : 0;
		uint64_t n = framing < 0 ? 0 : dio_pad(d, io_u->buf, (uint64_t)r->len,
						       d->ckf.align);

		if (!n) {
			log_err("fio-dlio: %s: internal: checkpoint block at %lld\n", td->o.name,
				(long long)r->offset);
			td_verror(td, EIO, "dlio checkpoint write");
			return 1;
		}
		d->buf_dirty[slot_of(io_u)] = framing > 0 || n > (uint64_t)r->len;
		io_u->xfer_buf = io_u->buf;
		io_u->buflen = n;
		io_u->xfer_buflen = n;
		goto request;
	}
	/* as the checkpoint benchmark: zip framing from the plan, tensor data from fio's
	 * buffer, its CRC-32 folded in as it goes out (train_ck_piece cut the pieces) */
	if (d->ckz_on && dlio_ptz_piece(&d->ckz, r->offset, r->len, &src) != r->len) {
		log_err("fio-dlio: %s: internal: checkpoint zip piece at %lld\n", td->o.name,
			(long long)r->offset);
		td_verror(td, EIO, "dlio checkpoint write");
		return 1;
	}
	io_u->xfer_buf = src ? (void *)src : io_u->buf;
	if (d->ckz_on && !src && dlio_ptz_account(&d->ckz, r->offset, io_u->xfer_buf, r->len)) {
		log_err("fio-dlio: %s: internal: checkpoint tensor bytes at %lld out of order\n",
			td->o.name, (long long)r->offset);
		td_verror(td, EIO, "dlio checkpoint write");
		return 1;
	}
request:
	req->op = STORAGE_WRITE;
	req->file = d->ckf.sf;
	req->offset = (uint64_t)r->offset;
	req->len = io_u->xfer_buflen;
	req->buf = io_u->xfer_buf;
	req->result = 0;
	req->err[0] = '\0';
	d->tstate[slot_of(io_u)] = SLOT_READ;
	d->inflight++;
	return 0;
}

/* dlio_trace: one line per request as it is issued; the path is the dataset file's
 * below uri=, or the checkpoint file's below the checkpoint root (worker -1). */
static void trace_req(struct fiodlio_dlio *d, const struct dlio_train_req *r)
{
	char path[600] = "?";

	if (r->write) {
		struct dlio_ckpt_file f;

		if (!dlio_ckpt_rank_file(&d->ck, d->rank, r->ck_file, &f) &&
		    dlio_ckpt_file_path(&d->ck, r->ck_epoch, r->ck_step, &f, (int)r->ck_part, path,
					sizeof(path)) >= 0) {
			const char *rel = ckpt_rel(d, path);

			memmove(path, rel, strlen(rel) + 1);
		}
	} else if (dlio_geom_file_relpath(&d->geom, r->split, r->file, path, sizeof(path)) < 0) {
		snprintf(path, sizeof(path), "?");
	}
	fprintf(d->trace, "%lld %lld %s %d %lld %lld %s\n", (long long)d->train.epoch,
		(long long)r->worker, r->write ? "write" : "read", r->open, (long long)r->offset,
		(long long)r->len, path);
}

/* The next read of the model if one may start now; else the io_u waits (queue()
 * answers FIO_Q_BUSY) and is offered again after a completion or a timer. */
static int train_prep(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		      struct io_u *io_u)
{
	unsigned int slot = slot_of(io_u);
	struct storage_req *req = io_u->engine_data;
	struct dlio_train_req *r = &d->treq[slot];
	uint64_t off, len;
	uint32_t align;
	int ret;

	if (d->tstate[slot] == SLOT_READ)
		return 0;
	ret = dlio_train_next(&d->train, now_s(), r);
	if (ret == DLIO_TRAIN_DONE)
		return 1;
	if (ret < 0) {
		log_err("fio-dlio: %s: %s\n", td->o.name, d->train.err);
		td_verror(td, EIO, "dlio train");
		return 1;
	}
	if (ret == 0) {
		d->tstate[slot] = SLOT_DEFERRED;
		return 0;
	}
	if (d->trace)
		trace_req(d, r);
	if (r->write)
		return train_ckpt_prep(td, job, d, io_u, r);
	if ((r->open || !d->wfile[r->worker].sf) && worker_open(td, job, d, r))
		return 1;
	off = (uint64_t)r->offset;
	len = (uint64_t)r->len;
	align = d->wfile[r->worker].align;
	if (align) {
		/* O_DIRECT: the read DLIO makes, widened to the alignment around it (fio
		 * counts what the device read) */
		off = off / align * align;
		len = ((uint64_t)r->offset + len + align - 1) / align * align - off;
		if (len > d->buf_cap) {
			log_err("fio-dlio: %s: internal: widened read of %llu bytes\n", td->o.name,
				(unsigned long long)len);
			return 1;
		}
	}
	io_u->ddir = DDIR_READ;
	io_u->offset = off;
	io_u->buflen = len;
	io_u->xfer_buflen = io_u->buflen;
	io_u->xfer_buf = io_u->buf;
	req->op = STORAGE_READ;
	req->file = d->wfile[r->worker].sf;
	req->offset = off;
	req->len = len;
	req->buf = io_u->xfer_buf;
	req->result = 0;
	req->err[0] = '\0';
	d->tstate[slot] = SLOT_READ;
	d->inflight++;
	return 0;
}

bool fiodlio_dlio_deferred(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u)
{
	struct fiodlio_dlio *d = job->dlio;
	double next, now;

	if (d->phase == PHASE_GENERATE)
		return d->gen_wait[slot_of(io_u)]; /* completions make the rewrites due */
	if (d->phase == PHASE_CHECKPOINT) {
		if (d->run->by_slot[slot_of(io_u)] != CK_DEFER)
			return false;
		if (d->run->inflight)
			return true;
		next = d->run->wake;
	} else if (d->phase != PHASE_TRAIN || d->tstate[slot_of(io_u)] != SLOT_DEFERRED) {
		return false;
	} else if (d->train.barrier_wait && d->train.barrier && !d->inflight) {
		next = now_s() + BARRIER_POLL_S;
	} else {
		next = d->inflight ? 0 : dlio_train_next_event(&d->train);
	}
	if (next > 0) {
		/* nothing in flight: the rank waits for its accelerator (or a sleep) */
		now = now_s();
		if (next > now) {
			long long ns = (long long)((next - now) * 1e9);
			struct timespec ts;

			if (ns > IDLE_SLEEP_MAX_NS)
				ns = IDLE_SLEEP_MAX_NS;
			ts.tv_sec = ns / 1000000000LL;
			ts.tv_nsec = ns % 1000000000LL;
			nanosleep(&ts, NULL);
		}
	}
	(void)td;
	return true;
}

void fiodlio_dlio_reaped(struct fiodlio_job *job, bool start)
{
	if (job->dlio)
		job->dlio->reaped_at = start ? now_s() : 0;
}

void fiodlio_dlio_poll(struct fiodlio_job *job)
{
	struct fiodlio_dlio *d = job->dlio;

	if (d && d->phase == PHASE_TRAIN)
		dlio_train_poll(&d->train, now_s());
}

double fiodlio_dlio_wait_limit(struct fiodlio_job *job)
{
	struct fiodlio_dlio *d = job->dlio;
	double next;

	if (d && d->phase == PHASE_CHECKPOINT)
		return d->run->wake > now_s() ? d->run->wake - now_s() : -1;
	if (!d || d->phase != PHASE_TRAIN)
		return -1;
	if (d->train.barrier_wait && d->train.barrier)
		return BARRIER_POLL_S;
	next = dlio_train_next_event(&d->train);
	return next < 0 ? -1 : next - now_s();
}



static double ckpt_gib(const struct fiodlio_dlio *d)
{
	return dlio_ckpt_reported_gib(&d->ck);
}

/* A checkpoint file's path below the checkpoint root (DLIO's names start with the
 * folder from the workload; the root URI stands for that folder). */
static const char *ckpt_rel(const struct fiodlio_dlio *d, const char *path)
{
	const char *folder = d->cfg->checkpoint.checkpoint_folder;
	size_t n = strlen(folder);

	if (!strncmp(path, folder, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

/* The checkpoint root: dlio_checkpoint_uri, else the workload's folder as a path. */
static const char *ckpt_root(struct thread_data *td, const struct fiodlio_dlio *d, char *root,
			     size_t len)
{
	struct fiodlio_options *o = td->eo;
	const char *folder = d->cfg->checkpoint.checkpoint_folder;
	char cwd[512];

	if (o->dlio_checkpoint_uri && *o->dlio_checkpoint_uri)
		return o->dlio_checkpoint_uri;
	if (folder[0] == '/')
		snprintf(root, len, "file://%s", folder);
	else if (strstr(folder, "://"))
		snprintf(root, len, "%s", folder);
	else {
		if (!getcwd(cwd, sizeof(cwd)))
			snprintf(cwd, sizeof(cwd), ".");
		snprintf(root, len, "file://%s/%s", cwd, folder);
	}
	return root;
}

/* torch.save's zip layout of a checkpoint file (pt_save, pt_s3_save), or -ENOSPC when
 * the mechanism is tf_save or the file is too small for the framing (written plainly). */
static int ck_zip_plan(const struct fiodlio_dlio *d, const struct dlio_ckpt_file *f,
		       struct dlio_ptz *z, uint64_t id)
{
	struct dlio_ckpt_tensor *t;
	int64_t n;
	int ret;

	if (d->ck.mech == DLIO_MECH_TF_SAVE)
		return -ENOSPC;
	n = dlio_ckpt_file_tensors(&d->ck, f, NULL, 0);
	t = calloc((size_t)(n ? n : 1), sizeof(*t));
	if (!t)
		return -ENOMEM;
	dlio_ckpt_file_tensors(&d->ck, f, t, n);
	ret = dlio_ptz_plan(z, f->bytes, t, n, id);
	free(t);
	return ret;
}

static void ck_zip_log(struct thread_data *td, const struct fiodlio_dlio *d, const char *rel,
		       const struct dlio_ptz *z)
{
	log_info("fio-dlio: %s: rank %lld writes checkpoint files as torch.save zips: %s has "
		 "%lld tensor records; %lld bytes of zip framing come out of its last tensors, so "
		 "the file is the model's %lld bytes\n",
		 td->o.name, (long long)d->rank, rel, (long long)z->ntensor, (long long)z->shrunk,
		 (long long)z->size);
}

/* dlio_train's cut of a checkpoint taken during training: the file's torch.save plan at
 * its first piece (the previous file is then complete), then the plan's write streams,
 * as the checkpoint benchmark writes them; tf_save and small files in cap pieces. */
static int64_t train_ck_piece(void *arg, const struct dlio_train_req *r, int64_t cap, char *err,
			      size_t errlen)
{
	struct thread_data *td = arg;
	struct fiodlio_job *job = td->io_ops_data;
	struct fiodlio_dlio *d = job->dlio;
	const uint8_t *src;
	int64_t len;

	if (r->offset == 0) {
		struct dlio_ckpt_file f;
		int ret;

		if (d->ckz_on)
			dlio_ptz_free(&d->ckz);
		d->ckz_on = false;
		ret = dlio_ckpt_rank_file(&d->ck, d->rank, r->ck_file, &f);
		if (!ret)
			ret = ck_zip_plan(d, &f, &d->ckz,
					  (uint64_t)(d->rank << 32 | r->ck_file << 16) ^
						  (uint64_t)(r->ck_epoch << 40 | r->ck_step));
		if (ret && ret != -ENOSPC) {
			snprintf(err, errlen, "checkpoint file %lld: torch.save layout: %s",
				 (long long)r->ck_file, strerror(-ret));
			return ret;
		}
		d->ckz_on = !ret;
		if (d->ckz_on && r->ck_file == 0 && d->train.ck_count == 0) {
			char path[600];

			if (dlio_ckpt_file_path(&d->ck, r->ck_epoch, r->ck_step, &f, (int)r->ck_part,
						path, sizeof(path)) >= 0)
				ck_zip_log(td, d, ckpt_rel(d, path), &d->ckz);
		}
	}
	if (!d->ckz_on || d->ck_direct)
		return cap; /* O_DIRECT: write_size blocks, whatever the streams */
	len = dlio_ptz_piece(&d->ckz, r->offset, cap, &src);
	if (len <= 0)
		snprintf(err, errlen, "internal: checkpoint zip piece at %lld: %lld",
			 (long long)r->offset, (long long)len);
	return len;
}

static int ck_open(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		   struct ckpt_run *c, struct ck_stream **out)
{
	struct dlio_ckpt_file f;
	struct ck_stream *st;
	char path[600], root[2100], err[STORAGE_ERR_LEN];
	const char *uri;
	int parts = dlio_ckpt_parts(&d->ck), ret;
	int64_t file = c->file;

	ret = dlio_ckpt_rank_file(&d->ck, d->rank, c->file, &f);
	if (ret)
		return ret;
	ret = dlio_ckpt_file_path(&d->ck, 1, c->index, &f, (int)c->part, path, sizeof(path));
	if (ret < 0) {
		log_err("fio-dlio: %s: checkpoint file name too long\n", td->o.name);
		return ret;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	snprintf(st->rel, sizeof(st->rel), "%s", ckpt_rel(d, path));
	/* tf_save: the tensors go to the .data part; the .index part is left empty */
	st->size = parts == 2 && c->part == 0 ? 0 : f.bytes;
	if (++c->part == parts) {
		c->part = 0;
		c->file++;
	}
	if (st->size > 0) {
		ret = ck_zip_plan(d, &f, &st->ptz, (uint64_t)(d->rank << 32 | file << 16) ^
							   (uint64_t)c->index);
		if (ret == -ENOMEM) {
			free(st);
			return ret;
		}
		st->zip = !ret;
		if (st->zip && c->writing && c->index == 1 && file == 0)
			ck_zip_log(td, d, st->rel, &st->ptz);
		if (st->zip && !c->writing) {
			/* reads follow the file's own directory, as torch.load's */
			dlio_ptz_free(&st->ptz);
			st->stage = ZR_TAIL;
			st->meta_len = st->size < DLIO_PTZ_TAIL_READ ? st->size : DLIO_PTZ_TAIL_READ;
			st->meta_off = st->size - st->meta_len;
			st->next_off = st->meta_off;
			st->meta = malloc((size_t)st->meta_len);
			if (!st->meta) {
				free(st);
				return -ENOMEM;
			}
		}
	}
	uri = ckpt_root(td, d, root, sizeof(root));
	ret = storage_resolve(uri, st->rel, &st->target, err, sizeof(err));
	if (!ret)
		ret = fiodlio_job_ctx(td, job, &st->target);
	if (!ret)
		ret = job->backend->open(job->ctx, st->target.path,
					 c->writing ? STORAGE_O_WRITE | STORAGE_O_CREATE |
							      STORAGE_O_TRUNC :
						      0,
					 &st->sf, err, sizeof(err));
	if (!ret && job->backend->size_hint)
		ret = job->backend->size_hint(job->ctx, st->sf, (uint64_t)st->size, err,
					      sizeof(err));
	if (ret) {
		log_err("fio-dlio: %s: %s%s\n", td->o.name, err,
			c->writing ? "" : " (write the checkpoints first: num_checkpoints_write)");
		td_verror(td, -ret, c->writing ? "dlio checkpoint write" : "dlio checkpoint read");
	} else {
		ret = file_align(td, job, st->sf, st->target.path, &st->align);
	}
	if (ret) {
		if (st->sf)
			job->backend->close(job->ctx, st->sf, err, sizeof(err));
		storage_target_free(&st->target);
		dlio_ptz_free(&st->ptz);
		free(st->meta);
		free(st);
		return ret;
	}
	*out = st;
	return 0;
}

static void ck_close(struct thread_data *td, struct fiodlio_job *job, struct ck_stream *st)
{
	char err[STORAGE_ERR_LEN];

	if (st->sf && job->backend->close(job->ctx, st->sf, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		if (!td->error)
			td_verror(td, EIO, "dlio checkpoint close");
	}
	storage_target_free(&st->target);
	dlio_ptz_free(&st->ptz);
	free(st->meta);
	free(st->spans);
	if (st->ver) {
		for (int64_t i = 0; i < st->nspan; i++)
			free(st->ver[i].crc);
		free(st->ver);
	}
	free(st);
}

static void ck_fail(struct thread_data *td, struct ck_stream *st, const char *what)
{
	log_err("fio-dlio: %s: checkpoint %s: %s\n", td->o.name, st->rel, what);
	st->failed = true;
	if (!td->error)
		td_verror(td, EIO, "dlio checkpoint");
}

/* The next read of a torch.save file, as torch.load makes them: the last 4096 bytes
 * (miniz looks for the end record there), then the central directory it points at, then
 * each record (local header and data) in file order.  1: *q is a request; 0: wait for
 * the stream's reads in flight; 2: the file is fully issued; -1: error. */
static int zr_next(struct thread_data *td, struct fiodlio_dlio *d, struct ck_stream *st,
		   int64_t cap, struct ck_req *q)
{
	char err[256];

	for (;;) {
		if (st->stage != ZR_RECORDS) {
			int64_t end = st->meta_off + st->meta_len;

			if (st->next_off < end) {
				q->kind = CKQ_META;
				q->off = st->next_off;
				q->len = end - q->off < cap ? end - q->off : cap;
				st->next_off += q->len;
				return 1;
			}
			if (st->inflight)
				return 0;
			if (st->failed)
				return -1;
			if (st->stage == ZR_TAIL) {
				int64_t off, len, count;

				if (dlio_ptz_parse_end(st->meta, st->meta_len, st->size, &off, &len,
						       &count, err, sizeof(err))) {
					ck_fail(td, st, err);
					return -1;
				}
				free(st->meta);
				st->meta = malloc((size_t)(len ? len : 1));
				if (!st->meta)
					return -1;
				st->meta_off = st->next_off = off;
				st->meta_len = len;
				st->count = count;
				st->stage = ZR_CDIR;
				continue;
			}
			st->nspan = dlio_ptz_parse_cdir(st->meta, st->meta_len, st->meta_off,
							st->count, &st->spans, err, sizeof(err));
			if (st->nspan < 0) {
				st->nspan = 0;
				ck_fail(td, st, err);
				return -1;
			}
			free(st->meta);
			st->meta = NULL;
			if (d->run->verify && st->nspan &&
			    !(st->ver = calloc((size_t)st->nspan, sizeof(*st->ver))))
				return -1;
			st->stage = ZR_RECORDS;
			st->span = 0;
			st->next_off = st->nspan ? st->spans[0].off : 0;
		}
		if (st->span == st->nspan) {
			st->all_issued = true;
			return 2;
		}
		{
			const struct dlio_ptz_span *sp = &st->spans[st->span];
			int64_t end = sp->off + sp->len;

			q->kind = CKQ_SPAN;
			q->span = st->span;
			q->off = st->next_off;
			q->len = end - q->off < cap ? end - q->off : cap;
			q->piece = (q->off - sp->off) / cap;
			if (st->ver && q->piece == 0) {
				struct ck_verify *v = &st->ver[st->span];

				v->pieces = (sp->len + cap - 1) / cap;
				v->crc = calloc((size_t)v->pieces, sizeof(*v->crc));
				if (!v->crc)
					return -1;
			}
			st->next_off += q->len;
			if (st->next_off == end && ++st->span < st->nspan)
				st->next_off = st->spans[st->span].off;
			if (st->span == st->nspan)
				st->all_issued = true;
			return 1;
		}
	}
}

/* dlio_trace: "<checkpoint> -1 <read|write|sync> <opens the file> <offset> <length> <path>" */
static void ck_trace(struct ckpt_run *c, const struct fiodlio_dlio *d, const char *op,
		     struct ck_stream *st, int64_t off, int64_t len)
{
	if (!d->trace)
		return;
	fprintf(d->trace, "%lld -1 %s %d %lld %lld %s\n", (long long)c->index, op, !st->traced,
		(long long)off, (long long)len, st->rel);
	st->traced = true;
}

/* The current checkpoint is complete once every file was issued and nothing is in
 * flight: its duration and DLIO's GB/s, once. */
static void ck_checkpoint_done(struct thread_data *td, struct fiodlio_dlio *d)
{
	struct ckpt_run *c = d->run;
	int w = c->writing ? 0 : 1;
	double dur;
	char extra[96] = "";

	if (c->file != c->nfiles || c->cur || c->inflight || !c->started || c->reported ||
	    c->index > MAX_CHECKPOINTS)
		return;
	c->reported = true;
	dur = now_s() - c->t_start;
	c->dur[w][c->index - 1] = dur;
	if (c->ndur[w] < c->index)
		c->ndur[w] = c->index;
	if (w && c->verify)
		snprintf(extra, sizeof(extra), "; %lld zip records CRC-checked",
			 (long long)c->verified);
	log_info("fio-dlio: %s: rank %lld %s checkpoint %lld (global_epoch1_step%lld): "
		 "%lld bytes in %.3f s; checkpoint size %.4f GiB, %.4f GB/s%s\n",
		 td->o.name, (long long)d->rank, w ? "loaded" : "saved", (long long)c->index,
		 (long long)c->index, (long long)c->bytes, dur, ckpt_gib(d),
		 dur > 0 ? ckpt_gib(d) / dur : 0.0, extra);
}

/* The next request of the checkpoint-only benchmark: the files of checkpoint k,
 * one after another, each in write_size pieces; a sleep before each checkpoint;
 * the reads of the same checkpoints once all writes are done. */
static int ck_prep(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		   struct io_u *io_u)
{
	struct ckpt_run *c = d->run;
	struct storage_req *req = io_u->engine_data;
	unsigned int slot = slot_of(io_u);
	struct ck_req *q = &c->req[slot];
	struct ck_stream *st;
	const uint8_t *src = NULL;
	int64_t cap = (int64_t)d->write_size, roff, rlen;

	if (c->by_slot[slot] && c->by_slot[slot] != CK_DEFER)
		return 0;
	c->by_slot[slot] = NULL;
	for (;;) {
		double now = now_s();

		if (c->index > (c->writing ? c->nwrite : c->nread)) {
			if (c->inflight)
				goto defer;
			if (!c->writing || !c->nread)
				return 1;
			c->writing = false;
			c->index = 1;
			c->file = c->part = 0;
			c->started = false;
			c->wake = now + c->sleep;
			continue;
		}
		if (!c->started) {
			if (now < c->wake)
				goto defer;
			c->started = true;
			c->reported = false;
			c->t_start = now;
			c->bytes = 0;
			c->verified = 0;
		}
		if (c->cur) {
			st = c->cur;
			if (!st->zip || c->writing)
				break;
			switch (zr_next(td, d, st, cap, q)) {
			case 1:
				if (st->all_issued)
					c->cur = NULL; /* ck_done closes it */
				goto issue;
			case 0:
				goto defer;
			case 2:
				c->cur = NULL;
				if (!st->inflight)
					ck_close(td, job, st);
				continue;
			default:
				return 1;
			}
		}
		if (c->file == c->nfiles) {
			if (c->inflight)
				goto defer;
			ck_checkpoint_done(td, d);
			c->index++;
			c->file = c->part = 0;
			c->started = false;
			c->wake = now + c->sleep;
			continue;
		}
		if (ck_open(td, job, d, c, &c->cur))
			return 1;
		if (c->cur->size == 0) {
			ck_close(td, job, c->cur);
			c->cur = NULL;
		}
	}
	if (st->next_off < st->size) {
		q->kind = CKQ_DATA;
		q->off = st->next_off;
		if (st->zip && !st->align) {
			q->len = dlio_ptz_piece(&st->ptz, st->next_off, cap, &src);
			if (q->len <= 0) {
				log_err("fio-dlio: %s: internal: %s: zip piece at %lld: %lld\n",
					td->o.name, st->rel, (long long)st->next_off, (long long)q->len);
				return 1;
			}
		} else {
			q->len = st->size - st->next_off < cap ? st->size - st->next_off : cap;
		}
		st->next_off += q->len;
		if (st->next_off == st->size) {
			st->all_issued = true;
			if (!(c->writing && c->fsync))
				c->cur = NULL;
		}
	} else {
		/* MLPerf's rule, DLIO's intent: the file is on stable storage before close
		 * (once its writes are complete: an fsync does not cover those in flight) */
		if (st->inflight)
			goto defer;
		io_u->ddir = DDIR_SYNC;
		io_u->offset = 0;
		io_u->buflen = 0;
		io_u->xfer_buflen = 0;
		req->op = STORAGE_FSYNC;
		req->offset = 0;
		req->len = 0;
		q->kind = CKQ_DATA;
		q->off = q->len = 0;
		st->sync_done = true;
		c->cur = NULL;
		ck_trace(c, d, "sync", st, 0, 0);
		goto out;
	}
issue:
	/* the zip framing comes from the engine's memory, tensor data from fio's buffer */
	io_u->xfer_buf = src ? (void *)src : io_u->buf;
	q->delta = 0;
	roff = q->off;
	rlen = q->len;
	if (st->align && c->writing) {
		/* O_DIRECT: a whole aligned block of the file, framing and data, the last
		 * one padded (cut back once stored) */
		int64_t framing = st->zip ? dlio_ptz_fill(&st->ptz, q->off, io_u->buf, q->len) : 0;

		if (framing < 0 ||
		    !(rlen = (int64_t)dio_pad(d, io_u->buf, (uint64_t)q->len, st->align))) {
			log_err("fio-dlio: %s: internal: %s: block at %lld\n", td->o.name, st->rel,
				(long long)q->off);
			return 1;
		}
		d->buf_dirty[slot] = framing > 0 || rlen > q->len;
	} else if (st->zip && c->writing && !src &&
		   dlio_ptz_account(&st->ptz, q->off, io_u->xfer_buf, q->len)) {
		log_err("fio-dlio: %s: internal: %s: tensor bytes at %lld out of order\n",
			td->o.name, st->rel, (long long)q->off);
		return 1;
	} else if (st->align) {
		/* O_DIRECT: the read widened to the alignment around it */
		roff = q->off / st->align * st->align;
		rlen = (q->off + q->len + st->align - 1) / st->align * st->align - roff;
		q->delta = q->off - roff;
		if ((uint64_t)rlen > d->buf_cap) {
			log_err("fio-dlio: %s: internal: %s: read at %lld\n", td->o.name, st->rel,
				(long long)q->off);
			return 1;
		}
	}
	io_u->ddir = c->writing ? DDIR_WRITE : DDIR_READ;
	io_u->offset = (unsigned long long)roff;
	io_u->buflen = (unsigned long long)rlen;
	io_u->xfer_buflen = io_u->buflen;
	req->op = c->writing ? STORAGE_WRITE : STORAGE_READ;
	req->offset = (uint64_t)roff;
	req->len = (uint64_t)rlen;
	ck_trace(c, d, c->writing ? "write" : "read", st, q->off, q->len);
out:
	req->file = st->sf;
	req->buf = io_u->xfer_buf;
	req->result = 0;
	req->err[0] = '\0';
	st->inflight++;
	c->inflight++;
	c->by_slot[slot] = st;
	return 0;
defer:
	c->by_slot[slot] = CK_DEFER;
	return 0;
}

/* A record piece came back: its CRC-32 (data only), and the record's once all are in
 * (pieces are cap bytes each but the last, and complete in any order). */
static void ck_verify_piece(struct thread_data *td, struct ckpt_run *c, struct ck_stream *st,
			    const struct ck_req *q, const uint8_t *buf, int64_t cap)
{
	const struct dlio_ptz_span *sp = &st->spans[q->span];
	struct ck_verify *v = &st->ver[q->span];
	char msg[300];
	int64_t from = 0;
	uint32_t crc;

	int64_t at = q->off - sp->off, end = sp->len - sp->trail; /* data ends there */

	if (q->piece == 0) {
		v->hl = dlio_ptz_local_len(buf, q->len);
		if (v->hl < 0 || v->hl > q->len || v->hl + sp->data_len != end) {
			snprintf(msg, sizeof(msg), "record %s at %lld: no local header of a stored "
				 "record directly followed by its %lld data bytes",
				 sp->name, (long long)sp->off, (long long)sp->data_len);
			ck_fail(td, st, msg);
			return;
		}
		from = v->hl;
	}
	{
		/* this piece's share of [hl, end): the descriptor after the data is not hashed */
		int64_t hi = at + q->len < end ? at + q->len : end;

		v->crc[q->piece] = dlio_crc32(0, buf + from,
						     (size_t)(hi > at + from ? hi - at - from : 0));
	}
	if (++v->done < v->pieces)
		return;
	crc = v->crc[0];
	for (int64_t k = 1; k < v->pieces; k++) {
		int64_t plen = end - k * cap < cap ? end - k * cap : cap;

		if (plen > 0)
			crc = (uint32_t)crc32_combine(crc, v->crc[k], (z_off_t)plen);
	}
	free(v->crc);
	v->crc = NULL;
	if (crc != sp->crc) {
		snprintf(msg, sizeof(msg), "record %s: CRC-32 %08x of the bytes read, %08x in the "
			 "central directory",
			 sp->name, crc, sp->crc);
		ck_fail(td, st, msg);
		return;
	}
	c->verified++;
}

static void ck_done(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		    struct io_u *io_u)
{
	struct ckpt_run *c = d->run;
	struct storage_req *req = io_u->engine_data;
	unsigned int slot = slot_of(io_u);
	struct ck_stream *st = c->by_slot[slot];
	const struct ck_req *q = &c->req[slot];

	if (!st || st == CK_DEFER)
		return;
	c->by_slot[slot] = NULL;
	st->inflight--;
	c->inflight--;
	buf_restore(td, d, io_u);
	if (req->result < 0) {
		st->failed = true;
	} else if (io_u->ddir == DDIR_WRITE && (uint64_t)req->result != req->len) {
		char msg[160];

		snprintf(msg, sizeof(msg), "write of %lld bytes at %lld stored %lld",
			 (long long)req->len, (long long)req->offset, (long long)req->result);
		ck_fail(td, st, msg);
	} else {
		/* (an O_DIRECT read has q->delta bytes before what was asked for) */
		int64_t got = req->result - q->delta;

		got = got < 0 ? 0 : got < q->len ? got : q->len;
		c->bytes += io_u->ddir == DDIR_WRITE ? q->len : got;
		if (!c->writing && q->kind != CKQ_DATA && got != q->len) {
			char msg[160];

			snprintf(msg, sizeof(msg), "read of %lld bytes at %lld returned %lld",
				 (long long)q->len, (long long)q->off, (long long)got);
			ck_fail(td, st, msg);
		} else if (q->kind == CKQ_META && st->meta) {
			memcpy(st->meta + (q->off - st->meta_off), (uint8_t *)io_u->xfer_buf + q->delta,
			       (size_t)q->len);
		} else if (q->kind == CKQ_SPAN && st->ver && !st->failed) {
			ck_verify_piece(td, c, st, q, (uint8_t *)io_u->xfer_buf + q->delta,
					(int64_t)d->write_size);
		}
	}
	if (c->writing && st->align && st->all_issued && !st->inflight && !st->truncated &&
	    !st->failed) {
		/* the last block went out whole: the file ends where the model says */
		st->truncated = true;
		if (dio_cut(td, job, st->sf, st->target.path, st->align, st->size))
			st->failed = true;
	}
	if (st->all_issued && st != c->cur && !st->inflight)
		ck_close(td, job, st);
	ck_checkpoint_done(td, d);
}

static void store_max(int64_t *slot, double v)
{
	int64_t bits, old;

	memcpy(&bits, &v, sizeof(bits));
	old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	while (old < bits &&
	       !__atomic_compare_exchange_n(slot, &old, bits, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
}

/* The job's ranks on this host as one run (MLPerf Storage's checkpoint metric): each
 * checkpoint takes as long as its slowest rank; throughput is DLIO's checkpoint size
 * over that; both averaged over the checkpoints.  Printed by the last rank to finish. */
static void ck_report_run(struct thread_data *td, struct fiodlio_dlio *d)
{
	struct dlio_shared *sh = d->shared;
	struct ckpt_run *c = d->run;
	static const char *const what[2] = { "save", "load" };
	char part[2][200];

	if (!sh)
		return;
	for (int w = 0; w < 2; w++) {
		for (int64_t i = 0; i < c->ndur[w]; i++)
			store_max(&sh->ck_slowest[w][i], c->dur[w][i]);
		store_max(&sh->ck_count[w], (double)c->ndur[w]);
	}
	if (__atomic_add_fetch(&sh->ck_finished, 1, __ATOMIC_ACQ_REL) != sh->nlocal || td->error)
		return;
	for (int w = 0; w < 2; w++) {
		double n, sum = 0, tsum = 0, v;
		int64_t bits = __atomic_load_n(&sh->ck_count[w], __ATOMIC_ACQUIRE);

		memcpy(&n, &bits, sizeof(n));
		part[w][0] = '\0';
		for (int64_t i = 0; i < (int64_t)n; i++) {
			bits = __atomic_load_n(&sh->ck_slowest[w][i], __ATOMIC_ACQUIRE);
			memcpy(&v, &bits, sizeof(v));
			sum += v;
			tsum += v > 0 ? ckpt_gib(d) / v : 0;
		}
		if (n > 0)
			snprintf(part[w], sizeof(part[w]),
				 "; %s: %.0f checkpoints, duration (slowest rank) mean %.3f s, "
				 "throughput mean %.4f GB/s",
				 what[w], n, sum / n, tsum / n);
	}
	log_info("fio-dlio: %s: [METRIC] checkpoint run, ranks %lld..%lld: checkpoint size "
		 "%.4f GiB%s%s\n",
		 td->o.name, (long long)sh->base, (long long)(sh->base + sh->nlocal - 1),
		 ckpt_gib(d), part[0], part[1]);
}

static void ck_report(struct thread_data *td, struct fiodlio_dlio *d)
{
	struct ckpt_run *c = d->run;
	static const char *const what[2] = { "save", "load" };

	for (int w = 0; w < 2; w++) {
		double sum = 0, sq = 0, tsum = 0, tsq = 0;
		int64_t n = c->ndur[w];

		if (!n)
			continue;
		for (int64_t i = 0; i < n; i++) {
			double t = c->dur[w][i] > 0 ? ckpt_gib(d) / c->dur[w][i] : 0;

			sum += c->dur[w][i];
			sq += c->dur[w][i] * c->dur[w][i];
			tsum += t;
			tsq += t * t;
		}
		log_info("fio-dlio: %s: [METRIC] rank %lld %s_checkpoint: %lld checkpoints of %.4f "
			 "GiB (%lld bytes from this rank%s), duration mean %.3f s (stdev %.3f), "
			 "throughput mean %.4f GB/s (stdev %.4f)\n",
			 td->o.name, (long long)d->rank, what[w], (long long)n, ckpt_gib(d),
			 (long long)c->rank_bytes, c->fsync && !w ? ", fsynced" : ", not fsynced",
			 sum / (double)n, sqrt(fmax(0, sq / (double)n - (sum / (double)n) *
							       (sum / (double)n))),
			 tsum / (double)n,
			 sqrt(fmax(0, tsq / (double)n - (tsum / (double)n) * (tsum / (double)n))));
	}
}

int fiodlio_dlio_prep(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u)
{
	struct fiodlio_dlio *d = job->dlio;

	if (slot_of(io_u) >= d->nio_u) {
		log_err("fio-dlio: %s: io_u slot %u beyond iodepth %u\n", td->o.name,
			slot_of(io_u), d->nio_u);
		return 1;
	}
	switch (d->phase) {
	case PHASE_GENERATE:
		/* a request fio requeued (FIO_Q_BUSY) keeps what it was given */
		if (d->by_io_u[slot_of(io_u)])
			return 0;
		return gen_prep(td, job, d, io_u);
	case PHASE_TRAIN:
		return train_prep(td, job, d, io_u);
	case PHASE_CHECKPOINT:
		return ck_prep(td, job, d, io_u);
	default:
		return 1;
	}
}

void fiodlio_dlio_done(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u)
{
	struct fiodlio_dlio *d = job->dlio;
	struct storage_req *req = io_u->engine_data;
	struct gen_file *g;

	if (d->phase == PHASE_CHECKPOINT) {
		ck_done(td, job, d, io_u);
		return;
	}
	if (d->phase == PHASE_TRAIN) {
		unsigned int slot = slot_of(io_u);

		if (slot >= d->nio_u || d->tstate[slot] != SLOT_READ)
			return;
		d->tstate[slot] = SLOT_FREE;
		d->inflight--;
		if (req->result == -ENOENT && !d->missing_reported) {
			/* a deferred open: the file is missing */
			log_err("fio-dlio: %s: %s (generate the dataset first: dlio_phase=generate)\n",
				td->o.name, req->err);
			d->missing_reported = true;
		}
		double at = d->reaped_at > 0 ? d->reaped_at : 0;

		if (d->treq[slot].write) {
			buf_restore(td, d, io_u);
			if (req->result >= 0 && (uint64_t)req->result != req->len) {
				log_err("fio-dlio: %s: checkpoint write of %llu bytes at %llu stored "
					"%lld\n",
					td->o.name, (unsigned long long)req->len,
					(unsigned long long)req->offset, (long long)req->result);
				if (!td->error)
					td_verror(td, EIO, "dlio checkpoint write");
			} else if (d->treq[slot].last && req->result >= 0) {
				dio_cut(td, job, d->ckf.sf, d->ckf.target.path, d->ckf.align,
					d->ckf_size);
				if (d->ck_fsync && ckf_fsync(td, job, d))
					at = 0; /* the checkpoint took the fsync too */
			}
			if (d->treq[slot].last)
				ckf_close(td, job, d);
		} else if (req->result > 0 && (uint64_t)req->result < req->len) {
			/* a read DLIO sizes past the end (O_DIRECT rounds up): take what came */
			io_u->xfer_buflen = (unsigned long long)req->result;
			io_u->resid = 0;
			d->short_reads++;
		}
		dlio_train_complete(&d->train, &d->treq[slot], at > 0 ? at : now_s());
		return;
	}
	if (slot_of(io_u) >= d->nio_u || !(g = d->by_io_u[slot_of(io_u)]))
		return;
	d->by_io_u[slot_of(io_u)] = NULL;
	buf_restore(td, d, io_u);
	g->inflight--;
	if (req->result < 0 || (uint64_t)req->result != req->len)
		g->failed = true;
	if (g == d->cur || g->inflight)
		return;
	if (g->rewrite && !g->rewrite_issued) {
		if (!g->failed) {
			/* the rest is stored: the header rewrite may go out */
			g->next_ready = NULL;
			*d->ready_tail = g;
			d->ready_tail = &g->next_ready;
			return;
		}
		d->rewrites_owed--;
	}
	gen_close(td, job, d, g);
}

/* DLIO's per-epoch lines and its [METRIC] summary, for this rank. */
static void train_report(struct thread_data *td, struct fiodlio_dlio *d, double secs)
{
	const struct dlio_train *t = &d->train;
	double au_sum = 0, tp_sum = 0, au_sq = 0, tp_sq = 0;
	double rl = d->cfg->dataset.record_length_bytes;
	int64_t n = t->nep;

	for (int64_t e = 0; e < n; e++) {
		const struct dlio_train_epoch *ep = &t->ep[e];

		log_info("fio-dlio: %s: rank %lld epoch %lld: %lld steps in %.2f s, AU %.2f%%, "
			 "%.2f samples/s",
			 td->o.name, (long long)d->rank, (long long)e + 1,
			 (long long)ep->train.nsteps, ep->train.end - ep->train.start, ep->au,
			 ep->throughput);
		if (ep->has_eval)
			log_info("; eval %lld steps, AU %.2f%%, %.2f samples/s",
				 (long long)ep->eval.nsteps, ep->eval_au, ep->eval_throughput);
		log_info("\n");
		au_sum += ep->au;
		tp_sum += ep->throughput;
		au_sq += ep->au * ep->au;
		tp_sq += ep->throughput * ep->throughput;
	}
	if (n > 0) {
		double au = au_sum / (double)n, tp = tp_sum / (double)n;
		double au_sd = sqrt(fmax(0, au_sq / (double)n - au * au));
		double tp_sd = sqrt(fmax(0, tp_sq / (double)n - tp * tp));

		log_info("fio-dlio: %s: [METRIC] rank %lld of %lld: train AU mean %.2f%% (stdev "
			 "%.2f, expectation %.0f%%: %s), throughput mean %.2f samples/s (stdev "
			 "%.2f), I/O %.2f MB/s (stdev %.2f); %lld samples, %lld reads, %lld bytes in "
			 "%.2f s\n",
			 td->o.name, (long long)d->rank, (long long)d->comm, au, au_sd,
			 100.0 * d->cfg->metric.au,
			 au >= 100.0 * d->cfg->metric.au ? "success" : "fail", tp, tp_sd,
			 tp * rl / 1048576.0, tp_sd * rl / 1048576.0, (long long)t->samples_read,
			 (long long)t->reads, (long long)t->bytes, secs);
	}
	if (d->shared && d->shared->nlocal < d->comm)
		log_info("fio-dlio: %s: note: the step barrier covers the %lld ranks of this job on "
			 "this host, not all %lld (fio's client/server runs each host's jobs alone)\n",
			 td->o.name, (long long)d->shared->nlocal, (long long)d->comm);
}


static void iso_time(double wall, char *buf, size_t len)
{
	time_t sec = (time_t)wall;
	struct tm tm;
	size_t n;

	localtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06d", (int)((wall - (double)sec) * 1e6));
}

static void mean_sd(const double *v, int64_t n, double *mean, double *sd)
{
	double s = 0, q = 0;

	for (int64_t i = 0; i < n; i++) {
		s += v[i];
		q += v[i] * v[i];
	}
	*mean = n ? s / (double)n : 0;
	*sd = n ? sqrt(fmax(0, q / (double)n - *mean * *mean)) : 0;
}

static void json_list(FILE *f, const char *key, const double *v, int64_t n, const char *tail)
{
	fprintf(f, "    \"%s\": [", key);
	for (int64_t i = 0; i < n; i++)
		fprintf(f, "%s%.6f", i ? ", " : "", v[i]);
	fprintf(f, "]%s\n", tail);
}

/* <rank>_per_epoch_stats.json in DLIO's layout (SPEC 11.4). */
static void write_epoch_stats(struct thread_data *td, struct fiodlio_dlio *d, const char *dir)
{
	const struct dlio_train *t = &d->train;
	double off = d->wall0 - ((double)d->t0.tv_sec + (double)d->t0.tv_nsec / 1e9);
	double start, end, bs, be;
	char path[1100], a[40], b[40];
	int64_t first, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%lld_per_epoch_stats.json", dir, (long long)d->rank);
	f = fopen(path, "w");
	if (!f) {
		log_err("fio-dlio: %s: cannot write %s: %s\n", td->o.name, path, strerror(errno));
		return;
	}
	fprintf(f, "{\n");
	for (int64_t e = 0; e < t->nep; e++) {
		const struct dlio_train_epoch *ep = &t->ep[e];

		iso_time(ep->start + off, a, sizeof(a));
		iso_time(ep->end + off, b, sizeof(b));
		fprintf(f, "  \"%lld\": {\n    \"start\": \"%s\",\n    \"end\": \"%s\",\n"
			   "    \"duration\": \"%.2f\",\n",
			(long long)e + 1, a, b, ep->end - ep->start);
		for (int64_t k = 0; !dlio_train_block_span(ep, k, &first, &n, &start, &end); k++) {
			int more = ep->has_eval ||
				   !dlio_train_block_span(ep, k + 1, &first, &n, &bs, &be);

			iso_time(start + off, a, sizeof(a));
			iso_time(end + off, b, sizeof(b));
			fprintf(f, "    \"block%lld\": {\"start\": \"%s\", \"end\": \"%s\", "
				   "\"duration\": \"%.2f\"}%s\n",
				(long long)k + 1, a, b, end - start, more ? "," : "");
		}
		if (ep->has_eval) {
			iso_time(ep->eval.start + off, a, sizeof(a));
			iso_time(ep->eval.end + off, b, sizeof(b));
			fprintf(f, "    \"eval\": {\"start\": \"%s\", \"end\": \"%s\", \"duration\": \"%.2f\"}\n",
				a, b, ep->eval.end - ep->eval.start);
		}
		fprintf(f, "  }%s\n", e + 1 < t->nep ? "," : "");
	}
	fprintf(f, "}\n");
	fclose(f);
}

/* What DLIO's rank 0 reports for the run: per epoch, AU averaged over ranks and
 * samples/s summed (SPEC 11.3), from the ranks of this job on this host. */
static void aggregate_report(struct thread_data *td, struct fiodlio_dlio *d, const char *dir)
{
	struct dlio_shared *sh = d->shared;
	int64_t nep = sh->res[0].nep, n = sh->nlocal;
	double au[MAX_REPORT_EPOCHS], tp[MAX_REPORT_EPOCHS], eau[MAX_REPORT_EPOCHS];
	double etp[MAX_REPORT_EPOCHS], start = sh->res[0].start, end = sh->res[0].end;
	double aum, aus, tpm, tps, rl = d->cfg->dataset.record_length_bytes, goal = d->cfg->metric.au;
	int64_t neval = 0;
	char a[40], b[40], host[256] = "";

	for (int64_t r = 1; r < n; r++) {
		if (sh->res[r].nep < nep)
			nep = sh->res[r].nep;
		start = fmin(start, sh->res[r].start);
		end = fmax(end, sh->res[r].end);
	}
	for (int64_t e = 0; e < nep; e++) {
		au[e] = tp[e] = eau[e] = etp[e] = 0;
		for (int64_t r = 0; r < n; r++) {
			au[e] += sh->res[r].au[e] / (double)n;
			tp[e] += sh->res[r].tput[e];
			/* DLIO's eval reduction concatenates lists: AU / comm_size, throughput
			 * per rank (SPEC 11.3); the figures here follow the train rules */
			eau[e] += sh->res[r].eval_au[e] / (double)n;
			etp[e] += sh->res[r].eval_tput[e];
		}
		if (sh->res[0].has_eval[e])
			neval++;
	}
	mean_sd(au, nep, &aum, &aus);
	mean_sd(tp, nep, &tpm, &tps);
	log_info("fio-dlio: %s: [METRIC] ==========================================================\n"
		 "fio-dlio: %s: [METRIC] Number of Simulated Accelerators: %lld%s\n"
		 "fio-dlio: %s: [METRIC] Training Accelerator Utilization [AU] (%%): %.4f (%.4f)\n"
		 "fio-dlio: %s: [METRIC] Training Throughput (samples/second): %.4f (%.4f)\n"
		 "fio-dlio: %s: [METRIC] Training I/O Throughput (MB/second): %.4f (%.4f)\n"
		 "fio-dlio: %s: [METRIC] train_au_meet_expectation: %s (>= %.2f%%)\n"
		 "fio-dlio: %s: [METRIC] ==========================================================\n",
		 td->o.name, td->o.name, (long long)n,
		 n < d->comm ? " (the ranks of this job on this host)" : "", td->o.name, aum, aus,
		 td->o.name, tpm, tps, td->o.name, tpm * rl / 1048576.0, tps * rl / 1048576.0,
		 td->o.name, aum >= 100.0 * goal ? "success" : "fail", 100.0 * goal, td->o.name);
	if (!dir)
		return;
	{
		char path[1100];
		FILE *f;

		snprintf(path, sizeof(path), "%s/summary.json", dir);
		f = fopen(path, "w");
		if (!f) {
			log_err("fio-dlio: %s: cannot write %s: %s\n", td->o.name, path,
				strerror(errno));
			return;
		}
		gethostname(host, sizeof(host) - 1);
		iso_time(start, a, sizeof(a));
		iso_time(end, b, sizeof(b));
		fprintf(f, "{\n  \"num_accelerators\": %lld,\n  \"num_hosts\": 1,\n"
			   "  \"hostname\": \"%s\",\n  \"metric\": {\n",
			(long long)n, host);
		json_list(f, "train_au_percentage", au, nep, ",");
		fprintf(f, "    \"train_au_mean_percentage\": %.6f,\n    \"train_au_stdev_percentage\": "
			   "%.6f,\n    \"train_au_meet_expectation\": \"%s\",\n",
			aum, aus, aum >= 100.0 * goal ? "success" : "fail");
		json_list(f, "train_throughput_samples_per_second", tp, nep, ",");
		fprintf(f, "    \"train_throughput_mean_samples_per_second\": %.6f,\n"
			   "    \"train_throughput_stdev_samples_per_second\": %.6f,\n"
			   "    \"train_io_mean_MB_per_second\": %.6f,\n"
			   "    \"train_io_stdev_MB_per_second\": %.6f%s\n",
			tpm, tps, tpm * rl / 1048576.0, tps * rl / 1048576.0, neval ? "," : "");
		if (neval) {
			double m, sd, tm, ts;

			mean_sd(eau, nep, &m, &sd);
			mean_sd(etp, nep, &tm, &ts);
			json_list(f, "eval_au_percentage", eau, nep, ",");
			fprintf(f, "    \"eval_au_mean_percentage\": %.6f,\n"
				   "    \"eval_au_stdev_percentage\": %.6f,\n",
				m, sd);
			json_list(f, "eval_throughput_samples_per_second", etp, nep, ",");
			fprintf(f, "    \"eval_throughput_mean_samples_per_second\": %.6f,\n"
				   "    \"eval_throughput_stdev_samples_per_second\": %.6f\n",
				tm, ts);
		}
		fprintf(f, "  },\n  \"start\": \"%s\",\n  \"end\": \"%s\",\n  \"epochs\": %lld,\n"
			   "  \"num_files_train\": %lld,\n  \"num_files_eval\": %lld,\n"
			   "  \"num_samples_per_file\": %lld\n}\n",
			a, b, (long long)nep, (long long)d->cfg->dataset.num_files_train,
			(long long)d->cfg->dataset.num_files_eval,
			(long long)d->cfg->dataset.num_samples_per_file);
		fclose(f);
	}
}

/*
 * One line per rank with everything DLIO's summary is computed from, so that
 * scripts/dlio-report can compute the run's figures from fio's output alone,
 * over all hosts of a client/server run (each server's lines reach the client).
 */
static void metrics_line(struct thread_data *td, struct fiodlio_dlio *d)
{
	const struct dlio_train *t = &d->train;
	double off = d->wall0 - ((double)d->t0.tv_sec + (double)d->t0.tv_nsec / 1e9);
	char buf[8192];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "fio-dlio-metrics: {\"job\": \"%s\", \"rank\": %lld, \"ranks\": %lld, "
			      "\"batch_size\": %lld, \"batch_size_eval\": %lld, "
			      "\"record_length_bytes\": %.0f, \"metric_au\": %g, \"epochs\": [",
			      td->o.name, (long long)d->rank, (long long)d->comm,
			      (long long)d->cfg->reader.batch_size,
			      (long long)d->cfg->reader.batch_size_eval,
			      d->cfg->dataset.record_length_bytes, d->cfg->metric.au);
	for (int64_t e = 0; e < t->nep && n < sizeof(buf) - 256; e++) {
		const struct dlio_train_epoch *ep = &t->ep[e];

		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%s{\"steps\": %lld, \"start\": %.6f, \"end\": %.6f, "
				      "\"au\": %.6f, \"throughput\": %.6f",
				      e ? ", " : "", (long long)ep->train.nsteps, ep->start + off,
				      ep->end + off, ep->au, ep->throughput);
		if (ep->has_eval)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      ", \"eval_steps\": %lld, \"eval_au\": %.6f, "
					      "\"eval_throughput\": %.6f",
					      (long long)ep->eval.nsteps, ep->eval_au,
					      ep->eval_throughput);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}");
	}
	if (n < sizeof(buf) - 4)
		snprintf(buf + n, sizeof(buf) - n, "]}\n");
	log_info("%s", buf);
	/* with --output=FILE the job's stdio buffer would go with the process */
	fflush(NULL);
}

static void publish_results(struct thread_data *td, struct fiodlio_dlio *d)
{
	struct fiodlio_options *o = td->eo;
	struct dlio_shared *sh = d->shared;
	struct rank_result *res;
	const struct dlio_train *t = &d->train;
	double off = d->wall0 - ((double)d->t0.tv_sec + (double)d->t0.tv_nsec / 1e9);
	const char *dir = o->dlio_output && *o->dlio_output ? o->dlio_output : NULL;

	if (dir && mkdir(dir, 0755) && errno != EEXIST) {
		log_err("fio-dlio: %s: cannot create dlio_output %s: %s\n", td->o.name, dir,
			strerror(errno));
		dir = NULL;
	}
	if (dir)
		write_epoch_stats(td, d, dir);
	if (!sh)
		return;
	res = &sh->res[d->local];
	res->nep = t->nep < MAX_REPORT_EPOCHS ? t->nep : MAX_REPORT_EPOCHS;
	for (int64_t e = 0; e < res->nep; e++) {
		res->au[e] = t->ep[e].au;
		res->tput[e] = t->ep[e].throughput;
		res->eval_au[e] = t->ep[e].eval_au;
		res->eval_tput[e] = t->ep[e].eval_throughput;
		res->has_eval[e] = t->ep[e].has_eval;
	}
	res->start = t->nep ? t->ep[0].start + off : d->wall0;
	res->end = t->nep ? t->ep[t->nep - 1].end + off : d->wall0;
	__atomic_store_n(&sh->steps[d->local], INT64_MAX, __ATOMIC_RELEASE);
	if (__atomic_add_fetch(&sh->finished, 1, __ATOMIC_ACQ_REL) == sh->nlocal && !td->error)
		aggregate_report(td, d, dir);
}

void fiodlio_dlio_cleanup(struct thread_data *td, struct fiodlio_job *job)
{
	struct fiodlio_dlio *d = job->dlio;
	struct timespec t1;
	double secs;
	char err[STORAGE_ERR_LEN];

	if (!d)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - d->t0.tv_sec) + (double)(t1.tv_nsec - d->t0.tv_nsec) / 1e9;
	if (d->phase == PHASE_GENERATE) {
		log_info("fio-dlio: %s: rank %lld of %lld generated %lld files, %lld bytes in "
			 "%.2f s (%.1f MB/s); %lld valid %s containers",
			 td->o.name, (long long)d->rank, (long long)d->comm,
			 (long long)d->files_done, (long long)d->bytes_done, secs,
			 secs > 0 ? (double)d->bytes_done / secs / 1e6 : 0.0,
			 (long long)d->files_valid, dlio_format_name(d->cfg->dataset.format));
		if (d->files_size_only)
			log_info(", %lld of exact size with random content", (long long)d->files_size_only);
		if (d->files_approx)
			log_info(", %lld of approximate size with random content (the format's "
				 "encoder decides)",
				 (long long)d->files_approx);
		log_info("\n");
	}
	if (d->phase == PHASE_TRAIN) {
		if (job->ctx)
			ckf_close(td, job, d);
		for (int64_t k = 0; k < d->train.ck_count && k < 64; k++)
			log_info("fio-dlio: %s: rank %lld saved checkpoint %lld during training in "
				 "%.3f s; checkpoint size %.4f GiB, %.4f GB/s%s\n",
				 td->o.name, (long long)d->rank, (long long)k + 1, d->train.ck_dur[k],
				 dlio_ckpt_reported_gib(&d->ck),
				 d->train.ck_dur[k] > 0 ?
					 dlio_ckpt_reported_gib(&d->ck) / d->train.ck_dur[k] :
					 0.0,
				 d->ck_synced ? "; files fsynced" : "");
		train_report(td, d, secs);
		metrics_line(td, d);
		publish_results(td, d);
		for (int i = 0; d->wfile && i < DLIO_TRAIN_MAX_WORKERS; i++) {
			if (d->wfile[i].sf && job->ctx)
				job->backend->close(job->ctx, d->wfile[i].sf, err, sizeof(err));
			storage_target_free(&d->wfile[i].target);
		}
		free(d->wfile);
		free(d->treq);
		free(d->tstate);
		if (d->ckz_on)
			dlio_ptz_free(&d->ckz);
		d->ckz_on = false;
		dlio_train_free(&d->train);
	}
	if (d->trace && fclose(d->trace)) {
		log_err("fio-dlio: %s: dlio_trace: write failed: %s\n", td->o.name, strerror(errno));
		if (!td->error)
			td_verror(td, EIO, "dlio_trace");
	}
	d->trace = NULL;
	if (d->phase == PHASE_CHECKPOINT && d->run) {
		struct ckpt_run *c = d->run;

		ck_report(td, d);
		ck_report_run(td, d);
		for (unsigned int i = 0; i < d->nio_u; i++) {
			struct ck_stream *st = c->by_slot[i];

			if (!st || st == CK_DEFER)
				continue;
			for (unsigned int k = i; k < d->nio_u; k++)
				if (c->by_slot[k] == st)
					c->by_slot[k] = NULL;
			if (st == c->cur)
				c->cur = NULL;
			if (job->ctx)
				ck_close(td, job, st);
		}
		if (c->cur && job->ctx)
			ck_close(td, job, c->cur);
		free(c->req);
		free(c->by_slot);
		free(c);
		d->run = NULL;
	}
	/* files left open by an error: close them (object stores abort the upload) */
	if (d->cur && job->ctx) {
		job->backend->close(job->ctx, d->cur->sf, err, sizeof(err));
		gen_file_free(d->cur);
		d->cur = NULL;
	}
	while (d->ready) {
		struct gen_file *g = d->ready;

		d->ready = g->next_ready;
		if (job->ctx)
			job->backend->close(job->ctx, g->sf, err, sizeof(err));
		gen_file_free(g);
	}
	for (unsigned int i = 0; i < d->nio_u; i++) {
		struct gen_file *g = d->by_io_u[i];

		if (!g)
			continue;
		for (unsigned int k = i; k < d->nio_u; k++)
			if (d->by_io_u[k] == g)
				d->by_io_u[k] = NULL;
		if (job->ctx)
			job->backend->close(job->ctx, g->sf, err, sizeof(err));
		gen_file_free(g);
	}
	free(d->by_io_u);
	free(d->gen_wait);
	free(d->buf_dirty);
	free(d->crc_cache);
	free(d->cfg);
	free(d);
	job->dlio = NULL;
}
