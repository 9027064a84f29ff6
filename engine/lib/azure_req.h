/*
 * One Blob service request of the az:// backend: where it goes, how it is signed, and what a
 * failure says.  A request is an http_req (engine/lib/http.h) with the Blob operation around
 * it; azure_req_prepare() is its prepare() callback, so every attempt (retries included) gets
 * a fresh x-ms-date and signature.
 */
#ifndef FIODLIO_AZURE_REQ_H
#define FIODLIO_AZURE_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/az_conf.h"
#include "lib/http.h"
#include "lib/storage.h"

enum azure_op {
	AZURE_GET_BLOB,
	AZURE_PUT_BLOB,
	AZURE_PUT_BLOCK,
	AZURE_PUT_BLOCK_LIST,
	AZURE_GET_PROPERTIES,
	AZURE_DELETE_BLOB,
	AZURE_LIST_BLOBS,
	AZURE_CREATE_CONTAINER,
};

/* The credentials and the HTTP loop of one account. */
struct azure_client {
	struct az_cred cred;
	struct http_loop *loop;
};

/* Resolves credentials for the account (options, then the environment) and makes a loop. */
int azure_client_init(struct azure_client *cl, const struct storage_conf *conf,
		      const char *account, char *err, size_t errlen);
void azure_client_free(struct azure_client *cl);

/* "account/container/blob" (a storage path after az://) split; the blob may be empty. */
int azure_split_path(const char *path, struct az_uri *out, char *err, size_t errlen);

struct azure_req {
	struct http_req http; /* first: prepare() gets &http */
	struct azure_client *client;
	enum azure_op op;
	const char *container;
	const char *blob;      /* "" for container operations */
	uint64_t range_off;    /* Get Blob: x-ms-range when range_len > 0 */
	uint64_t range_len;
	uint64_t block_id;     /* Put Block */
	const char *list_prefix; /* List Blobs */
	const char *list_marker;
	unsigned int list_max;
};

int azure_req_prepare(struct http_req *http);

/* -errno for a finished request: 0 on success (2xx). */
int azure_req_errno(const struct azure_req *r);

/*
 * "Get Blob devstoreaccount1/c/b bytes 0-65535: HTTP 403 AuthenticationFailed (Server failed
 * to authenticate the request...)", or the connection error and the attempts made.  Names
 * the status, the x-ms-error-code and the blob; never a secret (the URL and its SAS are not
 * shown).
 */
void azure_req_error(const struct azure_req *r, char *out, size_t outlen);

const char *azure_op_name(enum azure_op op);

#endif
