/*
 * One asynchronous HTTP event loop per fio job, shared by the S3 and Azure
 * backends: libcurl's multi interface driven from fio's own thread (no extra
 * threads, so nothing crosses into fio's io_u state), connection reuse and
 * keep-alive, one TLS set-up, and one retry policy (exponential backoff with
 * jitter) for transient failures.
 *
 * A backend fills an http_req, gives it a prepare() callback that builds the
 * URL and the signed headers (called again before every retry, because
 * signatures carry a timestamp) and a done() callback, and submits it.
 * http_run() drives the transfers and calls done() on the caller's thread.
 */
#ifndef FIODLIO_HTTP_H
#define FIODLIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#define HTTP_ERRBODY_MAX 2048

struct http_conf {
	const char *ca_file;	    /* NULL: the system's CA store */
	bool insecure;		    /* skip TLS certificate and host verification */
	long connect_timeout_ms;    /* 0: 10 s */
	long low_speed_time_s;	    /* abort a transfer slower than 1 byte/s for this long; 0: 30 */
	unsigned int max_retries;   /* attempts after the first; 0: none */
	unsigned int backoff_ms;    /* first backoff; doubles per attempt; 0: 100 */
	unsigned int backoff_max_ms; /* 0: 10,000 */
	unsigned int max_conns;	    /* connections per host; 0: 16 */
	bool verbose;		    /* libcurl's own trace on stderr (may show headers) */
};

struct http_stats {
	uint64_t requests;  /* attempts sent */
	uint64_t retries;   /* attempts that were retries */
	uint64_t failures;  /* requests that failed for good */
	uint64_t retry_5xx; /* retries after a 5xx/429/408 status */
	uint64_t retry_net; /* retries after a connection or timeout error */
};

struct http_req;
typedef int (*http_prepare_fn)(struct http_req *req);
typedef void (*http_done_fn)(struct http_req *req);

struct http_req {
	/* Set by the backend. */
	const char *method; /* "GET", "PUT", "HEAD", "DELETE", "POST" */
	char *url;	    /* malloc'd by prepare(); freed by the loop */
	struct curl_slist *headers; /* built by prepare(); freed by the loop */
	/* url and headers are the backend's own storage, rewritten by each prepare(): the loop
	 * neither frees nor extends them (an upload's prepare() adds "Expect:" itself) */
	bool own_buffers;
	const void *upload;	    /* request body (PUT/POST) */
	size_t upload_len;
	void *download; /* response body buffer (GET) */
	size_t download_cap;
	http_prepare_fn prepare;
	http_done_fn done;
	void *arg;

	/* Results, valid in done(). */
	long status;	     /* HTTP status; 0 when no response */
	size_t received;     /* body bytes stored in download */
	uint64_t body_bytes; /* body bytes the server sent */
	int64_t content_length; /* -1 if absent */
	uint64_t range_total;	/* the total size from Content-Range, 0 if absent */
	char etag[128];
	char error_code[96]; /* x-ms-error-code (Azure) */
	char errbody[HTTP_ERRBODY_MAX]; /* body of an error response, NUL-terminated */
	size_t errbody_len;
	int curl_code;			/* CURLE_OK unless the transfer failed */
	char curl_err[CURL_ERROR_SIZE]; /* libcurl's message */
	unsigned int attempts;
	bool overflow; /* the body did not fit into download */

	/* The loop's. */
	CURL *easy;
	const struct http_loop *easy_loop; /* the loop easy's constant options are for */
	const char *easy_proxy;		   /* the CURLOPT_PROXY easy has */
	CURLU *easy_url;		   /* easy's CURLOPT_CURLU, parsed from easy_url_str */
	char *easy_url_str;
	size_t upload_pos;
	uint64_t retry_at_ns;
	struct http_req *next_wait;
	struct http_req *next_active, *prev_active;
	bool active;
	bool finished;
};

struct http_loop;

int http_loop_new(const struct http_conf *conf, struct http_loop **out, char *err,
		  size_t errlen);
/* Abandons what is still in flight (their done() is not called). */
void http_loop_free(struct http_loop *loop);
const struct http_stats *http_loop_stats(const struct http_loop *loop);

/* Start a request (prepare() is called now).  0, or -errno with req->curl_err set. */
int http_submit(struct http_loop *loop, struct http_req *req);
/*
 * Drive transfers until at least one done() has been called or the timeout
 * (NULL: none) passes; returns how many done() were called, or -errno.
 */
int http_run(struct http_loop *loop, const struct timespec *timeout);
/* Requests submitted and not yet done. */
unsigned int http_pending(const struct http_loop *loop);

/* Submit and wait for one request (for stat/unlink outside a job's loop). */
int http_perform(struct http_loop *loop, struct http_req *req);

/* Whether a finished request deserves another attempt (transient failure). */
bool http_retryable(const struct http_req *req);
/* Release what the loop allocated for a request (easy handle, url, headers). */
void http_req_release(struct http_req *req);

#endif
