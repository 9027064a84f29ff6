/*
 * A loaded DLIO config written back out as one line of YAML flow mapping, so that a job file
 * can carry the resolved workload (all overrides applied) to wherever fio parses it - fio's
 * client/server mode sends only the job file text to the servers.
 *
 * Only keys that were given are written: DLIO reacts to whether some keys were given at all
 * (reader.file_shuffle, reader.read_type), so writing defaults out would change the run.
 * Keys DLIO ignores are not written (their warnings belong to the translation, not the run).
 *
 * The line is also safe as an fio option value: fio cuts a job file line at the first ';'
 * or '#', expands ${VAR} and $pagesize-style keywords anywhere in it and reads at most 8191
 * bytes per line, so strings holding such characters are written as YAML double-quoted
 * scalars with \x escapes, and a config whose line would be too long is refused.
 */
#ifndef FIODLIO_DLIO_EMIT_H
#define FIODLIO_DLIO_EMIT_H

#include <stddef.h>

#include "dlio/config.h"

/* fio's OPT_LEN_MAX is 8192 bytes per job file line, including "dlio_config=" */
#define DLIO_FLOW_MAX 8000

/* Write cfg as "{model: {...}, ...}" into buf. Returns the length, or -ENOSPC (longer than
 * len - 1 or DLIO_FLOW_MAX) / -EINVAL with err set. */
int dlio_config_emit_flow(const struct dlio_config *cfg, char *buf, size_t len, char *err,
			  size_t errlen);

/* 0 when a and b configure the same run (every key's value and given-ness, the quirks that
 * follow from values); 1 with the first differing key in what. Source positions and the
 * quirks that only record ignored keys are not compared. */
int dlio_config_diff(const struct dlio_config *a, const struct dlio_config *b, char *what,
		     size_t whatlen);

#endif
