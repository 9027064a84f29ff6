#include "dlio/reads.h"

#include <errno.h>
#include <string.h>

static void add(struct dlio_read_iter *it, int64_t off, int64_t len)
{
	if (len <= 0 || it->nfixed >= (int)(sizeof(it->fixed) / sizeof(it->fixed[0])))
		return;
	it->fixed[it->nfixed].offset = off;
	it->fixed[it->nfixed].len = len;
	it->nfixed++;
}

static void range(struct dlio_read_iter *it, int64_t off, int64_t len, int64_t chunk)
{
	it->range_off = off;
	it->range_len = len;
	it->range_chunk = chunk;
}

int64_t dlio_indexed_binary_offset(const struct dlio_geom *g, int64_t s, int64_t idx)
{
	int64_t n = g->nspf, gbs = g->cfg->dataset.generation_buffer_size, w, per;

	if (s <= 0)
		return 0;
	w = s * n;
	if (gbs - gbs % s < w)
		w = gbs - gbs % s;
	per = w / s;
	return per > 0 ? (idx % per) * s : 0;
}

int dlio_reads_init(struct dlio_read_iter *it, const struct dlio_geom *g, int64_t d1, int64_t d2,
		    int64_t in_file, enum dlio_io_phase phase)
{
	const struct dlio_config *cfg = g->cfg;
	struct dlio_file_size fs;
	int64_t k, ndset, part;
	int ret;

	memset(it, 0, sizeof(*it));
	ret = dlio_geom_file_size(g, d1, d2, &fs);
	if (ret)
		return ret;
	if (in_file < 0 || in_file >= g->nspf)
		return -ERANGE;
	switch (cfg->dataset.format) {
	case DLIO_FMT_NPZ:
	case DLIO_FMT_NPY:
		if (phase != DLIO_IO_OPEN)
			return 0;
		if (cfg->reader.odirect) {
			add(it, 0, (fs.size + 4095) / 4096 * 4096);
			return 0;
		}
		if (cfg->dataset.format == DLIO_FMT_NPY) {
			/* np.load: one buffered 8 KiB read for the header, then fromfile */
			add(it, 0, fs.size < 8192 ? fs.size : 8192);
			range(it, fs.data_offset, fs.sample_bytes * g->nspf, DLIO_MAX_RW);
			return 0;
		}
		{
			/* zipfile: end record, zip64 locator probe, central directory; then the
			 * member's local header and the npy header */
			int64_t cd = 2 * (46 + 5) + 22;

			add(it, fs.size - 22, 22);
			add(it, fs.size - 22 - 20, 20);
			add(it, fs.size - cd, cd - 22);
			add(it, 0, 30);
			add(it, 30, 25);
			add(it, 55, fs.data_offset - 55);
			range(it, fs.data_offset, fs.sample_bytes * g->nspf, DLIO_NPZ_CHUNK);
		}
		return 0;
	case DLIO_FMT_HDF5:
		if (phase == DLIO_IO_OPEN) {
			add(it, 0, fs.data_offset);
			return 0;
		}
		/* records_k[idx] for each k: the sample's part in each dataset */
		ndset = cfg->flavour == DLIO_FLAVOUR_HEAD ? cfg->dataset.hdf5.num_dset_per_record : 1;
		if (ndset < 1)
			ndset = 1;
		part = fs.sample_bytes / ndset;
		for (k = 0; k < ndset; k++)
			add(it, fs.data_offset + k * part * g->nspf + in_file * part, part);
		return 0;
	case DLIO_FMT_INDEXED_BINARY:
		if (phase == DLIO_IO_SAMPLE)
			add(it, dlio_indexed_binary_offset(g, fs.sample_bytes, in_file),
			    fs.sample_bytes);
		return 0;
	case DLIO_FMT_CSV:
	case DLIO_FMT_JPEG:
	case DLIO_FMT_PNG:
		if (phase == DLIO_IO_OPEN)
			range(it, 0, fs.size, DLIO_MAX_RW);
		return 0;
	case DLIO_FMT_MMAP_INDEXED_BINARY:
	case DLIO_FMT_SYNTHETIC:
		return 0;
	default:
		return -ENOTSUP;
	}
}

int dlio_reads_next(struct dlio_read_iter *it, struct dlio_read *r)
{
	int64_t left;

	if (it->next_fixed < it->nfixed) {
		*r = it->fixed[it->next_fixed++];
		return 1;
	}
	left = it->range_len - it->range_done;
	if (left <= 0)
		return 0;
	r->offset = it->range_off + it->range_done;
	r->len = left < it->range_chunk ? left : it->range_chunk;
	it->range_done += r->len;
	return 1;
}
