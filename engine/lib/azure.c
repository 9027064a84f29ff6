/*
 * az:// — Azure Blob storage (or Azurite) through the shared HTTP loop (http.h).
 *
 * A storage path is "account/container/blob".  Reads are Get Blob with x-ms-range at fio's
 * offsets (the whole blob when one read covers it).  A write that covers the whole blob is one
 * Put Blob; other writes become Put Block requests whose ids are their byte offsets, so any
 * write order yields a block list in blob order, and the blob is committed with Put Block List
 * once its blocks cover it.  With az_block_size, small sequential writes are gathered into
 * blocks of up to that size.  A write completes for fio when its bytes are stored (and, for
 * the write that completes a blob, committed), so fio's latencies are the service's.  A blob
 * with a failed block is never committed: the service drops uncommitted blocks by itself.
 */
#include "storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/az_blob.h"
#include "lib/az_conf.h"
#include "lib/azure_req.h"

#define UNKNOWN_SIZE UINT64_MAX
/* List Blobs page size, and room for the response of a full page */
#define LIST_PAGE 1000
#define LIST_BODY_MAX (16u << 20)

/* One fio request while the backend holds it. */
struct az_io {
	struct storage_req *req;
	struct az_io *next;
	unsigned int refs; /* Blob requests carrying its bytes that have not finished */
	int err;
};

struct az_block {
	uint64_t off, len, seq;
	bool done;
};

struct az_op {
	struct azure_req r; /* first: the http_req's callbacks get &r.http */
	struct storage_ctx *ctx;
	struct storage_file *file;
	struct az_io *ios; /* requests whose bytes are all in this one */
	struct az_io *io;  /* a request split over several Blob requests, one of them this */
	void *owned;	   /* gathered block or block list body, freed with the op */
	size_t block;	   /* index in file->blocks (Put Block) */
	int start_err;	   /* could not be started */
	struct az_op *next;
};

struct storage_file {
	struct storage_ctx *ctx;
	struct az_uri where; /* prefix is the blob name */
	bool writing;
	uint64_t size; /* size_hint(), UNKNOWN_SIZE without one */
	unsigned int inflight;

	/* Blocks written since the last commit. */
	struct az_block *blocks;
	size_t nblocks, capblocks;
	uint64_t seq;
	uint64_t done_bytes; /* sum over finished blocks; re-written offsets count twice */
	bool failed;

	/* az_block_size: small writes gathered into one block */
	char *stage;
	uint64_t stage_off;
	size_t stage_len;
	struct az_io *stage_ios, *stage_ios_tail;

	struct storage_file *prev, *next; /* ctx->files */
};

struct stats {
	uint64_t put_blobs, block_lists, blocks, abandoned;
	uint64_t tolerated; /* failed requests that are not failures (container exists) */
};

struct storage_ctx {
	struct storage_conf conf;
	struct azure_client client;
	bool have_client;
	char created[AZ_CONTAINER_MAX]; /* container created by az_create_container */
	char first_path[AZ_ACCOUNT_MAX + AZ_CONTAINER_MAX + 2];

	struct az_io *queued, *queued_tail; /* submitted, not yet started */
	struct az_io *done, *done_tail;	    /* finished, for reap() */
	struct az_op *finished, *finished_tail; /* done() callbacks not yet handled */
	struct az_op *free_ops;
	struct az_io *free_ios;
	struct storage_file *files;
	struct stats stats;
};

static void io_finish(struct storage_ctx *ctx, struct az_io *io);

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static const char *account_of(const struct storage_file *f)
{
	return f->where.account;
}

/* ---- requests ---- */

static void op_done(struct http_req *h)
{
	struct az_op *op = (struct az_op *)h;
	struct storage_ctx *ctx = op->ctx;

	op->next = NULL;
	if (ctx->finished_tail)
		ctx->finished_tail->next = op;
	else
		ctx->finished = op;
	ctx->finished_tail = op;
}

static struct az_op *op_get(struct storage_ctx *ctx, enum azure_op kind, struct storage_file *f)
{
	struct az_op *op = ctx->free_ops;
	CURL *easy = NULL;
	const struct http_loop *easy_loop = NULL;
	const char *easy_proxy = NULL;
	CURLU *easy_url = NULL;
	char *easy_url_str = NULL;
	char *url = NULL;
	struct curl_slist *headers = NULL;

	if (op) {
		ctx->free_ops = op->next;
		/* keep the easy handle (and so its buffers) for the next request */
		easy = op->r.http.easy;
		easy_loop = op->r.http.easy_loop;
		easy_proxy = op->r.http.easy_proxy;
		easy_url = op->r.http.easy_url;
		easy_url_str = op->r.http.easy_url_str;
		url = op->r.http.url;
		headers = op->r.http.headers;
		memset(op, 0, sizeof(*op));
	} else {
		op = calloc(1, sizeof(*op));
		if (!op)
			return NULL;
	}
	op->r.http.easy = easy;
	op->r.http.easy_loop = easy_loop;
	op->r.http.easy_proxy = easy_proxy;
	op->r.http.easy_url = easy_url;
	op->r.http.easy_url_str = easy_url_str;
	op->r.http.url = url;
	op->r.http.headers = headers;
	op->r.http.prepare = azure_req_prepare;
	op->r.http.done = op_done;
	op->r.client = &ctx->client;
	op->r.op = kind;
	op->ctx = ctx;
	op->file = f;
	if (f) {
		op->r.container = f->where.container;
		op->r.blob = f->where.prefix;
	}
	return op;
}

static void op_put(struct storage_ctx *ctx, struct az_op *op)
{
	free(op->owned);
	op->owned = NULL;
	op->next = ctx->free_ops;
	ctx->free_ops = op;
}

/* Starts a request; one that cannot start finishes at once with the reason. */
static void op_start(struct az_op *op)
{
	int ret;

	if (op->file)
		op->file->inflight++;
	ret = http_submit(op->ctx->client.loop, &op->r.http);
	if (ret) {
		op->start_err = ret;
		op_done(&op->r.http);
	}
}

/* A request's error text for fio; an op that could not start says why. */
static void op_error(const struct az_op *op, char *out, size_t len)
{
	if (op->start_err) {
		snprintf(out, len, "%s %s/%s/%s: %s", azure_op_name(op->r.op),
			 op->r.client->cred.account, op->r.container, op->r.blob,
			 op->r.http.curl_err[0] ? op->r.http.curl_err : strerror(-op->start_err));
		return;
	}
	azure_req_error(&op->r, out, len);
}

static int op_result(const struct az_op *op)
{
	return op->start_err ? op->start_err : azure_req_errno(&op->r);
}

/* Runs one request to its end on the context's loop (others keep going meanwhile). */
static int op_perform(struct az_op *op)
{
	int ret;

	if (op->file)
		op->file->inflight++;
	ret = http_perform(op->ctx->client.loop, &op->r.http);
	if (op->file)
		op->file->inflight--;
	if (ret)
		op->start_err = ret;
	return op_result(op);
}

/* ---- fio requests ---- */

static struct az_io *io_get(struct storage_ctx *ctx, struct storage_req *req)
{
	struct az_io *io = ctx->free_ios;

	if (io)
		ctx->free_ios = io->next;
	else if (!(io = malloc(sizeof(*io))))
		return NULL;
	memset(io, 0, sizeof(*io));
	io->req = req;
	return io;
}

static void io_fail(struct az_io *io, int err, const char *msg)
{
	if (io->err)
		return;
	io->err = err < 0 ? err : -EIO;
	snprintf(io->req->err, sizeof(io->req->err), "az: %.*s", (int)sizeof(io->req->err) - 5,
		 msg);
}

/* To the done list; reap() hands it back and recycles the az_io. */
static void io_finish(struct storage_ctx *ctx, struct az_io *io)
{
	struct storage_req *req = io->req;

	if (io->err)
		req->result = io->err;
	else if (req->op != STORAGE_READ)
		req->result = (int64_t)req->len;
	io->next = NULL;
	if (ctx->done_tail)
		ctx->done_tail->next = io;
	else
		ctx->done = io;
	ctx->done_tail = io;
}

/* ---- writes ---- */

static int cmp_block(const void *a, const void *b)
{
	const struct az_block *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The block ids to commit, in blob order: for each offset the block written last (a
 * re-written offset replaces the earlier block, as the service does for a re-used id).  They
 * must tile [0, end) without gaps or overlaps; end is the blob's size, or UNKNOWN_SIZE for
 * "wherever the blocks end".
 */
static int plan_commit(const struct storage_file *f, uint64_t end, uint64_t **ids, size_t *n,
		       uint64_t *gap)
{
	struct az_block *b;
	uint64_t *out, at = 0;
	size_t k = 0;

	*ids = NULL;
	*n = 0;
	*gap = 0;
	b = malloc(f->nblocks * sizeof(*b));
	out = malloc(f->nblocks * sizeof(*out));
	if (!b || !out) {
		free(b);
		free(out);
		return -ENOMEM;
	}
	memcpy(b, f->blocks, f->nblocks * sizeof(*b));
	qsort(b, f->nblocks, sizeof(*b), cmp_block);
	for (size_t i = 0; i < f->nblocks; i++) {
		if (i + 1 < f->nblocks && b[i + 1].off == b[i].off)
			continue; /* a later write of the same offset */
		if (!b[i].done || b[i].off != at)
			break;
		out[k++] = b[i].off;
		at += b[i].len;
	}
	free(b);
	if (!k || (end != UNKNOWN_SIZE && at != end)) {
		*gap = at;
		free(out);
		return -ENODATA;
	}
	if (end == UNKNOWN_SIZE) {
		/* every block must be part of the run, or there is a hole */
		uint64_t total = 0;

		for (size_t i = 0; i < f->nblocks; i++)
			if (f->blocks[i].off + f->blocks[i].len > total)
				total = f->blocks[i].off + f->blocks[i].len;
		if (total != at) {
			*gap = at;
			free(out);
			return -ENODATA;
		}
	}
	*ids = out;
	*n = k;
	return 0;
}

static void new_generation(struct storage_file *f)
{
	f->nblocks = 0;
	f->done_bytes = 0;
	f->failed = false;
}

/* The Put Block List request for the planned ids; the generation it commits ends here. */
static struct az_op *commit_op(struct storage_file *f, const uint64_t *ids, size_t n, int *ret)
{
	struct storage_ctx *ctx = f->ctx;
	size_t sz = az_blob_block_list_size(n);
	struct az_op *op = op_get(ctx, AZURE_PUT_BLOCK_LIST, f);
	int len;

	*ret = -ENOMEM;
	if (!op)
		return NULL;
	op->owned = malloc(sz);
	if (!op->owned) {
		op_put(ctx, op);
		return NULL;
	}
	len = az_blob_block_list_xml_ids(ids, n, op->owned, sz);
	if (len < 0) {
		*ret = len;
		op_put(ctx, op);
		return NULL;
	}
	op->r.http.upload = op->owned;
	op->r.http.upload_len = (size_t)len;
	new_generation(f);
	*ret = 0;
	return op;
}

/* After a block finished: if the blob is now whole, commit it; the writes that finished
 * with this block wait for the commit. */
static bool maybe_commit(struct storage_file *f, struct az_io *waiting)
{
	uint64_t *ids, gap;
	size_t n;
	struct az_op *op;
	int ret;

	if (f->failed || f->size == UNKNOWN_SIZE || f->inflight || f->stage_len ||
	    f->done_bytes < f->size)
		return false;
	if (plan_commit(f, f->size, &ids, &n, &gap))
		return false;
	op = commit_op(f, ids, n, &ret);
	free(ids);
	if (!op) {
		for (struct az_io *io = waiting; io; io = io->next) {
			char msg[STORAGE_ERR_LEN];

			seterr(msg, sizeof(msg), 0, "cannot commit %s/%s/%s: %s", account_of(f),
				 f->where.container, f->where.prefix, strerror(-ret));
			io_fail(io, ret, msg);
		}
		return false;
	}
	op->ios = waiting;
	op_start(op);
	return true;
}

static int add_block(struct storage_file *f, uint64_t off, uint64_t len, size_t *index,
		     char *err, size_t errlen)
{
	if (f->nblocks >= AZ_BLOB_MAX_BLOCKS)
		return seterr(err, errlen, -EFBIG,
			      "%s/%s/%s needs more than %d blocks before it is complete: use a "
			      "larger bs or az_block_size",
			      account_of(f), f->where.container, f->where.prefix,
			      AZ_BLOB_MAX_BLOCKS);
	if (f->nblocks == f->capblocks) {
		size_t cap = f->capblocks ? f->capblocks * 2 : 64;
		struct az_block *b = realloc(f->blocks, cap * sizeof(*b));

		if (!b)
			return seterr(err, errlen, -ENOMEM, "out of memory");
		f->blocks = b;
		f->capblocks = cap;
	}
	f->blocks[f->nblocks] = (struct az_block){ .off = off, .len = len, .seq = f->seq++ };
	*index = f->nblocks++;
	return 0;
}

/* Put Block of len bytes at buf (blob offset off). */
static int put_block(struct storage_file *f, uint64_t off, const void *buf, size_t len,
		     void *owned, struct az_io *ios, struct az_io *split, char *err, size_t errlen)
{
	struct az_op *op;
	size_t index = 0;
	int ret;

	ret = add_block(f, off, len, &index, err, errlen);
	if (ret)
		return ret;
	op = op_get(f->ctx, AZURE_PUT_BLOCK, f);
	if (!op) {
		f->nblocks--;
		return seterr(err, errlen, -ENOMEM, "out of memory");
	}
	op->r.block_id = off;
	op->r.http.upload = buf;
	op->r.http.upload_len = len;
	op->owned = owned;
	op->ios = ios;
	op->io = split;
	op->block = index;
	f->ctx->stats.blocks++;
	op_start(op);
	return 0;
}

/* Sends the gathered block; the writes in it finish when it does. */
static int launch_stage(struct storage_file *f, char *err, size_t errlen)
{
	int ret;

	if (!f->stage_len)
		return 0;
	ret = put_block(f, f->stage_off, f->stage, f->stage_len, f->stage, f->stage_ios, NULL,
			err, errlen);
	if (ret)
		return ret;
	f->stage = NULL;
	f->stage_off += f->stage_len;
	f->stage_len = 0;
	f->stage_ios = f->stage_ios_tail = NULL;
	return 0;
}

static void fail_stage(struct storage_file *f, int ret, const char *msg);

/* launch_stage(), failing the writes in the block if it cannot be sent. */
static int flush_stage(struct storage_file *f, char *err, size_t errlen)
{
	int ret = launch_stage(f, err, errlen);

	if (ret)
		fail_stage(f, ret, err);
	return ret;
}

static void fail_stage(struct storage_file *f, int ret, const char *msg)
{
	struct az_io *io = f->stage_ios, *next;

	for (; io; io = next) {
		next = io->next;
		io_fail(io, ret, msg);
		io_finish(f->ctx, io);
	}
	f->stage_ios = f->stage_ios_tail = NULL;
	f->stage_len = 0;
	f->failed = true;
}

static int start_write(struct storage_ctx *ctx, struct az_io *io, char *err, size_t errlen)
{
	struct storage_req *req = io->req;
	struct storage_file *f = req->file;
	uint64_t bsize = ctx->conf.az_block_size;
	int ret;

	if (!f->writing)
		return seterr(err, errlen, -EBADF, "%s/%s/%s was opened for reading",
			      account_of(f), f->where.container, f->where.prefix);
	if (f->failed)
		return seterr(err, errlen, -EIO,
			      "%s/%s/%s: an earlier write of this blob failed, so it will not "
			      "be committed",
			      account_of(f), f->where.container, f->where.prefix);

	/* one request for the whole blob */
	if (req->offset == 0 && f->size != UNKNOWN_SIZE && req->len == f->size && !f->nblocks &&
	    !f->stage_len && !f->inflight) {
		struct az_op *op = op_get(ctx, AZURE_PUT_BLOB, f);

		if (!op)
			return seterr(err, errlen, -ENOMEM, "out of memory");
		op->r.http.upload = req->buf;
		op->r.http.upload_len = req->len;
		op->io = io;
		io->refs = 1;
		op_start(op);
		return 0;
	}

	if (!bsize || req->len >= bsize) {
		/* straight from fio's buffer: one block, or az_block_size pieces of it */
		uint64_t piece = bsize ? bsize : req->len, pos = 0;

		if ((ret = flush_stage(f, err, errlen)))
			return ret;
		io->refs = (unsigned int)((req->len + piece - 1) / piece);
		for (unsigned int i = 0, n = io->refs; i < n; i++) {
			uint64_t len = req->len - pos < piece ? req->len - pos : piece;

			ret = put_block(f, req->offset + pos, (const char *)req->buf + pos, len,
					NULL, NULL, io, err, errlen);
			if (ret) {
				/* the pieces already sent still finish and drop their refs */
				io->refs -= n - i;
				io_fail(io, ret, err);
				f->failed = true;
				if (!io->refs)
					io_finish(ctx, io);
				return 0;
			}
			pos += len;
		}
		return 0;
	}

	/* gather: a write that does not continue the block, or does not fit, sends it first */
	if (f->stage_len &&
	    (req->offset != f->stage_off + f->stage_len || f->stage_len + req->len > bsize) &&
	    (ret = flush_stage(f, err, errlen)))
		return ret;
	if (!f->stage) {
		f->stage = malloc(bsize);
		if (!f->stage)
			return seterr(err, errlen, -ENOMEM, "out of memory for a %" PRIu64
					" byte block", bsize);
	}
	if (!f->stage_len)
		f->stage_off = req->offset;
	memcpy(f->stage + f->stage_len, req->buf, req->len);
	f->stage_len += req->len;
	io->refs = 1;
	if (f->stage_ios_tail)
		f->stage_ios_tail->next = io;
	else
		f->stage_ios = io;
	f->stage_ios_tail = io;
	if (f->stage_len == bsize ||
	    (f->size != UNKNOWN_SIZE && f->stage_off + f->stage_len >= f->size))
		flush_stage(f, err, errlen);
	return 0;
}

static int start_read(struct storage_ctx *ctx, struct az_io *io, char *err, size_t errlen)
{
	struct storage_req *req = io->req;
	struct storage_file *f = req->file;
	struct az_op *op = op_get(ctx, AZURE_GET_BLOB, f);

	if (!op)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	/* a read that covers the whole blob needs no range */
	if (!(req->offset == 0 && f->size != UNKNOWN_SIZE && req->len >= f->size)) {
		op->r.range_off = req->offset;
		op->r.range_len = req->len;
	}
	op->r.http.download = req->buf;
	op->r.http.download_cap = req->len;
	op->io = io;
	io->refs = 1;
	op_start(op);
	return 0;
}

static void start_io(struct storage_ctx *ctx, struct az_io *io)
{
	char err[STORAGE_ERR_LEN];
	int ret = 0;

	switch (io->req->op) {
	case STORAGE_READ:
		ret = start_read(ctx, io, err, sizeof(err));
		break;
	case STORAGE_WRITE:
		ret = start_write(ctx, io, err, sizeof(err));
		break;
	case STORAGE_FSYNC:
	case STORAGE_FDATASYNC:
		/* a committed blob is durable; there is nothing to flush */
		io_finish(ctx, io);
		return;
	}
	if (ret) {
		io_fail(io, ret, err);
		io_finish(ctx, io);
	}
}

/* ---- completions ---- */

static void drop_ref(struct az_io *io, struct az_io **ready)
{
	if (--io->refs)
		return;
	io->next = *ready;
	*ready = io;
}

static void handle_finished(struct storage_ctx *ctx, struct az_op *op)
{
	struct storage_file *f = op->file;
	int ret = op_result(op);
	struct az_io *ready = NULL, *io, *next;
	char msg[STORAGE_ERR_LEN];

	if (f)
		f->inflight--;
	if (ret)
		op_error(op, msg, sizeof(msg));

	switch (op->r.op) {
	case AZURE_GET_BLOB:
		io = op->io;
		if (ret) {
			io_fail(io, ret, msg);
		} else if (!op->r.http.received && io->req->len) {
			seterr(msg, sizeof(msg), 0,
				 "Get Blob %s/%s/%s at offset %" PRIu64
				 " returned no data: past the end of the blob",
				 account_of(f), f->where.container, f->where.prefix,
				 io->req->offset);
			io_fail(io, -EINVAL, msg);
		} else {
			/* a short read (the blob ends inside the range) is fio's to handle */
			io->req->result = (int64_t)op->r.http.received;
		}
		io_finish(ctx, io);
		break;
	case AZURE_PUT_BLOB:
	case AZURE_PUT_BLOCK_LIST:
		if (ret) {
			f->failed = true;
		} else if (op->r.op == AZURE_PUT_BLOB) {
			ctx->stats.put_blobs++;
		} else {
			ctx->stats.block_lists++;
		}
		for (io = op->io ? op->io : op->ios; io; io = next) {
			next = op->io ? NULL : io->next;
			if (ret)
				io_fail(io, ret, msg);
			io_finish(ctx, io);
		}
		break;
	case AZURE_PUT_BLOCK:
		if (ret) {
			f->failed = true;
		} else {
			f->blocks[op->block].done = true;
			f->done_bytes += f->blocks[op->block].len;
		}
		if (op->io) {
			if (ret)
				io_fail(op->io, ret, msg);
			drop_ref(op->io, &ready);
		}
		for (io = op->ios; io; io = next) {
			next = io->next;
			if (ret)
				io_fail(io, ret, msg);
			drop_ref(io, &ready);
		}
		if (ready && !ret && maybe_commit(f, ready))
			break;
		for (io = ready; io; io = next) {
			next = io->next;
			io_finish(ctx, io);
		}
		break;
	default:
		break;
	}
	op_put(ctx, op);
}

static void handle_all_finished(struct storage_ctx *ctx)
{
	while (ctx->finished) {
		struct az_op *op = ctx->finished;

		ctx->finished = op->next;
		if (!ctx->finished)
			ctx->finished_tail = NULL;
		handle_finished(ctx, op);
	}
}

/* ---- backend operations ---- */

static int az_ctx_new(const struct storage_conf *conf, struct storage_ctx **out, char *err,
		      size_t errlen)
{
	struct storage_ctx *ctx = calloc(1, sizeof(*ctx));
	struct az_uri where;
	int ret;

	if (!ctx)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	ctx->conf = *conf;
	/* credentials depend on the account, which the first file names */
	if (conf->first_path) {
		ret = azure_split_path(conf->first_path, &where, err, errlen);
		if (!ret)
			ret = azure_client_init(&ctx->client, conf, where.account, err, errlen);
		if (ret) {
			free(ctx);
			return ret;
		}
		ctx->have_client = true;
	}
	ctx->conf.first_path = NULL;
	*out = ctx;
	return 0;
}

static void az_ctx_free(struct storage_ctx *ctx)
{
	if (!ctx)
		return;
	/* abandons what is in flight; fio has reaped all it cares about */
	if (ctx->have_client)
		azure_client_free(&ctx->client);
	while (ctx->free_ops) {
		struct az_op *op = ctx->free_ops;

		ctx->free_ops = op->next;
		http_req_release(&op->r.http);
		free(op);
	}
	while (ctx->finished) {
		struct az_op *op = ctx->finished;

		ctx->finished = op->next;
		http_req_release(&op->r.http);
		free(op->owned);
		free(op);
	}
	while (ctx->free_ios) {
		struct az_io *io = ctx->free_ios;

		ctx->free_ios = io->next;
		free(io);
	}
	while (ctx->queued) {
		struct az_io *io = ctx->queued;

		ctx->queued = io->next;
		free(io);
	}
	while (ctx->done) {
		struct az_io *io = ctx->done;

		ctx->done = io->next;
		free(io);
	}
	memset(&ctx->conf, 0, sizeof(ctx->conf));
	free(ctx);
}

/* A one-request client for stat/unlink/list: they may run in fio's parent before it forks,
 * so nothing (no connection) may outlive the call. */
static int oneshot(const struct storage_conf *conf, const char *path, enum azure_op kind,
		   struct azure_client *cl, struct azure_req *r, struct az_uri *where, char *err,
		   size_t errlen)
{
	int ret = azure_split_path(path, where, err, errlen);

	if (ret)
		return ret;
	ret = azure_client_init(cl, conf, where->account, err, errlen);
	if (ret)
		return ret;
	memset(r, 0, sizeof(*r));
	r->client = cl;
	r->op = kind;
	r->container = where->container;
	r->blob = where->prefix;
	r->http.prepare = azure_req_prepare;
	return 0;
}

static int oneshot_perform(struct azure_client *cl, struct azure_req *r, char *err,
			   size_t errlen)
{
	int ret = http_perform(cl->loop, &r->http);

	if (!ret)
		ret = azure_req_errno(r);
	else if (!r->http.curl_err[0])
		snprintf(r->http.curl_err, sizeof(r->http.curl_err), "%s", strerror(-ret));
	if (ret)
		azure_req_error(r, err, errlen);
	return ret;
}

static void oneshot_end(struct azure_client *cl, struct azure_req *r)
{
	http_req_release(&r->http);
	azure_client_free(cl);
}

static int az_stat(const struct storage_conf *conf, const char *path, uint64_t *size, char *err,
		   size_t errlen)
{
	struct azure_client cl;
	struct azure_req r;
	struct az_uri where;
	int ret;

	ret = oneshot(conf, path, AZURE_GET_PROPERTIES, &cl, &r, &where, err, errlen);
	if (ret)
		return ret;
	if (!where.prefix[0]) {
		azure_client_free(&cl);
		return seterr(err, errlen, -EISDIR, "az://%s names a container, not a blob", path);
	}
	ret = oneshot_perform(&cl, &r, err, errlen);
	if (!ret) {
		if (r.http.content_length < 0)
			ret = seterr(err, errlen, -EIO,
				     "Get Blob Properties %s: no Content-Length in the answer", path);
		else
			*size = (uint64_t)r.http.content_length;
	}
	oneshot_end(&cl, &r);
	return ret;
}

static int az_unlink(const struct storage_conf *conf, const char *path, char *err,
		     size_t errlen)
{
	struct azure_client cl;
	struct azure_req r;
	struct az_uri where;
	int ret;

	ret = oneshot(conf, path, AZURE_DELETE_BLOB, &cl, &r, &where, err, errlen);
	if (ret)
		return ret;
	if (!where.prefix[0]) {
		azure_client_free(&cl);
		return seterr(err, errlen, -EISDIR, "az://%s names a container, not a blob", path);
	}
	ret = oneshot_perform(&cl, &r, err, errlen);
	/* fio unlinks every file twice (before and after closing it) */
	if (ret == -ENOENT)
		ret = 0;
	oneshot_end(&cl, &r);
	return ret;
}

struct list_walk {
	storage_list_fn fn;
	void *arg;
	const struct az_uri *where;
	char path[AZ_ACCOUNT_MAX + AZ_CONTAINER_MAX + 4097];
};

static int list_one(void *arg, const char *name, uint64_t size)
{
	struct list_walk *w = arg;

	if ((size_t)snprintf(w->path, sizeof(w->path), "%s/%s/%s", w->where->account,
			     w->where->container, name) >= sizeof(w->path))
		return -ENAMETOOLONG;
	return w->fn(w->arg, w->path, size);
}

static int az_list(const struct storage_conf *conf, const char *prefix, storage_list_fn fn,
		   void *arg, char *err, size_t errlen)
{
	struct azure_client cl;
	struct azure_req r;
	struct az_uri where;
	struct list_walk walk = { .fn = fn, .arg = arg, .where = &where };
	char marker[1024] = "", next[1024];
	char blob_prefix[AZ_BLOB_NAME_MAX];
	char *body;
	int ret;

	ret = oneshot(conf, prefix, AZURE_LIST_BLOBS, &cl, &r, &where, err, errlen);
	if (ret)
		return ret;
	body = malloc(LIST_BODY_MAX);
	if (!body) {
		oneshot_end(&cl, &r);
		return seterr(err, errlen, -ENOMEM, "out of memory");
	}
	snprintf(blob_prefix, sizeof(blob_prefix), "%s", where.prefix);
	do {
		http_req_release(&r.http);
		memset(&r.http, 0, sizeof(r.http));
		r.http.prepare = azure_req_prepare;
		r.blob = "";
		r.list_prefix = blob_prefix;
		r.list_marker = marker;
		r.list_max = LIST_PAGE;
		r.http.download = body;
		r.http.download_cap = LIST_BODY_MAX;
		ret = oneshot_perform(&cl, &r, err, errlen);
		if (ret)
			break;
		ret = az_blob_parse_list(body, r.http.received, list_one, &walk, next,
					 sizeof(next));
		if (ret < 0) {
			if (ret == -EINVAL)
				snprintf(err, errlen,
					 "List Blobs %s/%s prefix '%s': the answer is not a blob "
					 "list",
					 where.account, where.container, blob_prefix);
			else if (!err[0] || ret == -ENAMETOOLONG)
				snprintf(err, errlen, "List Blobs %s/%s prefix '%s': %s",
					 where.account, where.container, blob_prefix,
					 strerror(-ret));
			break;
		}
		ret = 0;
		memcpy(marker, next, sizeof(marker));
	} while (marker[0]);
	free(body);
	oneshot_end(&cl, &r);
	return ret;
}

static int create_container(struct storage_ctx *ctx, struct storage_file *f, char *err,
			    size_t errlen)
{
	struct az_op *op;
	int ret;

	if (!strcmp(ctx->created, f->where.container))
		return 0;
	op = op_get(ctx, AZURE_CREATE_CONTAINER, NULL);
	if (!op)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	op->r.container = f->where.container;
	op->r.blob = "";
	op->r.http.upload = "";
	op->r.http.upload_len = 0;
	ret = op_perform(op);
	/* another job (numjobs) may have created it first */
	if (ret == -EEXIST && !strcmp(op->r.http.error_code, "ContainerAlreadyExists")) {
		ctx->stats.tolerated++;
		ret = 0;
	}
	if (ret)
		op_error(op, err, errlen);
	else
		snprintf(ctx->created, sizeof(ctx->created), "%s", f->where.container);
	op_put(ctx, op);
	return ret;
}

static int az_open(struct storage_ctx *ctx, const char *path, int flags,
		   struct storage_file **out, char *err, size_t errlen)
{
	struct storage_file *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	ret = azure_split_path(path, &f->where, err, errlen);
	if (ret)
		goto fail;
	if (!f->where.prefix[0]) {
		ret = seterr(err, errlen, -EISDIR, "az://%s names a container, not a blob", path);
		goto fail;
	}
	if (!ctx->have_client) {
		ret = azure_client_init(&ctx->client, &ctx->conf, f->where.account, err, errlen);
		if (ret)
			goto fail;
		ctx->have_client = true;
	} else if (strcmp(ctx->client.cred.account, f->where.account)) {
		ret = seterr(err, errlen, -EINVAL,
			     "all blobs of a job must be in one storage account: %s and %s",
			     ctx->client.cred.account, f->where.account);
		goto fail;
	}
	f->ctx = ctx;
	f->size = UNKNOWN_SIZE;
	f->writing = flags & STORAGE_O_WRITE;
	if (f->writing && ctx->conf.az_create_container) {
		ret = create_container(ctx, f, err, errlen);
		if (ret)
			goto fail;
	}
	if (f->writing && !(flags & STORAGE_O_CREATE)) {
		/* allow_file_create=0: the blob must exist already */
		struct az_op *op = op_get(ctx, AZURE_GET_PROPERTIES, f);

		if (!op) {
			ret = seterr(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		ret = op_perform(op);
		if (ret)
			op_error(op, err, errlen);
		op_put(ctx, op);
		if (ret)
			goto fail;
	}
	f->next = ctx->files;
	if (ctx->files)
		ctx->files->prev = f;
	ctx->files = f;
	*out = f;
	return 0;
fail:
	free(f);
	return ret;
}

static int az_size_hint(struct storage_ctx *ctx, struct storage_file *f, uint64_t size,
			char *err, size_t errlen)
{
	uint64_t bsize = ctx->conf.az_block_size;

	f->size = size ? size : UNKNOWN_SIZE;
	/* a blob written in pieces of at least bs (or az_block_size) bytes */
	if (f->writing && size) {
		uint64_t piece = bsize ? bsize : ctx->conf.write_bs_min;

		if (piece && (size + piece - 1) / piece > AZ_BLOB_MAX_BLOCKS)
			return seterr(err, errlen, -EFBIG,
				      "%s/%s/%s: %" PRIu64 " bytes in blocks of %" PRIu64
				      " bytes would need more than the service's %d blocks; use a "
				      "larger bs or az_block_size",
				      account_of(f), f->where.container, f->where.prefix, size,
				      piece, AZ_BLOB_MAX_BLOCKS);
	}
	return 0;
}

/* Drives the loop until nothing of this file is in flight. */
static int drain_file(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen)
{
	while (f->inflight) {
		int ret;

		if (!http_pending(ctx->client.loop) && !ctx->finished)
			return seterr(err, errlen, -EIO, "az: %u requests of %s/%s/%s are lost",
				      f->inflight, account_of(f), f->where.container,
				      f->where.prefix);
		ret = http_run(ctx->client.loop, NULL);

		if (ret < 0)
			return seterr(err, errlen, ret, "HTTP loop failed: %s", strerror(-ret));
		handle_all_finished(ctx);
	}
	return 0;
}

static int az_close(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen)
{
	int ret = 0;

	if (f->stage_len)
		ret = flush_stage(f, err, errlen);
	if (!ret)
		ret = drain_file(ctx, f, err, errlen);
	/* What the job wrote but did not complete (it stopped early): commit it if it is a
	 * whole prefix of the blob; never a blob with holes or with a failed block. */
	if (!ret && f->writing && f->nblocks && !f->failed) {
		uint64_t *ids, gap;
		size_t n;
		struct az_op *op;

		ret = plan_commit(f, UNKNOWN_SIZE, &ids, &n, &gap);
		if (ret == -ENODATA) {
			ctx->stats.abandoned++;
			ret = seterr(err, errlen, -EIO,
				     "%s/%s/%s not committed: the job's writes leave bytes from "
				     "%" PRIu64 " unwritten",
				     account_of(f), f->where.container, f->where.prefix, gap);
		} else if (!ret) {
			op = commit_op(f, ids, n, &ret);
			free(ids);
			if (op) {
				ret = op_perform(op);
				if (ret) {
					op_error(op, err, errlen);
					ctx->stats.abandoned++;
				} else {
					ctx->stats.block_lists++;
				}
				op_put(ctx, op);
			}
		}
	} else if (f->writing && f->nblocks && f->failed) {
		ctx->stats.abandoned++;
	}
	if (f->prev)
		f->prev->next = f->next;
	else
		ctx->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	free(f->stage);
	free(f->blocks);
	free(f);
	return ret;
}

static int az_extend(struct storage_ctx *ctx, struct storage_file *f, uint64_t size, char *err,
		     size_t errlen)
{
	char path[AZ_ACCOUNT_MAX + AZ_CONTAINER_MAX + AZ_BLOB_NAME_MAX + 4];
	uint64_t have = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/%s/%s", f->where.account, f->where.container,
		 f->where.prefix);
	ret = az_stat(&ctx->conf, path, &have, err, errlen);
	if (ret == -ENOENT || (!ret && have < size))
		return seterr(err, errlen, -EOPNOTSUPP,
			      "az://%s: a job that reads and writes a blob needs it to exist with "
			      "at least %" PRIu64 " bytes (blobs are not laid out); write it in an "
			      "earlier job",
			      path, size);
	return ret;
}

static int az_fd(const struct storage_file *f)
{
	(void)f;
	return -1;
}

static int az_submit(struct storage_ctx *ctx, struct storage_req *req)
{
	struct az_io *io = io_get(ctx, req);

	if (!io) {
		snprintf(req->err, sizeof(req->err), "az: out of memory");
		return -ENOMEM;
	}
	if (ctx->queued_tail)
		ctx->queued_tail->next = io;
	else
		ctx->queued = io;
	ctx->queued_tail = io;
	return 0;
}

static int az_flush(struct storage_ctx *ctx, char *err, size_t errlen)
{
	int n = 0;

	(void)err;
	(void)errlen;
	while (ctx->queued) {
		struct az_io *io = ctx->queued;

		ctx->queued = io->next;
		if (!ctx->queued)
			ctx->queued_tail = NULL;
		io->next = NULL;
		start_io(ctx, io);
		n++;
	}
	return n;
}

/* Nothing is on the wire but writes wait in gathered blocks: send them, or nothing would
 * ever finish (fio waits for these very writes before it writes more). */
static bool launch_stages(struct storage_ctx *ctx)
{
	bool any = false;

	for (struct storage_file *f = ctx->files; f; f = f->next) {
		char err[STORAGE_ERR_LEN];

		if (!f->stage_len)
			continue;
		any = true;
		flush_stage(f, err, sizeof(err));
	}
	return any;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned int take_done(struct storage_ctx *ctx, struct storage_req **done,
			      unsigned int max)
{
	unsigned int n = 0;

	while (ctx->done && n < max) {
		struct az_io *io = ctx->done;

		ctx->done = io->next;
		if (!ctx->done)
			ctx->done_tail = NULL;
		done[n++] = io->req;
		io->next = ctx->free_ios;
		ctx->free_ios = io;
	}
	return n;
}

static int az_reap(struct storage_ctx *ctx, struct storage_req **done, unsigned int min,
		   unsigned int max, const struct timespec *timeout, char *err, size_t errlen)
{
	uint64_t deadline = 0;
	unsigned int n;

	if (ctx->queued)
		az_flush(ctx, err, errlen);
	handle_all_finished(ctx);
	n = take_done(ctx, done, max);
	if (timeout)
		deadline = now_ns() + (uint64_t)timeout->tv_sec * 1000000000ull +
			   (uint64_t)timeout->tv_nsec;
	if (!min && !n && ctx->have_client) {
		/* a poll */
		struct timespec zero = { 0, 0 };
		int ret = http_run(ctx->client.loop, &zero);

		if (ret < 0)
			return seterr(err, errlen, ret, "az: HTTP loop failed");
		handle_all_finished(ctx);
		n += take_done(ctx, done + n, max - n);
	}
	while (n < min) {
		struct timespec left, *tp = NULL;
		int ret;

		if (!ctx->have_client || !http_pending(ctx->client.loop)) {
			if (!launch_stages(ctx)) {
				handle_all_finished(ctx);
				n += take_done(ctx, done + n, max - n);
				if (n >= min)
					break;
				return seterr(err, errlen, -EIO,
					      "az: waiting for %u requests but none is in flight",
					      min - n);
			}
			handle_all_finished(ctx);
			n += take_done(ctx, done + n, max - n);
			continue;
		}
		if (timeout) {
			uint64_t now = now_ns();

			if (now >= deadline)
				break;
			left.tv_sec = (time_t)((deadline - now) / 1000000000ull);
			left.tv_nsec = (long)((deadline - now) % 1000000000ull);
			tp = &left;
		}
		ret = http_run(ctx->client.loop, tp);
		if (ret < 0)
			return seterr(err, errlen, ret, "az: HTTP loop failed");
		handle_all_finished(ctx);
		n += take_done(ctx, done + n, max - n);
	}
	return (int)n;
}

static void az_describe(struct storage_ctx *ctx, char *buf, size_t len)
{
	if (!ctx->have_client) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "az://%s: %s; x-ms-version %s", ctx->client.cred.account,
		 ctx->client.cred.source, AZURE_API_VERSION);
}

static void az_summary(struct storage_ctx *ctx, char *buf, size_t len)
{
	const struct http_stats *s;

	if (!ctx->have_client) {
		buf[0] = '\0';
		return;
	}
	s = http_loop_stats(ctx->client.loop);
	snprintf(buf, len,
		 "az: %" PRIu64 " requests, %" PRIu64 " retries (%" PRIu64 " after 5xx/429/408, "
		 "%" PRIu64 " after connection errors or timeouts), %" PRIu64 " failed; "
		 "%" PRIu64 " blobs by Put Blob, %" PRIu64 " by Put Block List (%" PRIu64
		 " blocks), %" PRIu64 " left uncommitted",
		 s->requests, s->retries, s->retry_5xx, s->retry_net,
		 s->failures - (ctx->stats.tolerated < s->failures ? ctx->stats.tolerated : s->failures),
		 ctx->stats.put_blobs, ctx->stats.block_lists, ctx->stats.blocks,
		 ctx->stats.abandoned);
}

const struct storage_backend storage_az_backend = {
	.scheme = "az",
	.description = "Azure Blob storage (and Azurite) over HTTP(S)",
	.ctx_new = az_ctx_new,
	.ctx_free = az_ctx_free,
	.stat = az_stat,
	.unlink = az_unlink,
	.open = az_open,
	.close = az_close,
	.extend = az_extend,
	.fd = az_fd,
	.size_hint = az_size_hint,
	.list = az_list,
	.describe = az_describe,
	.summary = az_summary,
	.submit = az_submit,
	.flush = az_flush,
	.reap = az_reap,
};
