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

#include "dlio_mode.h"
#include "listing.h"
#include "lib/storage.h"

/* What fio knows of one open file: the backend's handle and the resolved path. */
struct fiodlio_file {
	struct storage_file *sf;
	struct storage_target target;
};

#define OPT(n, ln, t, field, h, d)                                                         \
	{                                                                                   \
		.name = n, .lname = ln, .type = t, .off1 = offsetof(struct fiodlio_options, field), \
		.help = h, .def = d, .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID,    \
	}

static struct fio_option options[] = {
	OPT("uri", "fio-dlio storage root", FIO_OPT_STR_STORE, uri,
	    "Storage root URI (file:///dir, direct:///dir, s3://bucket/prefix, "
	    "az://account/container/prefix); fio's file names are paths or keys under it. "
	    "Empty: file names are paths or escaped URIs (filename=file\\:///dir/f)",
	    NULL),
	OPT("mkdirs", "fio-dlio create parent directories", FIO_OPT_BOOL, mkdirs,
	    "Create missing parent directories of local files that are written", "1"),

	OPT("ca_file", "fio-dlio CA bundle", FIO_OPT_STR_STORE, ca_file,
	    "s3/az: CA certificates (PEM) to verify the server with (default: system store; "
	    "S3 also AWS_CA_BUNDLE)",
	    NULL),
	OPT("insecure", "fio-dlio no TLS verification", FIO_OPT_BOOL, insecure,
	    "s3/az: do not verify the server's TLS certificate and host name (unsafe)", "0"),
	OPT("retries", "fio-dlio retries", FIO_OPT_INT, retries,
	    "s3/az: retries of a request after a 5xx/429 status, a timeout or a reset, with "
	    "exponential backoff and jitter",
	    "5"),
	OPT("connect_timeout", "fio-dlio connect timeout", FIO_OPT_INT, connect_timeout_ms,
	    "s3/az: connection timeout in milliseconds", "10000"),
	OPT("io_timeout", "fio-dlio stall timeout", FIO_OPT_INT, io_timeout_s,
	    "s3/az: abort (and retry) a transfer that moves no data for this many seconds", "30"),
	OPT("http_verbose", "fio-dlio HTTP trace", FIO_OPT_BOOL, http_verbose,
	    "s3/az: libcurl's request trace on stderr (shows headers; signatures, not keys)",
	    "0"),

	OPT("s3_endpoint", "S3 endpoint", FIO_OPT_STR_STORE, s3_endpoint,
	    "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's "
	    "endpoint_url, else AWS for the region)",
	    NULL),
	OPT("s3_region", "S3 region", FIO_OPT_STR_STORE, s3_region,
	    "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)", NULL),
	OPT("s3_access_key", "S3 access key id", FIO_OPT_STR_STORE, s3_access_key,
	    "S3 access key id (default: AWS_ACCESS_KEY_ID, then ~/.aws files)", NULL),
	OPT("s3_secret_key", "S3 secret key", FIO_OPT_STR_STORE, s3_secret_key,
	    "S3 secret access key (prefer AWS_SECRET_ACCESS_KEY or ~/.aws/credentials: job "
	    "options travel with the job file)",
	    NULL),
	OPT("s3_session_token", "S3 session token", FIO_OPT_STR_STORE, s3_session_token,
	    "S3 session token for temporary credentials (default: AWS_SESSION_TOKEN)", NULL),
	OPT("s3_profile", "S3 profile", FIO_OPT_STR_STORE, s3_profile,
	    "Profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, default)",
	    NULL),
	OPT("s3_anonymous", "S3 anonymous", FIO_OPT_BOOL, s3_anonymous,
	    "Send unsigned (anonymous) S3 requests", "0"),
	{
		.name = "s3_addressing",
		.lname = "S3 addressing style",
		.type = FIO_OPT_STR,
		.off1 = offsetof(struct fiodlio_options, s3_addressing),
		.help = "S3 URL style",
		.def = "auto",
		.posval =
			{
				{ .ival = "auto",
				  .oval = STORAGE_S3_AUTO,
				  .help = "path-style for custom endpoints, virtual-hosted for AWS" },
				{ .ival = "path",
				  .oval = STORAGE_S3_PATH,
				  .help = "endpoint/bucket/key" },
				{ .ival = "virtual",
				  .oval = STORAGE_S3_VIRTUAL,
				  .help = "bucket.endpoint/key" },
			},
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	OPT("s3_signed_payload", "S3 signed payload", FIO_OPT_BOOL, s3_signed_payload,
	    "Sign request bodies with their SHA-256 instead of UNSIGNED-PAYLOAD", "0"),
	OPT("s3_part_size", "S3 multipart part size", FIO_OPT_STR_VAL, s3_part_size,
	    "Multipart upload part size (0: one part per fio write; at least 5 MiB except the "
	    "last part)",
	    "0"),
	OPT("s3_create_bucket", "S3 create bucket", FIO_OPT_BOOL, s3_create_bucket,
	    "Create the bucket if it does not exist", "0"),

	OPT("az_endpoint", "Azure blob endpoint", FIO_OPT_STR_STORE, az_endpoint,
	    "Blob service endpoint (default: from the connection string, else "
	    "https://<account>.blob.core.windows.net)",
	    NULL),
	OPT("az_account_key", "Azure account key", FIO_OPT_STR_STORE, az_account_key,
	    "Storage account key for SharedKey (default: AZURE_STORAGE_KEY; prefer the "
	    "environment: job options travel with the job file)",
	    NULL),
	OPT("az_sas_token", "Azure SAS token", FIO_OPT_STR_STORE, az_sas_token,
	    "Shared access signature (default: AZURE_STORAGE_SAS_TOKEN)", NULL),
	OPT("az_connection_string", "Azure connection string", FIO_OPT_STR_STORE,
	    az_connection_string,
	    "Storage connection string (default: AZURE_STORAGE_CONNECTION_STRING)", NULL),
	OPT("az_bearer_token", "Azure bearer token", FIO_OPT_STR_STORE, az_bearer_token,
	    "OAuth bearer token obtained elsewhere (default: AZURE_STORAGE_BEARER_TOKEN)", NULL),
	OPT("az_anonymous", "Azure anonymous", FIO_OPT_BOOL, az_anonymous,
	    "Send unauthenticated Azure requests (public containers)", "0"),
	OPT("az_block_size", "Azure block size", FIO_OPT_STR_VAL, az_block_size,
	    "Put Block size for blobs written in several requests (0: one block per fio write)",
	    "0"),
	OPT("az_create_container", "Azure create container", FIO_OPT_BOOL, az_create_container,
	    "Create the container if it does not exist", "0"),

	OPT("dlio_config", "DLIO workload (inline)", FIO_OPT_STR_STORE, dlio_config,
	    "DLIO mode: the workload as one line of YAML flow mapping (what dlio2fio writes); "
	    "the engine then owns the order, files, offsets and sizes of the job's I/O",
	    NULL),
	OPT("dlio_workload", "DLIO workload file", FIO_OPT_STR_STORE, dlio_workload,
	    "DLIO mode: a DLIO workload YAML file (instead of dlio_config)", NULL),
	OPT("dlio_overrides", "DLIO overrides", FIO_OPT_STR_STORE, dlio_overrides,
	    "DLIO mode: Hydra overrides applied to dlio_workload, separated by spaces "
	    "(++workload.dataset.num_files_train=8 ...)",
	    NULL),
	{
		.name = "dlio_phase",
		.lname = "DLIO phase",
		.type = FIO_OPT_STR,
		.off1 = offsetof(struct fiodlio_options, dlio_phase),
		.help = "DLIO mode: which part of DLIO's workflow this job runs",
		.def = "none",
		.posval =
			{
				{ .ival = "none", .oval = 0, .help = "plain fio job (not DLIO mode)" },
				{ .ival = "generate", .oval = 1, .help = "write the dataset" },
				{ .ival = "train", .oval = 2, .help = "training epochs (and eval)" },
				{ .ival = "checkpoint", .oval = 3, .help = "checkpoint-only benchmark" },
			},
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	OPT("dlio_ranks", "DLIO ranks", FIO_OPT_INT, dlio_ranks,
	    "DLIO mode: the number of ranks of the run (DLIO's comm_size)", "1"),
	OPT("dlio_rank_base", "DLIO first rank", FIO_OPT_INT, dlio_rank_base,
	    "DLIO mode: global rank of this job's first clone (numjobs clones are the ranks "
	    "dlio_rank_base, dlio_rank_base+1, ...)",
	    "0"),
	OPT("dlio_checkpoint_uri", "DLIO checkpoint root", FIO_OPT_STR_STORE, dlio_checkpoint_uri,
	    "DLIO mode: storage root URI of checkpoint.checkpoint_folder (default: the "
	    "workload's folder as a file:// path)",
	    NULL),
	OPT("dlio_output", "DLIO output folder", FIO_OPT_STR_STORE, dlio_output,
	    "DLIO mode: local folder for summary.json and per-epoch stats", NULL),
	OPT("dlio_trace", "DLIO request trace", FIO_OPT_STR_STORE, dlio_trace,
	    "DLIO mode, train and checkpoint phases: write every request of rank r, as issued, "
	    "to the local file <dlio_trace>.<r> (epoch or checkpoint, worker, read/write/sync, "
	    "open, offset, length, path)",
	    NULL),
	{
		.name = "dlio_flavor",
		.lname = "DLIO flavour",
		.type = FIO_OPT_STR,
		.off1 = offsetof(struct fiodlio_options, dlio_flavor),
		.help = "DLIO mode: which DLIO's behaviour to reproduce",
		.def = "v2.0",
		.posval =
			{
				{ .ival = "v2.0", .oval = 0, .help = "mlperf_storage_v2.0 (MLPerf Storage)" },
				{ .ival = "head", .oval = 1, .help = "argonne-lcf main" },
			},
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	OPT("dlio_checkpoint_fsync", "DLIO checkpoint fsync", FIO_OPT_BOOL, dlio_checkpoint_fsync,
	    "DLIO mode: fsync each checkpoint file after writing it. DLIO never does (its "
	    "checkpoint.fsync has no effect); MLPerf Storage's rules ask for it",
	    "0"),
	OPT("dlio_checkpoint_verify", "DLIO checkpoint CRC check", FIO_OPT_BOOL,
	    dlio_checkpoint_verify,
	    "DLIO mode: on checkpoint loads, check each zip record's CRC-32 against the central "
	    "directory (torch.load does not; a mismatch fails the job)",
	    "0"),
	OPT("dlio_write_size", "DLIO write request size", FIO_OPT_STR_VAL, dlio_write_size,
	    "DLIO mode: largest write request of data generation (0: 1 MiB on local files, "
	    "the whole file up to 64 MiB on object stores) and largest request of checkpoints "
	    "(0: 8 MiB)",
	    "0"),
	{
		.name = NULL,
	},
};

/* Options whose values must not reach fio's output (its JSON lists job options). */
static const char *const secret_options[] = {
	"s3_secret_key", "s3_session_token", "az_account_key",
	"az_sas_token",	 "az_connection_string", "az_bearer_token",
};

static void hide_secrets(struct thread_data *td)
{
	struct flist_head *entry;

	flist_for_each(entry, &td->opt_list) {
		struct print_option *p = flist_entry(entry, struct print_option, list);

		for (size_t i = 0; i < sizeof(secret_options) / sizeof(secret_options[0]); i++) {
			if (p->name && !strcmp(p->name, secret_options[i]) && p->value &&
			    strcmp(p->value, "<hidden>")) {
				free(p->value);
				p->value = strdup("<hidden>");
			}
		}
	}
}

void fiodlio_conf_from_td(struct thread_data *td, struct storage_conf *conf)
{
	struct fiodlio_options *o = td->eo;

	memset(conf, 0, sizeof(*conf));
	conf->direct = td->o.odirect;
	conf->sync_io = td->o.sync_io;
	conf->mkdirs = o->mkdirs;
	conf->depth = td->o.iodepth ? td->o.iodepth : 1;
	conf->writes = td_write(td);
	conf->write_bs_min = td->o.min_bs[DDIR_WRITE];
	conf->write_bs_max = td->o.max_bs[DDIR_WRITE];

	conf->ca_file = o->ca_file;
	conf->insecure = o->insecure;
	conf->retries = o->retries;
	conf->connect_timeout_ms = o->connect_timeout_ms;
	conf->io_timeout_s = o->io_timeout_s;
	conf->http_verbose = o->http_verbose;

	conf->s3_endpoint = o->s3_endpoint;
	conf->s3_region = o->s3_region;
	conf->s3_access_key = o->s3_access_key;
	conf->s3_secret_key = o->s3_secret_key;
	conf->s3_session_token = o->s3_session_token;
	conf->s3_profile = o->s3_profile;
	conf->s3_anonymous = o->s3_anonymous;
	conf->s3_addressing = (enum storage_s3_addressing)o->s3_addressing;
	conf->s3_signed_payload = o->s3_signed_payload;
	conf->s3_part_size = o->s3_part_size;
	conf->s3_create_bucket = o->s3_create_bucket;

	conf->az_endpoint = o->az_endpoint;
	conf->az_account_key = o->az_account_key;
	conf->az_sas_token = o->az_sas_token;
	conf->az_connection_string = o->az_connection_string;
	conf->az_bearer_token = o->az_bearer_token;
	conf->az_anonymous = o->az_anonymous;
	conf->az_block_size = o->az_block_size;
	conf->az_create_container = o->az_create_container;
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
	hide_secrets(td);
	job = calloc(1, sizeof(*job));
	if (!job)
		return 1;
	fiodlio_conf_from_td(td, &job->conf);
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
	if (fiodlio_dlio_enabled(td) && fiodlio_dlio_init(td, job))
		return 1; /* cleanup() frees the job */

	/* direct:// needs page-aligned buffers even when the job did not say direct=1;
	 * fio aligns them for raw-I/O engines (init runs before the buffers exist). */
	if (uses_direct_scheme(td) || (job->dlio && fiodlio_dlio_direct(td, job)))
		td->flags |= (unsigned long long)FIO_RAWIO << TD_ENG_FLAG_SHIFT;
	return 0;
}

static void fiodlio_cleanup(struct thread_data *td)
{
	struct fiodlio_job *job = td->io_ops_data;

	if (!job)
		return;
	fiodlio_dlio_cleanup(td, job);
	if (job->ctx && job->backend->summary) {
		char line[512] = "";

		job->backend->summary(job->ctx, line, sizeof(line));
		if (line[0])
			log_info("fio-dlio: %s: %s\n", td->o.name, line);
	}
	if (job->ctx)
		job->backend->ctx_free(job->ctx);
	free(job->done);
	free(job->pending);
	free(job);
	td->io_ops_data = NULL;
}

/* The job's backend context is made at the first open, in the job's process. */
int fiodlio_job_ctx(struct thread_data *td, struct fiodlio_job *job,
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
	job->conf.first_path = t->path;
	ret = t->backend->ctx_new(&job->conf, &job->ctx, err, sizeof(err));
	job->conf.first_path = NULL;
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "storage context");
		return ret;
	}
	job->backend = t->backend;
	snprintf(job->scheme, sizeof(job->scheme), "%s", t->scheme);
	if (job->backend->describe) {
		char line[512] = "";

		job->backend->describe(job->ctx, line, sizeof(line));
		if (line[0])
			log_info("fio-dlio: %s: %s\n", td->o.name, line);
	}
	return 0;
}

static int fiodlio_open_file(struct thread_data *td, struct fio_file *f)
{
	struct fiodlio_job *job = td->io_ops_data;
	struct fiodlio_file *ff;
	char err[STORAGE_ERR_LEN];
	int flags = 0, ret;

	if (fiodlio_dlio_enabled(td)) {
		/* the plan opens the dataset's files itself; fio's file is a placeholder */
		FILE_SET_ENG_DATA(f, NULL);
		f->fd = -1;
		return 0;
	}

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
	ret = fiodlio_job_ctx(td, job, &ff->target);
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
	/* what the object will be: a reader's size, or the end of what a writer writes */
	if (job->backend->size_hint) {
		uint64_t hint = 0;

		if (td_write(td) && f->io_size != -1ULL)
			hint = f->file_offset + f->io_size;
		else if (!td_write(td) && fio_file_size_known(f) && f->real_file_size != -1ULL)
			hint = f->real_file_size;
		ret = job->backend->size_hint(job->ctx, ff->sf, hint, err, sizeof(err));
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

	hide_secrets(td);
	if (fio_file_size_known(f))
		return 0;
	ret = resolve(td, f->file_name, &t);
	if (ret)
		return 1;
	fiodlio_conf_from_td(td, &conf);
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

	if (fiodlio_dlio_enabled(td))
		return 0;
	if (resolve(td, f->file_name, &t))
		return 1;
	fiodlio_conf_from_td(td, &conf);
	ret = t.backend->unlink(&conf, t.path, err, sizeof(err));
	storage_target_free(&t);
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "unlink_file");
		return 1;
	}
	return 0;
}

/*
 * fio calls get_file_size() itself only for engines without a setup hook; with
 * one (DLIO mode needs it, in fio's parent process, before buffers are sized)
 * the sizes are set here, with fio's own handling of missing files.
 */
static int fiodlio_setup(struct thread_data *td)
{
	struct fio_file *f;
	unsigned int i;

	if (fiodlio_dlio_enabled(td))
		return fiodlio_dlio_setup(td);
	{
		struct fiodlio_options *o = td->eo;
		struct storage_conf conf;

		hide_secrets(td);
		fiodlio_conf_from_td(td, &conf);
		if (fiodlio_list_expand(td, o->uri, &conf))
			return 1;
	}
	for_each_file(td, f, i) {
		if (fiodlio_get_file_size(td, f)) {
			if (td->error != ENOENT)
				return 1;
			td->error = 0;
			td->verror[0] = '\0';
		}
		if (f->real_file_size == -1ULL && td->o.size)
			f->real_file_size = td->o.size / td->o.nr_files;
	}
	return 0;
}

static int fiodlio_prep(struct thread_data *td, struct io_u *io_u)
{
	struct fiodlio_job *job = td->io_ops_data;

	return job->dlio ? fiodlio_dlio_prep(td, job, io_u) : 0;
}

static int fiodlio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct storage_req *req = calloc(1, sizeof(*req));

	(void)td;
	if (!req)
		return 1;
	req->owner = io_u;
	req->slot = io_u->index; /* io_u->index shares a union with engine_data */
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

	if (job->dlio) {
		if (fiodlio_dlio_deferred(td, job, io_u))
			return FIO_Q_BUSY; /* the model has no read for it yet */
		goto submit; /* prep() set the request up from the plan */
	}
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

submit:
	ret = job->backend->submit(job->ctx, req);
	if (ret == -EBUSY)
		return FIO_Q_BUSY;
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, req->err);
		io_u->error = -ret;
		req->result = ret;
		if (job->dlio)
			fiodlio_dlio_done(td, job, io_u);
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
	if (job->dlio) {
		/* wake when the modelled accelerator finishes a step: reads may start then */
		double limit = fiodlio_dlio_wait_limit(job);
		const struct timespec *fio_t = t;

		while (limit >= 0) {
			struct timespec lim = { (time_t)limit,
						(long)((limit - (double)(time_t)limit) * 1e9) };

			t = fio_t;
			if (!t || lim.tv_sec < t->tv_sec ||
			    (lim.tv_sec == t->tv_sec && lim.tv_nsec < t->tv_nsec))
				t = &lim;
			ret = job->backend->reap(job->ctx, job->done, min, max, t, err,
						 sizeof(err));
			/* Returning early lets fio issue what the model allows now; but with
			 * every io_u in flight fio has nothing to issue and takes too few
			 * events for the end of the job: wait on, the model kept current. */
			if (ret != 0 || !min || fio_t || td->cur_depth < td->o.iodepth)
				goto reaped;
			fiodlio_dlio_poll(job);
			limit = fiodlio_dlio_wait_limit(job);
		}
		t = fio_t;
	}
	ret = job->backend->reap(job->ctx, job->done, min, max, t, err, sizeof(err));
reaped:
	if (ret < 0) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		td_verror(td, -ret, "getevents");
		return ret;
	}
	job->nr_done = (unsigned int)ret;
	if (job->dlio && ret > 0)
		fiodlio_dlio_reaped(job, true);
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
		if (job->dlio)
			fiodlio_dlio_done(td, job, io_u);
	}
	if (job->dlio && ret > 0)
		fiodlio_dlio_reaped(job, false);
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
	.setup = fiodlio_setup,
	.init = fiodlio_init,
	.prep = fiodlio_prep,
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
