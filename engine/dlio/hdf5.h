/*
 * The HDF5 metadata around DLIO's datasets, written by hand so that the payload
 * can be fio's write buffer on any backend (libhdf5 wants to own the bytes and a
 * seekable file; an object store gets one stream).
 *
 * The layout is what HDF5 1.8+ writes with libver='latest', reduced to what a
 * reader needs: superblock version 2, one version-2 object header per object,
 * the root group's links stored compactly in its own header, and each dataset
 * contiguous at an address the caller chooses.  (DLIO v2.0's h5py, default
 * libver, writes superblock 0 with a symbol-table root group: a B-tree and a
 * local heap more for the same links; readers see the same datasets.)  Everything lives in the first
 * block of the file (DLIO's files have their first dataset at 2048, as h5py 3.7 /
 * HDF5 1.10 put it), so the data that follows is the caller's.
 */
#ifndef FIODLIO_DLIO_HDF5_H
#define FIODLIO_DLIO_HDF5_H

#include <stddef.h>
#include <stdint.h>

#define DLIO_HDF5_MAX_RANK 32 /* H5S_MAX_RANK */
#define DLIO_HDF5_MAX_DSETS 32
#define DLIO_HDF5_META_MAX 2048 /* DLIO's first dataset starts there */

enum dlio_hdf5_class { DLIO_HDF5_UINT, DLIO_HDF5_INT, DLIO_HDF5_FLOAT, DLIO_HDF5_BOOL };

struct dlio_hdf5_dset {
	char name[32];
	int rank;
	uint64_t dims[DLIO_HDF5_MAX_RANK];
	enum dlio_hdf5_class cls;
	int elem_bytes;	   /* 1, 2, 4 or 8 (float: 2, 4, 8; bool: 1) */
	uint64_t addr;	   /* where the contiguous data starts */
};

/* numpy's dtype name (uint8 ... float64, bool) as an HDF5 type; -EINVAL if unknown. */
int dlio_hdf5_dtype(const char *name, enum dlio_hdf5_class *cls, int *elem_bytes);

/*
 * The metadata of a file holding the n datasets d[] (linked from the root group
 * in this order) and ending at eof: the superblock at 0, then the object headers.
 * Returns its length (all of it must come before the first dataset's address),
 * -ENOSPC if it does not fit in cap, -EINVAL for a dataset HDF5 cannot describe.
 */
int64_t dlio_hdf5_metadata(const struct dlio_hdf5_dset *d, int n, uint64_t eof, uint8_t *buf,
			   size_t cap);

/* Bob Jenkins' lookup3 hashlittle(), HDF5's metadata checksum (H5_checksum_lookup3). */
uint32_t dlio_lookup3(const void *key, size_t len, uint32_t initval);

#endif
