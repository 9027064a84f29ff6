/*
 * DLIO checkpoint layout (SPEC 9): which ranks write which files, with how many tensor
 * bytes, into which folder, and when. The sizes are tensor payload bytes: torch.save adds a
 * few KiB of zip/pickle framing per file that DLIO neither controls nor reports, and TF
 * writes a .index/.data pair per state plus a "checkpoint" file per folder.
 *
 * Files of a rank are produced by index (dlio_ckpt_rank_file), so a 1024-rank layout is
 * never materialised.
 */
#ifndef FIODLIO_DLIO_CHECKPOINT_H
#define FIODLIO_DLIO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "dlio/config.h"

enum dlio_ckpt_mech {
	DLIO_MECH_PT_SAVE,    /* <name>.pt */
	DLIO_MECH_PT_S3_SAVE, /* <name>.pts3, one multipart PUT */
	DLIO_MECH_TF_SAVE,    /* <name>.pb-1.index + <name>.pb-1.data-00000-of-00001 */
};

enum dlio_ckpt_kind {
	DLIO_CKPT_MODEL,     /* model_states-<r>: the plain model_size_bytes tensor */
	DLIO_CKPT_LAYERS,    /* all layer states of the rank in one file */
	DLIO_CKPT_LAYER,     /* layer_<L>-model_<mp>_model_states (ZeRO 1-2, PP > 1) */
	DLIO_CKPT_OPTIMIZER, /* zero_pp_rank_<dp>_mp_rank_<mp>_optim_states */
};

struct dlio_ckpt_file {
	enum dlio_ckpt_kind kind;
	char name[96]; /* without extension */
	int64_t bytes; /* tensor payload */
	int64_t layer; /* DLIO_CKPT_LAYER */
	int64_t first_layer, last_layer; /* DLIO_CKPT_LAYER(S): the layers it holds */
	int computed;  /* counted in DLIO's reported checkpoint_size */
};

struct dlio_ckpt {
	const struct dlio_config *cfg;
	enum dlio_ckpt_mech mech;
	int64_t comm, tp, pp, mp, dp, zero;
	int64_t L, h, f, V, kv;
	int64_t dt, ot;	  /* bytes per model / optimizer element */
	int64_t params;	  /* computed transformer parameter count (0 if L <= 0) */
	int legacy_layers; /* model.layer_parameters given */
	int legacy_optim;  /* model.optimization_groups given */
	int model_tensor;  /* type != transformer and model_size_bytes > 0 */
};

/* Returns 0 or -EINVAL with err set. comm_size is the number of ranks of this run. */
int dlio_ckpt_init(struct dlio_ckpt *c, const struct dlio_config *cfg, int64_t comm_size,
		   char *err, size_t errlen);

int64_t dlio_ckpt_rank_nfiles(const struct dlio_ckpt *c, int64_t rank);
/* i-th file of a rank (0 <= i < nfiles): 0 or -ERANGE */
int dlio_ckpt_rank_file(const struct dlio_ckpt *c, int64_t rank, int64_t i,
			struct dlio_ckpt_file *f);
/* One tensor of a checkpoint file, in the order the state dict holds them. */
struct dlio_ckpt_tensor {
	int64_t bytes;
	enum dlio_dtype dtype;
};

/* The tensors of file f (from dlio_ckpt_rank_file): their bytes add up to f->bytes.
 * Fills out[0..max) and returns the count (call with max 0 to count). */
int64_t dlio_ckpt_file_tensors(const struct dlio_ckpt *c, const struct dlio_ckpt_file *f,
			       struct dlio_ckpt_tensor *out, int64_t max);

int64_t dlio_ckpt_rank_bytes(const struct dlio_ckpt *c, int64_t rank);
/* sum over all ranks of the run */
int64_t dlio_ckpt_total_bytes(const struct dlio_ckpt *c);
/* DLIO's reported checkpoint_size in GiB (SPEC 9.6) */
double dlio_ckpt_reported_gib(const struct dlio_ckpt *c);

/* "<checkpoint_folder>/global_epoch<E>_step<S>" */
int dlio_ckpt_folder(const struct dlio_ckpt *c, int64_t epoch, int64_t step, char *buf,
		     size_t len);
/* Path of part `part` of a file: pt/pts3 have one part; tf_save has two (index, data).
 * Returns the length or -ERANGE / -ENAMETOOLONG. */
int dlio_ckpt_file_path(const struct dlio_ckpt *c, int64_t epoch, int64_t step,
			const struct dlio_ckpt_file *f, int part, char *buf, size_t len);
int dlio_ckpt_parts(const struct dlio_ckpt *c);

/* Training-mode schedule (SPEC 9.2). steps_in_epoch is what the epoch ran. */
/* Epoch mode: does epoch e end with a checkpoint? Folder step is steps_in_epoch + 1. */
int dlio_ckpt_epoch_due(const struct dlio_ckpt *c, int64_t epoch);
/* Step mode: does step s (1-based, restarting every epoch) checkpoint? */
int dlio_ckpt_step_due(const struct dlio_ckpt *c, int64_t step);

#endif
