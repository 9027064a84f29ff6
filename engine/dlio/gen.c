#include "dlio/gen.h"

#include "dlio/crc32.h"
#include "dlio/hdf5.h"
#include "dlio/reads.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* Fixed DOS timestamp (2024-01-01 00:00) so generated files are reproducible. */
#define ZIP_DOS_TIME 0
#define ZIP_DOS_DATE ((44 << 9) | (1 << 5) | 1)
#define ZIP_LOCAL_LEN (30 + 5 + 20)
#define ZIP_CENTRAL_LEN (46 + 5)
#define ZIP_EOCD_LEN 22

int dlio_gen_init(struct dlio_gen *gen, const struct dlio_geom *g, int64_t rank, int64_t comm,
		  char *err, size_t errlen)
{
	if (comm < 1 || rank < 0 || rank >= comm) {
		snprintf(err, errlen, "rank %lld is outside 0..%lld", (long long)rank,
			 (long long)comm - 1);
		return -EINVAL;
	}
	memset(gen, 0, sizeof(*gen));
	gen->g = g;
	gen->rank = rank;
	gen->comm = comm;
	gen->next_gidx = rank;
	gen->cur_gidx = -1;
	dlio_dims_iter_init(&gen->dims, g);
	return 0;
}

static int64_t total_files(const struct dlio_geom *g)
{
	return g->nfiles_gen[0] + (g->nfiles_gen[1] > 0 ? g->nfiles_gen[1] : 0);
}

static int64_t ndigits(int64_t v)
{
	int64_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* numpy's format 1.0 header: dict, room for the first axis to grow, space padding
 * to a multiple of 64 bytes, newline. */
static int64_t npy_header(uint8_t *out, size_t cap, const char *descr, const int64_t *shape,
			  size_t ndim)
{
	char dict[512];
	size_t off;
	int64_t total;

	off = (size_t)snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (",
			       descr);
	for (size_t i = 0; i < ndim; i++)
		off += (size_t)snprintf(dict + off, sizeof(dict) - off, "%s%lld", i ? ", " : "",
					(long long)shape[i]);
	off += (size_t)snprintf(dict + off, sizeof(dict) - off, "%s), }", ndim == 1 ? "," : "");
	if (ndim)
		for (int64_t k = ndigits(shape[0]); k < 21 && off < sizeof(dict) - 1; k++)
			dict[off++] = ' ';
	total = 10 + (int64_t)off + 1;
	total += 64 - total % 64;
	if ((size_t)total > cap)
		return -1;
	memcpy(out, "\x93NUMPY\x01\x00", 8);
	put_le(out + 8, (uint64_t)(total - 10), 2);
	memcpy(out + 10, dict, off);
	memset(out + 10 + off, ' ', (size_t)total - 10 - off - 1);
	out[total - 1] = '\n';
	return total;
}

/* The shape DLIO saves: (d1, d2, n), or HEAD's record_dims followed by n. */
static size_t file_shape(const struct dlio_gen_file *f, const struct dlio_geom *g, int64_t *shape)
{
	size_t nd = 0;

	if (g->fixed_dims_bytes) {
		for (size_t i = 0; i < g->cfg->dataset.record_dims.n; i++)
			shape[nd++] = g->cfg->dataset.record_dims.v[i];
	} else {
		shape[nd++] = f->d1;
		shape[nd++] = f->d2;
	}
	shape[nd++] = f->n;
	return nd;
}

/*
 * The HDF5 datasets DLIO's generator creates (SPEC 4.4.3): 'records' (v2.0) or
 * 'records_0' .. 'records_{k-1}' (HEAD, k = hdf5.num_dset_per_record, each with
 * the first record dimension divided by k and a leading 1 then dropped), of
 * shape (n, ...), followed by 'labels', n int64 zeros.  The data is laid out as
 * h5py 3.7 / HDF5 1.10 lay it out: the records from data_offset on, one dataset
 * after the other, then the labels at the end of the file.
 */
static int hdf5_layout(const struct dlio_gen_file *f, const struct dlio_geom *g,
		       int64_t data_offset, struct dlio_hdf5_dset *d)
{
	const struct dlio_config *cfg = g->cfg;
	int head = cfg->flavour == DLIO_FLAVOUR_HEAD;
	int64_t k = head ? cfg->dataset.hdf5.num_dset_per_record : 1, per;
	uint64_t dims[DLIO_LIST_MAX + 1] = {0};
	size_t nd = 0, skip = 0;
	int rank;

	if (k < 1 || k >= DLIO_HDF5_MAX_DSETS || f->p % k)
		return -EINVAL;
	memset(d, 0, sizeof(*d) * (size_t)(k + 1));
	if (dlio_hdf5_dtype(head ? cfg->dataset.record_element_type : "uint8", &d[0].cls,
			    &d[0].elem_bytes))
		return -EINVAL;
	dims[nd++] = (uint64_t)f->n;
	if (g->fixed_dims_bytes) {
		for (size_t i = 0; i < cfg->dataset.record_dims.n; i++)
			dims[nd++] = (uint64_t)cfg->dataset.record_dims.v[i];
		dims[1] /= (uint64_t)k;
		if (dims[1] == 1)
			skip = 1;
	} else {
		if (k != 1)
			return -EINVAL; /* DLIO itself fails: it divides an int's first item */
		dims[nd++] = (uint64_t)f->d1;
		dims[nd++] = (uint64_t)f->d2;
	}
	rank = (int)(nd - skip);
	if (rank > DLIO_HDF5_MAX_RANK)
		return -EINVAL;
	per = f->p / k * f->n;
	for (int64_t i = 0; i < k; i++) {
		d[i].cls = d[0].cls;
		d[i].elem_bytes = d[0].elem_bytes;
		if (head)
			snprintf(d[i].name, sizeof(d[i].name), "records_%lld", (long long)i);
		else
			strcpy(d[i].name, "records");
		d[i].rank = rank;
		d[i].dims[0] = dims[0];
		for (int j = 1; j < rank; j++)
			d[i].dims[j] = dims[(size_t)j + skip];
		d[i].addr = (uint64_t)(data_offset + i * per);
	}
	strcpy(d[k].name, "labels");
	d[k].rank = 1;
	d[k].dims[0] = (uint64_t)f->n;
	d[k].cls = DLIO_HDF5_INT;
	d[k].elem_bytes = 8;
	d[k].addr = (uint64_t)(data_offset + k * per);
	return (int)k + 1;
}

/* The Example bytes around one sample's payload (SPEC 4.4.4): the image feature's
 * headers before it, the size feature after it. */
static void tfrecord_parts(int64_t p, int64_t s, uint8_t *head, int64_t *hlen, uint8_t *tail,
			   int64_t *tlen)
{
	uint8_t vb[10];
	int64_t nvb = (int64_t)put_varint(vb, (uint64_t)s);
	uint8_t tmp[10];
	int64_t l1 = 1 + (int64_t)put_varint(tmp, (uint64_t)p) + p;
	int64_t f1 = 1 + (int64_t)put_varint(tmp, (uint64_t)l1) + l1;
	int64_t e1 = 8 + (int64_t)put_varint(tmp, (uint64_t)f1) + f1;
	int64_t l2 = 1 + (int64_t)put_varint(tmp, (uint64_t)nvb) + nvb;
	int64_t f2 = 1 + (int64_t)put_varint(tmp, (uint64_t)l2) + l2;
	int64_t e2 = 7 + (int64_t)put_varint(tmp, (uint64_t)f2) + f2;
	int64_t fl = 1 + (int64_t)put_varint(tmp, (uint64_t)e1) + e1 + 1 +
		     (int64_t)put_varint(tmp, (uint64_t)e2) + e2;
	size_t n = 0;

	head[n++] = 0x0a; /* Example.features */
	n += put_varint(head + n, (uint64_t)fl);
	head[n++] = 0x0a; /* Features.feature map entry "image" */
	n += put_varint(head + n, (uint64_t)e1);
	memcpy(head + n, "\x0a\x05image", 7);
	n += 7;
	head[n++] = 0x12; /* entry value: Feature */
	n += put_varint(head + n, (uint64_t)f1);
	head[n++] = 0x0a; /* Feature.bytes_list */
	n += put_varint(head + n, (uint64_t)l1);
	head[n++] = 0x0a; /* BytesList.value */
	n += put_varint(head + n, (uint64_t)p);
	*hlen = (int64_t)n;

	n = 0;
	tail[n++] = 0x0a; /* map entry "size" */
	n += put_varint(tail + n, (uint64_t)e2);
	memcpy(tail + n, "\x0a\x04size", 6);
	n += 6;
	tail[n++] = 0x12;
	n += put_varint(tail + n, (uint64_t)f2);
	tail[n++] = 0x1a; /* Feature.int64_list */
	n += put_varint(tail + n, (uint64_t)l2);
	tail[n++] = 0x0a; /* Int64List.value, packed */
	n += put_varint(tail + n, (uint64_t)nvb);
	memcpy(tail + n, vb, (size_t)nvb);
	n += (size_t)nvb;
	*tlen = (int64_t)n;
}

static int setup_data_file(struct dlio_gen *gen, struct dlio_gen_file *f, char *err,
			   size_t errlen)
{
	const struct dlio_geom *g = gen->g;
	struct dlio_file_size fs;
	int64_t shape[DLIO_LIST_MAX + 1];
	uint8_t tmp[256];
	int ret;

	ret = dlio_geom_file_size(g, f->d1, f->d2, &fs);
	if (ret) {
		snprintf(err, errlen, "%s: cannot size this file: %s", f->relpath, strerror(-ret));
		return ret;
	}
	f->p = fs.sample_bytes;
	f->size = fs.size;
	f->valid = fs.exact ? DLIO_GEN_SIZE_ONLY : DLIO_GEN_APPROXIMATE;

	switch (f->format) {
	case DLIO_FMT_NPZ: {
		int64_t yshape[1] = { f->n }, x = f->p * f->n, lim = 2147483647LL;
		size_t nd = file_shape(f, g, shape);

		f->hx = npy_header(tmp, sizeof(tmp), "|u1", shape, nd);
		f->hy = npy_header(tmp, sizeof(tmp), "<i8", yshape, 1);
		/* zip64 central records (members past 2 GiB) are not written yet */
		if (f->hx > 0 && f->hy > 0 && ZIP_LOCAL_LEN + f->hx + x <= lim &&
		    f->size == 2 * ZIP_LOCAL_LEN + f->hx + x + f->hy + 8 * f->n +
				       2 * ZIP_CENTRAL_LEN + ZIP_EOCD_LEN)
			f->valid = DLIO_GEN_VALID;
		f->crc = 0;
		f->crc2 = 0;
		break;
	}
	case DLIO_FMT_NPY: {
		size_t nd = file_shape(f, g, shape);

		f->hx = npy_header(tmp, sizeof(tmp), "|u1", shape, nd);
		if (f->hx > 0 && f->hx + f->p * f->n == f->size)
			f->valid = DLIO_GEN_VALID;
		break;
	}
	case DLIO_FMT_TFRECORD: {
		uint8_t h[64], t[64];
		int64_t hl, tl, s = g->cfg->flavour == DLIO_FLAVOUR_HEAD ? f->p : g->dim;

		tfrecord_parts(f->p, s, h, &hl, t, &tl);
		f->ehead = hl;
		f->rec_len = 16 + hl + f->p + tl;
		if (f->rec_len * f->n == f->size)
			f->valid = DLIO_GEN_VALID;
		f->crc = 0;
		break;
	}
	case DLIO_FMT_HDF5: {
		struct dlio_hdf5_dset d[DLIO_HDF5_MAX_DSETS];
		uint8_t meta[DLIO_HDF5_META_MAX];
		int nd = hdf5_layout(f, g, fs.data_offset, d);

		f->hy = fs.data_offset;
		f->hx = nd > 0 ? dlio_hdf5_metadata(d, nd, (uint64_t)f->size, meta, sizeof(meta)) : -1;
		if (f->hx > 0 && f->hx <= f->hy && f->size == f->hy + f->p * f->n + 8 * f->n)
			f->valid = DLIO_GEN_VALID;
		break;
	}
	case DLIO_FMT_INDEXED_BINARY:
	case DLIO_FMT_MMAP_INDEXED_BINARY:
		if (fs.exact)
			f->valid = DLIO_GEN_VALID; /* raw samples; the index files describe them */
		break;
	case DLIO_FMT_SYNTHETIC:
		f->size = ndigits(f->gidx);
		f->valid = DLIO_GEN_VALID;
		break;
	default:
		break;
	}
	return 0;
}

int dlio_gen_next(struct dlio_gen *gen, struct dlio_gen_file *f, char *err, size_t errlen)
{
	const struct dlio_geom *g = gen->g;
	int ret;

	memset(f, 0, sizeof(*f));
	f->format = g->cfg->dataset.format;
	f->n = g->nspf;

	if (gen->next_aux) {
		struct dlio_file_size fs;

		f->gidx = gen->cur_gidx;
		f->split = f->gidx < g->nfiles_gen[0] ? DLIO_SPLIT_TRAIN : DLIO_SPLIT_EVAL;
		f->idx = f->split == DLIO_SPLIT_TRAIN ? f->gidx : f->gidx - g->nfiles_gen[0];
		f->d1 = gen->cur_d1;
		f->d2 = gen->cur_d2;
		ret = dlio_geom_file_size(g, f->d1, f->d2, &fs);
		if (ret)
			return ret;
		f->aux = gen->next_aux;
		f->p = fs.sample_bytes;
		f->size = fs.aux_size;
		f->valid = DLIO_GEN_VALID;
		if (f->format == DLIO_FMT_TFRECORD) {
			uint8_t h[64], t[64];
			int64_t hl, tl, s = g->cfg->flavour == DLIO_FLAVOUR_HEAD ? f->p : g->dim;

			tfrecord_parts(f->p, s, h, &hl, t, &tl);
			f->rec_len = 16 + hl + f->p + tl;
		}
		ret = dlio_geom_aux_relpath(g, f->split, f->idx, f->aux - 1, f->relpath,
					    sizeof(f->relpath));
		if (ret < 0) {
			snprintf(err, errlen, "side file %d of file %lld: name too long", f->aux,
				 (long long)f->idx);
			return ret;
		}
		gen->next_aux = f->aux < fs.naux ? f->aux + 1 : 0;
		return 1;
	}

	if (gen->next_gidx >= total_files(g))
		return 0;
	f->gidx = gen->next_gidx;
	gen->next_gidx += gen->comm;
	f->split = f->gidx < g->nfiles_gen[0] ? DLIO_SPLIT_TRAIN : DLIO_SPLIT_EVAL;
	f->idx = f->split == DLIO_SPLIT_TRAIN ? f->gidx : f->gidx - g->nfiles_gen[0];
	ret = dlio_dims_iter_seek(&gen->dims, f->gidx);
	if (ret) {
		snprintf(err, errlen, "internal: dims stream went backwards");
		return ret;
	}
	dlio_dims_iter_next(&gen->dims, &f->d1, &f->d2);
	ret = dlio_geom_file_relpath(g, f->split, f->idx, f->relpath, sizeof(f->relpath));
	if (ret < 0) {
		snprintf(err, errlen, "file %lld: name too long", (long long)f->idx);
		return ret;
	}
	ret = setup_data_file(gen, f, err, errlen);
	if (ret)
		return ret;
	gen->cur_gidx = f->gidx;
	gen->cur_d1 = f->d1;
	gen->cur_d2 = f->d2;
	{
		struct dlio_file_size fs;

		if (dlio_geom_file_size(g, f->d1, f->d2, &fs) == 0 && fs.naux > 0)
			gen->next_aux = 1;
	}
	return 1;
}

int dlio_gen_totals(const struct dlio_geom *g, int64_t rank, int64_t comm, int64_t *files,
		    int64_t *bytes, int64_t *largest, char *err, size_t errlen)
{
	struct dlio_gen gen;
	struct dlio_gen_file f;
	int ret;

	*files = *bytes = *largest = 0;
	ret = dlio_gen_init(&gen, g, rank, comm, err, errlen);
	while (!ret && (ret = dlio_gen_next(&gen, &f, err, errlen)) == 1) {
		(*files)++;
		*bytes += f.size;
		if (f.size > *largest)
			*largest = f.size;
		ret = 0;
	}
	return ret < 0 ? ret : 0;
}

const char *dlio_gen_content(const struct dlio_config *cfg)
{
	switch (cfg->dataset.format) {
	case DLIO_FMT_NPZ:
		return "valid npz (numpy's savez layout around fio's payload)";
	case DLIO_FMT_NPY:
		return "valid npy (numpy's header before fio's payload)";
	case DLIO_FMT_TFRECORD:
		return "valid TFRecord (tf.train.Example records framed with masked CRC-32C "
		       "around fio's payload) and their .idx files";
	case DLIO_FMT_HDF5:
		if ((cfg->flavour == DLIO_FLAVOUR_V20 ? cfg->dataset.enable_chunking
						      : cfg->dataset.hdf5.chunk_dims.n > 0) ||
		    (cfg->dataset.compression[0] && strcmp(cfg->dataset.compression, "none")))
			return "valid HDF5 (h5py opens it) around fio's payload, but contiguous "
			       "and uncompressed: DLIO's chunking/compression is not reproduced";
		return "valid HDF5 (h5py opens it): DLIO's datasets, contiguous, around fio's "
		       "payload";
	case DLIO_FMT_INDEXED_BINARY:
	case DLIO_FMT_MMAP_INDEXED_BINARY:
		return "raw samples (fio's payload) with valid .off.idx and .sz.idx";
	case DLIO_FMT_CSV:
		return "NOT valid csv: fio's random payload at DLIO's typical size (csv text "
		       "would have to be made from the data, which stays fio's)";
	case DLIO_FMT_JPEG:
	case DLIO_FMT_PNG:
		return "NOT a valid image: fio's random payload at the encoder's typical size";
	case DLIO_FMT_SYNTHETIC:
		return "the file's index in ASCII, as DLIO writes it";
	default:
		return "fio's payload";
	}
}

/* CRC-32C (Castagnoli), as TFRecord frames records; slicing-by-8 tables. */
static uint32_t crc32c_table[8][256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
					     crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

#if defined(__x86_64__)
#include <cpuid.h>
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							    size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

static int have_sse42(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
}
#endif

uint32_t dlio_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int init; /* 0 unknown, 1 software, 2 hardware */
	const uint8_t *p = buf;

	if (!init) {
		crc32c_init();
		init = 1;
#if defined(__x86_64__)
		if (have_sse42())
			init = 2;
#endif
	}
	crc = ~crc;
#if defined(__x86_64__)
	if (init == 2)
		return ~crc32c_hw(crc, p, len);
#endif
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);

		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
		      crc32c_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

uint32_t dlio_tfrecord_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/*
 * A file is a run of segments; each is either container bytes the generator
 * writes (produced into tmp by the format's function) or payload left alone.
 * seg() describes the segment containing pos: [start, end), and whether it is
 * payload.  Container segments are small (headers, index lines) except zero runs.
 */
struct seg {
	int64_t start, end;
	int payload;
	int zeros;	   /* container bytes that are all zero (npz's y array) */
	int crc_into;	   /* 0: none, 1: crc, 2: crc2 — running checksums to update */
	int64_t crc_from;  /* the checksum covers bytes from here on */
	int ends_record;   /* tfrecord: the running CRC restarts after this segment */
	uint8_t tmp[256];  /* container bytes of [start, end) when not zeros */
};

static void npz_local(uint8_t *b, uint32_t crc, uint64_t size)
{
	put_le(b, 0x04034b50, 4);
	put_le(b + 4, 45, 2); /* zip64 */
	put_le(b + 6, 0, 2);
	put_le(b + 8, 0, 2); /* stored */
	put_le(b + 10, ZIP_DOS_TIME, 2);
	put_le(b + 12, ZIP_DOS_DATE, 2);
	put_le(b + 14, crc, 4);
	put_le(b + 18, 0xffffffffu, 4);
	put_le(b + 22, 0xffffffffu, 4);
	put_le(b + 26, 5, 2);
	put_le(b + 28, 20, 2);
	/* name filled by the caller */
	put_le(b + 35, 1, 2); /* zip64 extra: sizes */
	put_le(b + 37, 16, 2);
	put_le(b + 39, size, 8);
	put_le(b + 47, size, 8);
}

static void npz_central(uint8_t *b, const char *name, uint32_t crc, uint64_t size, uint64_t off)
{
	put_le(b, 0x02014b50, 4);
	put_le(b + 4, (3 << 8) | 45, 2);
	put_le(b + 6, 45, 2);
	put_le(b + 8, 0, 2);
	put_le(b + 10, 0, 2);
	put_le(b + 12, ZIP_DOS_TIME, 2);
	put_le(b + 14, ZIP_DOS_DATE, 2);
	put_le(b + 16, crc, 4);
	put_le(b + 20, size, 4);
	put_le(b + 24, size, 4);
	put_le(b + 28, 5, 2);
	put_le(b + 30, 0, 2);
	put_le(b + 32, 0, 2);
	put_le(b + 34, 0, 2);
	put_le(b + 36, 0, 2);
	put_le(b + 38, 0600u << 16, 4);
	put_le(b + 42, off, 4);
	memcpy(b + 46, name, 5);
}

static void npz_seg(struct dlio_gen_file *f, const struct dlio_geom *g, int64_t pos, struct seg *s)
{
	int64_t x = f->p * f->n, y = 8 * f->n;
	int64_t bx = ZIP_LOCAL_LEN, cx = bx + f->hx, ay = cx + x, by = ay + ZIP_LOCAL_LEN;
	int64_t cy = by + f->hy, cd = cy + y, eocd = cd + 2 * ZIP_CENTRAL_LEN;
	int64_t shape[DLIO_LIST_MAX + 1], yshape[1] = { f->n };

	memset(s, 0, offsetof(struct seg, tmp));
	if (pos < bx) {
		s->start = 0;
		s->end = bx;
		npz_local(s->tmp, 0, (uint64_t)(f->hx + x)); /* CRC follows in the central record */
		memcpy(s->tmp + 30, "x.npy", 5);
	} else if (pos < cx) {
		s->start = bx;
		s->end = cx;
		npy_header(s->tmp, sizeof(s->tmp), "|u1", shape, file_shape(f, g, shape));
		s->crc_into = 1;
		s->crc_from = bx;
	} else if (pos < ay) {
		s->start = cx;
		s->end = ay;
		s->payload = 1;
		s->crc_into = 1;
		s->crc_from = cx;
	} else if (pos < by) {
		uint8_t hdr[256];
		int64_t hl = npy_header(hdr, sizeof(hdr), "<i8", yshape, 1);
		uint32_t crc = (uint32_t)crc32(0, hdr, (uInt)hl);
		static const uint8_t zero[4096];

		for (int64_t left = y; left > 0; left -= (int64_t)sizeof(zero))
			crc = (uint32_t)crc32(crc, zero,
					      (uInt)(left < (int64_t)sizeof(zero) ? left : (int64_t)sizeof(zero)));
		s->start = ay;
		s->end = by;
		npz_local(s->tmp, crc, (uint64_t)(f->hy + y));
		memcpy(s->tmp + 30, "y.npy", 5);
	} else if (pos < cy) {
		s->start = by;
		s->end = cy;
		npy_header(s->tmp, sizeof(s->tmp), "<i8", yshape, 1);
		s->crc_into = 2;
		s->crc_from = by;
	} else if (pos < cd) {
		s->start = cy;
		s->end = cd;
		s->zeros = 1;
		s->crc_into = 2;
		s->crc_from = cy;
	} else if (pos < eocd) {
		s->start = cd;
		s->end = eocd;
		npz_central(s->tmp, "x.npy", f->crc, (uint64_t)(f->hx + x), 0);
		npz_central(s->tmp + ZIP_CENTRAL_LEN, "y.npy", f->crc2, (uint64_t)(f->hy + y),
			    (uint64_t)ay);
	} else {
		s->start = eocd;
		s->end = eocd + ZIP_EOCD_LEN;
		put_le(s->tmp, 0x06054b50, 4);
		put_le(s->tmp + 4, 0, 4);
		put_le(s->tmp + 8, 2, 2);
		put_le(s->tmp + 10, 2, 2);
		put_le(s->tmp + 12, 2 * ZIP_CENTRAL_LEN, 4);
		put_le(s->tmp + 16, (uint64_t)cd, 4);
		put_le(s->tmp + 20, 0, 2);
	}
}

static void tfrecord_seg(struct dlio_gen_file *f, const struct dlio_geom *g, int64_t pos,
			 struct seg *s)
{
	int64_t rec = pos / f->rec_len, base = rec * f->rec_len, in = pos - base;
	int64_t e = f->rec_len - 16, hl, tl;
	uint8_t head[64], tail[64];
	int64_t sv = g->cfg->flavour == DLIO_FLAVOUR_HEAD ? f->p : g->dim;

	memset(s, 0, offsetof(struct seg, tmp));
	tfrecord_parts(f->p, sv, head, &hl, tail, &tl);
	s->crc_into = 1;
	if (in < 12 + hl) {
		/* length, its masked CRC, then the Example's bytes before the payload */
		s->start = base;
		s->end = base + 12 + hl;
		s->crc_from = base + 12;
		put_le(s->tmp, (uint64_t)e, 8);
		put_le(s->tmp + 8, dlio_tfrecord_mask(dlio_crc32c(0, s->tmp, 8)), 4);
		memcpy(s->tmp + 12, head, (size_t)hl);
	} else if (in < 12 + hl + f->p) {
		s->start = base + 12 + hl;
		s->end = s->start + f->p;
		s->payload = 1;
	} else if (in < 12 + e) {
		s->start = base + 12 + hl + f->p;
		s->end = base + 12 + e;
		memcpy(s->tmp, tail, (size_t)tl);
	} else {
		/* the Example's masked CRC: everything it covers has passed */
		s->start = base + 12 + e;
		s->end = base + f->rec_len;
		s->crc_into = 0;
		s->ends_record = 1;
		put_le(s->tmp, dlio_tfrecord_mask(f->crc), 4);
	}
	if (s->crc_into && !s->crc_from)
		s->crc_from = s->start;
}

/* hdf5: the metadata in windows of tmp's size (rebuilt for each: a few per file),
 * zeros up to the first dataset, the records as payload, the labels as zeros. */
static void hdf5_seg(struct dlio_gen_file *f, const struct dlio_geom *g, int64_t pos,
		     struct seg *s)
{
	int64_t rec_end = f->hy + f->p * f->n;

	memset(s, 0, offsetof(struct seg, tmp));
	if (f->valid != DLIO_GEN_VALID) {
		s->end = f->size;
		s->payload = 1;
	} else if (pos < f->hx) {
		struct dlio_hdf5_dset d[DLIO_HDF5_MAX_DSETS];
		uint8_t meta[DLIO_HDF5_META_MAX];
		int nd = hdf5_layout(f, g, f->hy, d);

		s->start = pos - pos % (int64_t)sizeof(s->tmp);
		s->end = s->start + (int64_t)sizeof(s->tmp) < f->hx ? s->start + (int64_t)sizeof(s->tmp)
								  : f->hx;
		dlio_hdf5_metadata(d, nd, (uint64_t)f->size, meta, sizeof(meta));
		memcpy(s->tmp, meta + s->start, (size_t)(s->end - s->start));
	} else if (pos < f->hy) {
		s->start = f->hx;
		s->end = f->hy;
		s->zeros = 1;
	} else if (pos < rec_end) {
		s->start = f->hy;
		s->end = rec_end;
		s->payload = 1;
	} else {
		s->start = rec_end;
		s->end = f->size;
		s->zeros = 1;
	}
}

static int64_t text_line(char *buf, size_t cap, int64_t k, int64_t rec_len)
{
	return snprintf(buf, cap, "%lld %lld\n", (long long)(k * rec_len), (long long)rec_len);
}

/* tfrecord .idx: one "<offset> <length>" line per record; lines have varying lengths,
 * so the line at pos is found from the running position (fill is sequential). */
static void tfrecord_idx_seg(struct dlio_gen_file *f, int64_t pos, struct seg *s)
{
	memset(s, 0, offsetof(struct seg, tmp));
	/* f->crc counts lines done, f->crc2 unused; f->ehead is where line crc starts */
	for (;;) {
		int64_t len = text_line((char *)s->tmp, sizeof(s->tmp), f->crc, f->rec_len);

		if (pos < f->ehead + len) {
			s->start = f->ehead;
			s->end = f->ehead + len;
			return;
		}
		f->ehead += len;
		f->crc++;
	}
}

static void index_seg(struct dlio_gen_file *f, const struct dlio_geom *g, int64_t pos,
		      struct seg *s)
{
	int64_t k = pos / 8;
	uint64_t v = f->aux == 1 ? (uint64_t)dlio_indexed_binary_offset(g, f->p, k) : (uint64_t)f->p;

	memset(s, 0, offsetof(struct seg, tmp));
	s->start = k * 8;
	s->end = s->start + 8;
	put_le(s->tmp, v, 8);
}

static void get_seg(struct dlio_gen_file *f, const struct dlio_geom *g, int64_t pos, struct seg *s)
{
	if (f->aux) {
		if (f->format == DLIO_FMT_TFRECORD)
			tfrecord_idx_seg(f, pos, s);
		else
			index_seg(f, g, pos, s);
		return;
	}
	switch (f->format) {
	case DLIO_FMT_NPZ:
		npz_seg(f, g, pos, s);
		return;
	case DLIO_FMT_NPY:
		memset(s, 0, offsetof(struct seg, tmp));
		if (pos < f->hx) {
			int64_t shape[DLIO_LIST_MAX + 1];

			s->end = f->hx;
			npy_header(s->tmp, sizeof(s->tmp), "|u1", shape, file_shape(f, g, shape));
		} else {
			s->start = f->hx;
			s->end = f->size;
			s->payload = 1;
		}
		return;
	case DLIO_FMT_TFRECORD:
		tfrecord_seg(f, g, pos, s);
		return;
	case DLIO_FMT_HDF5:
		hdf5_seg(f, g, pos, s);
		return;
	case DLIO_FMT_SYNTHETIC:
		memset(s, 0, offsetof(struct seg, tmp));
		s->end = f->size;
		snprintf((char *)s->tmp, sizeof(s->tmp), "%lld", (long long)f->gidx);
		return;
	default:
		memset(s, 0, offsetof(struct seg, tmp));
		s->end = f->size;
		s->payload = 1;
		return;
	}
}

/* The CRC-32 of b[ba, bz) (a payload run), from the cache when it holds that run of this
 * buffer, else computed and remembered (only runs worth remembering). */
static uint32_t payload_crc(struct dlio_crc_cache *cc, const uint8_t *b, int64_t ba, int64_t bz)
{
	uint32_t crc;

	if (cc && cc->valid && cc->boff == ba && cc->len == bz - ba)
		return cc->crc;
	crc = dlio_crc32(0, b + ba, (size_t)(bz - ba));
	if (cc && bz - ba >= DLIO_CRC_CACHE_MIN) {
		cc->boff = ba;
		cc->len = bz - ba;
		cc->crc = crc;
		cc->valid = 1;
	}
	return crc;
}

int64_t dlio_gen_fill(const struct dlio_geom *g, struct dlio_gen_file *f, uint64_t off,
		      void *buf, uint64_t len, struct dlio_crc_cache *cc)
{
	uint8_t *b = buf;
	int64_t pos = (int64_t)off, end = (int64_t)(off + len), container = 0;
	struct seg s;

	if (pos != f->pos || end > f->size)
		return -EINVAL;
	while (pos < end) {
		int64_t a, z, ba, bz;

		get_seg(f, g, pos, &s);
		a = pos;
		z = s.end < end ? s.end : end;
		ba = a - (int64_t)off;
		bz = z - (int64_t)off;
		if (!s.payload && cc && cc->valid && ba < cc->boff + cc->len && cc->boff < bz)
			cc->valid = 0; /* container bytes over the remembered run */
		if (s.zeros)
			memset(b + ba, 0, (size_t)(z - a));
		else if (!s.payload)
			memcpy(b + ba, s.tmp + (a - s.start), (size_t)(z - a));
		if (!s.payload)
			container += z - a;
		if (s.crc_into) {
			int64_t c = a > s.crc_from ? a : s.crc_from;

			if (c < z) {
				const uint8_t *p = b + (c - (int64_t)off);

				if (f->format == DLIO_FMT_TFRECORD)
					f->crc = dlio_crc32c(f->crc, p, (size_t)(z - c));
				else if (s.payload && s.crc_into == 1)
					f->crc = (uint32_t)crc32_combine(
						f->crc, payload_crc(cc, b, c - (int64_t)off, bz),
						(z_off_t)(z - c));
				else if (s.crc_into == 1)
					f->crc = dlio_crc32(f->crc, p, (size_t)(z - c));
				else
					f->crc2 = dlio_crc32(f->crc2, p, (size_t)(z - c));
			}
		}
		if (s.ends_record && z == s.end)
			f->crc = 0;
		pos = z;
	}
	f->pos = end;
	return container;
}

int64_t dlio_gen_rewrite(const struct dlio_gen_file *f, uint64_t *off, void *buf, size_t cap)
{
	if (f->aux || f->format != DLIO_FMT_NPZ || f->valid != DLIO_GEN_VALID)
		return 0;
	if (cap < ZIP_LOCAL_LEN)
		return -ENOSPC;
	npz_local(buf, f->crc, (uint64_t)(f->hx + f->p * f->n));
	memcpy((uint8_t *)buf + 30, "x.npy", 5);
	*off = 0;
	return ZIP_LOCAL_LEN;
}
