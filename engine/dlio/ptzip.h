/*
 * A checkpoint file as torch.save lays it out: a zip (stored, no compression)
 * of archive/data.pkl, .format_version, .storage_alignment, byteorder   (the
 * head) archive/data/0 .. data/<n-1>        one record per tensor, data 64-byte
 * aligned archive/version, .data/serialization_id, central directory, end
 * record (the tail) with zip64 records where offsets or sizes pass 4 GiB, as
 * miniz writes them for torch. One difference: miniz has each tensor in memory
 * and puts its CRC-32 in the local header; here the data streams from fio's
 * buffers, so a tensor record's local header has flag bit 3 and CRC 0, and a
 * data descriptor (signature, CRC, sizes) follows the data, as zip writers that
 * stream do. unzip, Python's zipfile and miniz take the CRC from the central
 * directory.
 *
 * DLIO's file sizes are tensor bytes only (SPEC 9.3), so to keep every file
 * exactly that size the zip framing is taken from the last tensors' bytes: the
 * stored tensors (and the numels in data.pkl) are that much shorter; a
 * remainder smaller than one element goes to the end record's comment. A file
 * too small to hold the framing is -ENOSPC (the caller writes it plainly).
 *
 * The writer side is a plan (dlio_ptz_plan) cut into write streams
 * (dlio_ptz_piece); the reader side parses what storage returned (end record,
 * central directory), as miniz does for torch.load.  No I/O here.
 */
#ifndef FIODLIO_DLIO_PTZIP_H
#define FIODLIO_DLIO_PTZIP_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/checkpoint.h"

/* torch.load's first read (miniz locating the end of central directory record):
 * the last 4096 bytes of the file, or all of it if it is smaller. */
#define DLIO_PTZ_TAIL_READ 4096

struct dlio_ptz_rec {
	int64_t off;	 /* local header */
	int64_t data;	 /* first data byte */
	int64_t len;	 /* data bytes */
	uint32_t crc;	 /* CRC-32 of the data (tensors: as the writer accounted it) */
	int64_t crc_len; /* tensors: data bytes accounted so far */
	int64_t tensor;	 /* index of the tensor, or -1 for the small records */
	uint16_t extra;	 /* local header's extra field length */
	uint8_t desc;	 /* data descriptor after the data (tensors: 16, or 24 for zip64) */
};

struct dlio_ptz {
	int64_t size; /* file size */
	int64_t nrec;
	struct dlio_ptz_rec *rec;      /* in file order */
	int64_t ntensor, first_tensor; /* rec[first_tensor .. +ntensor) are the tensors */
	int64_t head_len;	       /* [0, head_len): the leading small records */
	int64_t tail_off;	       /* [tail_off, size): trailing records, central dir, end */
	int64_t cdir_off, cdir_len;
	int64_t comment; /* end record comment length (the remainder) */
	int zip64_end;	 /* zip64 end record and locator written */
	int64_t shrunk;	 /* tensor bytes given to the framing */
	uint64_t id;	 /* makes the serialization id */
	uint8_t *head;	 /* bytes of [0, head_len) */
	uint8_t *tail;	 /* bytes of [tail_off, size), built once the CRCs are known */
	uint8_t *hdrs;	 /* tensors' local headers, back to back */
	uint8_t *descs;	 /* tensors' data descriptors, 24 bytes apart */
	int64_t *hdr_at; /* offset of tensor i's header in hdrs */
};

/* Plan file_size bytes holding tensors t[0..n) (sizes from the model). id makes
 * the serialization id. 0, -ENOSPC (too small for the framing) or -ENOMEM. */
int dlio_ptz_plan(struct dlio_ptz *z, int64_t file_size, const struct dlio_ckpt_tensor *t,
		  int64_t n, uint64_t id);
void dlio_ptz_free(struct dlio_ptz *z);

/* The next write of the file at off (a write never spans two streams: head,
 * each tensor's local header, each tensor's data, tail), at most cap bytes.
 * *src points at the bytes to write when the engine supplies them (head,
 * headers, tail), or is NULL for tensor data (the payload, fio's buffer).
 * Returns the length, 0 at the end, -EINVAL out of order. */
int64_t dlio_ptz_piece(struct dlio_ptz *z, int64_t off, int64_t cap, const uint8_t **src);
/* The writer sends tensor data [off, off+len) with these bytes: fold them into
 * the record's CRC (in order; -EINVAL otherwise). */
int dlio_ptz_account(struct dlio_ptz *z, int64_t off, const uint8_t *buf, int64_t len);
/* The file's bytes [off, off+len) into buf, across streams (an O_DIRECT writer sends
 * aligned blocks, not torch.save's streams): the framing copied in, tensor data left
 * as buf holds it (the payload) and accounted.  In order; returns how many framing
 * bytes were copied into buf, or -EINVAL. */
int64_t dlio_ptz_fill(struct dlio_ptz *z, int64_t off, uint8_t *buf, int64_t len);

/* Reader side. */
struct dlio_ptz_span {
	int64_t off, len; /* local header .. end of data (the next record) */
	int64_t data_len; /* compressed = uncompressed size (stored) */
	int64_t trail;	  /* data descriptor after the data (flag bit 3): 16 or 24 bytes */
	uint32_t crc;
	char name[64];
};

/* The end record in the last bytes of a file of file_size bytes (tail holds
 * [file_size - len, file_size)): the central directory's offset, size and
 * count. 0 or -EINVAL with err set. */
int dlio_ptz_parse_end(const uint8_t *tail, int64_t len, int64_t file_size, int64_t *cdir_off,
		       int64_t *cdir_len, int64_t *count, char *err, size_t errlen);
/* The records of a central directory (count entries): spans in file order, each
 * running to the next record's header (the last to the central directory).
 * Returns the count or -EINVAL / -ENOMEM with err set; *out is malloc'd. */
int64_t dlio_ptz_parse_cdir(const uint8_t *cdir, int64_t len, int64_t cdir_off, int64_t count,
			    struct dlio_ptz_span **out, char *err, size_t errlen);
/* Length of the local header at the start of buf (what precedes the data), or
 * -EINVAL. */
int64_t dlio_ptz_local_len(const uint8_t *buf, int64_t len);

#endif
