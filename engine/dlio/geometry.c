#include "dlio/geometry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int64_t ndigits(int64_t v)
{
	int64_t n = 1;

	if (v < 0)
		return 1 + ndigits(-v);
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static int elem_bytes_of(const char *t)
{
	static const struct {
		const char *name;
		int bytes;
	} tab[] = {{"uint8", 1},   {"int8", 1},	   {"bool", 1},	   {"uint16", 2}, {"int16", 2},
		   {"float16", 2}, {"uint32", 4},  {"int32", 4},   {"float32", 4}, {"uint64", 8},
		   {"int64", 8},   {"float64", 8}};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(tab[i].name, t))
			return tab[i].bytes;
	return -1;
}

static int64_t trim_count(int64_t files, int64_t nspf, int64_t batch, int64_t comm,
			  enum dlio_trim trim)
{
	int64_t spst = nspf * batch * comm;

	if (trim == DLIO_TRIM_NONE || (trim == DLIO_TRIM_HEAD_N1 && nspf != 1) || spst <= 0)
		return files;
	return files / spst * spst;
}

int dlio_geom_init(struct dlio_geom *g, const struct dlio_config *cfg, int64_t comm_size,
		   enum dlio_trim trim, char *err, size_t errlen)
{
	const int64_t B = cfg->reader.batch_size, Be = cfg->reader.batch_size_eval;
	double rl = cfg->dataset.record_length_bytes;
	int eb = 1;
	int ret = 0;

	memset(g, 0, sizeof(*g));
	if (err && errlen)
		err[0] = '\0';
	if (comm_size <= 0 || B <= 0 || Be <= 0 || cfg->dataset.num_samples_per_file <= 0) {
		snprintf(err, errlen, "%s: comm_size, batch sizes and num_samples_per_file must be > 0",
			 cfg->file);
		ret = -EINVAL;
		goto out;
	}
	g->cfg = cfg;
	g->comm_size = comm_size;
	g->trim = trim;
	g->nspf = cfg->dataset.num_samples_per_file;
	g->nfiles_gen[0] = cfg->dataset.num_files_train;
	g->nfiles_gen[1] = cfg->dataset.num_files_eval;
	g->nfiles[0] = trim_count(g->nfiles_gen[0], g->nspf, B, comm_size, trim);
	g->nfiles[1] = trim_count(g->nfiles_gen[1], g->nspf, Be, comm_size, trim);
	g->dim = (int64_t)floor(sqrt(rl));
	g->dim_stdev = rl > 0 ? cfg->dataset.record_length_bytes_stdev / 2.0 / sqrt(rl) : 0;
	if (cfg->flavour == DLIO_FLAVOUR_HEAD && cfg->dataset.format != DLIO_FMT_JPEG &&
	    cfg->dataset.format != DLIO_FMT_PNG) {
		eb = elem_bytes_of(cfg->dataset.record_element_type);
		if (eb < 0) {
			snprintf(err, errlen, "%s: dataset.record_element_type: unsupported dtype '%s'",
				 cfg->file, cfg->dataset.record_element_type);
			ret = -EINVAL;
			goto out;
		}
	}
	g->elem_bytes = eb;
	if (cfg->flavour == DLIO_FLAVOUR_HEAD && cfg->dataset.record_dims.n) {
		int64_t p = eb;
		size_t i;

		for (i = 0; i < cfg->dataset.record_dims.n; i++) {
			if (cfg->dataset.record_dims.v[i] <= 0 ||
			    p > INT64_MAX / cfg->dataset.record_dims.v[i]) {
				snprintf(err, errlen, "%s: dataset.record_dims: bad or too large",
					 cfg->file);
				ret = -ERANGE;
				goto out;
			}
			p *= cfg->dataset.record_dims.v[i];
		}
		g->fixed_dims_bytes = p;
	}
	/* Python: floor(n * F / B / comm); exact in integers for positive values */
	g->max_steps = g->nspf * g->nfiles[0] / B / comm_size;
	g->steps = g->max_steps;
	if (cfg->train.total_training_steps > 0) {
		if (cfg->train.total_training_steps > g->max_steps) {
			snprintf(err, errlen,
				 "%s: train.total_training_steps: %lld is more than the %lld steps "
				 "per epoch that exist (DLIO exits with an error)",
				 cfg->file, (long long)cfg->train.total_training_steps,
				 (long long)g->max_steps);
			ret = -EINVAL;
			goto out;
		}
		g->steps = cfg->train.total_training_steps;
	}
	g->eval_steps = g->nspf * g->nfiles[1] / Be / comm_size;
out:
	return ret;
}

int64_t dlio_geom_subfolders(const struct dlio_geom *g, enum dlio_split s)
{
	int64_t n = s == DLIO_SPLIT_TRAIN ? g->cfg->dataset.num_subfolders_train
					  : g->cfg->dataset.num_subfolders_eval;

	return n > 1 ? n : 0;
}

int dlio_geom_file_relpath(const struct dlio_geom *g, enum dlio_split s, int64_t idx, char *buf,
			   size_t len)
{
	const struct dlio_config *cfg = g->cfg;
	int64_t nf = g->nfiles_gen[s], sub = dlio_geom_subfolders(g, s);
	int w = (int)ndigits(nf), n;

	if (idx < 0 || idx >= nf)
		return -ERANGE;
	if (sub)
		n = snprintf(buf, len, "%s/%0*lld/%s_%0*lld_of_%lld.%s",
			     s == DLIO_SPLIT_TRAIN ? "train" : "valid", (int)ndigits(sub),
			     (long long)(idx % sub), cfg->dataset.file_prefix, w, (long long)idx,
			     (long long)nf, dlio_format_name(cfg->dataset.format));
	else
		n = snprintf(buf, len, "%s/%s_%0*lld_of_%lld.%s",
			     s == DLIO_SPLIT_TRAIN ? "train" : "valid", cfg->dataset.file_prefix, w,
			     (long long)idx, (long long)nf, dlio_format_name(cfg->dataset.format));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

/* os.path.join(a, b): b wins when absolute; otherwise one '/' between */
static int path_join(char *buf, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a);
	int n;

	if (b[0] == '/' || strstr(b, "://") || !la)
		n = snprintf(buf, len, "%s", b);
	else
		n = snprintf(buf, len, "%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

int dlio_geom_file_path(const struct dlio_geom *g, enum dlio_split s, int64_t idx, char *buf,
			size_t len)
{
	char rel[DLIO_STR_MAX], base[2 * DLIO_STR_MAX + 2];
	int ret;

	ret = dlio_geom_file_relpath(g, s, idx, rel, sizeof(rel));
	if (ret < 0)
		return ret;
	ret = path_join(base, sizeof(base), g->cfg->storage.storage_root,
			g->cfg->dataset.data_folder);
	if (ret < 0)
		return ret;
	return path_join(buf, len, base, rel);
}

int dlio_geom_aux_relpath(const struct dlio_geom *g, enum dlio_split s, int64_t idx, int i,
			  char *buf, size_t len)
{
	char rel[DLIO_STR_MAX];
	const char *base;
	int ret, n;

	ret = dlio_geom_file_relpath(g, s, idx, rel, sizeof(rel));
	if (ret < 0)
		return ret;
	switch (g->cfg->dataset.format) {
	case DLIO_FMT_INDEXED_BINARY:
	case DLIO_FMT_MMAP_INDEXED_BINARY:
		if (i < 0 || i > 1)
			return -ERANGE;
		n = snprintf(buf, len, "%s%s", rel, i ? ".sz.idx" : ".off.idx");
		break;
	case DLIO_FMT_TFRECORD:
		if (i)
			return -ERANGE;
		base = strrchr(rel, '/');
		n = snprintf(buf, len, "index/%s/%s.idx", s == DLIO_SPLIT_TRAIN ? "train" : "valid",
			     base ? base + 1 : rel);
		break;
	default:
		return -ERANGE;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

void dlio_dims_iter_init(struct dlio_dims_iter *it, const struct dlio_geom *g)
{
	dlio_rng_seed(&it->rng, DLIO_GEN_SEED);
	it->next = 0;
	it->dim = g->dim;
	it->sd = g->dim_stdev;
}

static int64_t draw_dim(struct dlio_dims_iter *it)
{
	double v;
	int64_t d;

	if (!(it->sd > 0))
		return it->dim;
	v = dlio_rng_normal(&it->rng, (double)it->dim, it->sd);
	/* Python int() truncates toward zero, then max(., 1) */
	d = v >= 9.2e18 ? INT64_MAX : (v <= -9.2e18 ? INT64_MIN : (int64_t)v);
	return d < 1 ? 1 : d;
}

void dlio_dims_iter_next(struct dlio_dims_iter *it, int64_t *d1, int64_t *d2)
{
	*d1 = draw_dim(it);
	*d2 = draw_dim(it);
	it->next++;
}

int dlio_dims_iter_seek(struct dlio_dims_iter *it, int64_t gidx)
{
	int64_t a, b;

	if (gidx < it->next)
		return -EINVAL;
	while (it->next < gidx)
		dlio_dims_iter_next(it, &a, &b);
	return 0;
}

void dlio_geom_file_dims(const struct dlio_geom *g, int64_t gidx, int64_t *d1, int64_t *d2)
{
	struct dlio_dims_iter it;

	dlio_dims_iter_init(&it, g);
	dlio_dims_iter_seek(&it, gidx);
	dlio_dims_iter_next(&it, d1, d2);
}

/* numpy format 1.0: magic(6) version(2) len(2) dict, growth spaces and '\n' padded to 64.
 * Every dtype DLIO writes has a 3-character descr ('|u1', '<f4', ...), so the length does not
 * depend on which. */
int64_t dlio_npy_header_len(const char *descr, const int64_t *shape, size_t ndim)
{
	/* the length of numpy's header dict, counted rather than printed (it is asked
	 * for every file of a dataset):
	 * {'descr': '<descr>', 'fortran_order': False, 'shape': (<d>, <d>, <n>), } */
	int64_t h = (int64_t)strlen("{'descr': '") + (int64_t)strlen(descr) +
		    (int64_t)strlen("', 'fortran_order': False, 'shape': (") +
		    (int64_t)strlen("), }");
	size_t i;

	for (i = 0; i < ndim; i++)
		h += ndigits(shape[i]) + (i ? 2 : 0);
	if (ndim == 1)
		h += 1; /* a 1-tuple is written (n,) */
	/* numpy leaves room to grow the first axis in place: 21 digits */
	if (ndim)
		h += 21 - ndigits(shape[0]);
	h += 1;
	return 10 + h + (64 - (10 + h) % 64);
}

static int64_t varint_len(uint64_t v)
{
	int64_t n = 1;

	while (v >= 128) {
		v >>= 7;
		n++;
	}
	return n;
}

/* serialized tf.train.Example {image: bytes_list[P], size: int64_list[s]} */
int64_t dlio_tfrecord_example_len(int64_t p, int64_t s)
{
	int64_t l1 = 1 + varint_len((uint64_t)p) + p;
	int64_t f1 = 1 + varint_len((uint64_t)l1) + l1;
	int64_t e1 = 8 + varint_len((uint64_t)f1) + f1;
	int64_t vb = varint_len((uint64_t)s);
	int64_t l2 = 1 + varint_len((uint64_t)vb) + vb;
	int64_t f2 = 1 + varint_len((uint64_t)l2) + l2;
	int64_t e2 = 7 + varint_len((uint64_t)f2) + f2;
	int64_t fl = 1 + varint_len((uint64_t)e1) + e1 + 1 + varint_len((uint64_t)e2) + e2;

	return 1 + varint_len((uint64_t)fl) + fl;
}

int64_t dlio_tfrecord_index_len(int64_t n, int64_t rec_len)
{
	int64_t total = 0, k, lo, hi, d;

	/* sum of digits of k*rec_len for k < n, grouped by digit count */
	for (d = 1, lo = 0; lo < n; d++) {
		int64_t limit = 1;

		for (k = 0; k < d && limit <= INT64_MAX / 10; k++)
			limit *= 10; /* numbers < limit have <= d digits */
		hi = (limit - 1) / rec_len + 1; /* k*rec_len < limit  <=>  k < hi */
		if (hi > n)
			hi = n;
		if (hi > lo)
			total += (hi - lo) * d;
		lo = hi > lo ? hi : lo;
		if (d > 19)
			break;
	}
	return total + n * (1 + ndigits(rec_len) + 1);
}

int dlio_geom_file_size(const struct dlio_geom *g, int64_t d1, int64_t d2,
			struct dlio_file_size *fs)
{
	const struct dlio_config *cfg = g->cfg;
	const int64_t n = g->nspf;
	int head = cfg->flavour == DLIO_FLAVOUR_HEAD;
	int64_t p, shape[DLIO_LIST_MAX + 1], e;
	size_t nd = 0, i;

	memset(fs, 0, sizeof(*fs));
	fs->exact = 1;
	if (g->fixed_dims_bytes) {
		p = g->fixed_dims_bytes;
		for (i = 0; i < cfg->dataset.record_dims.n; i++)
			shape[nd++] = cfg->dataset.record_dims.v[i];
	} else {
		if (d1 > 0 && d2 > INT64_MAX / d1 / g->elem_bytes)
			return -ERANGE;
		p = d1 * d2 * g->elem_bytes;
		shape[nd++] = d1;
		shape[nd++] = d2;
	}
	if (n > 0 && p > INT64_MAX / 4 / n)
		return -ERANGE;
	fs->sample_bytes = p;
	shape[nd++] = n;
	switch (cfg->dataset.format) {
	case DLIO_FMT_NPZ: {
		int64_t x = p * n, y = 8 * n, yshape[1] = {n};
		int64_t hx = dlio_npy_header_len("|u1", shape, nd);
		int64_t hy = dlio_npy_header_len("<i8", yshape, 1);
		/* zip: 2 local headers (30 + "x.npy" + 20 zip64 extra), 2 central entries
		 * (46 + name), end record 22; Python's zipfile switches the central directory to
		 * zip64 fields above ZIP64_LIMIT = 2^31 - 1 */
		const int64_t lim = 2147483647LL;
		int64_t local = 30 + 5 + 20, x_member = local + hx + x;
		int64_t cd = 2 * (46 + 5), cd_off;

		if (hx + x > lim)
			cd += 20;
		if (x_member > lim)
			cd += 12;
		cd_off = x_member + local + hy + y;
		fs->size = cd_off + cd + 22;
		if (cd_off > lim || cd > lim)
			fs->size += 56 + 20;
		fs->data_offset = local + hx;
		break;
	}
	case DLIO_FMT_NPY:
		fs->data_offset = dlio_npy_header_len("|u1", shape, nd);
		fs->size = fs->data_offset + p * n;
		break;
	case DLIO_FMT_HDF5:
		/* h5py 3.7 / HDF5 1.10, contiguous: 2048 bytes of metadata, the records, the
		 * labels.  HEAD's num_dset_per_record = k splits the first record dimension
		 * over k datasets, so they hold P·n bytes together. */
		fs->data_offset = 2048;
		fs->size = 2048 + p * n + 8 * n;
		break;
	case DLIO_FMT_TFRECORD:
		e = dlio_tfrecord_example_len(p, head ? p : g->dim);
		fs->size = n * (16 + e);
		fs->naux = 1;
		fs->aux_size = dlio_tfrecord_index_len(n, 16 + e);
		break;
	case DLIO_FMT_CSV:
		/* ~2.57 digits + a comma per uint8 value; content-dependent */
		fs->size = (int64_t)((double)n * (double)(p / g->elem_bytes) * 3.57);
		fs->exact = 0;
		break;
	case DLIO_FMT_PNG:
		fs->size = (int64_t)(1.003 * (double)p) + 100;
		fs->exact = 0;
		break;
	case DLIO_FMT_JPEG:
		fs->size = (int64_t)(0.56 * (double)p);
		fs->exact = 0;
		break;
	case DLIO_FMT_INDEXED_BINARY:
	case DLIO_FMT_MMAP_INDEXED_BINARY:
		fs->size = p * n;
		fs->naux = 2;
		fs->aux_size = 8 * n;
		/* T <= comm_size uses collective MPI-IO with a different layout */
		if (g->nfiles_gen[0] + g->nfiles_gen[1] <= g->comm_size && g->comm_size > 1)
			fs->exact = 0;
		break;
	case DLIO_FMT_SYNTHETIC:
		/* the ASCII decimal of the generation index: caller knows the index */
		fs->size = -1;
		fs->exact = 0;
		break;
	default:
		return -ENOTSUP;
	}
	return 0;
}
