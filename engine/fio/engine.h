/* Shared between the fio hooks and the load-time ABI guard. */
#ifndef FIODLIO_ENGINE_H
#define FIODLIO_ENGINE_H

#include "fio.h"
#include "optgroup.h"

#include "lib/storage.h"

extern struct ioengine_ops ioengine;

struct fiodlio_options {
	void *pad; /* fio parks td here while parsing; must be first */
	char *uri;
	unsigned int mkdirs;

	char *ca_file;
	unsigned int insecure;
	unsigned int retries;
	unsigned int connect_timeout_ms;
	unsigned int io_timeout_s;
	unsigned int http_verbose;

	char *s3_endpoint;
	char *s3_region;
	char *s3_access_key;
	char *s3_secret_key;
	char *s3_session_token;
	char *s3_profile;
	unsigned int s3_anonymous;
	unsigned int s3_addressing;
	unsigned int s3_signed_payload;
	unsigned long long s3_part_size;
	unsigned int s3_create_bucket;

	char *az_endpoint;
	char *az_account_key;
	char *az_sas_token;
	char *az_connection_string;
	char *az_bearer_token;
	unsigned int az_anonymous;
	unsigned long long az_block_size;
	unsigned int az_create_container;

	/* DLIO mode (engine/fio/dlio_mode.c) */
	char *dlio_config;
	char *dlio_workload;
	char *dlio_overrides;
	unsigned int dlio_phase;
	unsigned int dlio_ranks;
	unsigned int dlio_rank_base;
	char *dlio_checkpoint_uri;
	char *dlio_output;
	char *dlio_trace;
	unsigned int dlio_flavor;
	unsigned long long dlio_write_size;
	unsigned int dlio_checkpoint_fsync;
	unsigned int dlio_checkpoint_verify;
	void *dlio_state; /* not an option: what setup() loaded, for the job to take */
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
	struct fiodlio_dlio *dlio; /* DLIO mode state, NULL for plain fio jobs */
};

int fiodlio_job_ctx(struct thread_data *td, struct fiodlio_job *job,
		    const struct storage_target *t);
void fiodlio_conf_from_td(struct thread_data *td, struct storage_conf *conf);


/* 0 when the running fio matches the one this engine was built against. */
int fiodlio_abi_ok(void);

#endif
