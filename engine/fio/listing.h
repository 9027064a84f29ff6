#ifndef FIODLIO_LISTING_H
#define FIODLIO_LISTING_H

#include "lib/storage.h"

struct thread_data;

/* Replaces each of the job's file names that ends in '/' (or, for a reading job without
 * filename=, a root that does) by the objects listed under it, sizes known.  0, or -errno
 * after printing why. */
int fiodlio_list_expand(struct thread_data *td, const char *root,
			const struct storage_conf *conf);

#endif
