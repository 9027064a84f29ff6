#include "dlio/hdf5.h"

#include <errno.h>
#include <string.h>

#define UNDEF_ADDR UINT64_MAX
#define SUPERBLOCK_LEN 48
#define OH_PREFIX 8 /* "OHDR", version, flags, 2-byte size of chunk 0 */
#define MSG_HEAD 4  /* type, 2-byte size, flags */

enum {
	MSG_DATASPACE = 0x01,
	MSG_LINK_INFO = 0x02,
	MSG_DATATYPE = 0x03,
	MSG_FILL_VALUE = 0x05,
	MSG_LINK = 0x06,
	MSG_LAYOUT = 0x08,
	MSG_GROUP_INFO = 0x0a,
};

#define MSG_CONSTANT 0x01

int dlio_hdf5_dtype(const char *name, enum dlio_hdf5_class *cls, int *elem_bytes)
{
	static const struct {
		const char *name;
		enum dlio_hdf5_class cls;
		int bytes;
	} tab[] = {{"uint8", DLIO_HDF5_UINT, 1},    {"int8", DLIO_HDF5_INT, 1},
		   {"uint16", DLIO_HDF5_UINT, 2},   {"int16", DLIO_HDF5_INT, 2},
		   {"uint32", DLIO_HDF5_UINT, 4},   {"int32", DLIO_HDF5_INT, 4},
		   {"uint64", DLIO_HDF5_UINT, 8},   {"int64", DLIO_HDF5_INT, 8},
		   {"float16", DLIO_HDF5_FLOAT, 2}, {"float32", DLIO_HDF5_FLOAT, 4},
		   {"float64", DLIO_HDF5_FLOAT, 8}, {"bool", DLIO_HDF5_BOOL, 1}};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(tab[i].name, name)) {
			*cls = tab[i].cls;
			*elem_bytes = tab[i].bytes;
			return 0;
		}
	return -EINVAL;
}

struct w {
	uint8_t *buf;
	size_t cap, pos;
	int overflow;
};

static void put(struct w *w, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		if (w->pos < w->cap)
			w->buf[w->pos] = (uint8_t)(v >> (8 * i));
		else
			w->overflow = 1;
		w->pos++;
	}
}

static void put_bytes(struct w *w, const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		put(w, ((const uint8_t *)p)[i], 1);
}

static void msg_head(struct w *w, int type, size_t len, int flags)
{
	put(w, (uint64_t)type, 1);
	put(w, len, 2);
	put(w, (uint64_t)flags, 1);
}

/* IEEE float layouts: sign bit, exponent position and width, mantissa width, bias */
static void float_props(int bytes, int *sign, int *eloc, int *esize, int *msize, int *bias)
{
	if (bytes == 2) {
		*sign = 15, *eloc = 10, *esize = 5, *msize = 10, *bias = 15;
	} else if (bytes == 4) {
		*sign = 31, *eloc = 23, *esize = 8, *msize = 23, *bias = 127;
	} else {
		*sign = 63, *eloc = 52, *esize = 11, *msize = 52, *bias = 1023;
	}
}

/* Datatype message body (version 1 for numbers; 3 for h5py's bool enum) */
static size_t dtype_len(const struct dlio_hdf5_dset *d)
{
	switch (d->cls) {
	case DLIO_HDF5_FLOAT:
		return 8 + 12;
	case DLIO_HDF5_BOOL: /* header, int8 base type, "FALSE\0TRUE\0", values 0 and 1 */
		return 8 + (8 + 4) + 6 + 5 + 2;
	default:
		return 8 + 4;
	}
}

static void fixed_point(struct w *w, int bytes, int is_signed)
{
	put(w, 0x10, 1);		   /* version 1, class 0: fixed-point */
	put(w, is_signed ? 0x08 : 0, 3);   /* little-endian, zero padding, signedness */
	put(w, (uint64_t)bytes, 4);
	put(w, 0, 2);			   /* bit offset */
	put(w, (uint64_t)bytes * 8, 2);	   /* precision */
}

static void dtype_body(struct w *w, const struct dlio_hdf5_dset *d)
{
	int sign, eloc, esize, msize, bias;

	switch (d->cls) {
	case DLIO_HDF5_FLOAT:
		float_props(d->elem_bytes, &sign, &eloc, &esize, &msize, &bias);
		put(w, 0x11, 1); /* version 1, class 1: floating-point */
		/* little-endian, zero padding, implied mantissa MSB; sign position */
		put(w, 0x20 | (uint64_t)sign << 8, 3);
		put(w, (uint64_t)d->elem_bytes, 4);
		put(w, 0, 2);
		put(w, (uint64_t)d->elem_bytes * 8, 2);
		put(w, (uint64_t)eloc, 1);
		put(w, (uint64_t)esize, 1);
		put(w, 0, 1); /* mantissa location */
		put(w, (uint64_t)msize, 1);
		put(w, (uint64_t)bias, 4);
		return;
	case DLIO_HDF5_BOOL:
		put(w, 0x38, 1); /* version 3, class 8: enumeration */
		put(w, 2, 3);	 /* two members */
		put(w, 1, 4);
		fixed_point(w, 1, 1);
		put_bytes(w, "FALSE\0TRUE\0", 11);
		put(w, 0, 1);
		put(w, 1, 1);
		return;
	default:
		fixed_point(w, d->elem_bytes, d->cls == DLIO_HDF5_INT);
		return;
	}
}

static uint64_t data_bytes(const struct dlio_hdf5_dset *d)
{
	uint64_t b = (uint64_t)d->elem_bytes;

	for (int i = 0; i < d->rank; i++)
		b *= d->dims[i];
	return b;
}

static size_t dset_msgs_len(const struct dlio_hdf5_dset *d)
{
	return MSG_HEAD + 4 + 8 * (size_t)d->rank /* dataspace */
	       + MSG_HEAD + dtype_len(d)	     /* datatype */
	       + MSG_HEAD + 2			     /* fill value: none defined */
	       + MSG_HEAD + 18;			     /* layout: contiguous */
}

static size_t root_msgs_len(const struct dlio_hdf5_dset *d, int n)
{
	size_t len = MSG_HEAD + 18 + MSG_HEAD + 2;

	for (int i = 0; i < n; i++)
		len += MSG_HEAD + 3 + strlen(d[i].name) + 8;
	return len;
}

static void oh_begin(struct w *w, size_t msgs_len)
{
	put_bytes(w, "OHDR", 4);
	put(w, 2, 1);
	put(w, 0x01, 1); /* chunk 0's size in 2 bytes; no times, no attribute settings */
	put(w, msgs_len, 2);
}

static void checksum(struct w *w, size_t from)
{
	if (w->overflow)
		put(w, 0, 4);
	else
		put(w, dlio_lookup3(w->buf + from, w->pos - from, 0), 4);
}

int64_t dlio_hdf5_metadata(const struct dlio_hdf5_dset *d, int n, uint64_t eof, uint8_t *buf,
			   size_t cap)
{
	struct w w = {.buf = buf, .cap = cap};
	uint64_t addr[DLIO_HDF5_MAX_DSETS], root = SUPERBLOCK_LEN, at;
	size_t start;

	if (n < 1 || n > DLIO_HDF5_MAX_DSETS)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		size_t nl = strnlen(d[i].name, sizeof(d[i].name));

		if (nl == 0 || nl >= sizeof(d[i].name) || d[i].rank < 1 ||
		    d[i].rank > DLIO_HDF5_MAX_RANK || dset_msgs_len(&d[i]) > 0xffff)
			return -EINVAL;
	}
	if (root_msgs_len(d, n) > 0xffff)
		return -EINVAL;
	at = root + OH_PREFIX + root_msgs_len(d, n) + 4;
	for (int i = 0; i < n; i++) {
		addr[i] = at;
		at += OH_PREFIX + dset_msgs_len(&d[i]) + 4;
	}

	/* superblock version 2: 8-byte addresses and lengths, no extension */
	put_bytes(&w, "\x89HDF\r\n\x1a\n", 8);
	put(&w, 2, 1);
	put(&w, 8, 1);
	put(&w, 8, 1);
	put(&w, 0, 1); /* file consistency flags */
	put(&w, 0, 8); /* base address */
	put(&w, UNDEF_ADDR, 8);
	put(&w, eof, 8);
	put(&w, root, 8);
	checksum(&w, 0);

	/* the root group: link info (compact: no fractal heap, no name index), group
	 * info (defaults), one hard link per dataset */
	start = w.pos;
	oh_begin(&w, root_msgs_len(d, n));
	msg_head(&w, MSG_LINK_INFO, 18, 0);
	put(&w, 0, 1);
	put(&w, 0, 1);
	put(&w, UNDEF_ADDR, 8);
	put(&w, UNDEF_ADDR, 8);
	msg_head(&w, MSG_GROUP_INFO, 2, 0);
	put(&w, 0, 2);
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(d[i].name);

		msg_head(&w, MSG_LINK, 3 + nl + 8, 0);
		put(&w, 1, 1); /* version 1 */
		put(&w, 0, 1); /* hard link, 1-byte name length, ASCII */
		put(&w, nl, 1);
		put_bytes(&w, d[i].name, nl);
		put(&w, addr[i], 8);
	}
	checksum(&w, start);

	for (int i = 0; i < n; i++) {
		start = w.pos;
		oh_begin(&w, dset_msgs_len(&d[i]));
		msg_head(&w, MSG_DATASPACE, 4 + 8 * (size_t)d[i].rank, 0);
		put(&w, 2, 1); /* version 2 */
		put(&w, (uint64_t)d[i].rank, 1);
		put(&w, 0, 1); /* no maximum dims: fixed size */
		put(&w, 1, 1); /* simple */
		for (int k = 0; k < d[i].rank; k++)
			put(&w, d[i].dims[k], 8);
		msg_head(&w, MSG_DATATYPE, dtype_len(&d[i]), MSG_CONSTANT);
		dtype_body(&w, &d[i]);
		/* version 3: late allocation, fill written only if set, none set */
		msg_head(&w, MSG_FILL_VALUE, 2, MSG_CONSTANT);
		put(&w, 3, 1);
		put(&w, 0x02 | 0x02 << 2, 1);
		msg_head(&w, MSG_LAYOUT, 18, 0);
		put(&w, 3, 1);
		put(&w, 1, 1); /* contiguous */
		put(&w, d[i].addr, 8);
		put(&w, data_bytes(&d[i]), 8);
		checksum(&w, start);
	}
	if (w.overflow)
		return -ENOSPC;
	return (int64_t)w.pos;
}

#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

uint32_t dlio_lookup3(const void *key, size_t len, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;

	a = b = c = 0xdeadbeefu + (uint32_t)len + initval;
	while (len > 12) {
		a += k[0] + ((uint32_t)k[1] << 8) + ((uint32_t)k[2] << 16) + ((uint32_t)k[3] << 24);
		b += k[4] + ((uint32_t)k[5] << 8) + ((uint32_t)k[6] << 16) + ((uint32_t)k[7] << 24);
		c += k[8] + ((uint32_t)k[9] << 8) + ((uint32_t)k[10] << 16) +
		     ((uint32_t)k[11] << 24);
		/* mix */
		a -= c, a ^= ROT(c, 4), c += b;
		b -= a, b ^= ROT(a, 6), a += c;
		c -= b, c ^= ROT(b, 8), b += a;
		a -= c, a ^= ROT(c, 16), c += b;
		b -= a, b ^= ROT(a, 19), a += c;
		c -= b, c ^= ROT(b, 4), b += a;
		len -= 12;
		k += 12;
	}
	switch (len) { /* the last 1..12 bytes; none: c as it is */
	case 12:
		c += (uint32_t)k[11] << 24;
		/* fall through */
	case 11:
		c += (uint32_t)k[10] << 16;
		/* fall through */
	case 10:
		c += (uint32_t)k[9] << 8;
		/* fall through */
	case 9:
		c += k[8];
		/* fall through */
	case 8:
		b += (uint32_t)k[7] << 24;
		/* fall through */
	case 7:
		b += (uint32_t)k[6] << 16;
		/* fall through */
	case 6:
		b += (uint32_t)k[5] << 8;
		/* fall through */
	case 5:
		b += k[4];
		/* fall through */
	case 4:
		a += (uint32_t)k[3] << 24;
		/* fall through */
	case 3:
		a += (uint32_t)k[2] << 16;
		/* fall through */
	case 2:
		a += (uint32_t)k[1] << 8;
		/* fall through */
	case 1:
		a += k[0];
		break;
	case 0:
		return c;
	}
	/* final */
	c ^= b, c -= ROT(b, 14);
	a ^= c, a -= ROT(c, 11);
	b ^= a, b -= ROT(a, 25);
	c ^= b, c -= ROT(b, 16);
	a ^= c, a -= ROT(c, 4);
	b ^= a, b -= ROT(a, 14);
	c ^= b, c -= ROT(b, 24);
	return c;
}
