/*
 * A small YAML document tree with source positions, typed the way DLIO's loader types it
 * (PyYAML SafeLoader's YAML 1.1 scalars plus OmegaConf's extra float forms such as 1e3), and
 * Hydra-style command-line overrides applied to it (++a.b=v, +a.b=v, a.b=v, ~a.b, with
 * Hydra's own value grammar).
 *
 * The config module reads DLIO keys out of this tree; keeping the tree separate lets it report
 * file:line:col for every value and find the keys nobody read (DLIO ignores those silently).
 * Every allocation is bounded (node count, depth, scalar length).
 */
#ifndef FIODLIO_DLIO_YTREE_H
#define FIODLIO_DLIO_YTREE_H

#include <stddef.h>
#include <stdint.h>

#define DLIO_Y_MAX_NODES 65536
#define DLIO_Y_MAX_DEPTH 64
#define DLIO_Y_MAX_SCALAR (1 << 20)
#define DLIO_Y_MAX_FILE (16 << 20)

enum dlio_ykind { DLIO_Y_SCALAR, DLIO_Y_MAP, DLIO_Y_SEQ };

/* resolved type of a scalar */
enum dlio_ytype { DLIO_YT_NULL, DLIO_YT_BOOL, DLIO_YT_INT, DLIO_YT_FLOAT, DLIO_YT_STR };

struct dlio_ynode {
	enum dlio_ykind kind;
	enum dlio_ytype type; /* scalars only */
	char *key;	      /* when the parent is a mapping */
	char *text;	      /* scalar text as written (unquoted) */
	int64_t ival;
	double dval;
	int bval;
	const char *src; /* file name or "<override N>"; owned by the tree */
	int line, col;	 /* 1-based position of the value */
	int key_line, key_col;
	int used; /* set by readers, so unread keys can be reported */
	struct dlio_ynode *parent, *child, *last, *next;
};

struct dlio_ytree {
	struct dlio_ynode *root; /* a mapping; never NULL after a successful load */
	size_t nnodes;
	char *srcs[65]; /* file name + one per override, bounded by DLIO_Y_MAX_OVERRIDES */
	size_t nsrcs;
};

#define DLIO_Y_MAX_OVERRIDES 64

/* Parse a YAML file (one document whose top level is a mapping, or empty). Returns 0 or
 * -errno; on error err holds "file:line:col: what is wrong". */
int dlio_ytree_load_file(struct dlio_ytree *t, const char *path, char *err, size_t errlen);
/* Same from a buffer; name is used in messages. */
int dlio_ytree_load_buf(struct dlio_ytree *t, const char *name, const char *buf, size_t len,
			char *err, size_t errlen);
void dlio_ytree_free(struct dlio_ytree *t);
/* Make n (a mapping inside t) the new root, freeing everything else. */
void dlio_ytree_reroot(struct dlio_ytree *t, struct dlio_ynode *n);

/* Child of a mapping by key, or NULL. */
struct dlio_ynode *dlio_ynode_get(const struct dlio_ynode *map, const char *key);
/* Dotted path lookup from a mapping ("dataset.num_files_train"). */
struct dlio_ynode *dlio_ynode_path(const struct dlio_ynode *map, const char *path);
size_t dlio_ynode_count(const struct dlio_ynode *n);
/* Dotted path of a node relative to the root, into buf. */
void dlio_ynode_pathname(const struct dlio_ynode *n, char *buf, size_t len);

/*
 * Apply one Hydra override. Only paths under prefix (e.g. "workload.") are applied to the
 * tree, with the prefix stripped. Other paths under "hydra." are accepted and returned via
 * *is_hydra (the caller may record them); anything else is an error. Returns 0 or -errno with
 * err set; Hydra's rules: a.b=v needs a.b to exist, +a.b=v needs it absent, ++ sets either
 * way, ~a.b deletes (and needs it present).
 */
int dlio_ytree_override(struct dlio_ytree *t, const char *ovr, const char *prefix, int *is_hydra,
			char *err, size_t errlen);

#endif
