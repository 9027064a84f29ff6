/*
 * The storage interface between fio's hooks (engine/fio/) and the backends.
 *
 * A backend serves one URI scheme (file, direct, s3, az).  fio's hooks never
 * know which: they resolve a file name against the job's storage root, pick the
 * backend by scheme and from then on only call these operations.  Requests are
 * asynchronous: submit() queues, flush() starts what is queued, reap() hands
 * back completed requests.  Nothing here includes fio's headers, so backends
 * and their tests build without fio.
 */
#ifndef FIODLIO_STORAGE_H
#define FIODLIO_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORAGE_ERR_LEN 256
#define STORAGE_SCHEME_MAX 16

enum storage_op {
	STORAGE_READ,
	STORAGE_WRITE,
	STORAGE_FSYNC,
	STORAGE_FDATASYNC,
};

/* Open for writing (else read-only); create if missing. */
#define STORAGE_O_WRITE  0x1
#define STORAGE_O_CREATE 0x2
/* Read-only: the backend may open the file with its first request instead of at once
 * (file://: an io_uring openat linked to the read, and an io_uring close), so that a
 * file opened for one or two reads costs no system calls of its own.  A failed open is
 * then the failure of that request, with the same message.  As with any file, close it
 * only when no request on it is queued or in flight. */
#define STORAGE_O_DEFER 0x4
/* With STORAGE_O_WRITE: an existing file starts empty, as open(..., "wb") has it
 * (local files: O_TRUNC; an object is replaced by its upload anyway). */
#define STORAGE_O_TRUNC 0x8

enum storage_s3_addressing {
	STORAGE_S3_AUTO,    /* path-style for custom endpoints, virtual-hosted for AWS */
	STORAGE_S3_PATH,    /* https://endpoint/bucket/key */
	STORAGE_S3_VIRTUAL, /* https://bucket.endpoint/key */
};

/*
 * Settings every backend may read; filled from the engine's options (see the
 * option table in engine/fio/engine.c).  Strings are NULL when not set; a
 * backend falls back to the environment and its defaults.
 */
struct storage_conf {
	bool direct;	    /* O_DIRECT for local files (direct=1 or direct://) */
	bool mkdirs;	    /* create missing parent directories on write */
	bool sync_io;	    /* O_SYNC (fio's sync=1) */
	unsigned int depth; /* requests in flight at most (fio's iodepth) */
	bool writes;	    /* the job writes (fio's rw has a write part) */
	bool defer_opens;   /* opens with STORAGE_O_DEFER are expected (sizes the local ring) */
	/* ctx_new() only: the path of the file whose open creates the context (az:// takes
	 * the account its credentials are for from it); not kept */
	const char *first_path;
	uint64_t write_bs_min; /* fio's smallest and largest write block size */
	uint64_t write_bs_max;

	/* HTTP, for s3:// and az:// */
	const char *ca_file;		/* CA bundle; NULL: system store (or AWS_CA_BUNDLE) */
	bool insecure;			/* no TLS verification */
	unsigned int retries;		/* attempts after the first */
	unsigned int connect_timeout_ms;
	unsigned int io_timeout_s;	/* abort a transfer stalled this long */
	bool http_verbose;		/* libcurl's trace on stderr */

	/* s3:// */
	const char *s3_endpoint;
	const char *s3_region;
	const char *s3_access_key;
	const char *s3_secret_key;
	const char *s3_session_token;
	const char *s3_profile;
	bool s3_anonymous;
	enum storage_s3_addressing s3_addressing;
	bool s3_signed_payload;
	uint64_t s3_part_size;
	bool s3_create_bucket;

	/* az:// */
	const char *az_endpoint;
	const char *az_account_key;
	const char *az_sas_token;
	const char *az_connection_string;
	const char *az_bearer_token;
	bool az_anonymous;
	uint64_t az_block_size;
	bool az_create_container;
};

/* Called by list() for each object found: its path (as open() takes it) and size. */
typedef int (*storage_list_fn)(void *arg, const char *path, uint64_t size);

struct storage_file;
struct storage_ctx;

/* One request; owned by the caller (one per fio io_u), lent to the backend from
 * submit() until reap() returns it. */
struct storage_req {
	enum storage_op op;
	struct storage_file *file;
	uint64_t offset;
	uint64_t len;
	void *buf;
	void *owner;	/* the caller's (fio's io_u) */
	unsigned int slot; /* the caller's: which of its request slots this is */
	int64_t result; /* bytes transferred, or -errno */
	char err[STORAGE_ERR_LEN]; /* why, when result < 0 */
};

struct storage_backend {
	const char *scheme;
	const char *description;

	/* Per-job context, created in the job's own process. */
	int (*ctx_new)(const struct storage_conf *conf, struct storage_ctx **out, char *err,
		       size_t errlen);
	void (*ctx_free)(struct storage_ctx *ctx);

	/* Size of an existing object; -ENOENT if there is none.  May run in fio's
	 * parent process (before fork), so it must not leave threads, rings or
	 * connections behind that a child would inherit. */
	int (*stat)(const struct storage_conf *conf, const char *path, uint64_t *size, char *err,
		    size_t errlen);
	int (*unlink)(const struct storage_conf *conf, const char *path, char *err, size_t errlen);

	int (*open)(struct storage_ctx *ctx, const char *path, int flags, struct storage_file **out,
		    char *err, size_t errlen);
	int (*close)(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen);
	/* Grow a file opened for writing to at least size bytes (fio's layout). */
	int (*extend)(struct storage_ctx *ctx, struct storage_file *f, uint64_t size, char *err,
		      size_t errlen);
	/* The descriptor behind a local file, or -1. */
	int (*fd)(const struct storage_file *f);
	/* Optional: what the offset and length of every request on f must be a multiple of
	 * (O_DIRECT: the file system's direct I/O alignment; buffers as well), 0 when any
	 * will do. */
	uint32_t (*dio_align)(const struct storage_file *f);
	/* Optional, called right after open(): the size the file has once the job is done
	 * with it (a reader: its size; a writer: the end of the region it writes), 0 when
	 * fio does not know.  Object stores choose one PUT or a multipart upload by it and
	 * check their part limits here, before any data moves. */
	int (*size_hint)(struct storage_ctx *ctx, struct storage_file *f, uint64_t size,
			 char *err, size_t errlen);

	/* Every object whose path starts with prefix (a "directory" ending in '/'),
	 * in name order.  Optional.  Like stat(), may run in fio's parent process. */
	int (*list)(const struct storage_conf *conf, const char *prefix, storage_list_fn fn,
		    void *arg, char *err, size_t errlen);
	/* One line for the job's output once the context exists (e.g. which
	 * credentials were used — never a secret), and one at the end (e.g. retry
	 * counts).  Optional; an empty line is not printed. */
	void (*describe)(struct storage_ctx *ctx, char *buf, size_t len);
	void (*summary)(struct storage_ctx *ctx, char *buf, size_t len);

	/* 0 = queued; -EBUSY = no room now (retry after reaping); other -errno = failed
	 * at once with req->err set (the request is not queued). */
	int (*submit)(struct storage_ctx *ctx, struct storage_req *req);
	/* Start every queued request; returns how many were started or -errno. */
	int (*flush)(struct storage_ctx *ctx, char *err, size_t errlen);
	/* Wait until at least min requests have completed (or timeout, NULL = no
	 * limit) and store up to max of them in done[]; returns how many or -errno. */
	int (*reap)(struct storage_ctx *ctx, struct storage_req **done, unsigned int min,
		    unsigned int max, const struct timespec *timeout, char *err, size_t errlen);
};

/* A file name resolved against the storage root. */
struct storage_target {
	const struct storage_backend *backend;
	char scheme[STORAGE_SCHEME_MAX];
	char *path; /* malloc'd: a local path, or bucket/key for object stores */
};

/*
 * Resolve fio's file name against the storage root URI (may be NULL or "").
 * A file name that is itself a URI ("file:///x", fio's escaped "file\:///x")
 * stands alone; otherwise it is a path or key under the root; with no root, a
 * bare path means file://.  Unknown scheme → -EINVAL with a message naming it
 * and the supported ones.
 */
int storage_resolve(const char *root, const char *name, struct storage_target *t, char *err,
		    size_t errlen);
void storage_target_free(struct storage_target *t);

const struct storage_backend *storage_backend_find(const char *scheme);
/* "file, direct" — the schemes this build serves. */
const char *storage_schemes(void);

extern const struct storage_backend storage_file_backend;
extern const struct storage_backend storage_direct_backend;
extern const struct storage_backend storage_az_backend;
extern const struct storage_backend storage_s3_backend;

#endif
