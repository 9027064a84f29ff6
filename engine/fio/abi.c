/*
 * Load-time guard: an engine compiled against another fio's headers would read
 * thread_options at the wrong offsets and crash fio (in setup, before any hook
 * could notice).  At dlopen this constructor compares the fio version and the
 * offsets of the options the engine reads with the running binary's option
 * table; on a mismatch it says so once and sets the ops version to -1, which
 * makes fio refuse the engine cleanly.
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

#ifndef FIODLIO_FIO_VERSION
#error "build with -DFIODLIO_FIO_VERSION=\"fio-x.y\" (the Makefile does)"
#endif
#ifndef FIODLIO_ABI_TEST_SHIFT
#define FIODLIO_ABI_TEST_SHIFT 0 /* the test suite builds a deliberately wrong engine */
#endif

struct abi_field {
	const char *option;
	size_t offset;
};

/* Options whose thread_options fields the engine or fio's inline helpers read. */
static const struct abi_field fields[] = {
	{ "name", offsetof(struct thread_options, name) },
	{ "rw", offsetof(struct thread_options, td_ddir) },
	{ "iodepth", offsetof(struct thread_options, iodepth) + FIODLIO_ABI_TEST_SHIFT },
	{ "nrfiles", offsetof(struct thread_options, nr_files) },
	{ "size", offsetof(struct thread_options, size) },
	{ "filesize", offsetof(struct thread_options, file_size_low) },
	{ "offset", offsetof(struct thread_options, start_offset) },
	{ "offset_increment", offsetof(struct thread_options, offset_increment) },
	{ "direct", offsetof(struct thread_options, odirect) },
	{ "sync", offsetof(struct thread_options, sync_io) },
	{ "allow_file_create", offsetof(struct thread_options, allow_create) },
	{ "create_on_open", offsetof(struct thread_options, create_on_open) },
	{ "read_iolog", offsetof(struct thread_options, read_iolog_file) },
	{ "disable_clat", offsetof(struct thread_options, disable_clat) },
	{ "disable_slat", offsetof(struct thread_options, disable_slat) },
	{ "disable_bw_measurement", offsetof(struct thread_options, disable_bw) },
	{ "bs", offsetof(struct thread_options, bs) },
	{ "verify", offsetof(struct thread_options, verify) },
	{ "buffer_pattern", offsetof(struct thread_options, buffer_pattern) },
	{ "zero_buffers", offsetof(struct thread_options, zero_buffers) },
};

static int abi_state = -1; /* -1 unchecked, 0 ok, 1 mismatch */

static const struct fio_option *lookup_option(const char *name)
{
	for (const struct fio_option *o = fio_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static void refuse(const char *what)
{
	log_err("fio-dlio: refusing to load: built for " FIODLIO_FIO_VERSION
		", but this is %s%s; rebuild with 'make -C " FIODLIO_SRCDIR
		" clean all' against this fio (FIO=<its binary>, FIO_SRC=<its source tree>)\n",
		fio_version_string, what);
	ioengine.version = -1;
	abi_state = 1;
}

static int check(void)
{
	char what[160];

	if (strcmp(fio_version_string, FIODLIO_FIO_VERSION)) {
		refuse("");
		return 1;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct fio_option *o = lookup_option(fields[i].option);

		if (!o) {
			snprintf(what, sizeof(what), " and it has no '%s' option", fields[i].option);
			refuse(what);
			return 1;
		}
		if (o->off1 != fields[i].offset) {
			snprintf(what, sizeof(what),
				 " and its option '%s' is at offset %u of thread_options, not %zu",
				 fields[i].option, o->off1, fields[i].offset);
			refuse(what);
			return 1;
		}
	}
	return 0;
}

__attribute__((constructor)) static void fiodlio_abi_guard(void)
{
	abi_state = check();
}

int fiodlio_abi_ok(void)
{
	if (abi_state < 0)
		abi_state = check();
	return abi_state;
}
