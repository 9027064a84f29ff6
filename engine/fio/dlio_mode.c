#include "dlio_mode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlio/config.h"
#include "dlio/gen.h"
#include "dlio/geometry.h"

enum { PHASE_NONE, PHASE_GENERATE, PHASE_TRAIN, PHASE_CHECKPOINT };

/* Large enough that fio never ends the job on its own byte count: the plan does. */
#define PLACEHOLDER_SIZE (1ULL << 60)
#define LOCAL_WRITE_SIZE (1ULL << 20)
#define OBJECT_WRITE_MAX (64ULL << 20)
#define MAX_OVERRIDES 64

/* One dataset file being written. */
struct gen_file {
	struct dlio_gen_file f;
	struct storage_target target;
	struct storage_file *sf;
	uint64_t next_off;    /* next byte to hand to a request */
	unsigned int inflight; /* requests queued and not yet completed */
	bool failed;
	bool rewrite; /* a header rewrite is the file's last request */
};

struct fiodlio_dlio {
	struct dlio_config *cfg;
	struct dlio_geom geom;
	int phase;
	int64_t comm;
	int64_t rank; /* set in the job */
	uint64_t write_size;

	/* generate */
	struct dlio_gen gen;
	struct gen_file *cur; /* receiving requests */
	struct gen_file **by_io_u; /* the file each io_u's request belongs to */
	unsigned int nio_u;
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

int fiodlio_dlio_setup(struct thread_data *td)
{
	struct fiodlio_options *o = td->eo;
	struct fiodlio_dlio *d;
	struct fio_file *f;
	unsigned int i;
	char err[512] = "";
	int64_t files, bytes, largest;
	int ret;

	if (!td->o.create_serialize) {
		log_err("fio-dlio: %s: DLIO mode needs create_serialize=1 (fio's default)\n",
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
		set_block_size(td, d->write_size);
		td->o.td_ddir = TD_DDIR_WRITE;
		break;
	default:
		log_err("fio-dlio: %s: dlio_phase=%s is not implemented in this build\n",
			td->o.name, d->phase == PHASE_TRAIN ? "train" : "checkpoint");
		goto fail;
	}

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
	if (!d->by_io_u)
		return 1;
	if (d->phase == PHASE_GENERATE &&
	    dlio_gen_init(&d->gen, &d->geom, d->rank, d->comm, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	job->dlio = d;
	return 0;
}

static void gen_file_free(struct gen_file *g)
{
	storage_target_free(&g->target);
	free(g);
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
			if (ret < 0)
				log_err("fio-dlio: %s: %s\n", td->o.name, err);
			else
				d->gen_done = true;
			return ret;
		}
		ret = storage_resolve(o->uri, g->f.relpath, &g->target, err, sizeof(err));
		if (!ret)
			ret = fiodlio_job_ctx(td, job, &g->target);
		if (!ret)
			ret = job->backend->open(job->ctx, g->target.path,
						 STORAGE_O_WRITE | STORAGE_O_CREATE, &g->sf, err,
						 sizeof(err));
		if (!ret && job->backend->size_hint)
			ret = job->backend->size_hint(job->ctx, g->sf, (uint64_t)g->f.size, err,
						      sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			td_verror(td, -ret, "dlio generate open");
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

static int gen_prep(struct thread_data *td, struct fiodlio_job *job, struct fiodlio_dlio *d,
		    struct io_u *io_u)
{
	struct storage_req *req = io_u->engine_data;
	struct gen_file *g;
	uint64_t len, off;
	int ret;

	if (!d->cur) {
		if (d->gen_done)
			return 1;
		ret = gen_open_next(td, job, d);
		if (ret <= 0)
			return 1;
	}
	g = d->cur;
	if (g->rewrite) {
		int64_t n = dlio_gen_rewrite(&g->f, &off, io_u->buf, io_u->buflen);

		if (n <= 0)
			return 1;
		len = (uint64_t)n;
		io_u->xfer_buf = io_u->buf;
		d->cur = NULL;
		goto request;
	}
	len = (uint64_t)g->f.size - g->next_off;
	if (len > d->write_size)
		len = d->write_size;
	if (len > io_u->buflen)
		len = io_u->buflen;
	io_u->xfer_buf = io_u->buf;
	ret = dlio_gen_fill(&d->geom, &g->f, g->next_off, io_u->xfer_buf, len);
	if (ret) {
		log_err("fio-dlio: %s: internal: %s written out of order\n", td->o.name,
			g->f.relpath);
		return 1;
	}
	off = g->next_off;
	g->next_off += len;
	if (g->next_off == (uint64_t)g->f.size) {
		uint64_t roff;
		uint8_t probe[64];

		/* local files get npz's header rewritten as Python's zipfile does; an
		 * object cannot be rewritten in place, so there the local header's CRC
		 * stays 0 (readers check the central directory's) */
		if (job->backend->fd(g->sf) >= 0 &&
		    dlio_gen_rewrite(&g->f, &roff, probe, sizeof(probe)) > 0)
			g->rewrite = true;
		else
			d->cur = NULL; /* complete once its requests are */
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
	d->by_io_u[slot_of(io_u)] = g;
	return 0;
}

int fiodlio_dlio_prep(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u)
{
	struct fiodlio_dlio *d = job->dlio;

	if (slot_of(io_u) >= d->nio_u) {
		log_err("fio-dlio: %s: io_u slot %u beyond iodepth %u\n", td->o.name,
			slot_of(io_u), d->nio_u);
		return 1;
	}
	/* a request fio requeued (FIO_Q_BUSY) keeps what it was given */
	if (d->by_io_u[slot_of(io_u)])
		return 0;
	switch (d->phase) {
	case PHASE_GENERATE:
		return gen_prep(td, job, d, io_u);
	default:
		return 1;
	}
}

void fiodlio_dlio_done(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u)
{
	struct fiodlio_dlio *d = job->dlio;
	struct storage_req *req = io_u->engine_data;
	struct gen_file *g;
	char err[STORAGE_ERR_LEN];

	if (slot_of(io_u) >= d->nio_u || !(g = d->by_io_u[slot_of(io_u)]))
		return;
	d->by_io_u[slot_of(io_u)] = NULL;
	g->inflight--;
	if (req->result < 0 || (uint64_t)req->result != req->len)
		g->failed = true;
	else
		d->bytes_done += req->result;
	if (g == d->cur || g->inflight)
		return;
	if (job->backend->close(job->ctx, g->sf, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		if (!td->error)
			td_verror(td, EIO, "dlio generate close");
	} else if (!g->failed) {
		d->files_done++;
	}
	gen_file_free(g);
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
			log_info(", %lld of approximate size (the format's encoder decides)",
				 (long long)d->files_approx);
		log_info("\n");
	}
	/* files left open by an error: close them (object stores abort the upload) */
	if (d->cur && job->ctx) {
		job->backend->close(job->ctx, d->cur->sf, err, sizeof(err));
		gen_file_free(d->cur);
		d->cur = NULL;
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
	free(d->cfg);
	free(d);
	job->dlio = NULL;
}
