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
	int fd;
	bool direct;
	uint32_t mem_align;
	uint32_t off_align;
	char *path;
};

struct storage_ctx {
	struct io_uring ring;
	struct storage_conf conf;
	bool direct_scheme;
	unsigned int queued;
	/* the directory of the last file opened for reading, held open (O_PATH) so
	 * that the next open in it looks up only the file's own name: DLIO's loaders
	 * open a sample's file for every sample, mostly in one directory */
	int dirfd;
	char *dir;
	size_t dirlen;
};

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

static int local_ctx_new(const struct storage_conf *conf, bool direct_scheme,
			 struct storage_ctx **out, char *err, size_t errlen)
{
	struct storage_ctx *ctx = calloc(1, sizeof(*ctx));
	unsigned int entries = conf->depth ? conf->depth : 1;
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
	ctx->dirfd = -1;
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
	if (ctx->dirfd >= 0)
		close(ctx->dirfd);
	free(ctx->dir);
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
 * The directory to open a file of path in and the name to open there: the held
 * directory when path is in it (taking it when it is not), else the path itself.
 * A directory that cannot be opened is no error here: open() reports the path.
 */
static int dir_of(struct storage_ctx *ctx, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	char *dir;
	int fd;

	*name = path;
	if (!len)
		return AT_FDCWD;
	if (ctx->dirfd >= 0 && ctx->dirlen == len && !memcmp(ctx->dir, path, len)) {
		*name = slash + 1;
		return ctx->dirfd;
	}
	dir = strndup(path, len);
	if (!dir)
		return AT_FDCWD;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(dir);
		return AT_FDCWD;
	}
	if (ctx->dirfd >= 0)
		close(ctx->dirfd);
	free(ctx->dir);
	ctx->dirfd = fd;
	ctx->dir = dir;
	ctx->dirlen = len;
	*name = slash + 1;
	return fd;
}

static int local_open(struct storage_ctx *ctx, const char *path, int flags,
		      struct storage_file **out, char *err, size_t errlen)
{
	struct storage_file *f = calloc(1, sizeof(*f));
	int oflags = O_CLOEXEC;
	int ret = 0;

	if (!f || !(f->path = strdup(path))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->direct = ctx->direct_scheme || ctx->conf.direct;
	oflags |= (flags & STORAGE_O_WRITE) ? O_RDWR : O_RDONLY;
	if (flags & STORAGE_O_CREATE)
		oflags |= O_CREAT;
	if (f->direct)
		oflags |= O_DIRECT;
	if (ctx->conf.sync_io)
		oflags |= O_SYNC;

	if (flags & (STORAGE_O_WRITE | STORAGE_O_CREATE)) {
		f->fd = open(path, oflags, 0644);
	} else {
		const char *name;
		int dfd = dir_of(ctx, path, &name);

		f->fd = openat(dfd, name, oflags);
	}
	if (f->fd < 0 && errno == ENOENT && (flags & STORAGE_O_CREATE) && ctx->conf.mkdirs &&
	    mkdir_parents(f->path) == 0)
		f->fd = open(path, oflags, 0644);
	if (f->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT && !(flags & STORAGE_O_CREATE))
			snprintf(err, errlen, "%s does not exist (a read needs an existing file)",
				 path);
		else if (ret == -EINVAL && f->direct)
			snprintf(err, errlen,
				 "open %s with O_DIRECT: %s (the file system may not support "
				 "direct I/O; use file:// instead of direct://)",
				 path, strerror(-ret));
		else
			snprintf(err, errlen, "open %s: %s", path, strerror(-ret));
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

static int local_close(struct storage_ctx *ctx, struct storage_file *f, char *err, size_t errlen)
{
	int ret = 0;

	(void)ctx;
	if (close(f->fd)) {
		ret = -errno;
		snprintf(err, errlen, "close %s: %s", f->path, strerror(errno));
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
	struct io_uring_sqe *sqe;
	int fd = req->file->fd;

	if (req->file->direct && (req->op == STORAGE_READ || req->op == STORAGE_WRITE) &&
	    check_alignment(req))
		return -EINVAL;

	sqe = io_uring_get_sqe(&ctx->ring);
	if (!sqe)
		return -EBUSY;
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
	io_uring_sqe_set_data(sqe, req);
	ctx->queued++;
	return 0;
}

static int local_flush(struct storage_ctx *ctx, char *err, size_t errlen)
{
	int ret;

	if (!ctx->queued)
		return 0;
	/* Entering with GETEVENTS also runs deferred completion work, as fio's engine does. */
	do
		ret = io_uring_submit_and_get_events(&ctx->ring);
	while (ret == -EINTR);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_submit: %s", strerror(-ret));
		return ret;
	}
	ctx->queued -= (unsigned int)ret;
	return ret;
}

static void complete(struct storage_req *req, int res)
{
	req->result = res;
	if (res < 0)
		snprintf(req->err, sizeof(req->err), "%s of %llu bytes at offset %llu in %s: %s",
			 op_name(req->op), (unsigned long long)req->len,
			 (unsigned long long)req->offset, req->file->path, strerror(-res));
	else if (req->op == STORAGE_READ && res == 0 && req->len)
		snprintf(req->err, sizeof(req->err),
			 "read at offset %llu in %s returned no data: past the end of the file",
			 (unsigned long long)req->offset, req->file->path);
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
			struct storage_req *req = io_uring_cqe_get_data(cqe);

			complete(req, cqe->res);
			done[n++] = req;
			seen++;
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
