/*
 * A file name ending in '/' (or, for a job that only reads, a storage root ending in '/'
 * with no filename=) stands for every object under it: the backend's list() names them and
 * they become fio's files, with their sizes, so a job reads a whole dataset without
 * listing 1,000 names in the job file.  Generic: any backend with a list() op gets it.
 * Runs from the engine's setup hook (fio's parent process by default), before fio sizes
 * the job.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/storage.h"
#include "listing.h"

struct listed {
	char **names;
	uint64_t *sizes;
	size_t n, cap;
	const char *fio_prefix; /* the placeholder's fio name */
	size_t path_prefix_len; /* what list() puts before the part fio's name adds */
};

static int collect(void *arg, const char *path, uint64_t size)
{
	struct listed *l = arg;
	size_t fl = strlen(l->fio_prefix), pl;
	const char *rest;
	char *name;

	if (strlen(path) < l->path_prefix_len)
		return -EPROTO;
	rest = path + l->path_prefix_len;
	pl = strlen(rest);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **names = realloc(l->names, cap * sizeof(*names));
		uint64_t *sizes;

		if (!names)
			return -ENOMEM;
		l->names = names;
		sizes = realloc(l->sizes, cap * sizeof(*sizes));
		if (!sizes)
			return -ENOMEM;
		l->sizes = sizes;
		l->cap = cap;
	}
	name = malloc(fl + pl + 1);
	if (!name)
		return -ENOMEM;
	memcpy(name, l->fio_prefix, fl);
	memcpy(name + fl, rest, pl + 1);
	l->names[l->n] = name;
	l->sizes[l->n++] = size;
	return 0;
}

static void rename_file(struct thread_data *td, struct fio_file *f, const char *name)
{
	if (td_ioengine_flagged(td, FIO_NOFILEHASH)) {
		free(f->file_name);
		f->file_name = strdup(name);
	} else {
		sfree(f->file_name);
		f->file_name = smalloc_strdup(name);
	}
}

static void set_size(struct fio_file *f, uint64_t size)
{
	f->real_file_size = size;
	fio_file_set_size_known(f);
}

/* Replaces td->files[idx] (the placeholder) by the objects under it. */
static int expand(struct thread_data *td, unsigned int idx, const char *root, const char *fio_name,
		  const struct storage_conf *conf)
{
	struct listed l = { .fio_prefix = fio_name };
	struct storage_target t;
	char err[STORAGE_ERR_LEN] = "";
	const char *probe_name = *fio_name ? fio_name : "x";
	int ret;

	/* the prefix as the backend sees it: resolve a name and keep what the root adds */
	ret = storage_resolve(root, probe_name, &t, err, sizeof(err));
	if (ret) {
		log_err("fio-dlio: %s: %s\n", td->o.name, err);
		return ret;
	}
	if (!*fio_name)
		t.path[strlen(t.path) - 1] = '\0';
	if (!t.backend->list) {
		log_err("fio-dlio: %s: '%s' ends in '/', but %s:// cannot list objects\n",
			td->o.name, *fio_name ? fio_name : root, t.scheme);
		storage_target_free(&t);
		return -EOPNOTSUPP;
	}
	l.path_prefix_len = strlen(t.path);
	ret = t.backend->list(conf, t.path, collect, &l, err, sizeof(err));
	if (ret) {
		log_err("fio-dlio: %s: listing %s://%s: %s\n", td->o.name, t.scheme, t.path,
			err[0] ? err : strerror(-ret));
	} else if (!l.n) {
		log_err("fio-dlio: %s: no objects under %s://%s to read\n", td->o.name, t.scheme,
			t.path);
		ret = -ENOENT;
	} else {
		uint64_t bytes = 0;

		for (size_t i = 0; i < l.n; i++)
			bytes += l.sizes[i];
		/* say what the job will read: fio reads whole blocks, not the tails */
		if (!td->subjob_number)
			log_info("fio-dlio: %s: %s://%s: %zu objects, %llu bytes\n", td->o.name,
				 t.scheme, t.path, l.n, (unsigned long long)bytes);
		rename_file(td, td->files[idx], l.names[0]);
		set_size(td->files[idx], l.sizes[0]);
		for (size_t i = 1; i < l.n; i++) {
			int at = add_file(td, l.names[i], 0, 1);

			set_size(td->files[at], l.sizes[i]);
		}
	}
	storage_target_free(&t);
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	free(l.sizes);
	return ret;
}

int fiodlio_list_expand(struct thread_data *td, const char *root,
			const struct storage_conf *conf)
{
	unsigned int nfiles = td->files_index, old_nr = td->o.nr_files;
	size_t rl = root ? strlen(root) : 0;
	int ret = 0;

	if (!td->o.filename && rl && root[rl - 1] == '/' && !td_write(td) && nfiles == 1) {
		/* no filename=: fio made up "job.0.0"; the root is the listing */
		ret = expand(td, 0, root, "", conf);
	} else {
		for (unsigned int i = 0; i < nfiles && !ret; i++) {
			const char *name = td->files[i]->file_name;
			size_t n = strlen(name);
			char *copy;

			if (!n || name[n - 1] != '/')
				continue;
			copy = strdup(name);
			if (!copy)
				return -ENOMEM;
			ret = expand(td, i, root, copy, conf);
			free(copy);
		}
	}
	if (ret)
		return ret;
	/* openfiles= defaulted to the number of names in the job file */
	if (td->o.nr_files != old_nr && td->o.open_files == old_nr)
		td->o.open_files = td->o.nr_files;
	return 0;
}
