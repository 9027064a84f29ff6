/*
 * file:// and direct:// — local files on io_uring.  direct:// (or direct=1 on
 * file://) opens with O_DIRECT and checks each request against the alignment
 * the file system asks for, so a misaligned job fails with a message saying
 * which of offset, length or buffer is off instead of a bare EINVAL.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* When the file system does not say (no STATX_DIOALIGN), assume the classic
 * 512-byte sector rule; a stricter device still fails with EINVAL. */
#define DEFAULT_DIO_ALIGN 512

struct storage_file {
	int fd;	  /* -1 for a file in a fixed slot */
	int slot; /* fixed-file slot (STORAGE_O_DEFER), -1: none */
	bool open_queued; /* the slot's openat goes out with the first request */
	int open_err;	  /* -errno of a deferred open that failed */
	int dirfd;	  /* a deferred open: openat(dirfd, name) */
	const char *name;
	bool direct;
	uint32_t mem_align;
	uint32_t off_align;
	char *path;
	size_t pathcap; /* bytes allocated at path */
};

#define MAX_DIRS 16

struct storage_ctx {
	struct io_uring ring;
	struct storage_conf conf;
	bool direct_scheme;
	unsigned int queued;
	/* directories of files opened for reading, held open (O_PATH) so that an open
	 * looks up only the file's own name: DLIO's loaders open a sample's file for
	 * every sample.  Kept until the context goes (a deferred open may still use
	 * one); past MAX_DIRS, opens take the whole path. */
	struct held_dir {
		int fd;
		char *path;
		size_t len;
	} dirs[MAX_DIRS];
	unsigned int ndirs, last_dir;

	/* deferred opens: a sparse fixed-file table, its free slots, the file in each */
	unsigned int nslots, nfree;
	int *free_slots;
	struct storage_file **slot_file;
	/* what each SQE not yet submitted is (1: a request, 0: an open or close), in
	 * order, so that flush() says how many requests it started */
	unsigned char *kind;
	unsigned int kind_mask, kind_head, kind_tail;
	/* a closed file kept for the next open: no allocation per sample in DLIO mode */
	struct storage_file *spare;
};

/* user_data of the SQEs that are not requests (requests carry their pointer) */
#define UD_OPEN 1
#define UD_CLOSE 2
#define UD_TAG 3
#define UD_SLOT_SHIFT 2

/*
 * The same ring set-up as fio's own io_uring engine (CQ sized to the depth,
 * cooperative and deferred task work for a single submitter), falling back
 * step by step on kernels that lack a flag.
 */
static int ring_init(struct io_uring *ring, unsigned int entries)
{
	static const unsigned int flag_sets[] = {
		IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_CQSIZE,
	};
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct io_uring_params p = { .flags = flag_sets[i], .cq_entries = entries };

		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

static void local_ctx_free(struct storage_ctx *ctx);

static int local_ctx_new(const struct storage_conf *conf, bool direct_scheme,
			 struct storage_ctx **out, char *err, size_t errlen)
{
	struct storage_ctx *ctx = calloc(1, sizeof(*ctx));
	unsigned int depth = conf->depth ? conf->depth : 1;
	/* a request may come with a deferred open and a close of the file before it */
	unsigned int entries = conf->defer_opens ? 4 * depth : depth;
	int ret;

	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = ring_init(&ctx->ring, entries);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_queue_init(%u entries) failed: %s%s", entries,
			 strerror(-ret),
			 ret == -ENOSYS || ret == -EPERM ?
				 " (io_uring is missing or disabled on this kernel: check "
				 "/proc/sys/kernel/io_uring_disabled)" :
				 "");
		free(ctx);
		return ret;
	}
	ctx->conf = *conf;
	ctx->direct_scheme = direct_scheme;
	ctx->kind_mask = ctx->ring.sq.ring_entries - 1;
	ctx->kind = calloc(ctx->ring.sq.ring_entries, 1);
	if (!ctx->kind) {
		local_ctx_free(ctx);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (conf->defer_opens && !direct_scheme && !conf->direct) {
		/* without a fixed-file table (old kernels) every open is a system call */
		unsigned int n = 2 * depth + 8;

		ctx->free_slots = calloc(n, sizeof(*ctx->free_slots));
		ctx->slot_file = calloc(n, sizeof(*ctx->slot_file));
		if (ctx->free_slots && ctx->slot_file &&
		    io_uring_register_files_sparse(&ctx->ring, n) == 0) {
			ctx->nslots = ctx->nfree = n;
			for (unsigned int i = 0; i < n; i++)
				ctx->free_slots[i] = (int)(n - 1 - i);
		}
	}
	*out = ctx;
	return 0;
}

static int file_ctx_new(const struct storage_conf *conf, struct storage_ctx **out, char *err,
			size_t errlen)
{
	return local_ctx_new(conf, false, out, err, errlen);
}

static int direct_ctx_new(const struct storage_conf *conf, struct storage_ctx **out, char *err,
			  size_t errlen)
{
	return local_ctx_new(conf, true, out, err, errlen);
}

static void local_ctx_free(struct storage_ctx *ctx)
{
	if (!ctx)
		return;
	io_uring_queue_exit(&ctx->ring);
	for (unsigned int i = 0; i < ctx->ndirs; i++) {
		close(ctx->dirs[i].fd);
		free(ctx->dirs[i].path);
	}
	free(ctx->free_slots);
	free(ctx->slot_file);
	free(ctx->kind);
	if (ctx->spare)
		free(ctx->spare->path);
	free(ctx->spare);
	free(ctx);
}

static int local_stat(const struct storage_conf *conf, const char *path, uint64_t *size,
		      char *err, size_t errlen)
{
	struct stat st;

	(void)conf;
	if (stat(path, &st)) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory, not a file", path);
		return -EISDIR;
	}
	if (S_ISBLK(st.st_mode)) {
		int fd = open(path, O_RDONLY);
		unsigned long long bytes = 0;
		int ret = 0;

		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes)) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot read block device size: %s", path,
				 strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		*size = bytes;
		return ret;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int local_unlink(const struct storage_conf *conf, const char *path, char *err,
			size_t errlen)
{
	(void)conf;
	/* fio unlinks every file twice (before and after closing it). */
	if (unlink(path) && errno != ENOENT) {
		int e = errno;

		snprintf(err, errlen, "unlink %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int mkdir_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			int e = errno;

			*p = '/';
			return -e;
		}
		*p = '/';
	}
	return 0;
}

static void dio_alignment(struct storage_file *f)
{
	struct statx sx;

	f->mem_align = f->off_align = DEFAULT_DIO_ALIGN;
	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		f->mem_align = sx.stx_dio_mem_align;
		f->off_align = sx.stx_dio_offset_align;
	}
}

/*
 * The directory to open a file of path in and the name to open there: a held
 * directory (taking it when there is room), else the path itself.  A directory that
 * cannot be opened is no error here: the open reports the path.
 */
static int dir_of(struct storage_ctx *ctx, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	struct held_dir *h;
	char *dir;
	int fd;

	*name = path;
	if (!len)
		return AT_FDCWD;
	for (unsigned int k = 0; k < ctx->ndirs; k++) {
		unsigned int i = (ctx->last_dir + k) % ctx->ndirs;

		h = &ctx->dirs[i];
		if (h->len == len && !memcmp(h->path, path, len)) {
			ctx->last_dir = i;
			*name = slash + 1;
			return h->fd;
		}
	}
	if (ctx->ndirs == MAX_DIRS || !(dir = strndup(path, len)))
		return AT_FDCWD;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(dir);
		return AT_FDCWD;
	}
	h = &ctx->dirs[ctx->ndirs];
	h->fd = fd;
	h->path = dir;
	h->len = len;
	ctx->last_dir = ctx->ndirs++;
	*name = slash + 1;
	return fd;
}

static void open_error(const char *path, int flags, bool direct, int ret, char *err,
		       size_t errlen)
{
	if (ret == -ENOENT && !(flags & STORAGE_O_CREATE))
		snprintf(err, errlen, "%s does not exist (a read needs an existing file)", path);
	else if (ret == -EINVAL && direct)
		snprintf(err, errlen,
			 "open %s with O_DIRECT: %s (the file system may not support direct I/O; "
			 "use file:// instead of direct://)",
			 path, strerror(-ret));
	else
		snprintf(err, errlen, "open %s: %s", path, strerror(-ret));
}

static int local_open(struct storage_ctx *ctx, const char *path, int flags,
		      struct storage_file **out, char *err, size_t errlen)
{
	struct storage_file *f = ctx->spare;
	size_t len = strlen(path) + 1;
	int oflags = O_CLOEXEC;
	int ret = 0;

	ctx->spare = NULL;
	if (f && f->pathcap < len) {
		free(f->path);
		free(f);
		f = NULL;
	}
	if (f) {
		char *keep = f->path;
		size_t cap = f->pathcap;

		memset(f, 0, sizeof(*f));
		f->path = keep;
		f->pathcap = cap;
	} else if ((f = calloc(1, sizeof(*f))) && (f->path = malloc(len))) {
		f->pathcap = len;
	} else {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(f->path, path, len);
	f->slot = -1;
	f->direct = ctx->direct_scheme || ctx->conf.direct;
	oflags |= (flags & STORAGE_O_WRITE) ? O_RDWR : O_RDONLY;
	if (flags & STORAGE_O_CREATE)
		oflags |= O_CREAT;
	if ((flags & STORAGE_O_TRUNC) && (flags & STORAGE_O_WRITE))
		oflags |= O_TRUNC;
	if (f->direct)
		oflags |= O_DIRECT;
	if (ctx->conf.sync_io)
		oflags |= O_SYNC;

	if (flags & (STORAGE_O_WRITE | STORAGE_O_CREATE)) {
		f->fd = open(path, oflags, 0644);
	} else {
		const char *name;
		int dfd = dir_of(ctx, path, &name);

		if ((flags & STORAGE_O_DEFER) && ctx->nfree && !f->direct) {
			/* opened by the first request's SQE, into a slot of the ring's table */
			f->fd = -1;
			f->slot = ctx->free_slots[--ctx->nfree];
			ctx->slot_file[f->slot] = f;
			f->open_queued = true;
			f->dirfd = dfd;
			f->name = f->path + (name - path);
			*out = f;
			return 0;
		}
		f->fd = openat(dfd, name, oflags);
		/* the held directory may have been removed and made again since */
		if (f->fd < 0 && errno == ENOENT && dfd != AT_FDCWD)
			f->fd = open(path, oflags);
	}
	if (f->fd < 0 && errno == ENOENT && (flags & STORAGE_O_CREATE) && ctx->conf.mkdirs &&
	    mkdir_parents(f->path) == 0)
		f->fd = open(path, oflags, 0644);
	if (f->fd < 0) {
		ret = -errno;
		open_error(path, flags, f->direct, ret, err, errlen);
		goto out;
	}
	if (f->direct)
		dio_alignment(f);
	*out = f;
out:
	if (ret) {
		free(f->path);
		free(f);
	}
	return ret;
}

static void slot_free(struct storage_ctx *ctx, int slot)
{
	ctx->slot_file[slot] = NULL;
	ctx->free_slots[ctx->nfree++] = slot;
}

/* Reserve the next SQE, remembering whether it is a request. */
static struct io_uring_sqe *get_sqe(struct storage_ctx *ctx, bool request)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ctx->ring);

	if (sqe) {
		ctx->kind[ctx->kind_tail++ & ctx->kind_mask] = request;
		if (request)
			ctx->queued++;
	}
	return sqe;
}

static int local_close(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen)
{
	int ret = 0;

	if (f->slot >= 0) {
		struct io_uring_sqe *sqe;

		/* the slot is free again once the ring has closed it (its CQE) */
		ctx->slot_file[f->slot] = NULL;
		if (f->open_queued) {
			slot_free(ctx, f->slot);
		} else if ((sqe = get_sqe(ctx, false))) {
			io_uring_prep_close_direct(sqe, (unsigned int)f->slot);
			io_uring_sqe_set_data64(sqe, UD_CLOSE |
							     ((uint64_t)f->slot << UD_SLOT_SHIFT));
		} else {
			int none = -1;

			io_uring_register_files_update(&ctx->ring, (unsigned int)f->slot, &none, 1);
			slot_free(ctx, f->slot);
		}
	} else if (close(f->fd)) {
		ret = -errno;
		snprintf(err, errlen, "close %s: %s", f->path, strerror(errno));
	}
	if (!ctx->spare) {
		ctx->spare = f;
		return ret;
	}
	free(f->path);
	free(f);
	return ret;
}

static int local_extend(struct storage_ctx *ctx, struct storage_file *f, uint64_t size,
			char *err, size_t errlen)
{
	struct stat st;

	(void)ctx;
	if (fstat(f->fd, &st) == 0 && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size >= size))
		return 0;
	if (ftruncate(f->fd, (off_t)size)) {
		int e = errno;

		snprintf(err, errlen, "extend %s to %llu bytes: %s", f->path,
			 (unsigned long long)size, strerror(e));
		return -e;
	}
	return 0;
}

static int local_fd(const struct storage_file *f)
{
	return f->fd;
}

static uint32_t local_dio_align(const struct storage_file *f)
{
	if (!f->direct)
		return 0;
	return f->off_align > f->mem_align ? f->off_align : f->mem_align;
}

static const char *op_name(enum storage_op op)
{
	switch (op) {
	case STORAGE_READ:
		return "read";
	case STORAGE_WRITE:
		return "write";
	case STORAGE_FSYNC:
		return "fsync";
	case STORAGE_FDATASYNC:
		return "fdatasync";
	}
	return "?";
}

static int check_alignment(struct storage_req *req)
{
	const struct storage_file *f = req->file;
	const char *what = NULL;
	uint64_t value = 0, align = f->off_align;

	if (req->offset % f->off_align) {
		what = "offset";
		value = req->offset;
	} else if (req->len % f->off_align) {
		what = "length";
		value = req->len;
	} else if ((uintptr_t)req->buf % f->mem_align) {
		what = "buffer address";
		value = (uintptr_t)req->buf;
		align = f->mem_align;
	}
	if (!what)
		return 0;
	snprintf(req->err, sizeof(req->err),
		 "O_DIRECT %s of %s: %s %llu is not a multiple of %llu bytes (required alignment: "
		 "offset and length %u, buffer %u)",
		 op_name(req->op), f->path, what, (unsigned long long)value,
		 (unsigned long long)align, f->off_align, f->mem_align);
	return -EINVAL;
}

static int local_submit(struct storage_ctx *ctx, struct storage_req *req)
{
	struct storage_file *f = req->file;
	struct io_uring_sqe *sqe;
	int fd = f->slot >= 0 ? f->slot : f->fd;

	if (f->direct && (req->op == STORAGE_READ || req->op == STORAGE_WRITE) &&
	    check_alignment(req))
		return -EINVAL;
	if (io_uring_sq_space_left(&ctx->ring) < (f->open_queued ? 2u : 1u))
		return -EBUSY;
	if (f->open_queued) {
		/* the open goes first, linked: the request runs once it succeeded (else it
		 * ends -ECANCELED and takes the open's error).  Its CQE is not skipped on
		 * success: with IOSQE_CQE_SKIP_SUCCESS on a failing link head the kernel
		 * posts no CQE for the cancelled request either. */
		sqe = get_sqe(ctx, false);
		io_uring_prep_openat_direct(sqe, f->dirfd, f->name,
					    O_RDONLY | (ctx->conf.sync_io ? O_SYNC : 0), 0,
					    (unsigned int)f->slot);
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, UD_OPEN | ((uint64_t)f->slot << UD_SLOT_SHIFT));
		f->open_queued = false;
	}
	sqe = get_sqe(ctx, true);
	switch (req->op) {
	case STORAGE_READ:
		io_uring_prep_read(sqe, fd, req->buf, (unsigned int)req->len, req->offset);
		break;
	case STORAGE_WRITE:
		io_uring_prep_write(sqe, fd, req->buf, (unsigned int)req->len, req->offset);
		break;
	case STORAGE_FSYNC:
		io_uring_prep_fsync(sqe, fd, 0);
		break;
	case STORAGE_FDATASYNC:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	if (f->slot >= 0)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, req);
	return 0;
}

/* Returns how many requests (not opens or closes) were started. */
static int local_flush(struct storage_ctx *ctx, char *err, size_t errlen)
{
	int ret, n = 0;

	if (ctx->kind_head == ctx->kind_tail)
		return 0;
	/* Entering with GETEVENTS also runs deferred completion work, as fio's engine does. */
	do
		ret = io_uring_submit_and_get_events(&ctx->ring);
	while (ret == -EINTR);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_submit: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < ret; i++)
		n += ctx->kind[ctx->kind_head++ & ctx->kind_mask];
	ctx->queued -= (unsigned int)n;
	return n;
}

static void complete(struct storage_req *req, int res)
{
	const struct storage_file *f = req->file;

	if (res == -ECANCELED && f->open_err) {
		/* the deferred open before it failed */
		res = f->open_err;
		open_error(f->path, 0, false, res, req->err, sizeof(req->err));
		req->result = res;
		return;
	}
	req->result = res;
	if (res < 0)
		snprintf(req->err, sizeof(req->err), "%s of %llu bytes at offset %llu in %s: %s",
			 op_name(req->op), (unsigned long long)req->len,
			 (unsigned long long)req->offset, f->path, strerror(-res));
	else if (req->op == STORAGE_READ && res == 0 && req->len)
		snprintf(req->err, sizeof(req->err),
			 "read at offset %llu in %s returned no data: past the end of the file",
			 (unsigned long long)req->offset, f->path);
}

/* The CQE of a deferred open, or of a slot's close. */
static void internal_cqe(struct storage_ctx *ctx, uint64_t ud, int res)
{
	unsigned int slot = (unsigned int)(ud >> UD_SLOT_SHIFT);

	if (slot >= ctx->nslots)
		return;
	if ((ud & UD_TAG) == UD_CLOSE)
		slot_free(ctx, (int)slot);
	else if (res < 0 && ctx->slot_file[slot])
		ctx->slot_file[slot]->open_err = res;
}

static int local_reap(struct storage_ctx *ctx, struct storage_req **done, unsigned int min,
		      unsigned int max, const struct timespec *timeout, char *err, size_t errlen)
{
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	unsigned int n = 0;
	bool polled = false;
	int ret;

	/* fio commits before it reaps, but a queued request must never wait unseen. */
	if (ctx->queued && (ret = local_flush(ctx, err, errlen)) < 0)
		return ret;
	if (timeout) {
		ts.tv_sec = timeout->tv_sec;
		ts.tv_nsec = timeout->tv_nsec;
		tsp = &ts;
	}
	while (n < max) {
		unsigned int head, seen = 0;

		io_uring_for_each_cqe(&ctx->ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct storage_req *req = (struct storage_req *)(uintptr_t)ud;

			seen++;
			if (ud & UD_TAG) {
				internal_cqe(ctx, ud, cqe->res);
				continue;
			}
			complete(req, cqe->res);
			done[n++] = req;
			if (n == max)
				break;
		}
		io_uring_cq_advance(&ctx->ring, seen);
		if (n >= min && (n || polled))
			break;
		if (!min) {
			/* A poll: with deferred task work, completions only appear once the
			 * ring is entered. */
			polled = true;
			ret = io_uring_get_events(&ctx->ring);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN) {
				snprintf(err, errlen, "io_uring_get_events: %s", strerror(-ret));
				return ret;
			}
			continue;
		}

		ret = io_uring_wait_cqes(&ctx->ring, &cqe, min - n, tsp, NULL);
		if (ret == -ETIME || (ret == -EINTR && tsp))
			break;
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			snprintf(err, errlen, "waiting for io_uring completions: %s",
				 strerror(-ret));
			return ret;
		}
	}
	return (int)n;
}

#define LOCAL_OPS                                                                           \
	.ctx_free = local_ctx_free, .stat = local_stat, .unlink = local_unlink,              \
	.open = local_open, .close = local_close, .extend = local_extend, .fd = local_fd,    \
	.dio_align = local_dio_align,                                                        \
	.submit = local_submit, .flush = local_flush, .reap = local_reap

const struct storage_backend storage_file_backend = {
	.scheme = "file",
	.description = "local files through io_uring (page cache unless direct=1)",
	.ctx_new = file_ctx_new,
	LOCAL_OPS,
};

const struct storage_backend storage_direct_backend = {
	.scheme = "direct",
	.description = "local files through io_uring with O_DIRECT",
	.ctx_new = direct_ctx_new,
	LOCAL_OPS,
};
