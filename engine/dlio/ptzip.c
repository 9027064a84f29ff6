#include "dlio/ptzip.h"
#include "dlio/crc32.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_DESC 0x08074b50u
#define DESC_MAX 24
#define LOCAL_LEN 30
#define CENTRAL_LEN 46
#define END_LEN 22
#define END64_LEN 56
#define LOC64_LEN 20
#define U32_MAX_ 0xffffffffLL
#define ALIGN 64      /* torch's kFieldAlignment */
#define DOS_DATE 0x21 /* 1980-01-01 */
#define MAX_COMMENT 65535

enum { R_PKL, R_FORMAT, R_ALIGN, R_BYTEORDER, NHEAD };
enum { R_VERSION, R_SERIAL, NTAIL };

static const char *const head_names[NHEAD] = { "archive/data.pkl", "archive/.format_version",
					       "archive/.storage_alignment", "archive/byteorder" };
static const char *const head_text[NHEAD] = { NULL, "1", "64", "little" };
static const char *const tail_names[NTAIL] = { "archive/version",
					       "archive/.data/serialization_id" };
#define SERIAL_LEN 40

static void put16(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static const char *storage_name(enum dlio_dtype t)
{
	switch (t) {
	case DLIO_DT_FP16:
		return "HalfStorage";
	case DLIO_DT_BF16:
		return "BFloat16Storage";
	case DLIO_DT_FP32:
		return "FloatStorage";
	case DLIO_DT_FP64:
		return "DoubleStorage";
	case DLIO_DT_UINT8:
		return "ByteStorage";
	default:
		return "CharStorage";
	}
}

/* data.pkl: {"0": tensor, "1": ...} pickled (protocol 2) the way torch.save
 * pickles tensors, with every integer as an 8-byte LONG1 so its length does not
 * depend on the sizes. buf NULL: just the length. */
static int64_t pickle(uint8_t *buf, const struct dlio_ckpt_tensor *t, const int64_t *d, int64_t n)
{
	int64_t at = 0;
	char key[24];

#define EMIT(p, l)                                                                                 \
	do {                                                                                       \
		if (buf)                                                                           \
			memcpy(buf + at, (p), (l));                                                \
		at += (int64_t)(l);                                                                \
	} while (0)
#define OP(c)                                                                                      \
	do {                                                                                       \
		uint8_t op_ = (uint8_t)(c);                                                        \
		EMIT(&op_, 1);                                                                     \
	} while (0)
#define STR(s)                                                                                     \
	do {                                                                                       \
		uint8_t h_[5] = { 'X' };                                                           \
		put32(h_ + 1, strlen(s));                                                          \
		EMIT(h_, 5);                                                                       \
		EMIT((s), strlen(s));                                                              \
	} while (0)
#define LONG(v)                                                                                    \
	do {                                                                                       \
		uint8_t l_[10] = { 0x8a, 8 };                                                      \
		put64(l_ + 2, (uint64_t)(v));                                                      \
		EMIT(l_, 10);                                                                      \
	} while (0)
#define GLOBAL(s) EMIT("c" s, sizeof("c" s) - 1)

	EMIT("\x80\x02}(", 4);
	for (int64_t i = 0; i < n; i++) {
		int e = dlio_dtype_bytes(t[i].dtype);
		int64_t numel = d[i] / e;
		const char *st = storage_name(t[i].dtype);

		snprintf(key, sizeof(key), "%lld", (long long)i);
		STR(key);
		GLOBAL("torch._utils\n_rebuild_tensor_v2\n");
		EMIT("((", 2);
		STR("storage");
		OP('c');
		EMIT("torch\n", 6);
		EMIT(st, strlen(st));
		OP('\n');
		STR(key);
		STR("cpu");
		LONG(numel);
		EMIT("tQ", 2); /* the persistent id tuple, BINPERSID */
		LONG(0);       /* storage offset */
		LONG(numel);
		OP(0x85); /* TUPLE1: size */
		LONG(1);
		OP(0x85); /* stride */
		OP(0x89); /* requires_grad False */
		GLOBAL("collections\nOrderedDict\n");
		EMIT(")RtR", 4);
	}
	EMIT("u.", 2);
	return at;
#undef EMIT
#undef OP
#undef STR
#undef LONG
#undef GLOBAL
}

static int64_t local_z64(int64_t off, int64_t len)
{
	int64_t n = (len >= U32_MAX_ ? 16 : 0) + (off >= U32_MAX_ ? 8 : 0);

	return n ? n + 4 : 0;
}

/* Places record r at off with len data bytes: its header, padding and data
 * start. */
static int64_t place(struct dlio_ptz_rec *r, int64_t off, int64_t namelen, int64_t len, int desc)
{
	int64_t z = local_z64(off, len), start = off + LOCAL_LEN + namelen + z + 4;
	int64_t pad = (ALIGN - start % ALIGN) % ALIGN;

	r->off = off;
	r->len = len;
	r->extra = (uint16_t)(z + 4 + pad);
	r->data = start + pad;
	r->desc = (uint8_t)(desc ? (len >= U32_MAX_ || off >= U32_MAX_ ? 24 : 16) : 0);
	return r->data + len + r->desc;
}

static int64_t central_len(const struct dlio_ptz_rec *r, int64_t namelen)
{
	int64_t n = (r->len >= U32_MAX_ ? 16 : 0) + (r->off >= U32_MAX_ ? 8 : 0);

	return CENTRAL_LEN + namelen + (n ? n + 4 : 0);
}

static void rec_name(const struct dlio_ptz *z, int64_t i, char *buf, size_t len)
{
	if (i < NHEAD)
		snprintf(buf, len, "%s", head_names[i]);
	else if (i < NHEAD + z->ntensor)
		snprintf(buf, len, "archive/data/%lld", (long long)(i - NHEAD));
	else
		snprintf(buf, len, "%s", tail_names[i - NHEAD - z->ntensor]);
}

/* Lays the file out with tensor data sizes d; returns the bytes it takes
 * without the comment. */
static int64_t layout(struct dlio_ptz *z, const int64_t *d, int64_t pkl_len)
{
	char name[64];
	int64_t off = 0, i, small[NHEAD];

	small[R_PKL] = pkl_len;
	for (i = 1; i < NHEAD; i++)
		small[i] = (int64_t)strlen(head_text[i]);
	z->cdir_len = 0;
	for (i = 0; i < z->nrec; i++) {
		int64_t len;

		rec_name(z, i, name, sizeof(name));
		if (i < NHEAD)
			len = small[i];
		else if (i < NHEAD + z->ntensor)
			len = d[i - NHEAD];
		else
			len = i == NHEAD + z->ntensor + R_VERSION ? 2 : SERIAL_LEN;
		if (i == NHEAD)
			z->head_len = off;
		if (i == NHEAD + z->ntensor)
			z->tail_off = off;
		off = place(&z->rec[i], off, (int64_t)strlen(name), len,
			    i >= NHEAD && i < NHEAD + z->ntensor);
		z->cdir_len += central_len(&z->rec[i], (int64_t)strlen(name));
	}
	z->cdir_off = off;
	z->zip64_end = z->nrec > 0xffff || z->cdir_off >= U32_MAX_ || z->cdir_len >= U32_MAX_;
	return off + z->cdir_len + (z->zip64_end ? END64_LEN + LOC64_LEN : 0) + END_LEN;
}

static void local_header(const struct dlio_ptz *z, int64_t i, uint8_t *p, uint32_t crc)
{
	const struct dlio_ptz_rec *r = &z->rec[i];
	char name[64];
	int64_t nl, zl = local_z64(r->off, r->len), q;

	rec_name(z, i, name, sizeof(name));
	nl = (int64_t)strlen(name);
	memset(p, 0, LOCAL_LEN);
	put32(p, SIG_LOCAL);
	put16(p + 4, zl ? 45 : 20);
	put16(p + 6, r->desc ? 8 : 0);
	put16(p + 12, DOS_DATE);
	put32(p + 14, crc);
	put32(p + 18, r->len >= U32_MAX_ ? U32_MAX_ : (uint64_t)r->len);
	put32(p + 22, r->len >= U32_MAX_ ? U32_MAX_ : (uint64_t)r->len);
	put16(p + 26, (uint64_t)nl);
	put16(p + 28, r->extra);
	memcpy(p + LOCAL_LEN, name, (size_t)nl);
	q = LOCAL_LEN + nl;
	if (zl) {
		put16(p + q, 1);
		put16(p + q + 2, (uint64_t)(zl - 4));
		q += 4;
		if (r->len >= U32_MAX_) {
			put64(p + q, (uint64_t)r->len);
			put64(p + q + 8, (uint64_t)r->len);
			q += 16;
		}
		if (r->off >= U32_MAX_) {
			put64(p + q, (uint64_t)r->off);
			q += 8;
		}
	}
	/* torch's alignment padding: extra field "FB" of 'Z's */
	p[q] = 'F';
	p[q + 1] = 'B';
	put16(p + q + 2, (uint64_t)(r->data - (r->off + q + 4)));
	memset(p + q + 4, 'Z', (size_t)(r->data - (r->off + q + 4)));
}

void dlio_ptz_free(struct dlio_ptz *z)
{
	free(z->rec);
	free(z->head);
	free(z->tail);
	free(z->hdrs);
	free(z->descs);
	free(z->hdr_at);
	memset(z, 0, sizeof(*z));
}

int dlio_ptz_plan(struct dlio_ptz *z, int64_t file_size, const struct dlio_ckpt_tensor *t,
		  int64_t n, uint64_t id)
{
	int64_t *d = NULL, total = 0, pkl_len, i, at;
	int ret = -ENOSPC;

	memset(z, 0, sizeof(*z));
	z->size = file_size;
	z->ntensor = n;
	z->first_tensor = NHEAD;
	z->nrec = NHEAD + n + NTAIL;
	z->rec = calloc((size_t)z->nrec, sizeof(*z->rec));
	d = malloc((size_t)(n ? n : 1) * sizeof(*d));
	if (!z->rec || !d) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++)
		d[i] = t[i].bytes;
	pkl_len = pickle(NULL, t, d, n);
	/* the framing comes out of the last tensors, whole elements at a time;
	 * shrinking moves later records, so lay out again until the sizes fit */
	for (int iter = 0;; iter++) {
		int64_t deficit;

		if (iter == 64)
			goto fail;
		total = layout(z, d, pkl_len);
		if (total <= file_size)
			break;
		deficit = total - file_size;
		for (i = n - 1; i >= 0 && deficit > 0; i--) {
			int64_t e = dlio_dtype_bytes(t[i].dtype), cut;

			if (d[i] % e)
				e = 1;
			cut = (deficit + e - 1) / e * e;
			if (cut > d[i])
				cut = d[i];
			d[i] -= cut;
			deficit -= cut;
		}
		if (deficit > 0)
			goto fail;
	}
	z->comment = file_size - total;
	if (z->comment > MAX_COMMENT)
		goto fail;
	for (i = 0, z->shrunk = 0; i < n; i++) {
		z->shrunk += t[i].bytes - d[i];
		z->rec[NHEAD + i].tensor = i;
	}
	for (i = 0; i < NHEAD; i++)
		z->rec[i].tensor = -1;
	for (i = NHEAD + n; i < z->nrec; i++)
		z->rec[i].tensor = -1;

	/* the head: its records' headers (with CRCs) and contents */
	z->head = malloc((size_t)(z->head_len ? z->head_len : 1));
	z->hdr_at = malloc((size_t)(n ? n : 1) * sizeof(*z->hdr_at));
	for (i = 0, at = 0; i < n; i++)
		at += z->rec[NHEAD + i].data - z->rec[NHEAD + i].off;
	z->hdrs = malloc((size_t)(at ? at : 1));
	z->descs = calloc((size_t)(n ? n : 1), DESC_MAX);
	if (!z->head || !z->hdr_at || !z->hdrs || !z->descs) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < NHEAD; i++) {
		struct dlio_ptz_rec *r = &z->rec[i];
		uint8_t *c = z->head + r->data;

		if (i == R_PKL)
			pickle(c, t, d, n);
		else
			memcpy(c, head_text[i], (size_t)r->len);
		r->crc = dlio_crc32(0, c, (size_t)r->len);
		r->crc_len = r->len;
		local_header(z, i, z->head + r->off, r->crc);
	}
	/* the tensors' local headers: CRC 0, since the data streams after them (the
	 * central directory has the CRC, which is what readers check) */
	for (i = 0, at = 0; i < n; i++) {
		z->hdr_at[i] = at;
		local_header(z, NHEAD + i, z->hdrs + at, 0);
		at += z->rec[NHEAD + i].data - z->rec[NHEAD + i].off;
	}
	{
		struct dlio_ptz_rec *v = &z->rec[NHEAD + n + R_VERSION];
		struct dlio_ptz_rec *s = &z->rec[NHEAD + n + R_SERIAL];
		char serial[SERIAL_LEN + 1];

		snprintf(serial, sizeof(serial), "%020llu%020llu", (unsigned long long)id,
			 (unsigned long long)file_size);
		v->crc = dlio_crc32(0, (const Bytef *)"3\n", 2);
		s->crc = dlio_crc32(0, (const Bytef *)serial, SERIAL_LEN);
		v->crc_len = v->len;
		s->crc_len = s->len;
	}
	z->id = id;
	free(d);
	return 0;
fail:
	free(d);
	dlio_ptz_free(z);
	return ret;
}

static int build_tail(struct dlio_ptz *z)
{
	int64_t n = z->ntensor, i, at, len = z->size - z->tail_off;
	uint8_t *p;
	char name[64], serial[SERIAL_LEN + 1];
	uint64_t id = z->id;

	for (i = 0; i < n; i++)
		if (z->rec[NHEAD + i].crc_len != z->rec[NHEAD + i].len)
			return -EINVAL;
	p = calloc(1, (size_t)len);
	if (!p)
		return -ENOMEM;
	snprintf(serial, sizeof(serial), "%020llu%020llu", (unsigned long long)id,
		 (unsigned long long)z->size);
	for (i = NHEAD + n; i < z->nrec; i++) {
		struct dlio_ptz_rec *r = &z->rec[i];

		local_header(z, i, p + (r->off - z->tail_off), r->crc);
		memcpy(p + (r->data - z->tail_off), i == NHEAD + n + R_VERSION ? "3\n" : serial,
		       (size_t)r->len);
	}
	at = z->cdir_off - z->tail_off;
	for (i = 0; i < z->nrec; i++) {
		const struct dlio_ptz_rec *r = &z->rec[i];
		uint8_t *e = p + at;
		int64_t nl, zl, q;
		int big = r->len >= U32_MAX_, far = r->off >= U32_MAX_;

		rec_name(z, i, name, sizeof(name));
		nl = (int64_t)strlen(name);
		zl = central_len(r, nl) - CENTRAL_LEN - nl;
		put32(e, SIG_CENTRAL);
		put16(e + 4, 45);
		put16(e + 6, zl ? 45 : 20);
		put16(e + 8, r->desc ? 8 : 0);
		put16(e + 14, DOS_DATE);
		put32(e + 16, r->crc);
		put32(e + 20, big ? U32_MAX_ : (uint64_t)r->len);
		put32(e + 24, big ? U32_MAX_ : (uint64_t)r->len);
		put16(e + 28, (uint64_t)nl);
		put16(e + 30, (uint64_t)zl);
		put32(e + 42, far ? U32_MAX_ : (uint64_t)r->off);
		memcpy(e + CENTRAL_LEN, name, (size_t)nl);
		q = CENTRAL_LEN + nl;
		if (zl) {
			put16(e + q, 1);
			put16(e + q + 2, (uint64_t)(zl - 4));
			q += 4;
			if (big) {
				put64(e + q, (uint64_t)r->len);
				put64(e + q + 8, (uint64_t)r->len);
				q += 16;
			}
			if (far)
				put64(e + q, (uint64_t)r->off);
		}
		at += central_len(r, nl);
	}
	if (z->zip64_end) {
		uint8_t *e = p + at;

		put32(e, SIG_END64);
		put64(e + 4, END64_LEN - 12);
		put16(e + 12, 45);
		put16(e + 14, 45);
		put64(e + 24, (uint64_t)z->nrec);
		put64(e + 32, (uint64_t)z->nrec);
		put64(e + 40, (uint64_t)z->cdir_len);
		put64(e + 48, (uint64_t)z->cdir_off);
		e += END64_LEN;
		put32(e, SIG_LOC64);
		put64(e + 8, (uint64_t)(z->tail_off + at));
		put32(e + 16, 1);
		at += END64_LEN + LOC64_LEN;
	}
	put32(p + at, SIG_END);
	put16(p + at + 8, z->nrec > 0xffff ? 0xffff : (uint64_t)z->nrec);
	put16(p + at + 10, z->nrec > 0xffff ? 0xffff : (uint64_t)z->nrec);
	put32(p + at + 12, z->cdir_len >= U32_MAX_ ? U32_MAX_ : (uint64_t)z->cdir_len);
	put32(p + at + 16, z->cdir_off >= U32_MAX_ ? U32_MAX_ : (uint64_t)z->cdir_off);
	put16(p + at + 20, (uint64_t)z->comment);
	memset(p + at + END_LEN, ' ', (size_t)z->comment);
	z->tail = p;
	return 0;
}

/* the tensor record holding off (head_len <= off < tail_off) */
static int64_t tensor_at(const struct dlio_ptz *z, int64_t off)
{
	int64_t lo = NHEAD, hi = NHEAD + z->ntensor - 1;

	while (lo < hi) {
		int64_t mid = (lo + hi + 1) / 2;

		if (z->rec[mid].off <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int64_t dlio_ptz_piece(struct dlio_ptz *z, int64_t off, int64_t cap, const uint8_t **src)
{
	int64_t end;

	*src = NULL;
	if (off < 0 || cap <= 0)
		return -EINVAL;
	if (off < z->head_len) {
		*src = z->head + off;
		end = z->head_len;
	} else if (off < z->tail_off) {
		const struct dlio_ptz_rec *r = &z->rec[tensor_at(z, off)];

		if (off < r->data) {
			*src = z->hdrs + z->hdr_at[r->tensor] + (off - r->off);
			end = r->data;
		} else if (off < r->data + r->len) {
			end = r->data + r->len;
		} else {
			/* the data descriptor, once the data's CRC is complete */
			uint8_t *p = z->descs + DESC_MAX * r->tensor;

			if (r->crc_len != r->len)
				return -EINVAL;
			put32(p, SIG_DESC);
			put32(p + 4, r->crc);
			if (r->desc == 24) {
				put64(p + 8, (uint64_t)r->len);
				put64(p + 16, (uint64_t)r->len);
			} else {
				put32(p + 8, (uint64_t)r->len);
				put32(p + 12, (uint64_t)r->len);
			}
			*src = p + (off - r->data - r->len);
			end = r->data + r->len + r->desc;
		}
	} else if (off < z->size) {
		if (!z->tail) {
			int ret = build_tail(z);

			if (ret)
				return ret;
		}
		*src = z->tail + (off - z->tail_off);
		end = z->size;
	} else {
		return 0;
	}
	return end - off < cap ? end - off : cap;
}

int dlio_ptz_account(struct dlio_ptz *z, int64_t off, const uint8_t *buf, int64_t len)
{
	struct dlio_ptz_rec *r;

	if (off < z->head_len || off >= z->tail_off)
		return -EINVAL;
	r = &z->rec[tensor_at(z, off)];
	if (off != r->data + r->crc_len || off + len > r->data + r->len)
		return -EINVAL;
	r->crc = dlio_crc32(r->crc, buf, (size_t)len);
	r->crc_len += len;
	return 0;
}

int64_t dlio_ptz_fill(struct dlio_ptz *z, int64_t off, uint8_t *buf, int64_t len)
{
	int64_t framing = 0;

	while (len > 0) {
		const uint8_t *src;
		int64_t n = dlio_ptz_piece(z, off, len, &src);

		if (n <= 0)
			return n < 0 ? n : -EINVAL;
		if (src) {
			memcpy(buf, src, (size_t)n);
			framing += n;
		} else if (dlio_ptz_account(z, off, buf, n)) {
			return -EINVAL;
		}
		off += n;
		buf += n;
		len -= n;
	}
	return framing;
}

int dlio_ptz_parse_end(const uint8_t *tail, int64_t len, int64_t file_size, int64_t *cdir_off,
		       int64_t *cdir_len, int64_t *count, char *err, size_t errlen)
{
	int64_t pos, base = file_size - len;

	for (pos = len - END_LEN; pos >= 0 && len - pos <= END_LEN + MAX_COMMENT; pos--)
		if (get(tail + pos, 4) == SIG_END &&
		    pos + END_LEN + (int64_t)get(tail + pos + 20, 2) == len)
			break;
	if (pos < 0 || len - pos > END_LEN + MAX_COMMENT) {
		snprintf(err, errlen,
			 "no zip end of central directory record in the last %lld "
			 "bytes: not a torch.save file",
			 (long long)len);
		return -EINVAL;
	}
	*count = (int64_t)get(tail + pos + 10, 2);
	*cdir_len = (int64_t)get(tail + pos + 12, 4);
	*cdir_off = (int64_t)get(tail + pos + 16, 4);
	if (pos >= LOC64_LEN && get(tail + pos - LOC64_LEN, 4) == SIG_LOC64) {
		int64_t at = (int64_t)get(tail + pos - LOC64_LEN + 8, 8) - base;

		if (at < 0 || at + END64_LEN > len || get(tail + at, 4) != SIG_END64) {
			snprintf(err, errlen,
				 "the zip64 end record is not where its locator says "
				 "(offset %lld)",
				 (long long)(at + base));
			return -EINVAL;
		}
		*count = (int64_t)get(tail + at + 32, 8);
		*cdir_len = (int64_t)get(tail + at + 40, 8);
		*cdir_off = (int64_t)get(tail + at + 48, 8);
	}
	if (*cdir_off < 0 || *cdir_len < 0 || *cdir_off + *cdir_len > file_size) {
		snprintf(err, errlen,
			 "central directory [%lld, +%lld) outside the file of %lld bytes",
			 (long long)*cdir_off, (long long)*cdir_len, (long long)file_size);
		return -EINVAL;
	}
	return 0;
}

static int span_cmp(const void *a, const void *b)
{
	const struct dlio_ptz_span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int64_t dlio_ptz_parse_cdir(const uint8_t *cdir, int64_t len, int64_t cdir_off, int64_t count,
			    struct dlio_ptz_span **out, char *err, size_t errlen)
{
	struct dlio_ptz_span *s;
	int64_t at = 0, i;

	*out = NULL;
	if (count < 0 || count > len / CENTRAL_LEN) {
		snprintf(err, errlen, "central directory: %lld entries cannot fit in %lld bytes",
			 (long long)count, (long long)len);
		return -EINVAL;
	}
	s = calloc((size_t)(count ? count : 1), sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		const uint8_t *e = cdir + at;
		int64_t nl, xl, cl, q, end;
		uint64_t csize, usize, off;
		int z64 = 0;

		if (at + CENTRAL_LEN > len || get(e, 4) != SIG_CENTRAL)
			goto bad;
		nl = (int64_t)get(e + 28, 2);
		xl = (int64_t)get(e + 30, 2);
		cl = (int64_t)get(e + 32, 2);
		if (at + CENTRAL_LEN + nl + xl + cl > len || get(e + 10, 2) != 0)
			goto bad;
		s[i].crc = (uint32_t)get(e + 16, 4);
		csize = get(e + 20, 4);
		usize = get(e + 24, 4);
		off = get(e + 42, 4);
		snprintf(s[i].name, sizeof(s[i].name), "%.*s", (int)(nl < 63 ? nl : 63),
			 (const char *)e + CENTRAL_LEN);
		/* zip64 extra: the fields that are 0xffffffff, in this order */
		for (q = CENTRAL_LEN + nl, end = q + xl; q + 4 <= end;) {
			uint64_t id = get(e + q, 2), sz = get(e + q + 2, 2), p = (uint64_t)q + 4;

			if (id == 1) {
				z64 = 1;
				if (usize == U32_MAX_ && p + 8 <= (uint64_t)end)
					usize = get(e + p, 8), p += 8;
				if (csize == U32_MAX_ && p + 8 <= (uint64_t)end)
					csize = get(e + p, 8), p += 8;
				if (off == U32_MAX_ && p + 8 <= (uint64_t)end)
					off = get(e + p, 8);
			}
			q += 4 + (int64_t)sz;
		}
		if (csize != usize)
			goto bad; /* stored records only */
		s[i].off = (int64_t)off;
		s[i].data_len = (int64_t)csize;
		s[i].trail = get(e + 8, 2) & 8 ? (z64 ? 24 : 16) : 0;
		at += CENTRAL_LEN + nl + xl + cl;
	}
	qsort(s, (size_t)count, sizeof(*s), span_cmp);
	for (i = 0; i < count; i++) {
		int64_t end = i + 1 < count ? s[i + 1].off : cdir_off;

		s[i].len = end - s[i].off;
		if (s[i].len < LOCAL_LEN + s[i].data_len + s[i].trail) {
			snprintf(err, errlen,
				 "zip record %s at %lld: %lld data bytes do not fit "
				 "before the next record at %lld",
				 s[i].name, (long long)s[i].off, (long long)s[i].data_len,
				 (long long)end);
			free(s);
			return -EINVAL;
		}
	}
	*out = s;
	return count;
bad:
	snprintf(err, errlen, "central directory entry %lld (at %lld) is damaged or compressed",
		 (long long)i, (long long)(cdir_off + at));
	free(s);
	return -EINVAL;
}

int64_t dlio_ptz_local_len(const uint8_t *buf, int64_t len)
{
	if (len < LOCAL_LEN || get(buf, 4) != SIG_LOCAL)
		return -EINVAL;
	return LOCAL_LEN + (int64_t)get(buf + 26, 2) + (int64_t)get(buf + 28, 2);
}
