/*
 * s3:// — objects in any S3-compatible store, through the job's one HTTP loop (http.c) and
 * our own SigV4 (sigv4.c).
 *
 * Reads are GETs with a Range at fio's offsets (no Range when the read covers the object).
 * Writes follow the part plan of s3_parts.c: a write that is the whole object is one PUT
 * from fio's buffer; otherwise the object is cut into fixed parts, a write that is exactly a
 * part is sent as it is, other writes are copied into their part, and a part goes out once
 * it is fully written.  A write that completes a part finishes when the part is stored (so
 * memory stays bounded by the queue depth); the write that completes the object finishes
 * when CompleteMultipartUpload has answered, and carries any failure of the upload.  An
 * upload that cannot finish (an error, or the file is closed before all of it was written)
 * is aborted, so no half object ever appears.  A job that writes an object again (loops,
 * time_based) starts a new upload for each full pass.
 *
 * Everything runs on the job's thread: requests are prepared, signed and completed there.
 */
#include "storage.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws_creds.h"
#include "lib/http.h"
#include "lib/s3.h"
#include "lib/sigv4.h"

/* Copies of partly written parts a job may hold; random small writes into huge objects
 * beyond this are refused with a message rather than exhausting memory. */
#define S3_BUFFER_CAP (2ull << 30)
/* ListObjectsV2 page: 1,000 keys of up to 1 KiB, XML-escaped. */
#define S3_LIST_BODY_MAX (16u << 20)
#define S3_MSG 200

enum s3_kind {
	OP_GET,
	OP_PUT,	  /* a whole object */
	OP_PART,  /* UploadPart */
	OP_CREATE, /* CreateMultipartUpload */
	OP_COMPLETE,
	OP_ABORT,
	OP_HEAD,
	OP_DELETE,
	OP_LIST,
	OP_MKBUCKET,
};

static const char *const kind_method[] = {
	[OP_GET] = "GET",	[OP_PUT] = "PUT",     [OP_PART] = "PUT",   [OP_CREATE] = "POST",
	[OP_COMPLETE] = "POST", [OP_ABORT] = "DELETE", [OP_HEAD] = "HEAD", [OP_DELETE] = "DELETE",
	[OP_LIST] = "GET",	[OP_MKBUCKET] = "PUT",
};

static const char *const kind_name[] = {
	[OP_GET] = "GET",
	[OP_PUT] = "PUT",
	[OP_PART] = "UploadPart",
	[OP_CREATE] = "CreateMultipartUpload",
	[OP_COMPLETE] = "CompleteMultipartUpload",
	[OP_ABORT] = "AbortMultipartUpload",
	[OP_HEAD] = "HEAD",
	[OP_DELETE] = "DELETE",
	[OP_LIST] = "ListObjectsV2",
	[OP_MKBUCKET] = "CreateBucket",
};

struct s3_upload;

/* A fio write waiting for a part or for the whole upload. */
struct s3_wait {
	struct storage_req *req;
	struct s3_wait *next;
};

enum part_state { P_EMPTY, P_FILLING, P_READY, P_SENDING, P_DONE };

struct s3_part {
	enum part_state state;
	uint8_t *buf;	   /* our copy; NULL when sent from fio's buffer */
	const void *data; /* what is sent */
	struct s3_cover cover;
	char *etag;
	struct s3_wait *waiters;
};

struct s3_upload {
	struct storage_file *file; /* NULL once the file is closed */
	char bucket[S3_BUCKET_MAX + 1];
	char *key;
	char *name; /* s3://bucket/key, for messages */
	struct s3_part_plan plan;
	struct s3_part *parts;
	char *upload_id;
	bool creating, completing, aborted, done;
	uint32_t ncovered, nstored;
	uint64_t written;
	unsigned int inflight;
	int err;
	struct s3_wait *final_waiters;
	struct s3_upload *next; /* ctx->uploads */
};

struct storage_file {
	struct storage_ctx *ctx;
	char bucket[S3_BUCKET_MAX + 1];
	char *key;
	char *name;
	bool writable;
	uint64_t size_hint;
	struct s3_part_plan plan;
	bool planned;
	struct s3_upload *up; /* the pass being written */
	unsigned int inflight; /* GETs and PUTs of this file */
	int err;	       /* a failed upload: later writes fail too */
	char msg[STORAGE_ERR_LEN];
};

#define S3_OP_HEADERS 7 /* Host, Range, x-amz-date, -content-sha256, Authorization, token, Expect */

struct s3_op {
	struct http_req http;
	struct storage_ctx *ctx;
	enum s3_kind kind;
	struct storage_file *file;
	struct s3_upload *up;
	uint32_t part;
	struct storage_req *req; /* the fio request it answers, if any */
	const char *bucket, *key, *name;
	char range[64];
	char partno[12];
	const char *token; /* ListObjectsV2 continuation */
	const char *prefix;
	char payload_hash[65];
	char *body; /* owned request body */
	struct s3_op *next;
	/* the request's URL and header lines, rewritten in place by each prepare(): kept with
	 * the op, so that a request allocates nothing (op_headers) */
	char *urlbuf, *hbuf;
	size_t urlcap, hcap;
	struct curl_slist hnode[S3_OP_HEADERS];
};

struct s3_counts {
	uint64_t get, put, part, create, complete, abort, head, del, list;
	uint64_t errors;
};

struct storage_ctx {
	struct storage_conf conf;
	struct aws_creds creds;
	struct s3_endpoint ep;
	struct s3_sigv4_signer *signer;
	struct http_loop *loop;
	struct s3_op *free_ops;
	struct s3_op *to_start, **to_start_tail;
	unsigned int nsubmitted; /* fio requests since the last flush */
	/* completions: held until flush() counted them, then ready for reap() */
	struct storage_req **held, **ready;
	unsigned int nheld, nready, cap;
	struct s3_upload *uploads;
	uint64_t buffered;
	char made_bucket[S3_BUCKET_MAX + 1];
	struct s3_counts n;
	char describe[512];
};


static const char *env_get(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static int ctx_open(const struct storage_conf *conf, struct storage_ctx **out, char *err,
		    size_t errlen)
{
	struct aws_creds_input in = {
		.access_key = conf->s3_access_key,
		.secret_key = conf->s3_secret_key,
		.session_token = conf->s3_session_token,
		.profile = conf->s3_profile,
		.region = conf->s3_region,
		.endpoint = conf->s3_endpoint,
		.ca_bundle = conf->ca_file,
		.anonymous = conf->s3_anonymous,
		.getenv_fn = env_get,
	};
	struct storage_ctx *ctx = calloc(1, sizeof(*ctx));
	struct http_conf hc = { 0 };
	int virt, ret;

	if (!ctx) {
		errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctx->conf = *conf;
	ctx->to_start_tail = &ctx->to_start;
	ret = aws_creds_resolve(&in, &ctx->creds, err, errlen);
	if (ret)
		goto fail;
	virt = conf->s3_addressing == STORAGE_S3_PATH	 ? 0 :
	       conf->s3_addressing == STORAGE_S3_VIRTUAL ? 1 :
							   -1;
	ret = s3_endpoint_parse(ctx->creds.endpoint, virt, &ctx->ep, err, errlen);
	if (ret)
		goto fail;
	if (!ctx->creds.anonymous) {
		ret = s3_sigv4_signer_new(&ctx->signer, ctx->creds.access_key,
					  ctx->creds.secret_key,
					  ctx->creds.session_token[0] ? ctx->creds.session_token :
									NULL,
					  ctx->creds.region, "s3", err, errlen);
		if (ret)
			goto fail;
	}
	/* the signer holds its own copy: keep no second one around */
	aws_creds_clear(&ctx->creds);

	hc.ca_file = ctx->creds.ca_bundle[0] ? ctx->creds.ca_bundle : NULL;
	hc.insecure = conf->insecure;
	hc.connect_timeout_ms = conf->connect_timeout_ms;
	hc.low_speed_time_s = conf->io_timeout_s;
	hc.max_retries = conf->retries;
	hc.max_conns = conf->depth > 16 ? conf->depth : 16;
	hc.verbose = conf->http_verbose;
	ret = http_loop_new(&hc, &ctx->loop, err, errlen);
	if (ret)
		goto fail;
	errbuf_set(ctx->describe, sizeof(ctx->describe),
		 "s3: endpoint %s (%s), %s, region %s (%s), credentials from %s, TLS %s%s%s",
		 ctx->creds.endpoint, ctx->creds.endpoint_source,
		 ctx->ep.virtual_hosted ? "virtual-hosted style" : "path-style",
		 ctx->creds.region, ctx->creds.region_source[0] ? ctx->creds.region_source : "default",
		 ctx->creds.source,
		 !ctx->ep.https ? "not used (http://)" :
		 conf->insecure ? "verification OFF (insecure=1)" :
				  "verified against ",
		 ctx->ep.https && !conf->insecure ? (hc.ca_file ? hc.ca_file : "the system store") :
						    "",
		 conf->s3_signed_payload ? ", signed payloads" : "");
	*out = ctx;
	return 0;
fail:
	aws_creds_clear(&ctx->creds);
	s3_sigv4_signer_free(ctx->signer);
	free(ctx);
	return ret;
}

/* ---- requests ---- */

static struct s3_op *op_get(struct storage_ctx *ctx, enum s3_kind kind)
{
	struct s3_op *op = ctx->free_ops;

	if (op) {
		ctx->free_ops = op->next;
	} else {
		op = calloc(1, sizeof(*op));
		if (!op)
			return NULL;
		op->http.own_buffers = true;
	}
	op->ctx = ctx;
	op->kind = kind;
	op->file = NULL;
	op->up = NULL;
	op->req = NULL;
	op->bucket = op->key = op->name = op->token = op->prefix = NULL;
	op->range[0] = op->partno[0] = op->payload_hash[0] = '\0';
	op->body = NULL;
	op->next = NULL;
	op->http.method = kind_method[kind];
	op->http.upload = NULL;
	op->http.upload_len = 0;
	op->http.download = NULL;
	op->http.download_cap = 0;
	op->http.arg = op;
	return op;
}

/* The easy handle stays with the op for the next request: connection set-up is the loop's,
 * but a fresh handle per request is measurable at 4 KiB. */
static void op_put(struct s3_op *op)
{
	free(op->body);
	op->body = NULL;
	op->next = op->ctx->free_ops;
	op->ctx->free_ops = op;
}

static void op_destroy(struct s3_op *op)
{
	http_req_release(&op->http);
	free(op->urlbuf);
	free(op->hbuf);
	free(op->body);
	free(op);
}

/*
 * The header list libcurl sends: "name: value" lines in the op's own buffer, linked through
 * the op's own list nodes (libcurl only reads CURLOPT_HTTPHEADER's list), instead of a
 * curl_slist_append() per line, each two allocations, on every attempt.
 */
static int op_headers(struct s3_op *op, const char *const (*h)[2], size_t n)
{
	size_t need = 0, at = 0;

	for (size_t i = 0; i < n; i++)
		need += strlen(h[i][0]) + (h[i][1] ? 2 + strlen(h[i][1]) : 0) + 1;
	if (need > op->hcap) {
		char *b = realloc(op->hbuf, need);

		if (!b)
			return -ENOMEM;
		op->hbuf = b;
		op->hcap = need;
	}
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(h[i][0]);
		char *line = op->hbuf + at;

		memcpy(line, h[i][0], nl);
		at += nl;
		if (h[i][1]) { /* else a line as is ("Expect:") */
			size_t vl = strlen(h[i][1]);

			memcpy(op->hbuf + at, ": ", 2);
			memcpy(op->hbuf + at + 2, h[i][1], vl);
			at += 2 + vl;
		}
		op->hbuf[at++] = '\0';
		op->hnode[i].data = line;
		op->hnode[i].next = i + 1 < n ? &op->hnode[i + 1] : NULL;
	}
	op->http.headers = n ? op->hnode : NULL;
	return 0;
}

/* Builds URL and signed headers; runs before every attempt, since a signature is dated. */
static int op_prepare(struct http_req *hr)
{
	struct s3_op *op = hr->arg;
	struct storage_ctx *ctx = op->ctx;
	struct s3_sigv4_param q[4];
	struct s3_sigv4_header sh[2];
	struct s3_sigv4_result res;
	struct s3_target t;
	const char *lines[S3_OP_HEADERS][2];
	size_t nq = 0, nh = 0, nl = 0;
	char err[256];
	int ret;

	switch (op->kind) {
	case OP_PART:
		q[nq++] = (struct s3_sigv4_param){ "partNumber", op->partno };
		q[nq++] = (struct s3_sigv4_param){ "uploadId", op->up->upload_id };
		break;
	case OP_CREATE:
		q[nq++] = (struct s3_sigv4_param){ "uploads", NULL };
		break;
	case OP_COMPLETE:
	case OP_ABORT:
		q[nq++] = (struct s3_sigv4_param){ "uploadId", op->up->upload_id };
		break;
	case OP_LIST:
		q[nq++] = (struct s3_sigv4_param){ "list-type", "2" };
		q[nq++] = (struct s3_sigv4_param){ "prefix", op->prefix };
		if (op->token)
			q[nq++] = (struct s3_sigv4_param){ "continuation-token", op->token };
		break;
	default:
		break;
	}
	ret = s3_request_target_buf(&ctx->ep, op->bucket, op->key ? op->key : "", q, nq, &t,
				    &op->urlbuf, &op->urlcap, err, sizeof(err));
	if (ret) {
		snprintf(hr->curl_err, sizeof(hr->curl_err), "%s", err);
		return ret;
	}
	hr->url = t.url;
	/* our Host header, so that what is signed is what is sent */
	sh[nh++] = (struct s3_sigv4_header){ "Host", t.host };
	if (op->range[0])
		sh[nh++] = (struct s3_sigv4_header){ "Range", op->range };
	for (size_t i = 0; i < nh; i++) {
		lines[nl][0] = sh[i].name;
		lines[nl++][1] = sh[i].value;
	}
	if (hr->upload) {
		/* no 100-continue round trip before each body */
		lines[nl][0] = "Expect:";
		lines[nl++][1] = NULL;
	}
	if (!ctx->signer)
		return op_headers(op, lines, nl);

	if (ctx->conf.s3_signed_payload && !op->payload_hash[0]) {
		/* once per request, not per attempt: the body does not change */
		ret = s3_sigv4_sha256_hex(hr->upload ? hr->upload : "", hr->upload_len,
					  op->payload_hash);
		if (ret)
			return ret;
	}
	{
		struct s3_sigv4_request sr = {
			.method = hr->method,
			.path = t.path,
			.query = q,
			.nquery = nq,
			.headers = sh,
			.nheaders = nh,
			.payload_hash = op->payload_hash[0] ? op->payload_hash : NULL,
		};

		ret = s3_sigv4_sign(ctx->signer, &sr, time(NULL), &res, err, sizeof(err));
	}
	if (ret) {
		errbuf_set(hr->curl_err, sizeof(hr->curl_err), "signing: %s", err);
		return ret;
	}
	lines[nl][0] = "x-amz-date";
	lines[nl++][1] = res.amz_date;
	lines[nl][0] = "x-amz-content-sha256";
	lines[nl++][1] = res.payload_hash;
	lines[nl][0] = "Authorization";
	lines[nl++][1] = res.authorization;
	if (res.security_token) {
		lines[nl][0] = "x-amz-security-token";
		lines[nl++][1] = res.security_token;
	}
	return op_headers(op, lines, nl);
}

static bool http_ok(const struct http_req *hr)
{
	return hr->curl_code == CURLE_OK && hr->status >= 200 && hr->status < 300;
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 409:
		return EEXIST;
	case 416:
		return EINVAL;
	default:
		return EIO;
	}
}

/*
 * Why a request failed, as the user needs it: operation, object, HTTP status, S3's error
 * code and message, or the network error; returns -errno.
 */
static int op_error(const struct s3_op *op, char *msg, size_t msglen)
{
	const struct http_req *hr = &op->http;
	char code[96], text[S3_MSG], retried[48] = "";
	const char *range = op->range[0] ? op->range : NULL;
	int e;

	if (hr->attempts > 1)
		snprintf(retried, sizeof(retried), " (after %u attempts)", hr->attempts);
	if (hr->curl_code != CURLE_OK) {
		switch (hr->curl_code) {
		case CURLE_COULDNT_CONNECT:
			e = ECONNREFUSED;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			e = ETIMEDOUT;
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
			e = EHOSTUNREACH;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CONNECT_ERROR:
			e = EACCES;
			break;
		default:
			e = EIO;
		}
		errbuf_set(msg, msglen, "%s %s%s%s: %s (endpoint %s)%s%s", kind_name[op->kind],
			op->name, range ? " " : "", range ? range : "", hr->curl_err,
			op->ctx->creds.endpoint, retried,
			e == EACCES && op->ctx->ep.https ?
				"; give the CA with ca_file= (or AWS_CA_BUNDLE), or insecure=1" :
				"");
		return -e;
	}
	s3_xml_error(hr->errbody, hr->errbody_len, code, sizeof(code), text, sizeof(text));
	e = status_errno(hr->status);
	errbuf_set(msg, msglen, "%s %s%s%s: HTTP %ld%s%s%s%s%s", kind_name[op->kind], op->name,
		range ? " " : "", range ? range : "", hr->status, code[0] ? " " : "", code,
		text[0] ? ": " : "", text,
		hr->status == 404 && !code[0] ? " (no such object or bucket)" :
		hr->status == 403 && !code[0] ? " (access denied)" :
						 "");
	if (retried[0] && strlen(msg) + strlen(retried) < msglen)
		strcat(msg, retried);
	return -e;
}

/* ---- completions handed to fio ---- */

static int grow(struct storage_ctx *ctx)
{
	unsigned int cap = ctx->cap ? ctx->cap * 2 : (ctx->conf.depth ? ctx->conf.depth : 1) + 8;
	struct storage_req **h = realloc(ctx->held, cap * sizeof(*h));

	if (!h)
		return -ENOMEM;
	ctx->held = h;
	h = realloc(ctx->ready, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	ctx->ready = h;
	ctx->cap = cap;
	return 0;
}

/* Completed after flush() counted it: reap() may return it.  The arrays hold at most the
 * fio requests in flight, which fio bounds by iodepth; they grow if it ever did not. */
static void complete(struct storage_ctx *ctx, struct storage_req *req)
{
	if (ctx->nready == ctx->cap && grow(ctx))
		abort();
	ctx->ready[ctx->nready++] = req;
}

static void req_fail(struct storage_req *req, int e, const char *msg)
{
	req->result = e;
	snprintf(req->err, sizeof(req->err), "%s", msg);
}

static void wake(struct storage_ctx *ctx, struct s3_wait **list, int e, const char *msg)
{
	struct s3_wait *w = *list;

	*list = NULL;
	while (w) {
		struct s3_wait *next = w->next;

		if (e)
			req_fail(w->req, e, msg);
		else
			w->req->result = (int64_t)w->req->len;
		complete(ctx, w->req);
		free(w);
		w = next;
	}
}

static int wait_on(struct s3_wait **list, struct storage_req *req)
{
	struct s3_wait *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->req = req;
	w->next = *list;
	*list = w;
	return 0;
}

static void op_start(struct storage_ctx *ctx, struct s3_op *op)
{
	*ctx->to_start_tail = op;
	ctx->to_start_tail = &op->next;
	op->next = NULL;
}

/* ---- uploads ---- */

static void upload_free(struct storage_ctx *ctx, struct s3_upload *up)
{
	struct s3_upload **p;

	for (p = &ctx->uploads; *p; p = &(*p)->next) {
		if (*p == up) {
			*p = up->next;
			break;
		}
	}
	if (up->parts) {
		for (uint32_t i = 0; i < up->plan.nparts; i++) {
			struct s3_part *pt = &up->parts[i];

			if (pt->buf) {
				ctx->buffered -= s3_part_len(&up->plan, i);
				free(pt->buf);
			}
			free(pt->etag);
			s3_cover_free(&pt->cover);
		}
	}
	free(up->parts);
	free(up->upload_id);
	free(up->key);
	free(up->name);
	free(up);
}

static void upload_abort(struct storage_ctx *ctx, struct s3_upload *up);

/* Once nothing is in flight: a failed multipart upload is aborted on the server, and an
 * upload that is stored or given up is forgotten. */
static void upload_settle(struct storage_ctx *ctx, struct s3_upload *up)
{
	if (up->inflight || up->creating)
		return;
	if (up->err && up->upload_id && up->upload_id[0] && !up->aborted) {
		upload_abort(ctx, up);
		return;
	}
	if (up->done || up->err) {
		if (up->file && up->file->up == up)
			up->file->up = NULL;
		upload_free(ctx, up);
	}
}

static void upload_fail(struct storage_ctx *ctx, struct s3_upload *up, int e, const char *msg)
{
	if (!up->err) {
		up->err = e;
		if (up->file) {
			up->file->err = e;
			snprintf(up->file->msg, sizeof(up->file->msg), "%s", msg);
			if (up->file->up == up)
				up->file->up = NULL;
		}
	}
	ctx->n.errors++;
	for (uint32_t i = 0; up->parts && i < up->plan.nparts; i++)
		wake(ctx, &up->parts[i].waiters, e, msg);
	wake(ctx, &up->final_waiters, e, msg);
}

static void upload_abort(struct storage_ctx *ctx, struct s3_upload *up)
{
	struct s3_op *op = op_get(ctx, OP_ABORT);

	up->aborted = true;
	if (!op)
		return;
	op->up = up;
	op->bucket = up->bucket;
	op->key = up->key;
	op->name = up->name;
	up->inflight++;
	ctx->n.abort++;
	op_start(ctx, op);
}

static void send_part(struct storage_ctx *ctx, struct s3_upload *up, uint32_t i)
{
	struct s3_part *pt = &up->parts[i];
	struct s3_op *op;

	if (!up->upload_id) {
		pt->state = P_READY;
		if (up->creating)
			return;
		op = op_get(ctx, OP_CREATE);
		if (!op) {
			upload_fail(ctx, up, -ENOMEM, "out of memory");
			return;
		}
		up->creating = true;
		ctx->n.create++;
	} else {
		op = op_get(ctx, up->plan.nparts == 1 ? OP_PUT : OP_PART);
		if (!op) {
			upload_fail(ctx, up, -ENOMEM, "out of memory");
			return;
		}
		pt->state = P_SENDING;
		op->part = i;
		snprintf(op->partno, sizeof(op->partno), "%u", i + 1);
		op->http.upload = pt->data;
		op->http.upload_len = (size_t)s3_part_len(&up->plan, i);
		if (op->kind == OP_PUT)
			ctx->n.put++;
		else
			ctx->n.part++;
	}
	op->up = up;
	op->bucket = up->bucket;
	op->key = up->key;
	op->name = up->name;
	up->inflight++;
	op_start(ctx, op);
}

static void send_complete(struct storage_ctx *ctx, struct s3_upload *up)
{
	const char **etags = malloc(up->plan.nparts * sizeof(*etags));
	struct s3_op *op = op_get(ctx, OP_COMPLETE);
	size_t len = 0;

	if (!etags || !op) {
		free(etags);
		if (op)
			op_put(op);
		upload_fail(ctx, up, -ENOMEM, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < up->plan.nparts; i++)
		etags[i] = up->parts[i].etag ? up->parts[i].etag : "";
	op->body = s3_xml_complete_body(etags, up->plan.nparts, &len);
	free(etags);
	if (!op->body) {
		op_put(op);
		upload_fail(ctx, up, -ENOMEM, "out of memory");
		return;
	}
	op->http.upload = op->body;
	op->http.upload_len = len;
	op->up = up;
	op->bucket = up->bucket;
	op->key = up->key;
	op->name = up->name;
	up->completing = true;
	up->inflight++;
	ctx->n.complete++;
	op_start(ctx, op);
}

static void part_stored(struct storage_ctx *ctx, struct s3_upload *up, uint32_t i)
{
	struct s3_part *pt = &up->parts[i];

	pt->state = P_DONE;
	if (pt->buf) {
		ctx->buffered -= s3_part_len(&up->plan, i);
		free(pt->buf);
		pt->buf = NULL;
	}
	pt->data = NULL;
	up->nstored++;
	if (up->nstored < up->plan.nparts) {
		wake(ctx, &pt->waiters, 0, NULL);
		return;
	}
	/* the last part: its writers wait for the object to exist */
	while (pt->waiters) {
		struct s3_wait *w = pt->waiters;

		pt->waiters = w->next;
		w->next = up->final_waiters;
		up->final_waiters = w;
	}
	if (up->plan.nparts == 1) {
		up->done = true;
		wake(ctx, &up->final_waiters, 0, NULL);
	} else {
		send_complete(ctx, up);
	}
}

/* ---- completion of one HTTP request ---- */

static void op_done(struct http_req *hr)
{
	struct s3_op *op = hr->arg;
	struct storage_ctx *ctx = op->ctx;
	struct s3_upload *up = op->up;
	char msg[STORAGE_ERR_LEN];
	int e = 0;

	if (!http_ok(hr))
		e = op_error(op, msg, sizeof(msg));

	switch (op->kind) {
	case OP_GET:
		op->file->inflight--;
		if (e) {
			ctx->n.errors++;
			req_fail(op->req, e, msg);
		} else if (!hr->received && op->req->len) {
			ctx->n.errors++;
			snprintf(msg, sizeof(msg), "GET %s %s: the object returned no data", op->name,
				 op->range);
			req_fail(op->req, -EIO, msg);
		} else {
			op->req->result = (int64_t)hr->received;
		}
		complete(ctx, op->req);
		break;
	case OP_PUT:
		if (!up) {
			/* a write that was the whole object */
			op->file->inflight--;
			if (e) {
				ctx->n.errors++;
				req_fail(op->req, e, msg);
			} else {
				op->req->result = (int64_t)op->req->len;
			}
			complete(ctx, op->req);
			break;
		}
		/* the one part of a small object */
		__attribute__((fallthrough));
	case OP_PART:
		up->inflight--;
		if (e) {
			upload_fail(ctx, up, e, msg);
		} else if (!up->err) {
			free(up->parts[op->part].etag);
			up->parts[op->part].etag = strdup(hr->etag);
			if (!up->parts[op->part].etag || !hr->etag[0]) {
				snprintf(msg, sizeof(msg), "%s %s part %u: no ETag in the answer",
					 kind_name[op->kind], op->name, op->part + 1);
				upload_fail(ctx, up, -EPROTO, msg);
			} else {
				part_stored(ctx, up, op->part);
			}
		}
		upload_settle(ctx, up);
		break;
	case OP_CREATE:
		up->inflight--;
		up->creating = false;
		if (!e && s3_xml_tag(hr->errbody, hr->errbody_len, "UploadId", msg, sizeof(msg))) {
			snprintf(msg, sizeof(msg),
				 "CreateMultipartUpload %s: no UploadId in the answer: %.100s",
				 op->name, hr->errbody);
			e = -EPROTO;
		}
		if (e) {
			upload_fail(ctx, up, e, msg);
		} else if (!(up->upload_id = strdup(msg))) {
			upload_fail(ctx, up, -ENOMEM, "out of memory");
		} else if (up->err) {
			/* failed meanwhile (e.g. closed early): do not leave the upload behind */
		} else {
			for (uint32_t i = 0; i < up->plan.nparts; i++)
				if (up->parts[i].state == P_READY)
					send_part(ctx, up, i);
		}
		upload_settle(ctx, up);
		break;
	case OP_COMPLETE:
		up->inflight--;
		up->completing = false;
		/* S3 may answer 200 and report the failure in the body */
		if (!e && strstr(hr->errbody, "<Error>")) {
			char code[96], text[S3_MSG];

			s3_xml_error(hr->errbody, hr->errbody_len, code, sizeof(code), text,
				     sizeof(text));
			errbuf_set(msg, sizeof(msg), "CompleteMultipartUpload %s: %s: %s", op->name, code,
				text);
			e = -EIO;
		}
		if (e) {
			upload_fail(ctx, up, e, msg);
		} else {
			up->done = true;
			wake(ctx, &up->final_waiters, 0, NULL);
		}
		upload_settle(ctx, up);
		break;
	case OP_ABORT:
		up->inflight--;
		/* nothing to tell fio: the upload already failed or was given up */
		upload_settle(ctx, up);
		break;
	default:
		break;
	}
	op_put(op);
}

/* ---- the backend's operations ---- */

static int s3_ctx_new(const struct storage_conf *conf, struct storage_ctx **out, char *err,
		      size_t errlen)
{
	int ret = ctx_open(conf, out, err, errlen);

	if (!ret && grow(*out)) {
		errbuf_set(err, errlen, "out of memory");
		ret = -ENOMEM;
	}
	return ret;
}

static int run_until_idle(struct storage_ctx *ctx, bool (*idle)(void *), void *arg);

static bool loop_idle(void *arg)
{
	struct storage_ctx *ctx = arg;

	return !http_pending(ctx->loop) && !ctx->to_start;
}

static void s3_ctx_free(struct storage_ctx *ctx)
{
	if (!ctx)
		return;
	/* an upload still open when the job ends (it was cancelled) must not survive */
	for (struct s3_upload *up = ctx->uploads; up; up = up->next) {
		if (!up->done && !up->aborted) {
			if (!up->err)
				upload_fail(ctx, up, -ECANCELED, "cancelled");
		}
		up->file = NULL;
	}
	for (struct s3_upload *up = ctx->uploads, *next; up; up = next) {
		next = up->next;
		upload_settle(ctx, up);
	}
	run_until_idle(ctx, loop_idle, ctx);
	while (ctx->uploads)
		upload_free(ctx, ctx->uploads);
	while (ctx->free_ops) {
		struct s3_op *op = ctx->free_ops;

		ctx->free_ops = op->next;
		op_destroy(op);
	}
	http_loop_free(ctx->loop);
	s3_sigv4_signer_free(ctx->signer);
	aws_creds_clear(&ctx->creds);
	free(ctx->held);
	free(ctx->ready);
	free(ctx);
}

/* Starts what is queued; returns how many fio requests that counted. */
static int start_queued(struct storage_ctx *ctx)
{
	while (ctx->to_start) {
		struct s3_op *op = ctx->to_start;
		int ret;

		ctx->to_start = op->next;
		if (!ctx->to_start)
			ctx->to_start_tail = &ctx->to_start;
		op->next = NULL;
		op->http.prepare = op_prepare;
		op->http.done = op_done;
		ret = http_submit(ctx->loop, &op->http);
		if (ret) {
			/* as if the request had failed on the wire */
			op->http.curl_code = CURLE_SEND_ERROR;
			if (!op->http.curl_err[0])
				snprintf(op->http.curl_err, sizeof(op->http.curl_err), "%s",
					 strerror(-ret));
			op_done(&op->http);
		}
	}
	return 0;
}

/* Drives the loop until idle(arg); transfers end by themselves (timeouts, retry limits). */
static int run_until_idle(struct storage_ctx *ctx, bool (*idle)(void *), void *arg)
{
	while (!idle(arg)) {
		int ret;

		start_queued(ctx);
		if (idle(arg))
			break;
		if (!http_pending(ctx->loop) && !ctx->to_start)
			break;
		ret = http_run(ctx->loop, NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* One request, waited for; for calls outside a job's I/O (stat, unlink, list, close). */
static int op_sync(struct storage_ctx *ctx, struct s3_op *op, char *err, size_t errlen)
{
	int ret;

	start_queued(ctx);
	op->http.prepare = op_prepare;
	op->http.done = NULL;
	ret = http_perform(ctx->loop, &op->http);
	if (ret) {
		errbuf_set(err, errlen, "%s %s: %s", kind_name[op->kind], op->name,
			op->http.curl_err[0] ? op->http.curl_err : strerror(-ret));
		return ret;
	}
	if (!http_ok(&op->http))
		return op_error(op, err, errlen);
	return 0;
}

struct path {
	char bucket[S3_BUCKET_MAX + 1];
	const char *key;
	char name[S3_KEY_MAX + S3_BUCKET_MAX + 8];
};

static int split(const char *path, struct path *p, char *err, size_t errlen)
{
	int ret = s3_split_path(path, p->bucket, &p->key, err, errlen);

	if (!ret)
		snprintf(p->name, sizeof(p->name), "s3://%s/%s", p->bucket, p->key);
	return ret;
}

static int s3_stat(const struct storage_conf *conf, const char *path, uint64_t *size, char *err,
		   size_t errlen)
{
	struct storage_ctx *ctx;
	struct s3_op *op;
	struct path p;
	int ret;

	ret = split(path, &p, err, errlen);
	if (ret)
		return ret;
	if (!p.key[0]) {
		errbuf_set(err, errlen, "%s names a bucket, not an object", p.name);
		return -EISDIR;
	}
	/* a loop of its own, freed before returning: this may run in fio's parent, whose
	 * children must not inherit connections */
	ret = ctx_open(conf, &ctx, err, errlen);
	if (ret)
		return ret;
	op = op_get(ctx, OP_HEAD);
	if (!op) {
		s3_ctx_free(ctx);
		return -ENOMEM;
	}
	op->bucket = p.bucket;
	op->key = p.key;
	op->name = p.name;
	ret = op_sync(ctx, op, err, errlen);
	if ((ret == -EACCES || ret == -EINVAL) && !op->http.errbody_len) {
		/* a HEAD answer has no body to say why; one byte of GET does */
		char byte;

		op->kind = OP_GET;
		op->http.method = "GET";
		snprintf(op->range, sizeof(op->range), "bytes=0-0");
		op->http.download = &byte;
		op->http.download_cap = 1;
		if (op_sync(ctx, op, err, errlen) == 0)
			errbuf_set(err, errlen, "HEAD %s: HTTP 403, but a GET of it succeeds", p.name);
	}
	if (!ret) {
		if (op->http.content_length < 0) {
			errbuf_set(err, errlen, "HEAD %s: no Content-Length in the answer", p.name);
			ret = -EPROTO;
		} else {
			*size = (uint64_t)op->http.content_length;
		}
	}
	op_put(op);
	s3_ctx_free(ctx);
	return ret;
}

static int s3_unlink(const struct storage_conf *conf, const char *path, char *err, size_t errlen)
{
	struct storage_ctx *ctx;
	struct s3_op *op;
	struct path p;
	int ret;

	ret = split(path, &p, err, errlen);
	if (ret)
		return ret;
	ret = ctx_open(conf, &ctx, err, errlen);
	if (ret)
		return ret;
	op = op_get(ctx, OP_DELETE);
	if (!op) {
		s3_ctx_free(ctx);
		return -ENOMEM;
	}
	op->bucket = p.bucket;
	op->key = p.key;
	op->name = p.name;
	ret = op_sync(ctx, op, err, errlen);
	/* fio unlinks every file twice; a missing object is already what was asked for */
	if (ret == -ENOENT)
		ret = 0;
	op_put(op);
	s3_ctx_free(ctx);
	return ret;
}

struct list_walk {
	storage_list_fn fn;
	void *arg;
	const char *bucket;
	char path[S3_KEY_MAX + S3_BUCKET_MAX + 2];
	uint64_t count;
};

static int list_item(void *arg, const char *key, uint64_t size)
{
	struct list_walk *w = arg;
	size_t n = strlen(key);

	/* "folder/" markers made by consoles are not objects to read */
	if (n && key[n - 1] == '/' && !size)
		return 0;
	snprintf(w->path, sizeof(w->path), "%s/%s", w->bucket, key);
	w->count++;
	return w->fn(w->arg, w->path, size);
}

static int s3_list(const struct storage_conf *conf, const char *prefix, storage_list_fn fn,
		   void *arg, char *err, size_t errlen)
{
	struct list_walk w = { .fn = fn, .arg = arg };
	char *token = malloc(4096), *body = malloc(S3_LIST_BODY_MAX);
	struct storage_ctx *ctx = NULL;
	struct s3_op *op = NULL;
	bool truncated = true, first = true;
	struct path p;
	int ret;

	if (!token || !body) {
		ret = -ENOMEM;
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	ret = split(prefix, &p, err, errlen);
	if (ret)
		goto out;
	w.bucket = p.bucket;
	ret = ctx_open(conf, &ctx, err, errlen);
	if (ret)
		goto out;
	while (truncated) {
		op = op_get(ctx, OP_LIST);
		if (!op) {
			ret = -ENOMEM;
			break;
		}
		op->bucket = p.bucket;
		op->key = "";
		op->prefix = p.key;
		op->token = first ? NULL : token;
		op->name = p.name;
		op->http.download = body;
		op->http.download_cap = S3_LIST_BODY_MAX - 1;
		ctx->n.list++;
		ret = op_sync(ctx, op, err, errlen);
		if (ret)
			break;
		body[op->http.received] = '\0';
		ret = s3_xml_list(body, op->http.received, list_item, &w, &truncated, token, 4096,
				  err, errlen);
		if (ret)
			break;
		op_put(op);
		op = NULL;
		first = false;
	}
	if (op)
		op_put(op);
out:
	if (ctx)
		s3_ctx_free(ctx);
	free(token);
	free(body);
	return ret;
}

static void s3_describe(struct storage_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ctx->describe);
}

static void s3_summary(struct storage_ctx *ctx, char *buf, size_t len)
{
	const struct http_stats *st = http_loop_stats(ctx->loop);
	const struct s3_counts *n = &ctx->n;

	snprintf(buf, len,
		 "s3: %llu requests (GET %llu, PUT %llu, UploadPart %llu, multipart uploads %llu "
		 "completed %llu aborted %llu), %llu retries (%llu after 5xx/429/408, %llu after "
		 "network errors or timeouts), %llu failed",
		 (unsigned long long)st->requests, (unsigned long long)n->get,
		 (unsigned long long)n->put, (unsigned long long)n->part,
		 (unsigned long long)n->create, (unsigned long long)n->complete,
		 (unsigned long long)n->abort, (unsigned long long)st->retries,
		 (unsigned long long)st->retry_5xx, (unsigned long long)st->retry_net,
		 (unsigned long long)n->errors);
}

static int make_bucket(struct storage_ctx *ctx, const char *bucket, char *err, size_t errlen)
{
	char body[256];
	struct s3_op *op;
	char name[S3_BUCKET_MAX + 8];
	int ret;

	if (!strcmp(ctx->made_bucket, bucket))
		return 0;
	op = op_get(ctx, OP_MKBUCKET);
	if (!op)
		return -ENOMEM;
	snprintf(name, sizeof(name), "s3://%s", bucket);
	op->bucket = bucket;
	op->key = "";
	op->name = name;
	if (strcmp(ctx->creds.region, "us-east-1")) {
		snprintf(body, sizeof(body),
			 "<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint>"
			 "</CreateBucketConfiguration>",
			 ctx->creds.region);
		op->http.upload = body;
		op->http.upload_len = strlen(body);
	}
	ret = op_sync(ctx, op, err, errlen);
	if (ret == -EEXIST) {
		char code[96], text[S3_MSG];

		s3_xml_error(op->http.errbody, op->http.errbody_len, code, sizeof(code), text,
			     sizeof(text));
		/* ours already: fine; someone else's: the error stands */
		if (!strcmp(code, "BucketAlreadyOwnedByYou"))
			ret = 0;
	}
	op->http.upload = NULL;
	op_put(op);
	if (!ret)
		snprintf(ctx->made_bucket, sizeof(ctx->made_bucket), "%s", bucket);
	return ret;
}

static int s3_open(struct storage_ctx *ctx, const char *path, int flags,
		   struct storage_file **out, char *err, size_t errlen)
{
	struct storage_file *f = calloc(1, sizeof(*f));
	const char *key;
	int ret;

	if (!f) {
		errbuf_set(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = s3_split_path(path, f->bucket, &key, err, errlen);
	if (ret)
		goto fail;
	if (!key[0] || key[strlen(key) - 1] == '/') {
		errbuf_set(err, errlen,
			"s3://%s: names a bucket or a prefix, not an object (a name ending in "
			"'/' lists the objects under it only as fio's filename or the uri root)",
			path);
		ret = -EISDIR;
		goto fail;
	}
	f->ctx = ctx;
	f->key = strdup(key);
	f->name = malloc(strlen(path) + 6);
	if (!f->key || !f->name) {
		errbuf_set(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	sprintf(f->name, "s3://%s", path);
	f->writable = flags & STORAGE_O_WRITE;
	if (f->writable && ctx->conf.s3_create_bucket) {
		ret = make_bucket(ctx, f->bucket, err, errlen);
		if (ret)
			goto fail;
	}
	*out = f;
	return 0;
fail:
	if (f) {
		free(f->key);
		free(f->name);
	}
	free(f);
	return ret;
}

static int s3_size_hint(struct storage_ctx *ctx, struct storage_file *f, uint64_t size,
			char *err, size_t errlen)
{
	char why[STORAGE_ERR_LEN];
	int ret;

	f->size_hint = size;
	if (!f->writable || !size)
		return 0;
	ret = s3_plan_parts(size, ctx->conf.s3_part_size, ctx->conf.write_bs_min,
			    ctx->conf.write_bs_max, &f->plan, why, sizeof(why));
	if (ret) {
		errbuf_set(err, errlen, "%s: %s", f->name, why);
		return ret;
	}
	f->planned = true;
	return 0;
}

static bool file_idle(void *arg)
{
	struct storage_file *f = arg;
	struct storage_ctx *ctx = f->ctx;

	if (f->inflight)
		return false;
	for (struct s3_upload *up = ctx->uploads; up; up = up->next)
		if (up->file == f && (up->inflight || up->creating))
			return false;
	return true;
}

static int s3_close(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen)
{
	struct s3_upload *up = f->up;
	int ret = 0;

	/* fio reaps before closing, but a part or a CompleteMultipartUpload may still run */
	run_until_idle(ctx, file_idle, f);
	up = f->up;
	if (up && !up->done && !up->err) {
		errbuf_set(err, errlen,
			"%s: closed with %llu of its %llu bytes written; S3 stores whole objects, "
			"so the upload was aborted and the object left as it was",
			f->name, (unsigned long long)up->written,
			(unsigned long long)up->plan.size);
		ret = -EIO;
		upload_fail(ctx, up, -ECANCELED, "closed before written");
		upload_settle(ctx, up);
		run_until_idle(ctx, loop_idle, ctx);
	}
	for (struct s3_upload *u = ctx->uploads; u; u = u->next)
		if (u->file == f)
			u->file = NULL;
	if (!ret && f->err) {
		errbuf_set(err, errlen, "%s", f->msg);
		ret = f->err;
	}
	free(f->key);
	free(f->name);
	free(f);
	return ret;
}

static int s3_extend(struct storage_ctx *ctx, struct storage_file *f, uint64_t size, char *err,
		     size_t errlen)
{
	/* objects have no holes to extend into: the size only plans the upload */
	if (f->size_hint < size)
		return s3_size_hint(ctx, f, size, err, errlen);
	return 0;
}

static int s3_fd(const struct storage_file *f)
{
	(void)f;
	return -1;
}

static int submit_read(struct storage_ctx *ctx, struct storage_req *req)
{
	struct storage_file *f = req->file;
	struct s3_op *op = op_get(ctx, OP_GET);

	if (!op) {
		snprintf(req->err, sizeof(req->err), "out of memory");
		return -ENOMEM;
	}
	op->file = f;
	op->req = req;
	op->bucket = f->bucket;
	op->key = f->key;
	op->name = f->name;
	/* the whole object when the read covers it: no Range, as a plain download */
	if (!(req->offset == 0 && f->size_hint && req->len >= f->size_hint))
		snprintf(op->range, sizeof(op->range), "bytes=%llu-%llu",
			 (unsigned long long)req->offset,
			 (unsigned long long)(req->offset + req->len - 1));
	op->http.download = req->buf;
	op->http.download_cap = (size_t)req->len;
	f->inflight++;
	ctx->n.get++;
	op_start(ctx, op);
	return 0;
}

static struct s3_upload *upload_new(struct storage_ctx *ctx, struct storage_file *f)
{
	struct s3_upload *up = calloc(1, sizeof(*up));

	if (!up)
		return NULL;
	up->plan = f->plan;
	up->parts = calloc(up->plan.nparts, sizeof(*up->parts));
	up->key = strdup(f->key);
	up->name = strdup(f->name);
	if (!up->parts || !up->key || !up->name) {
		free(up->parts);
		free(up->key);
		free(up->name);
		free(up);
		return NULL;
	}
	snprintf(up->bucket, sizeof(up->bucket), "%s", f->bucket);
	up->file = f;
	up->next = ctx->uploads;
	ctx->uploads = up;
	/* one part is a plain PUT: no upload id to wait for */
	if (up->plan.nparts == 1)
		up->upload_id = strdup("");
	return up;
}

static int submit_write(struct storage_ctx *ctx, struct storage_req *req)
{
	struct storage_file *f = req->file;
	uint64_t off = req->offset, end = req->offset + req->len;
	struct s3_upload *up;
	int64_t last_full = -1;
	struct s3_op *op;

	if (f->err) {
		snprintf(req->err, sizeof(req->err), "%s", f->msg);
		return f->err;
	}
	if (!f->planned) {
		snprintf(req->err, sizeof(req->err),
			 "write to %s: the object's size is unknown (set size= or filesize=)",
			 f->name);
		return -EINVAL;
	}
	if (end > f->plan.size) {
		snprintf(req->err, sizeof(req->err),
			 "write of %llu bytes at %llu to %s: past the object's planned end (%llu "
			 "bytes)",
			 (unsigned long long)req->len, (unsigned long long)off, f->name,
			 (unsigned long long)f->plan.size);
		return -EINVAL;
	}
	/* the whole object in one write: one PUT, straight from fio's buffer */
	if (!f->up && off == 0 && req->len == f->plan.size && req->len <= S3_PUT_MAX) {
		op = op_get(ctx, OP_PUT);
		if (!op) {
			snprintf(req->err, sizeof(req->err), "out of memory");
			return -ENOMEM;
		}
		op->file = f;
		op->req = req;
		op->bucket = f->bucket;
		op->key = f->key;
		op->name = f->name;
		op->http.upload = req->buf;
		op->http.upload_len = (size_t)req->len;
		f->inflight++;
		ctx->n.put++;
		op_start(ctx, op);
		return 0;
	}

	up = f->up;
	if (!up) {
		up = f->up = upload_new(ctx, f);
		if (!up) {
			snprintf(req->err, sizeof(req->err), "out of memory");
			return -ENOMEM;
		}
	}
	for (uint32_t i = (uint32_t)(off / up->plan.part_size); i < up->plan.nparts; i++) {
		uint64_t ps = (uint64_t)i * up->plan.part_size, pl = s3_part_len(&up->plan, i);
		uint64_t a = off > ps ? off : ps, b = end < ps + pl ? end : ps + pl;
		struct s3_part *pt = &up->parts[i];
		int ret;

		if (a >= b)
			break;
		if (pt->state == P_READY || pt->state == P_SENDING || pt->state == P_DONE) {
			/* parts are immutable once sent; fio's random map never rewrites, but
			 * norandommap or overlapping block sizes can */
			snprintf(req->err, sizeof(req->err),
				 "write of %llu bytes at %llu to %s rewrites part %u, which is "
				 "already being uploaded; S3 parts are written once (use fio's "
				 "random map, or block sizes that do not overlap)",
				 (unsigned long long)req->len, (unsigned long long)off, f->name,
				 i + 1);
			return -EINVAL;
		}
		if (a == ps && b == ps + pl && pt->state == P_EMPTY && off == ps && end == ps + pl) {
			pt->data = req->buf;
			ret = s3_cover_add(&pt->cover, 0, pl);
		} else {
			if (!pt->buf) {
				if (ctx->buffered + pl > S3_BUFFER_CAP) {
					snprintf(req->err, sizeof(req->err),
						 "write to %s: more than %llu MiB of partly written "
						 "parts held in memory; write objects sequentially, "
						 "or with block sizes equal to s3_part_size",
						 f->name, (unsigned long long)(S3_BUFFER_CAP >> 20));
					return -ENOMEM;
				}
				pt->buf = malloc(pl);
				if (!pt->buf) {
					snprintf(req->err, sizeof(req->err), "out of memory");
					return -ENOMEM;
				}
				ctx->buffered += pl;
				pt->data = pt->buf;
			}
			memcpy(pt->buf + (a - ps), (const uint8_t *)req->buf + (a - off), b - a);
			ret = s3_cover_add(&pt->cover, a - ps, b - a);
		}
		if (ret) {
			snprintf(req->err, sizeof(req->err), "write to %s part %u: %s", f->name, i + 1,
				 ret == -E2BIG ? "written in too many pieces" : "out of memory");
			return ret;
		}
		pt->state = P_FILLING;
		if (s3_cover_full(&pt->cover, pl)) {
			up->ncovered++;
			last_full = i;
			send_part(ctx, up, i);
		}
	}
	up->written += req->len;
	if (last_full >= 0) {
		if (wait_on(&up->parts[last_full].waiters, req)) {
			snprintf(req->err, sizeof(req->err), "out of memory");
			return -ENOMEM;
		}
	} else {
		/* copied: done as far as fio is concerned; the part carries any failure */
		req->result = (int64_t)req->len;
		if (ctx->nheld == ctx->cap && grow(ctx))
			return -ENOMEM;
		ctx->held[ctx->nheld++] = req;
	}
	/* fully written: the next write of this file starts a new upload */
	if (up->ncovered == up->plan.nparts)
		f->up = NULL;
	return 0;
}

static int s3_submit(struct storage_ctx *ctx, struct storage_req *req)
{
	int ret;

	switch (req->op) {
	case STORAGE_READ:
		ret = submit_read(ctx, req);
		break;
	case STORAGE_WRITE:
		ret = submit_write(ctx, req);
		break;
	default:
		/* an object is durable once its upload has answered: nothing to sync */
		req->result = 0;
		if (ctx->nheld == ctx->cap && grow(ctx))
			return -ENOMEM;
		ctx->held[ctx->nheld++] = req;
		ret = 0;
		break;
	}
	if (!ret)
		ctx->nsubmitted++;
	return ret;
}

static int s3_flush(struct storage_ctx *ctx, char *err, size_t errlen)
{
	unsigned int n = ctx->nsubmitted;

	(void)err;
	(void)errlen;
	start_queued(ctx);
	for (unsigned int i = 0; i < ctx->nheld; i++) {
		if (ctx->nready == ctx->cap && grow(ctx))
			return -ENOMEM;
		ctx->ready[ctx->nready++] = ctx->held[i];
	}
	ctx->nheld = 0;
	ctx->nsubmitted = 0;
	/* get the requests onto the wire now, not at the next reap */
	if (n && http_pending(ctx->loop))
		http_run(ctx->loop, &(struct timespec){ 0, 0 });
	return (int)n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int s3_reap(struct storage_ctx *ctx, struct storage_req **done, unsigned int min,
		   unsigned int max, const struct timespec *timeout, char *err, size_t errlen)
{
	uint64_t deadline = 0;
	unsigned int n = 0, take;
	bool polled = false;

	if (timeout)
		deadline = mono_ns() + (uint64_t)timeout->tv_sec * 1000000000ull +
			   (uint64_t)timeout->tv_nsec;
	for (;;) {
		struct timespec left, *lp = NULL;
		int ret;

		take = ctx->nready < max - n ? ctx->nready : max - n;
		if (take) {
			memcpy(done + n, ctx->ready, take * sizeof(*done));
			memmove(ctx->ready, ctx->ready + take,
				(ctx->nready - take) * sizeof(*ctx->ready));
			ctx->nready -= take;
			n += take;
		}
		/* a poll (min 0) still gives the transfers one turn */
		if (n >= max || (n >= min && (n || polled)))
			break;
		start_queued(ctx);
		if (!http_pending(ctx->loop)) {
			if (n >= min)
				break;
			errbuf_set(err, errlen, "s3: waiting for %u completions with none in flight",
				min - n);
			return -EIO;
		}
		if (timeout) {
			uint64_t now = mono_ns(), rem = now >= deadline ? 0 : deadline - now;

			if (polled && !rem)
				break;
			left.tv_sec = (time_t)(rem / 1000000000ull);
			left.tv_nsec = (long)(rem % 1000000000ull);
			lp = &left;
		} else if (!min) {
			left.tv_sec = 0;
			left.tv_nsec = 0;
			lp = &left;
		}
		ret = http_run(ctx->loop, lp);
		polled = true;
		if (ret < 0) {
			errbuf_set(err, errlen, "s3: the HTTP loop failed: %s", strerror(-ret));
			return ret;
		}
	}
	return (int)n;
}

const struct storage_backend storage_s3_backend = {
	.scheme = "s3",
	.description = "S3 objects (AWS, Ceph, MinIO, any S3-compatible store)",
	.ctx_new = s3_ctx_new,
	.ctx_free = s3_ctx_free,
	.stat = s3_stat,
	.unlink = s3_unlink,
	.open = s3_open,
	.close = s3_close,
	.extend = s3_extend,
	.fd = s3_fd,
	.size_hint = s3_size_hint,
	.list = s3_list,
	.describe = s3_describe,
	.summary = s3_summary,
	.submit = s3_submit,
	.flush = s3_flush,
	.reap = s3_reap,
};
