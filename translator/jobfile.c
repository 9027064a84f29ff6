#include "jobfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlio/checkpoint.h"
#include "dlio/emit.h"
#include "dlio/gen.h"
#include "dlio/geometry.h"
#include "dlio/plan.h"
#include "dlio/reads.h"
#include "dlio/ytree.h"

/* datasets up to this many files are walked file by file for the job file's figures */
#define D2F_WALK_MAX 65536

static void tput(struct d2f_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tput(struct d2f_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->full = 1;
			return;
		}
		if (t->buf && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t want = t->cap ? t->cap * 2 : 16384;
			char *nb;

			while (want < t->len + (size_t)n + 1)
				want *= 2;
			if (want > D2F_TEXT_MAX) {
				t->full = 1;
				return;
			}
			nb = realloc(t->buf, want);
			if (!nb) {
				t->full = 1;
				return;
			}
			t->buf = nb;
			t->cap = want;
		}
	}
}

/* 1,234,567: the numbers in comments are read by people */
static const char *grp(char *buf, size_t len, int64_t v)
{
	char tmp[32];
	size_t n, i, o = 0;
	int neg = v < 0;

	snprintf(tmp, sizeof(tmp), "%" PRIu64, neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
	n = strlen(tmp);
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* 25.3 GB (decimal) and 23.5 GiB, the way storage people quote both */
static const char *human(char *buf, size_t len, int64_t v)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRId64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, u[i]);
	return buf;
}

struct ctx {
	const struct d2f_opts *o;
	struct dlio_config cfg;
	struct dlio_geom g;
	struct dlio_ckpt ck;
	int have_geom, have_ckpt;
	int do_gen, do_train, do_eval, do_ckpt_train, do_ckpt_only;
	/* dataset */
	int64_t files[2], bytes[2], aux_bytes, min_size, max_size;
	int exact, walked;
	enum dlio_sampler sampler;
	int64_t *gen_bytes; /* per rank */
	int64_t *gen_files;
	double read_per_sample[2]; /* mean bytes moved for one sample read, per split */
	/* checkpoints */
	int64_t ckpt_events, ckpt_reads;
	char data_uri[3 * DLIO_STR_MAX], ckpt_uri[3 * DLIO_STR_MAX], output[3 * DLIO_STR_MAX];
	char flow[DLIO_FLOW_MAX + 1];
	struct d2f_scale *scale; /* --scale-down's overrides */
	const char **all_ovr;	 /* the user's, then those */
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int add_ok(int64_t *acc, int64_t v)
{
	return !__builtin_add_overflow(*acc, v, acc);
}

/* "a/./b//c/" -> "a/b/c"; "./" -> ""; "/x/./y" -> "/x/y" ("..": kept, as the OS reads it) */
static void normalize(char *p)
{
	char *r = p, *w = p;
	int abs = *p == '/';

	if (abs)
		w++;
	while (*r) {
		size_t l;

		while (*r == '/')
			r++;
		l = strcspn(r, "/");
		if (!l)
			break;
		if (!(l == 1 && r[0] == '.')) {
			if (w > p + abs)
				*w++ = '/';
			memmove(w, r, l);
			w += l;
		}
		r += l;
	}
	*w = '\0';
}

static int uri_scheme_ok(const char *u)
{
	static const char *const ok[] = {"file://", "direct://", "s3://", "az://", NULL};
	const char *const *s;

	for (s = ok; *s; s++)
		if (!strncmp(u, *s, strlen(*s)) && u[strlen(*s)])
			return 1;
	return 0;
}

/* file:// URI of a local folder: absolute as given, relative to the directory fio runs in
 * (${PWD}, which fio expands), as DLIO resolves it against its working directory. */
static int local_uri(struct ctx *c, char *out, size_t len, const char *root, const char *folder)
{
	char path[2 * DLIO_STR_MAX + 8];

	if (folder[0] == '/' || !root || !*root)
		snprintf(path, sizeof(path), "%s", folder);
	else
		snprintf(path, sizeof(path), "%s/%s", root, folder);
	normalize(path);
	if (strpbrk(path, ";#$\n")) /* fio would cut or substitute them */
		return fail(c, -EINVAL,
			    "%s: folder '%s' holds ';', '#' or '$', which an fio job file cannot "
			    "carry; give --data-folder/--checkpoint-folder",
			    c->cfg.file, path);
	if (path[0] == '/')
		snprintf(out, len, "file://%s", path);
	else if (!*path)
		snprintf(out, len, "file://${PWD}");
	else
		snprintf(out, len, "file://${PWD}/%s", path);
	return 0;
}

static int resolve_locations(struct ctx *c)
{
	const struct dlio_config *cfg = &c->cfg;
	const struct d2f_opts *o = c->o;
	int ret;

	if (o->data_uri) {
		if (!uri_scheme_ok(o->data_uri) || strpbrk(o->data_uri, ";#\n"))
			return fail(c, -EINVAL,
				    "--data-folder %s: expected file:///dir, direct:///dir, "
				    "s3://bucket[/prefix] or az://account/container[/prefix]",
				    o->data_uri);
		snprintf(c->data_uri, sizeof(c->data_uri), "%s", o->data_uri);
	} else if (strstr(cfg->dataset.data_folder, "://")) {
		snprintf(c->data_uri, sizeof(c->data_uri), "%s", cfg->dataset.data_folder);
	} else if (cfg->storage.storage_type == DLIO_ST_S3) {
		/* TF's gfile S3 (v2.0): s3://<storage_root>/<data_folder> */
		char p[DLIO_STR_MAX];

		snprintf(p, sizeof(p), "%s", cfg->dataset.data_folder);
		normalize(p);
		snprintf(c->data_uri, sizeof(c->data_uri), "s3://%s/%s", cfg->storage.storage_root, p);
	} else {
		ret = local_uri(c, c->data_uri, sizeof(c->data_uri), cfg->storage.storage_root,
				cfg->dataset.data_folder);
		if (ret)
			return ret;
	}
	if (o->ckpt_uri) {
		if (!uri_scheme_ok(o->ckpt_uri) || strpbrk(o->ckpt_uri, ";#\n"))
			return fail(c, -EINVAL,
				    "--checkpoint-folder %s: expected file:///dir, direct:///dir, "
				    "s3://bucket[/prefix] or az://account/container[/prefix]",
				    o->ckpt_uri);
		snprintf(c->ckpt_uri, sizeof(c->ckpt_uri), "%s", o->ckpt_uri);
	} else if (strstr(cfg->checkpoint.checkpoint_folder, "://")) {
		snprintf(c->ckpt_uri, sizeof(c->ckpt_uri), "%s", cfg->checkpoint.checkpoint_folder);
	} else {
		/* checkpoints are not placed under storage_root (SPEC 10.1) */
		ret = local_uri(c, c->ckpt_uri, sizeof(c->ckpt_uri), NULL,
				cfg->checkpoint.checkpoint_folder);
		if (ret)
			return ret;
	}
	snprintf(c->output, sizeof(c->output), "%s",
		 o->output ? o->output : cfg->output.folder[0] ? cfg->output.folder : "./output");
	if (strpbrk(c->output, ";#$\n"))
		return fail(c, -EINVAL, "output folder '%s' holds ';', '#' or '$'", c->output);
	return 0;
}

/* Bytes one sample read moves for a file of this shape, as the loader reads it. */
static int64_t sample_read_bytes(struct ctx *c, const struct dlio_file_size *fs, int64_t d1,
				 int64_t d2)
{
	const struct dlio_config *cfg = &c->cfg;
	enum dlio_sampler s = c->sampler;
	struct dlio_read_iter it;
	int64_t open = 0, per = 0;

	if (cfg->dataset.format == DLIO_FMT_TFRECORD)
		return fs->size / (c->g.nspf ? c->g.nspf : 1);
	if (cfg->dataset.format == DLIO_FMT_MMAP_INDEXED_BINARY ||
	    cfg->dataset.format == DLIO_FMT_SYNTHETIC ||
	    cfg->reader.data_loader == DLIO_LOADER_SYNTHETIC)
		return 0;
	if (!dlio_reads_init(&it, &c->g, d1, d2, 0, DLIO_IO_OPEN))
		open = dlio_reads_total(&it);
	if (!dlio_reads_init(&it, &c->g, d1, d2, 0, DLIO_IO_SAMPLE))
		per = dlio_reads_total(&it);
	/* the index path opens the file for every sample; the iterative one once per file */
	if (s == DLIO_SAMPLER_INDEX)
		return open + per;
	return open / c->g.nspf + per;
}

/* Past D2F_WALK_MAX files the job file's figures use the file at the mean shape (every file
 * of a dataset without stdev): drawing 524288 shapes costs ~50 ms, --explain does it. */
static int mean_dataset(struct ctx *c, int64_t total)
{
	struct dlio_file_size fs;
	int64_t r, comm = c->o->ranks, all, per, rest, v;
	int split;

	if (dlio_geom_file_size(&c->g, c->g.dim, c->g.dim, &fs))
		return fail(c, -ERANGE, "%s: dataset: a file would be larger than 2^63 bytes",
			    c->cfg.file);
	all = fs.size + fs.aux_size * fs.naux;
	for (split = 0; split < 2; split++) {
		c->files[split] = c->g.nfiles_gen[split];
		if (__builtin_mul_overflow(fs.size, c->files[split], &c->bytes[split]) ||
		    __builtin_mul_overflow(fs.aux_size * fs.naux, c->files[split], &v) ||
		    !add_ok(&c->aux_bytes, v))
			return fail(c, -ERANGE, "%s: dataset: total bytes overflow 64 bits",
				    c->cfg.file);
		c->read_per_sample[split] =
			(double)sample_read_bytes(c, &fs, c->g.dim, c->g.dim);
	}
	per = total / comm;
	rest = total % comm;
	for (r = 0; r < comm; r++) {
		c->gen_files[r] = per + (r < rest);
		if (__builtin_mul_overflow(all, c->gen_files[r], &c->gen_bytes[r]))
			return fail(c, -ERANGE, "%s: dataset: bytes per rank overflow 64 bits",
				    c->cfg.file);
	}
	c->min_size = c->max_size = fs.size;
	c->exact = c->cfg.dataset.record_length_bytes_stdev == 0 && fs.exact;
	return 0;
}

/* Every generated file once, in generation order: totals, per-rank generation bytes, and the
 * mean bytes per sample read. 524288 files take a few ms; nothing is kept per file. */
static int walk_dataset(struct ctx *c)
{
	struct dlio_dims_iter it;
	int64_t total = c->g.nfiles_gen[0] + c->g.nfiles_gen[1], i, comm = c->o->ranks;
	double rsum[2] = {0, 0};

	c->gen_bytes = calloc((size_t)comm, sizeof(int64_t));
	c->gen_files = calloc((size_t)comm, sizeof(int64_t));
	if (!c->gen_bytes || !c->gen_files)
		return fail(c, -ENOMEM, "out of memory");
	c->min_size = INT64_MAX;
	c->exact = 1;
	c->sampler = dlio_config_sampler(&c->cfg);
	if (!c->o->explain && total > D2F_WALK_MAX)
		return mean_dataset(c, total);
	c->walked = 1;
	dlio_dims_iter_init(&it, &c->g);
	for (i = 0; i < total; i++) {
		struct dlio_file_size fs;
		int split = i >= c->g.nfiles_gen[0];
		int64_t d1, d2, all;

		dlio_dims_iter_next(&it, &d1, &d2);
		if (dlio_geom_file_size(&c->g, d1, d2, &fs))
			return fail(c, -ERANGE,
				    "%s: dataset: file %lld would be larger than 2^63 bytes "
				    "(record_length_bytes %.17g, num_samples_per_file %lld)",
				    c->cfg.file, (long long)i, c->cfg.dataset.record_length_bytes,
				    (long long)c->g.nspf);
		all = fs.size;
		if (fs.naux && (__builtin_mul_overflow(fs.aux_size, (int64_t)fs.naux, &d1) ||
				!add_ok(&all, d1)))
			return fail(c, -ERANGE, "%s: dataset: file sizes overflow 64 bits",
				    c->cfg.file);
		if (!add_ok(&c->bytes[split], fs.size) || !add_ok(&c->aux_bytes, all - fs.size) ||
		    !add_ok(&c->gen_bytes[i % comm], all))
			return fail(c, -ERANGE, "%s: dataset: total bytes overflow 64 bits",
				    c->cfg.file);
		c->gen_files[i % comm]++;
		c->files[split]++;
		c->exact &= fs.exact;
		if (fs.size < c->min_size)
			c->min_size = fs.size;
		if (fs.size > c->max_size)
			c->max_size = fs.size;
		if (c->do_train)
			rsum[split] += (double)sample_read_bytes(c, &fs, d1, d2);
	}
	for (i = 0; i < 2; i++)
		c->read_per_sample[i] = c->files[i] ? rsum[i] / (double)c->files[i] : 0;
	if (!total)
		c->min_size = 0;
	return 0;
}

static int setup(struct ctx *c)
{
	struct dlio_config *cfg = &c->cfg;
	const int64_t comm = c->o->ranks;
	char e[1024];
	int ret;

	c->do_gen = cfg->workflow.generate_data;
	c->do_train = cfg->workflow.train;
	c->do_eval = c->do_train && cfg->workflow.evaluation && cfg->dataset.num_files_eval > 0;
	c->do_ckpt_train = c->do_train && cfg->workflow.checkpoint;
	c->do_ckpt_only = !c->do_train && cfg->workflow.checkpoint;
	if (!c->do_gen && !c->do_train && !c->do_ckpt_only)
		return fail(c, -EINVAL,
			    "%s: workflow: generate_data, train and checkpoint are all off; DLIO "
			    "would do nothing",
			    cfg->file);
	ret = dlio_config_validate(cfg, comm, NULL, e, sizeof(e));
	if (ret)
		return fail(c, -EINVAL, "%s", e);
	if (c->do_gen || c->do_train) {
		int64_t n = cfg->dataset.num_files_train + cfg->dataset.num_files_eval, s;

		/* DLIO would list and shuffle these in Python; beyond 2^27 it is a typo */
		if (n > DLIO_PLAN_MAX_FILES)
			return fail(c, -ERANGE,
				    "%s: dataset: %lld files (num_files_train + num_files_eval) is "
				    "more than the %lld this emulator plans",
				    cfg->file, (long long)n, (long long)DLIO_PLAN_MAX_FILES);
		if (__builtin_mul_overflow(n, cfg->dataset.num_samples_per_file, &s))
			return fail(c, -ERANGE,
				    "%s: dataset: num_files x num_samples_per_file overflows 64 bits",
				    cfg->file);
		if (c->do_train && !cfg->dataset.num_files_train)
			return fail(c, -EINVAL,
				    "%s: dataset.num_files_train: 0 files cannot be trained on",
				    cfg->file);
		if (cfg->dataset.record_length_bytes > 9.0e18)
			return fail(c, -ERANGE,
				    "%s: dataset.record_length_bytes: %.17g does not fit in 64 bits",
				    cfg->file, cfg->dataset.record_length_bytes);
		ret = dlio_geom_init(&c->g, cfg, comm,
				     cfg->flavour == DLIO_FLAVOUR_HEAD ? DLIO_TRIM_HEAD
								       : DLIO_TRIM_NONE,
				     e, sizeof(e));
		if (ret)
			return fail(c, ret, "%s", e);
		c->have_geom = 1;
		ret = walk_dataset(c);
		if (ret)
			return ret;
	}
	if (c->do_ckpt_train || c->do_ckpt_only) {
		int64_t r, b;

		ret = dlio_ckpt_init(&c->ck, cfg, comm, e, sizeof(e));
		if (ret)
			return fail(c, ret, "%s", e);
		c->have_ckpt = 1;
		for (r = 0; r < comm; r++) {
			b = 0;
			if (dlio_ckpt_rank_nfiles(&c->ck, r) > 100000)
				return fail(c, -ERANGE, "%s: checkpoint: more than 100000 files per rank",
					    cfg->file);
			b = dlio_ckpt_rank_bytes(&c->ck, r);
			if (b < 0)
				return fail(c, -ERANGE, "%s: checkpoint: rank %lld's bytes overflow",
					    cfg->file, (long long)r);
		}
		if (c->do_ckpt_only) {
			c->ckpt_events = cfg->checkpoint.num_checkpoints_write > 0
						 ? cfg->checkpoint.num_checkpoints_write
						 : 0;
			c->ckpt_reads = cfg->checkpoint.num_checkpoints_read > 0
						? cfg->checkpoint.num_checkpoints_read
						: 0;
			if (c->ckpt_events > 1000000 || c->ckpt_reads > 1000000)
				return fail(c, -ERANGE, "%s: checkpoint: more than 10^6 checkpoints",
					    cfg->file);
		} else {
			int64_t e2, k = cfg->checkpoint.steps_between_checkpoints;

			if (cfg->train.epochs > 1000000)
				return fail(c, -ERANGE, "%s: train.epochs: %lld is absurd (> 10^6)",
					    cfg->file, (long long)cfg->train.epochs);
			for (e2 = 1; e2 <= cfg->train.epochs; e2++) {
				if (k >= 0)
					c->ckpt_events += k > 0 ? c->g.steps / k : 0;
				else if (dlio_ckpt_epoch_due(&c->ck, e2))
					c->ckpt_events++;
			}
		}
	}
	ret = dlio_config_emit_flow(cfg, c->flow, sizeof(c->flow), e, sizeof(e));
	if (ret < 0)
		return fail(c, -EINVAL, "%s", e);
	/* The engine re-reads this line: make sure it reads the same run. */
	{
		struct dlio_config *back = malloc(sizeof(*back));
		struct dlio_load_opts lo = {.flavour = cfg->flavour};
		char what[256];

		if (!back)
			return fail(c, -ENOMEM, "out of memory");
		ret = dlio_config_load_buf(back, cfg->file, c->flow, strlen(c->flow), &lo, NULL, e,
					   sizeof(e));
		if (!ret)
			ret = dlio_config_validate(back, comm, NULL, e, sizeof(e));
		if (!ret && dlio_config_diff(cfg, back, what, sizeof(what))) {
			snprintf(e, sizeof(e), "%s differs", what);
			ret = -EPROTO;
		}
		free(back);
		if (ret)
			return fail(c, -EPROTO,
				    "internal error: the dlio_config line does not read back as the "
				    "same workload (%s); please report it with the workload",
				    e);
	}
	return resolve_locations(c);
}

static int64_t train_bytes(const struct ctx *c, int split)
{
	const struct dlio_config *cfg = &c->cfg;
	int64_t steps = split ? c->g.eval_steps : c->g.steps;
	int64_t batch = split ? cfg->reader.batch_size_eval : cfg->reader.batch_size;

	return (int64_t)((double)steps * (double)batch * c->read_per_sample[split] + 0.5);
}

static void derived(struct ctx *c, struct d2f_text *t, const char *pfx)
{
	const struct dlio_config *cfg = &c->cfg;
	char a[64], b[64], d[64];
	int64_t r;
	size_t i;

	tput(t, "%sflavour: DLIO %s; %lld rank%s (comm_size)\n", pfx,
	     cfg->flavour == DLIO_FLAVOUR_HEAD ? "HEAD (argonne-lcf main)"
					       : "v2.0 (mlperf_storage_v2.0, what MLPerf Storage ran)",
	     (long long)c->o->ranks, c->o->ranks == 1 ? "" : "s");
	tput(t, "%sphases:%s%s%s%s%s\n", pfx, c->do_gen ? " generate" : "",
	     c->do_train ? " train" : "", c->do_eval ? " (+ evaluation)" : "",
	     c->do_ckpt_train ? " (+ checkpoints during training)" : "",
	     c->do_ckpt_only ? " checkpoint (write, then read)" : "");
	if (c->have_geom) {
		tput(t, "%sdataset: %s, %s train files + %s eval files of %lld sample%s each\n", pfx,
		     dlio_format_name(cfg->dataset.format), grp(a, sizeof(a), c->files[0]),
		     grp(b, sizeof(b), c->files[1]), (long long)c->g.nspf, c->g.nspf == 1 ? "" : "s");
		tput(t, "%s  bytes: %s train + %s eval (%s)%s\n", pfx, grp(a, sizeof(a), c->bytes[0]),
		     grp(b, sizeof(b), c->bytes[1]), human(d, sizeof(d), c->bytes[0] + c->bytes[1]),
		     !c->walked ? " at the mean file size (--explain adds up every file)"
		     : c->exact ? ""
				: " (approximate: the format's encoder decides)");
		if (c->aux_bytes)
			tput(t, "%s  plus %s bytes of index side files (.idx)\n", pfx,
			     grp(a, sizeof(a), c->aux_bytes));
		if (c->walked)
			tput(t, "%s  file sizes: %s .. %s bytes; ", pfx, grp(a, sizeof(a), c->min_size),
			     grp(b, sizeof(b), c->max_size));
		else
			tput(t, "%s  file size at the mean shape: %s bytes; ", pfx,
			     grp(a, sizeof(a), c->min_size));
		tput(t, "sample %lld^2 = %s bytes at the mean\n", (long long)c->g.dim,
		     grp(d, sizeof(d), c->g.dim * c->g.dim));
		tput(t, "%s  data folder: %s\n", pfx, c->data_uri);
	}
	if (c->do_gen) {
		int64_t mx = 0;

		for (r = 0; r < c->o->ranks; r++)
			if (c->gen_bytes[r] > mx)
				mx = c->gen_bytes[r];
		tput(t, "%sgeneration: rank r writes files r, r+%lld, ...: at most %s bytes (%s) per "
			"rank\n",
		     pfx, (long long)c->o->ranks, grp(a, sizeof(a), mx), human(b, sizeof(b), mx));
		if (c->o->explain)
			tput(t, "%s  content: %s\n", pfx, dlio_gen_content(cfg));
	}
	if (c->do_train) {
		int64_t tb = train_bytes(c, 0);

		tput(t, "%ssteps per epoch: %lld (batch %lld, %lld epoch%s)", pfx,
		     (long long)c->g.steps, (long long)cfg->reader.batch_size,
		     (long long)cfg->train.epochs, cfg->train.epochs == 1 ? "" : "s");
		if (c->do_eval)
			tput(t, "; eval steps %lld (batch %lld)", (long long)c->g.eval_steps,
			     (long long)cfg->reader.batch_size_eval);
		tput(t, "\n");
		tput(t, "%sbytes read per rank per epoch: about %s (%s)%s\n", pfx,
		     grp(a, sizeof(a), tb), human(b, sizeof(b), tb),
		     cfg->dataset.format == DLIO_FMT_MMAP_INDEXED_BINARY
			     ? ": mmap'd views are not read"
			     : " = steps x batch x mean bytes per sample read");
		if (c->do_eval) {
			tb = train_bytes(c, 1);
			tput(t, "%sbytes read per rank per evaluation: about %s (%s)\n", pfx,
			     grp(a, sizeof(a), tb), human(b, sizeof(b), tb));
		}
		tput(t, "%scompute per step: %s\n", pfx,
		     cfg->train.computation_time.kind == DLIO_TIME_NONE ? "none" : "emulated");
	}
	if (c->have_ckpt) {
		int64_t mx = 0, mxr = 0, tot = 0;

		for (r = 0; r < c->o->ranks; r++) {
			int64_t v = dlio_ckpt_rank_bytes(&c->ck, r);

			if (v > mx)
				mx = v, mxr = r;
			if (!add_ok(&tot, v))
				tot = INT64_MAX;
		}
		tput(t, "%scheckpoint bytes per rank: rank 0 %s, largest (rank %lld) %s (%s)\n", pfx,
		     grp(a, sizeof(a), dlio_ckpt_rank_bytes(&c->ck, 0)), (long long)mxr,
		     grp(b, sizeof(b), mx), human(d, sizeof(d), mx));
		tput(t, "%s  all ranks: %s bytes (%s) per checkpoint\n", pfx, grp(a, sizeof(a), tot),
		     human(b, sizeof(b), tot));
		tput(t, "%s  files per rank: rank 0 %lld; tensor payload, torch.save/TF add a few KiB\n",
		     pfx, (long long)dlio_ckpt_rank_nfiles(&c->ck, 0));
		if (c->do_ckpt_only)
			tput(t, "%s  checkpoint-only: %lld written, then %lld read back\n", pfx,
			     (long long)c->ckpt_events, (long long)c->ckpt_reads);
		else
			tput(t, "%s  checkpoints during training: %lld\n", pfx,
			     (long long)c->ckpt_events);
		tput(t, "%s  checkpoint folder: %s\n", pfx, c->ckpt_uri);
	}
	tput(t, "%soutput (summary.json): %s\n", pfx, c->output);
	for (i = 0; i < DLIO_Q_COUNT; i++)
		if (dlio_config_has_quirk(cfg, (enum dlio_quirk)i))
			tput(t, "%squirk %s: %s\n", pfx, dlio_quirk_name((enum dlio_quirk)i),
			     dlio_quirk_explain((enum dlio_quirk)i));
}

static void warnings(const struct dlio_diags *dg, struct d2f_text *t, const char *pfx)
{
	size_t i;

	for (i = 0; i < dg->n; i++)
		if (dg->items[i].sev == DLIO_SEV_WARNING)
			tput(t, "%swarning: %s\n", pfx, dg->items[i].msg);
	if (dg->dropped)
		tput(t, "%s(%zu more diagnostics)\n", pfx, dg->dropped);
}

/* bytes of an fio size string such as "262144" or "1m" */
static int64_t size_bytes(const char *v)
{
	char *end;
	int64_t n = strtoll(v, &end, 10);

	switch (*end) {
	case 'k':
		return n << 10;
	case 'm':
		return n << 20;
	case 'g':
		return n << 30;
	default:
		return n;
	}
}

static void phase(struct ctx *c, struct d2f_text *t, const char *name, const char *why,
		  const char *rw, const char *bs, int64_t size, int first)
{
	int64_t min = size_bytes(bs);

	tput(t, "\n; %s\n[%s]\n", why, name);
	if (!first)
		tput(t, "stonewall\n");
	/* fio refuses a size below the block size before the engine can say otherwise */
	tput(t, "dlio_phase=%s\nrw=%s\nbs=%s\nsize=%lld\n", name, rw, bs,
	     (long long)(size > min ? size : min > 0 ? min : 1));
	(void)c;
}

static int64_t max_over(const int64_t *v, int64_t base, int64_t n)
{
	int64_t i, m = 0;

	for (i = base; i < base + n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static void scaled(struct ctx *c, struct d2f_text *t, const char *pfx)
{
	size_t i;

	if (!c->o->scale_down)
		return;
	tput(t, "%sscaled down (--scale-down):%s", pfx,
	     c->scale && c->scale->n ? "" : " nothing to do");
	for (i = 0; c->scale && i < c->scale->n; i++)
		tput(t, " %s", c->scale->v[i]);
	tput(t, "\n");
}

static void jobfile(struct ctx *c, struct d2f_text *t, struct dlio_diags *dg, const char *host,
		    int64_t base, int64_t n)
{
	const struct dlio_config *cfg = &c->cfg;
	const struct d2f_opts *o = c->o;
	size_t i;
	int first = 1;

	tput(t, "; fio job file for the DLIO workload %s, made by dlio2fio: do not edit, "
		"regenerate.\n",
	     o->source);
	if (o->cmdline)
		tput(t, ";   %s\n", o->cmdline);
	tput(t, "; overrides:%s", o->noverrides ? "" : " none");
	for (i = 0; i < o->noverrides; i++)
		tput(t, " %s", o->overrides[i]);
	tput(t, "\n");
	scaled(c, t, "; ");
	if (host)
		tput(t, "; host %s: ranks %lld..%lld of %lld. DLIO's all-rank barrier becomes a barrier "
			"among this host's ranks: fio's client/server mode cannot synchronise jobs "
			"across hosts.\n",
		     host, (long long)base, (long long)(base + n - 1), (long long)o->ranks);
	tput(t, ";\n");
	derived(c, t, "; ");
	warnings(dg, t, "; ");
	tput(t, ";\n"
		"; Each job is one DLIO phase; each of its numjobs clones is one DLIO rank. The engine\n"
		"; computes the files, their order and sizes and the emulated compute from\n"
		"; dlio_config (the resolved workload), so bs= and size= below are nominal: size= is\n"
		"; the most bytes one rank moves in the phase.\n"
		"; Run from the directory DLIO would run in (relative folders resolve against ${PWD}):\n"
		";   FIODLIO_ENGINE=/path/to/fio-dlio.so fio this.fio\n"
		"; (build/fio-dlio.so in the source tree; $PREFIX/lib/fio-dlio/fio-dlio.so installed)\n"
		"\n[global]\n");
	tput(t, "ioengine=external:%s\n", o->engine ? o->engine : D2F_DEFAULT_ENGINE);
	tput(t, "dlio_config=%s\n", c->flow);
	tput(t, "dlio_flavor=%s\n", cfg->flavour == DLIO_FLAVOUR_HEAD ? "head" : "v2.0");
	tput(t, "dlio_ranks=%lld\ndlio_rank_base=%lld\nnumjobs=%lld\n", (long long)o->ranks,
	     (long long)base, (long long)n);
	tput(t, "uri=%s\n", c->data_uri);
	tput(t, "dlio_checkpoint_uri=%s\n", c->ckpt_uri);
	tput(t, "dlio_output=%s\n", c->output);
	tput(t, "group_reporting=0\n");
	if (c->do_gen) {
		phase(c, t, "generate", "data generation: rank r writes files r, r+comm_size, ...",
		      "write", "1m", max_over(c->gen_bytes, base, n), first);
		first = 0;
	}
	if (c->do_train) {
		char bs[32];
		int64_t sz = train_bytes(c, 0);

		snprintf(bs, sizeof(bs), "%lld",
			 (long long)(cfg->reader.transfer_size > 0 ? cfg->reader.transfer_size
								   : DLIO_NPZ_CHUNK));
		if (__builtin_mul_overflow(sz, cfg->train.epochs > 0 ? cfg->train.epochs : 1, &sz))
			sz = INT64_MAX;
		phase(c, t, "train",
		      c->do_ckpt_train
			      ? "training epochs (reads), with the checkpoints the workflow asks for "
				"(writes)"
			      : (c->do_eval ? "training epochs with evaluation" : "training epochs"),
		      "read", bs, sz, first);
		first = 0;
	}
	if (c->do_ckpt_only) {
		int64_t r, mx = 0, k = c->ckpt_events > c->ckpt_reads ? c->ckpt_events : c->ckpt_reads;

		for (r = base; r < base + n; r++) {
			int64_t v = dlio_ckpt_rank_bytes(&c->ck, r);

			if (v > mx)
				mx = v;
		}
		if (__builtin_mul_overflow(mx, k > 0 ? k : 1, &mx))
			mx = INT64_MAX;
		phase(c, t, "checkpoint",
		      "checkpoint-only benchmark: write the checkpoints, then read them back",
		      c->ckpt_events && c->ckpt_reads ? "rw" : (c->ckpt_reads ? "read" : "write"),
		      "1m", mx, first);
	}
}

static void explain(struct ctx *c, struct d2f_text *t, struct dlio_diags *dg)
{
	size_t i;

	tput(t, "workload: %s\n", c->o->source);
	tput(t, "overrides:%s", c->o->noverrides ? "" : " none");
	for (i = 0; i < c->o->noverrides; i++)
		tput(t, " %s", c->o->overrides[i]);
	tput(t, "\n");
	scaled(c, t, "");
	derived(c, t, "");
	warnings(dg, t, "");
}

void d2f_result_free(struct d2f_result *r)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		free(r->files[i].buf);
	free(r->files);
	free(r->explain.buf);
	memset(r, 0, sizeof(*r));
}

/* --scale-down: reload the workload with the user's overrides and then the scaling ones */
static int scale_down(struct ctx *c, struct dlio_load_opts *lo, struct d2f_result *r, char *err,
		      size_t errlen)
{
	const struct d2f_opts *o = c->o;
	size_t i;
	int ret;

	c->scale = calloc(1, sizeof(*c->scale));
	if (!c->scale)
		return fail(c, -ENOMEM, "out of memory");
	ret = d2f_scale_down(&c->cfg, o->ranks, o->overrides, o->noverrides, c->scale, err,
			     errlen);
	if (ret)
		return ret;
	if (!c->scale->n)
		return 0;
	if (o->noverrides + c->scale->n > DLIO_Y_MAX_OVERRIDES)
		return fail(c, -E2BIG, "more than %d overrides with --scale-down's %zu",
			    DLIO_Y_MAX_OVERRIDES, c->scale->n);
	c->all_ovr = calloc(o->noverrides + c->scale->n, sizeof(*c->all_ovr));
	if (!c->all_ovr)
		return fail(c, -ENOMEM, "out of memory");
	for (i = 0; i < o->noverrides; i++)
		c->all_ovr[i] = o->overrides[i];
	for (i = 0; i < c->scale->n; i++)
		c->all_ovr[o->noverrides + i] = c->scale->v[i];
	lo->overrides = c->all_ovr;
	lo->noverrides = o->noverrides + c->scale->n;
	/* the first load's warnings come again */
	memset(&r->diags, 0, sizeof(r->diags));
	memset(&c->cfg, 0, sizeof(c->cfg));
	return dlio_config_load(&c->cfg, o->workload, lo, &r->diags, err, errlen);
}

int d2f_translate(const struct d2f_opts *o, struct d2f_result *r, char *err, size_t errlen)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct dlio_load_opts lo = {.flavour = o->flavour,
				    .overrides = o->overrides,
				    .noverrides = o->noverrides};
	size_t nh = o->hosts ? o->nhosts : 1, h;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->o = o;
	c->err = err;
	c->errlen = errlen;
	if (o->ranks <= 0 || o->ranks > D2F_MAX_RANKS) {
		ret = fail(c, -EINVAL, "--ranks %lld: expected 1..%d", (long long)o->ranks,
			   D2F_MAX_RANKS);
		goto out;
	}
	if (o->hosts && (o->nhosts == 0 || o->nhosts > (size_t)o->ranks)) {
		ret = fail(c, -EINVAL, "--hosts: %zu hosts for %lld ranks; each host needs a rank",
			   o->nhosts, (long long)o->ranks);
		goto out;
	}
	if (o->noverrides > DLIO_Y_MAX_OVERRIDES) {
		ret = fail(c, -E2BIG, "more than %d overrides", DLIO_Y_MAX_OVERRIDES);
		goto out;
	}
	ret = dlio_config_load(&c->cfg, o->workload, &lo, &r->diags, err, errlen);
	if (ret)
		goto out;
	if (o->scale_down) {
		ret = scale_down(c, &lo, r, err, errlen);
		if (ret)
			goto out;
	}
	ret = setup(c);
	if (ret)
		goto out;
	r->files = calloc(nh, sizeof(*r->files));
	if (!r->files) {
		ret = fail(c, -ENOMEM, "out of memory");
		goto out;
	}
	r->nfiles = nh;
	for (h = 0; h < nh; h++) {
		int64_t base = (int64_t)h * o->ranks / (int64_t)nh;
		int64_t next = (int64_t)(h + 1) * o->ranks / (int64_t)nh;

		jobfile(c, &r->files[h], &r->diags, o->hosts ? o->hosts[h] : NULL, base,
			next - base);
		if (r->files[h].full) {
			ret = fail(c, -E2BIG, "job file text larger than %d bytes", D2F_TEXT_MAX);
			goto out;
		}
	}
	explain(c, &r->explain, &r->diags);
	if (r->explain.full)
		ret = fail(c, -E2BIG, "summary larger than %d bytes", D2F_TEXT_MAX);
out:
	if (ret)
		d2f_result_free(r);
	free(c->gen_bytes);
	free(c->gen_files);
	free(c->scale);
	free(c->all_ovr);
	free(c);
	return ret;
}
