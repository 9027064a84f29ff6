/*
 * fio's hooks.  This file translates between fio's io_u/fio_file world and the
 * storage interface (engine/lib/storage.h); it knows nothing about any one
 * backend.  Every hook runs on the job's own thread: backends complete
 * requests only inside getevents(), so no other thread ever touches an io_u.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/storage.h"

struct fiodlio_options {
	void *pad; /* fio parks td here while parsing; must be first */
	char *uri;
	unsigned int mkdirs;
};

struct fiodlio_job {
	const struct storage_backend *backend;
	char scheme[STORAGE_SCHEME_MAX];
	struct storage_ctx *ctx;
	struct storage_conf conf;
	struct storage_req **done; /* completions of the last getevents() */
	struct io_u **pending;	   /* queued, not yet started, in queue order */
	unsigned int nr_pending;
	unsigned int nr_done;
	unsigned int depth;
};

/* What fio knows of one open file: the backend's handle and the resolved path. */
struct fiodlio_file {
	struct storage_file *sf;
	struct storage_target target;
};

static struct fio_option options[] = {
	{
		.name = "uri",
		.lname = "fio-dlio storage root",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct fiodlio_options, uri),
		.help = "Storage root URI (file:///dir, direct:///dir); fio's file names are "
			"paths under it. Empty: file names are paths or escaped URIs "
			"(filename=file\\:///dir/f)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "mkdirs",
		.lname = "fio-dlio create parent directories",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct fiodlio_options, mkdirs),
		.help = "Create missing parent directories of files that are written",
		.def = "1",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

static void conf_from_td(struct thread_data *td, struct storage_conf *conf)
{
	struct fiodlio_options *o = td->eo;

	memset(conf, 0, sizeof(*conf));
	conf->direct = td->o.odirect;
	conf->sync_io = td->o.sync_io;
	conf->mkdirs = o->mkdirs;
	conf->depth = td->o.iodepth ? td->o.iodepth : 1;
}

static int resolve(struct thread_data *td, const char *name, struct storage_target *t)
{
	struct fiodlio_options *o = td->eo;
	char err[STORAGE_ERR_LEN];
	int ret = storage_resolve(o->uri, name, t, err, sizeof(err));

	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "resolve file name");
	}
	return ret;
}

static bool uses_direct_scheme(struct thread_data *td)
{
	struct fiodlio_options *o = td->eo;
	struct fio_file *f;
	unsigned int i;

	if (o->uri && !strncasecmp(o->uri, "direct://", 9))
		return true;
	for_each_file(td, f, i)
		if (!strncasecmp(f->file_name, "direct://", 9))
			return true;
	return false;
}

static int fiodlio_init(struct thread_data *td)
{
	struct fiodlio_job *job;
	struct fiodlio_options *o = td->eo;

	if (fiodlio_abi_ok() || td->io_ops != &ioengine || !o) {
		log_err("fio-dlio: %s: engine state does not match this fio; rebuild the engine\n",
			td->o.name);
		return 1;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		return 1;
	conf_from_td(td, &job->conf);
	job->depth = job->conf.depth;
	job->done = calloc(job->depth, sizeof(*job->done));
	job->pending = calloc(job->depth, sizeof(*job->pending));
	if (!job->done || !job->pending) {
		free(job->done);
		free(job->pending);
		free(job);
		return 1;
	}
	td->io_ops_data = job;

	/* direct:// needs page-aligned buffers even when the job did not say direct=1;
	 * fio aligns them for raw-I/O engines (init runs before the buffers exist). */
	if (uses_direct_scheme(td))
		td->flags |= (unsigned long long)FIO_RAWIO << TD_ENG_FLAG_SHIFT;
	return 0;
}

static void fiodlio_cleanup(struct thread_data *td)
{
	struct fiodlio_job *job = td->io_ops_data;

	if (!job)
		return;
	if (job->ctx)
		job->backend->ctx_free(job->ctx);
	free(job->done);
	free(job->pending);
	free(job);
	td->io_ops_data = NULL;
}

/* The job's backend context is made at the first open, in the job's process. */
static int job_ctx(struct thread_data *td, struct fiodlio_job *job,
		   const struct storage_target *t)
{
	char err[STORAGE_ERR_LEN];
	int ret;

	if (job->ctx) {
		if (job->backend == t->backend)
			return 0;
		log_err("fio-dlio: %s: all files of a job must use one storage scheme: "
			"%s:// and %s:// are mixed\n",
			td->o.name, job->scheme, t->scheme);
		td_verror(td, EINVAL, "mixed storage schemes");
		return -EINVAL;
	}
	ret = t->backend->ctx_new(&job->conf, &job->ctx, err, sizeof(err));
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "storage context");
		return ret;
	}
	job->backend = t->backend;
	snprintf(job->scheme, sizeof(job->scheme), "%s", t->scheme);
	return 0;
}

static int fiodlio_open_file(struct thread_data *td, struct fio_file *f)
{
	struct fiodlio_job *job = td->io_ops_data;
	struct fiodlio_file *ff;
	char err[STORAGE_ERR_LEN];
	int flags = 0, ret;

	/* fio's own engines would write (lay out) a file that is too short for a
	 * reading job; a benchmark must not invent data, so say what is wrong. */
	if (!td_write(td) && fio_file_size_known(f) && f->real_file_size != -1ULL &&
	    f->io_size != -1ULL && f->file_offset + f->io_size > f->real_file_size) {
		log_err("fio-dlio: %s: %s is %llu bytes but the job reads up to byte %llu "
			"(offset %llu + size %llu); use a smaller size= or write the file first\n",
			td->o.name, f->file_name, (unsigned long long)f->real_file_size,
			(unsigned long long)(f->file_offset + f->io_size),
			(unsigned long long)f->file_offset, (unsigned long long)f->io_size);
		td_verror(td, EINVAL, "open_file");
		return 1;
	}

	ff = calloc(1, sizeof(*ff));
	if (!ff) {
		td_verror(td, ENOMEM, "open_file");
		return 1;
	}
	ret = resolve(td, f->file_name, &ff->target);
	if (ret)
		goto fail;
	ret = job_ctx(td, job, &ff->target);
	if (ret)
		goto fail;

	if (td_write(td)) {
		flags |= STORAGE_O_WRITE;
		if (td->o.allow_create)
			flags |= STORAGE_O_CREATE;
	}
	ret = job->backend->open(job->ctx, ff->target.path, flags, &ff->sf, err, sizeof(err));
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "open_file");
		goto fail;
	}

	/* fio lays out a file that a job both reads and writes before it starts, so that
	 * reads find data; do the same (sparsely) for the range this job covers. */
	if (td_rw(td) && f->io_size != -1ULL) {
		ret = job->backend->extend(job->ctx, ff->sf, f->file_offset + f->io_size, err,
					   sizeof(err));
		if (ret) {
			log_err("fio-dlio: %s: %s\n", td->o.name, err);
			td_verror(td, -ret, "open_file");
			job->backend->close(job->ctx, ff->sf, err, sizeof(err));
			goto fail;
		}
	}
	f->fd = job->backend->fd(ff->sf);
	FILE_SET_ENG_DATA(f, ff);
	return 0;
fail:
	storage_target_free(&ff->target);
	free(ff);
	return 1;
}

static int fiodlio_close_file(struct thread_data *td, struct fio_file *f)
{
	struct fiodlio_job *job = td->io_ops_data;
	struct fiodlio_file *ff = FILE_ENG_DATA(f);
	char err[STORAGE_ERR_LEN];
	int ret = 0;

	if (!ff)
		return 0;
	if (job->backend->close(job->ctx, ff->sf, err, sizeof(err))) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		ret = 1;
	}
	storage_target_free(&ff->target);
	free(ff);
	FILE_SET_ENG_DATA(f, NULL);
	f->fd = -1;
	return ret;
}

/*
 * Runs in fio's main process before the jobs fork.  A file that exists reports
 * its size so reads need no size=; a missing one is left to size= (fio clears
 * ENOENT here).  A job that writes may grow a file past its current size, as
 * fio's own engines do by laying it out, so the size fio may use is widened to
 * the largest region the job can address.
 */
static int fiodlio_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct storage_target t;
	struct storage_conf conf;
	char err[STORAGE_ERR_LEN];
	uint64_t size = 0;
	int ret;

	if (fio_file_size_known(f))
		return 0;
	ret = resolve(td, f->file_name, &t);
	if (ret)
		return 1;
	conf_from_td(td, &conf);
	ret = t.backend->stat(&conf, t.path, &size, err, sizeof(err));
	storage_target_free(&t);
	if (ret == -ENOENT) {
		td_verror(td, ENOENT, "get_file_size");
		return 1;
	}
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "get_file_size");
		return 1;
	}
	if (td_write(td) && (td->o.size || td->o.file_size_high)) {
		uint64_t reach = td->o.start_offset +
				 (uint64_t)td->subjob_number * td->o.offset_increment +
				 (td->o.file_size_high > td->o.size ? td->o.file_size_high : td->o.size);

		if (reach > size)
			size = reach;
	}
	f->real_file_size = size;
	fio_file_set_size_known(f);
	return 0;
}

static int fiodlio_unlink_file(struct thread_data *td, struct fio_file *f)
{
	struct storage_target t;
	struct storage_conf conf;
	char err[STORAGE_ERR_LEN];
	int ret;

	if (resolve(td, f->file_name, &t))
		return 1;
	conf_from_td(td, &conf);
	ret = t.backend->unlink(&conf, t.path, err, sizeof(err));
	storage_target_free(&t);
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "unlink_file");
		return 1;
	}
	return 0;
}

static int fiodlio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct storage_req *req = calloc(1, sizeof(*req));

	(void)td;
	if (!req)
		return 1;
	req->owner = io_u;
	io_u->engine_data = req;
	return 0;
}

static void fiodlio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	(void)td;
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static enum fio_q_status fiodlio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct fiodlio_job *job = td->io_ops_data;
	struct fiodlio_file *ff = FILE_ENG_DATA(io_u->file);
	struct storage_req *req = io_u->engine_data;
	int ret;

	fio_ro_check(td, io_u);

	switch (io_u->ddir) {
	case DDIR_READ:
		req->op = STORAGE_READ;
		break;
	case DDIR_WRITE:
		req->op = STORAGE_WRITE;
		break;
	case DDIR_SYNC:
		req->op = STORAGE_FSYNC;
		break;
	case DDIR_DATASYNC:
		req->op = STORAGE_FDATASYNC;
		break;
	default:
		snprintf(req->err, sizeof(req->err), "%s is not supported by %s://",
			 io_ddir_name(io_u->ddir), job->scheme);
		io_u->error = EOPNOTSUPP;
		return FIO_Q_COMPLETED;
	}
	req->file = ff->sf;
	req->offset = io_u->offset;
	req->len = io_u->xfer_buflen;
	req->buf = io_u->xfer_buf;
	req->result = 0;
	req->err[0] = '\0';

	ret = job->backend->submit(job->ctx, req);
	if (ret == -EBUSY)
		return FIO_Q_BUSY;
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, req->err);
		io_u->error = -ret;
		return FIO_Q_COMPLETED;
	}
	job->pending[job->nr_pending++] = io_u;
	return FIO_Q_QUEUED;
}

/* fio leaves the submit accounting to engines that have a commit hook; the
 * backends start queued requests in order, so the first nr pending are issued. */
static void mark_issued(struct thread_data *td, struct fiodlio_job *job, unsigned int nr)
{
	struct timespec now;

	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (unsigned int i = 0; i < nr; i++) {
			job->pending[i]->issue_time = now;
			io_u_queued(td, job->pending[i]);
		}
	}
	io_u_mark_submit(td, nr);
	memmove(job->pending, job->pending + nr, (job->nr_pending - nr) * sizeof(*job->pending));
	job->nr_pending -= nr;
}

static int fiodlio_commit(struct thread_data *td)
{
	struct fiodlio_job *job = td->io_ops_data;
	char err[STORAGE_ERR_LEN];
	int ret;

	if (!job->ctx)
		return 0;
	ret = job->backend->flush(job->ctx, err, sizeof(err));
	if (ret < 0) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "commit");
		return ret;
	}
	if (ret)
		mark_issued(td, job, (unsigned int)ret);
	return 0;
}

static int fiodlio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			     const struct timespec *t)
{
	struct fiodlio_job *job = td->io_ops_data;
	char err[STORAGE_ERR_LEN];
	int ret;

	job->nr_done = 0;
	if (!job->ctx)
		return 0;
	if (max > job->depth)
		max = job->depth;
	ret = job->backend->reap(job->ctx, job->done, min, max, t, err, sizeof(err));
	if (ret < 0) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "getevents");
		return ret;
	}
	job->nr_done = (unsigned int)ret;
	for (int i = 0; i < ret; i++) {
		struct storage_req *req = job->done[i];
		struct io_u *io_u = req->owner;

		if (req->result < 0) {
			io_u->error = (int)-req->result;
		} else if ((uint64_t)req->result < req->len) {
			io_u->resid = req->len - (uint64_t)req->result;
			io_u->error = 0;
		} else {
			io_u->resid = 0;
			io_u->error = 0;
		}
	}
	return ret;
}

static struct io_u *fiodlio_event(struct thread_data *td, int event)
{
	struct fiodlio_job *job = td->io_ops_data;

	return job->done[event]->owner;
}

static char *fiodlio_errdetails(struct io_u *io_u)
{
	struct storage_req *req = io_u->engine_data;

	return req && req->err[0] ? strdup(req->err) : NULL;
}

struct ioengine_ops ioengine = {
	.name = "fio-dlio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NODISKUTIL | FIO_ASYNCIO_SYNC_TRIM | FIO_NO_OFFLOAD |
		 FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init = fiodlio_init,
	.cleanup = fiodlio_cleanup,
	.queue = fiodlio_queue,
	.commit = fiodlio_commit,
	.getevents = fiodlio_getevents,
	.event = fiodlio_event,
	.errdetails = fiodlio_errdetails,
	.open_file = fiodlio_open_file,
	.close_file = fiodlio_close_file,
	.get_file_size = fiodlio_get_file_size,
	.unlink_file = fiodlio_unlink_file,
	.io_u_init = fiodlio_io_u_init,
	.io_u_free = fiodlio_io_u_free,
	.options = options,
	.option_struct_size = sizeof(struct fiodlio_options),
};
