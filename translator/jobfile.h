/*
 * dlio2fio's core: a DLIO workload (file + Hydra overrides) in, fio job file text out (one per
 * host), plus the human summary of --explain. No file I/O here except reading the workload;
 * the caller writes the results.
 */
#ifndef FIODLIO_TRANSLATOR_JOBFILE_H
#define FIODLIO_TRANSLATOR_JOBFILE_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/config.h"

/* a rank count no single fio run can reach */
#define D2F_MAX_RANKS 65536
#define D2F_MAX_HOSTS 4096
/* bound on one generated text */
#define D2F_TEXT_MAX (1 << 20)

/* ioengine=external:<this> unless --engine is given; fio expands it from the environment */
#define D2F_DEFAULT_ENGINE "${FIODLIO_ENGINE}"

struct d2f_opts {
	const char *workload; /* path of the YAML */
	const char *source;   /* how to name it in comments (as given on the command line) */
	const char *const *overrides;
	size_t noverrides;
	int64_t ranks;
	char **hosts; /* NULL: one job file for one host */
	size_t nhosts;
	const char *engine;
	const char *data_uri, *ckpt_uri, *output; /* NULL: from the workload */
	enum dlio_flavour flavour;
	int scale_down; /* add the overrides of d2f_scale_down() after the user's */
	int explain; /* the summary is wanted: compute exact figures even when slow */
	const char *cmdline; /* the command that regenerates the file, for the comment block */
};

struct d2f_text {
	char *buf;
	size_t len, cap;
	int full;
};

/* One job file per host (one if no hosts) and the --explain text. */
struct d2f_result {
	struct d2f_text *files;
	size_t nfiles;
	struct d2f_text explain;
	struct dlio_diags diags; /* load warnings, for stderr */
};

/* The overrides --scale-down adds: "++workload.KEY=VALUE" for each value above its bound. */
#define D2F_SCALE_MAX 40
#define D2F_SCALE_LEN 256
struct d2f_scale {
	char v[D2F_SCALE_MAX][D2F_SCALE_LEN];
	size_t n;
};

/* For cfg (loaded with the user's overrides) run by ranks ranks; keys the user's overrides
 * name are left alone. 0, or -E2BIG with err set. */
int d2f_scale_down(const struct dlio_config *cfg, int64_t ranks, const char *const *user,
		   size_t nuser, struct d2f_scale *s, char *err, size_t errlen);

/* 0, or -errno with err set: -EINVAL and friends for bad input (exit code 2), -ENOMEM. */
int d2f_translate(const struct d2f_opts *o, struct d2f_result *r, char *err, size_t errlen);
void d2f_result_free(struct d2f_result *r);

#endif
