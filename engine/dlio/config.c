#include "dlio/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlio/rng.h"
#include "dlio/ytree.h"

void dlio_diags_add(struct dlio_diags *d, enum dlio_severity sev, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	if (sev == DLIO_SEV_ERROR)
		d->nerrors++;
	if (d->n >= DLIO_DIAG_MAX) {
		d->dropped++;
		return;
	}
	d->items[d->n].sev = sev;
	va_start(ap, fmt);
	vsnprintf(d->items[d->n].msg, sizeof(d->items[d->n].msg), fmt, ap);
	va_end(ap);
	d->n++;
}

static const char *const framework_names[] = {"tensorflow", "pytorch", NULL};
static const char *const storage_names[] = {"local_fs", "parallel_fs", "s3", "aistore", NULL};
static const char *const format_names[] = {"tfrecord", "hdf5",
					   "csv",      "npz",
					   "npy",      "jpeg",
					   "png",      "indexed_binary",
					   "mmap_indexed_binary", "synthetic",
					   "hdf5_opt", NULL};
static const char *const loader_names[] = {"",	      "tensorflow", "pytorch", "dali",
					   "native_dali", "synthetic",  "custom",  "none",
					   NULL};
static const char *const sampler_names[] = {"iterative", "index", "none", NULL};
static const char *const shuffle_names[] = {"off", "seed", "random", NULL};
static const char *const file_access_names[] = {"multi", "shared", "collective", "mpio",
						"posix", NULL};
static const char *const ckpt_type_names[] = {"rank_zero", "all_ranks", NULL};
static const char *const ckpt_mode_names[] = {"default", "subset", NULL};
static const char *const profiler_names[] = {"none", "iostat", "darshan", "tensorboard", NULL};
static const char *const dtype_names[] = {"fp16", "bf16", "fp32", "fp64", "int8", "uint8", NULL};
static const char *const mp_context_names[] = {"fork", "spawn", "forkserver", NULL};

const char *dlio_format_name(enum dlio_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) - 1 ? format_names[f]
										  : "?";
}

const char *dlio_loader_name(enum dlio_loader l)
{
	if (l == DLIO_LOADER_UNSET)
		return "(unset)";
	return (unsigned)l < sizeof(loader_names) / sizeof(loader_names[0]) - 1 ? loader_names[l]
										  : "?";
}

int dlio_dtype_bytes(enum dlio_dtype t)
{
	switch (t) {
	case DLIO_DT_FP16:
	case DLIO_DT_BF16:
		return 2;
	case DLIO_DT_FP32:
		return 4;
	case DLIO_DT_FP64:
		return 8;
	default:
		return 1;
	}
}

static const struct {
	const char *name, *text;
} quirk_text[DLIO_Q_COUNT] = {
	[DLIO_Q_FILE_SHUFFLE_STRING] = {"file_shuffle_string",
					"reader.file_shuffle stays a string, so any explicit value "
					"(even 'off') shuffles the file list with seed+epoch"},
	[DLIO_Q_READ_TYPE_STRING] = {"read_type_string",
				     "reader.read_type stays a string, so any explicit value keeps "
				     "files open per worker instead of open/read/close per sample"},
	[DLIO_Q_COMPRESSION_STRING] = {"compression_string",
				       "dataset.compression stays a string: npz is never compressed, "
				       "hdf5 with an explicit 'none' fails, csv gets compressed "
				       "content under a .csv name"},
	[DLIO_Q_FSYNC_IGNORED] = {"fsync_ignored",
				  "checkpoint.fsync is stored in a misspelled field: DLIO never "
				  "fsyncs checkpoints"},
	[DLIO_Q_RECOVERY_SHIFT_IGNORED] = {"recovery_rank_shift_ignored",
					   "checkpoint.recovery_rank_shift is stored in a misspelled "
					   "field and has no effect"},
	[DLIO_Q_MODEL_SIZE_NOT_READ] = {"model_size_not_read",
					"model.model_size is not a DLIO key; the plain model tensor "
					"uses model.model_size_bytes (default 10240)"},
	[DLIO_Q_MODEL_STRING] = {"model_string",
				 "model is a string (v1.0 style); DLIO reads nothing from it"},
	[DLIO_Q_LEGACY_RECORD_LENGTH] = {"legacy_record_length",
					 "dataset.record_length* are v1.0 names; DLIO uses the "
					 "record_length_bytes* defaults instead"},
	[DLIO_Q_LEGACY_CHECKPOINT_KEYS] = {"legacy_checkpoint_keys",
					   "checkpoint.model_size/num_layers/... are v1.0 locations "
					   "that DLIO no longer reads"},
	[DLIO_Q_IGNORED_KEY] = {"ignored_key", "a key DLIO parses or accepts but never uses"},
	[DLIO_Q_TIME_BETWEEN_CKPT_ABS] = {"time_between_checkpoints_abs",
					  "checkpoint-only mode sleeps |time_between_checkpoints| "
					  "before each checkpoint, so the default -1 sleeps 1 s"},
	[DLIO_Q_DATA_LOADER_REQUIRED] = {"data_loader_required",
					 "reader.data_loader defaults to a string that matches no "
					 "loader, so training without it fails"},
	[DLIO_Q_SUBFOLDERS_ONE] = {"subfolders_one",
				   "num_subfolders = 1 generates a flat folder but reading asserts "
				   "num_subfolders == 0"},
	[DLIO_Q_ITERATIVE_SAME_FILES] = {"iterative_same_files",
					 "the iterative sampler applies the rank offset only to a "
					 "rank's first sample, so all ranks read (nearly) the same "
					 "files"},
	[DLIO_Q_TFRECORD_FROZEN_ORDER] = {"tfrecord_frozen_order",
					  "the TF tfrecord pipeline is built once, so the file order "
					  "stays the epoch-1 shuffle in every epoch"},
	[DLIO_Q_SAMPLE_SHUFFLE_NO_IO] = {"sample_shuffle_no_io",
					 "reader.sample_shuffle does not change which sample is read "
					 "when with this loader"},
	[DLIO_Q_INDEXED_BINARY_OFFSETS] = {"indexed_binary_offsets",
					   "indexed_binary files larger than generation_buffer_size "
					   "get .off.idx offsets that restart at 0 every chunk"},
	[DLIO_Q_S3_FORCE_PATH_STYLE_BOOL] = {"s3_force_path_style_bool",
					     "storage_options.s3_force_path_style is a YAML bool; "
					     "DLIO HEAD calls .strip() on it and crashes"},
	[DLIO_Q_WHOLE_FILE_PER_SAMPLE] = {"whole_file_per_sample",
					  "npz/npy readers load the whole file for every sample, "
					  "so n samples per file read the file n times"},
	[DLIO_Q_HEAD_TRIM] = {"head_trim",
			      "DLIO HEAD rounds num_files down to a multiple of "
			      "samples_per_file*batch*comm_size, mixing files and samples"},
	[DLIO_Q_EVAL_WITHOUT_TRAIN] = {"eval_without_train",
				       "workflow.evaluation has no effect when workflow.train is "
				       "False"},
	[DLIO_Q_RECORD_LENGTH_NOT_SQUARE] = {"record_length_not_square",
					     "samples are int(sqrt(record_length_bytes))^2 bytes, "
					     "not record_length_bytes"},
	[DLIO_Q_MMAP_NO_IO] = {"mmap_no_io",
			       "mmap_indexed_binary returns unread memory-mapped views: "
			       "almost no data I/O"},
	[DLIO_Q_NATIVE_DALI_SHARD] = {"native_dali_shard",
				      "native_dali passes num_shards without shard_id: every rank "
				      "reads shard 0"},
	[DLIO_Q_HEAD_EXTRA_BATCH] = {"head_extra_batch",
				     "DLIO HEAD fetches one more batch after the last step"},
	[DLIO_Q_RECORD_DIMS_V20] = {"record_dims_v20",
				    "record_dims and the other HEAD-only dataset keys are not read "
				    "by DLIO v2.0"},
};

const char *dlio_quirk_name(enum dlio_quirk q)
{
	return (unsigned)q < DLIO_Q_COUNT ? quirk_text[q].name : "?";
}

const char *dlio_quirk_explain(enum dlio_quirk q)
{
	return (unsigned)q < DLIO_Q_COUNT ? quirk_text[q].text : "?";
}

static void quirk(struct dlio_config *cfg, enum dlio_quirk q)
{
	cfg->quirks |= 1ULL << q;
}

enum kind {
	K_BOOL,
	K_INT,
	K_FLOAT,
	K_STR,
	K_PATH, /* string, trailing '/' stripped as DLIO does for YAML values */
	K_RAWSTR,
	K_ENUM,
	K_INTLIST,
	K_STRLIST,
	K_TIME,
	K_TIMESTDEV,
	K_OPTS,
	K_PRESENT,
	K_SECTION, /* a mapping that groups keys */
	K_IGNORED,
};

/* v2.0 does not read these; HEAD does */
#define F_HEAD_ONLY 1
/* >= 0 / > 0 checks */
#define F_NONNEG 2
#define F_POS 4

#define OFF(field) offsetof(struct dlio_config, field), sizeof(((struct dlio_config *)0)->field)

struct key {
	const char *path;
	enum kind kind;
	size_t off, size;
	const char *const *names;
	int flags;
	enum dlio_quirk quirk; /* K_IGNORED */
	const char *why;       /* K_IGNORED */
};

static const struct key keys[] = {
	{"framework", K_ENUM, OFF(framework), framework_names, 0, 0, NULL},
	{"model", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"model.name", K_STR, OFF(model.name), NULL, 0, 0, NULL},
	{"model.type", K_STR, OFF(model.type), NULL, 0, 0, NULL},
	{"model.model_size_bytes", K_INT, OFF(model.model_size_bytes), NULL, 0, 0, NULL},
	{"model.model_datatype", K_ENUM, OFF(model.model_datatype), dtype_names, 0, 0, NULL},
	{"model.optimizer_datatype", K_ENUM, OFF(model.optimizer_datatype), dtype_names, 0, 0,
	 NULL},
	{"model.optimization_groups", K_INTLIST, OFF(model.optimization_groups), NULL, F_NONNEG, 0,
	 NULL},
	{"model.num_layers", K_INT, OFF(model.num_layers), NULL, 0, 0, NULL},
	{"model.layer_parameters", K_INTLIST, OFF(model.layer_parameters), NULL, F_NONNEG, 0,
	 NULL},
	{"model.parallelism", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"model.parallelism.tensor", K_INT, OFF(model.parallelism.tensor), NULL, F_POS, 0, NULL},
	{"model.parallelism.pipeline", K_INT, OFF(model.parallelism.pipeline), NULL, F_POS, 0,
	 NULL},
	{"model.parallelism.data", K_INT, OFF(model.parallelism.data), NULL, 0, 0, NULL},
	{"model.parallelism.zero_stage", K_INT, OFF(model.parallelism.zero_stage), NULL, F_NONNEG,
	 0, NULL},
	{"model.transformer", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"model.transformer.vocab_size", K_INT, OFF(model.transformer.vocab_size), NULL, F_NONNEG,
	 0, NULL},
	{"model.transformer.hidden_size", K_INT, OFF(model.transformer.hidden_size), NULL,
	 F_NONNEG, 0, NULL},
	{"model.transformer.ffn_hidden_size", K_INT, OFF(model.transformer.ffn_hidden_size), NULL,
	 F_NONNEG, 0, NULL},
	{"model.transformer.num_attention_heads", K_INT,
	 OFF(model.transformer.num_attention_heads), NULL, F_POS, 0, NULL},
	{"model.transformer.num_kv_heads", K_INT, OFF(model.transformer.num_kv_heads), NULL,
	 F_NONNEG, 0, NULL},
	{"model.model_size", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_MODEL_SIZE_NOT_READ,
	 "not a DLIO key (the model tensor size is model.model_size_bytes)"},

	{"workflow", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"workflow.generate_data", K_BOOL, OFF(workflow.generate_data), NULL, 0, 0, NULL},
	{"workflow.train", K_BOOL, OFF(workflow.train), NULL, 0, 0, NULL},
	{"workflow.evaluation", K_BOOL, OFF(workflow.evaluation), NULL, 0, 0, NULL},
	{"workflow.checkpoint", K_BOOL, OFF(workflow.checkpoint), NULL, 0, 0, NULL},
	{"workflow.profiling", K_BOOL, OFF(workflow.profiling), NULL, 0, 0, NULL},
	{"workflow.query", K_STR, OFF(workflow.query), NULL, 0, 0, NULL},
	{"workflow.debug", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_IGNORED_KEY,
	 "ignored since DLIO v2.0"},

	{"storage", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"storage.storage_type", K_ENUM, OFF(storage.storage_type), storage_names, 0, 0, NULL},
	{"storage.storage_root", K_STR, OFF(storage.storage_root), NULL, 0, 0, NULL},
	{"storage.storage_options", K_OPTS, 0, 0, NULL, F_HEAD_ONLY, 0, NULL},

	{"dataset", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"dataset.format", K_ENUM, OFF(dataset.format), format_names, 0, 0, NULL},
	{"dataset.data_folder", K_PATH, OFF(dataset.data_folder), NULL, 0, 0, NULL},
	{"dataset.num_files_train", K_INT, OFF(dataset.num_files_train), NULL, F_NONNEG, 0, NULL},
	{"dataset.num_files_eval", K_INT, OFF(dataset.num_files_eval), NULL, F_NONNEG, 0, NULL},
	{"dataset.num_samples_per_file", K_INT, OFF(dataset.num_samples_per_file), NULL, F_POS, 0,
	 NULL},
	{"dataset.record_length_bytes", K_FLOAT, OFF(dataset.record_length_bytes), NULL, F_NONNEG,
	 0, NULL},
	{"dataset.record_length_bytes_stdev", K_FLOAT, OFF(dataset.record_length_bytes_stdev),
	 NULL, F_NONNEG, 0, NULL},
	{"dataset.record_length_bytes_resize", K_INT, OFF(dataset.record_length_bytes_resize),
	 NULL, F_NONNEG, 0, NULL},
	{"dataset.num_subfolders_train", K_INT, OFF(dataset.num_subfolders_train), NULL, F_NONNEG,
	 0, NULL},
	{"dataset.num_subfolders_eval", K_INT, OFF(dataset.num_subfolders_eval), NULL, F_NONNEG, 0,
	 NULL},
	{"dataset.file_prefix", K_STR, OFF(dataset.file_prefix), NULL, 0, 0, NULL},
	{"dataset.compression", K_RAWSTR, OFF(dataset.compression), NULL, 0, 0, NULL},
	{"dataset.compression_level", K_INT, OFF(dataset.compression_level), NULL, 0, 0, NULL},
	{"dataset.enable_chunking", K_BOOL, OFF(dataset.enable_chunking), NULL, 0, 0, NULL},
	{"dataset.chunk_size", K_INT, OFF(dataset.chunk_size), NULL, F_NONNEG, 0, NULL},
	{"dataset.keep_files", K_BOOL, OFF(dataset.keep_files), NULL, 0, 0, NULL},
	{"dataset.generation_buffer_size", K_INT, OFF(dataset.generation_buffer_size), NULL, F_POS,
	 0, NULL},
	{"dataset.record_dims", K_INTLIST, OFF(dataset.record_dims), NULL, F_HEAD_ONLY | F_POS, 0,
	 NULL},
	{"dataset.record_element_type", K_STR, OFF(dataset.record_element_type), NULL,
	 F_HEAD_ONLY, 0, NULL},
	{"dataset.record_element_bytes", K_INT, OFF(dataset.record_element_bytes), NULL,
	 F_HEAD_ONLY, 0, NULL},
	{"dataset.hdf5", K_SECTION, 0, 0, NULL, F_HEAD_ONLY, 0, NULL},
	{"dataset.hdf5.chunk_dims", K_INTLIST, OFF(dataset.hdf5.chunk_dims), NULL,
	 F_HEAD_ONLY | F_POS, 0, NULL},
	{"dataset.hdf5.num_dset_per_record", K_INT, OFF(dataset.hdf5.num_dset_per_record), NULL,
	 F_HEAD_ONLY | F_POS, 0, NULL},
	{"dataset.hdf5.max_shape", K_INTLIST, OFF(dataset.hdf5.max_shape), NULL, F_HEAD_ONLY, 0,
	 NULL},
	{"dataset.record_length", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_RECORD_LENGTH,
	 "v1.0 name, not read (use dataset.record_length_bytes)"},
	{"dataset.record_length_stdev", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_RECORD_LENGTH,
	 "v1.0 name, not read (use dataset.record_length_bytes_stdev)"},
	{"dataset.record_length_resize", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_RECORD_LENGTH,
	 "v1.0 name, not read (use dataset.record_length_bytes_resize)"},

	{"reader", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"reader.data_loader", K_ENUM, OFF(reader.data_loader), loader_names, 0, 0, NULL},
	{"reader.batch_size", K_INT, OFF(reader.batch_size), NULL, F_POS, 0, NULL},
	{"reader.batch_size_eval", K_INT, OFF(reader.batch_size_eval), NULL, F_POS, 0, NULL},
	{"reader.read_threads", K_INT, OFF(reader.read_threads), NULL, F_NONNEG, 0, NULL},
	{"reader.computation_threads", K_INT, OFF(reader.computation_threads), NULL, F_NONNEG, 0,
	 NULL},
	{"reader.prefetch_size", K_INT, OFF(reader.prefetch_size), NULL, F_NONNEG, 0, NULL},
	{"reader.file_shuffle", K_RAWSTR, OFF(reader.file_shuffle), NULL, 0, 0, NULL},
	{"reader.sample_shuffle", K_ENUM, OFF(reader.sample_shuffle), shuffle_names, 0, 0, NULL},
	{"reader.shuffle_size", K_INT, OFF(reader.shuffle_size), NULL, F_NONNEG, 0, NULL},
	{"reader.read_type", K_RAWSTR, OFF(reader.read_type), NULL, 0, 0, NULL},
	{"reader.file_access", K_ENUM, OFF(reader.file_access), file_access_names, 0,
	 DLIO_Q_IGNORED_KEY, NULL},
	{"reader.transfer_size", K_INT, OFF(reader.transfer_size), NULL, F_POS, 0, NULL},
	{"reader.preprocess_time", K_TIME, OFF(reader.preprocess_time), NULL, 0, 0, NULL},
	{"reader.preprocess_time_stdev", K_TIMESTDEV, OFF(reader.preprocess_time), NULL, 0, 0,
	 NULL},
	{"reader.dont_use_mmap", K_BOOL, OFF(reader.dont_use_mmap), NULL, 0, 0, NULL},
	{"reader.odirect", K_BOOL, OFF(reader.odirect), NULL, 0, 0, NULL},
	{"reader.pin_memory", K_BOOL, OFF(reader.pin_memory), NULL, 0, 0, NULL},
	{"reader.multiprocessing_context", K_STR, OFF(reader.multiprocessing_context),
	 mp_context_names, 0, 0, NULL},
	{"reader.data_loader_classname", K_STR, OFF(reader.data_loader_classname), NULL, 0, 0,
	 NULL},
	{"reader.data_loader_sampler", K_ENUM, OFF(reader.data_loader_sampler), sampler_names, 0,
	 0, NULL},
	{"reader.reader_classname", K_STR, OFF(reader.reader_classname), NULL, 0, 0, NULL},
	{"reader.transformed_record_dims", K_INTLIST, OFF(reader.transformed_record_dims), NULL,
	 F_HEAD_ONLY, 0, NULL},
	{"reader.transformed_record_element_type", K_STR,
	 OFF(reader.transformed_record_element_type), NULL, F_HEAD_ONLY, 0, NULL},

	{"train", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"train.epochs", K_INT, OFF(train.epochs), NULL, F_NONNEG, 0, NULL},
	{"train.computation_time", K_TIME, OFF(train.computation_time), NULL, 0, 0, NULL},
	{"train.computation_time_stdev", K_TIMESTDEV, OFF(train.computation_time), NULL, 0, 0,
	 NULL},
	{"train.total_training_steps", K_INT, OFF(train.total_training_steps), NULL, 0, 0, NULL},
	{"train.seed", K_INT, OFF(train.seed), NULL, 0, 0, NULL},
	{"train.seed_change_epoch", K_BOOL, OFF(train.seed_change_epoch), NULL, 0, 0, NULL},

	{"evaluation", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"evaluation.eval_time", K_TIME, OFF(evaluation.eval_time), NULL, 0, 0, NULL},
	{"evaluation.eval_time_stdev", K_TIMESTDEV, OFF(evaluation.eval_time), NULL, 0, 0, NULL},
	{"evaluation.eval_after_epoch", K_INT, OFF(evaluation.eval_after_epoch), NULL, 0, 0, NULL},
	{"evaluation.epochs_between_evals", K_INT, OFF(evaluation.epochs_between_evals), NULL,
	 F_POS, 0, NULL},

	{"checkpoint", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"checkpoint.checkpoint_folder", K_PATH, OFF(checkpoint.checkpoint_folder), NULL, 0, 0,
	 NULL},
	{"checkpoint.checkpoint_after_epoch", K_INT, OFF(checkpoint.checkpoint_after_epoch), NULL,
	 0, 0, NULL},
	{"checkpoint.epochs_between_checkpoints", K_INT,
	 OFF(checkpoint.epochs_between_checkpoints), NULL, F_POS, 0, NULL},
	{"checkpoint.steps_between_checkpoints", K_INT, OFF(checkpoint.steps_between_checkpoints),
	 NULL, 0, 0, NULL},
	{"checkpoint.type", K_ENUM, OFF(checkpoint.type), ckpt_type_names, 0, DLIO_Q_IGNORED_KEY,
	 NULL},
	{"checkpoint.mode", K_ENUM, OFF(checkpoint.mode), ckpt_mode_names, 0, 0, NULL},
	{"checkpoint.fsync", K_BOOL, OFF(checkpoint.fsync), NULL, 0, 0, NULL},
	{"checkpoint.time_between_checkpoints", K_FLOAT, OFF(checkpoint.time_between_checkpoints),
	 NULL, 0, 0, NULL},
	{"checkpoint.num_checkpoints_write", K_INT, OFF(checkpoint.num_checkpoints_write), NULL, 0,
	 0, NULL},
	{"checkpoint.num_checkpoints_read", K_INT, OFF(checkpoint.num_checkpoints_read), NULL, 0, 0,
	 NULL},
	{"checkpoint.recovery_rank_shift", K_BOOL, OFF(checkpoint.recovery_rank_shift), NULL, 0, 0,
	 NULL},
	{"checkpoint.rank_sync", K_BOOL, OFF(checkpoint.rank_sync), NULL, 0, 0, NULL},
	{"checkpoint.randomize_tensor", K_BOOL, OFF(checkpoint.randomize_tensor), NULL, 0, 0, NULL},
	{"checkpoint.checkpoint_mechanism_classname", K_STR,
	 OFF(checkpoint.checkpoint_mechanism_classname), NULL, 0, 0, NULL},
	{"checkpoint.ksm", K_PRESENT, OFF(checkpoint.ksm_present), NULL, 0, 0, NULL},
	{"checkpoint.ksm.madv_mergeable_id", K_INT, OFF(checkpoint.ksm_madv_mergeable_id), NULL, 0,
	 0, NULL},
	{"checkpoint.ksm.high_ram_trigger", K_FLOAT, OFF(checkpoint.ksm_high_ram_trigger), NULL, 0,
	 0, NULL},
	{"checkpoint.ksm.low_ram_exit", K_INT, OFF(checkpoint.ksm_low_ram_exit), NULL, 0, 0, NULL},
	{"checkpoint.ksm.await_time", K_INT, OFF(checkpoint.ksm_await_time), NULL, 0, 0, NULL},
	{"checkpoint.model_size", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	 "v1.0 location, not read (use model.model_size_bytes)"},
	{"checkpoint.optimization_groups", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	 "v1.0 location, not read (use model.optimization_groups)"},
	{"checkpoint.num_layers", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	 "v1.0 location, not read (use model.num_layers)"},
	{"checkpoint.layer_parameters", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	 "v1.0 location, not read (use model.layer_parameters)"},
	{"checkpoint.tensor_parallelism", K_IGNORED, 0, 0, NULL, 0, DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	 "v1.0 location, not read (use model.parallelism.tensor)"},
	{"checkpoint.pipeline_parallelism", K_IGNORED, 0, 0, NULL, 0,
	 DLIO_Q_LEGACY_CHECKPOINT_KEYS, "v1.0 location, not read (use model.parallelism.pipeline)"},

	{"output", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"output.folder", K_STR, OFF(output.folder), NULL, 0, 0, NULL},
	{"output.log_file", K_STR, OFF(output.log_file), NULL, 0, 0, NULL},
	{"output.metric", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"output.metric.exclude_start_steps", K_INT, OFF(output.exclude_start_steps), NULL,
	 F_NONNEG, 0, NULL},
	{"output.metric.exclude_end_steps", K_INT, OFF(output.exclude_end_steps), NULL, F_NONNEG,
	 0, NULL},

	{"profiling", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"profiling.profiler", K_ENUM, OFF(profiling.profiler), profiler_names, 0, 0, NULL},
	{"profiling.iostat_devices", K_STRLIST, OFF(profiling.iostat_devices), NULL, 0, 0, NULL},

	{"metric", K_SECTION, 0, 0, NULL, 0, 0, NULL},
	{"metric.au", K_FLOAT, OFF(metric.au), NULL, F_NONNEG, 0, NULL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= sizeof(((struct dlio_config *)0)->key_set),
	       "key_set too small");

static int key_index(const char *path)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].path, path))
			return (int)i;
	return -1;
}

size_t dlio_config_nkeys(void)
{
	return NKEYS;
}

int dlio_config_key_info(const struct dlio_config *cfg, size_t i, struct dlio_key_info *ki)
{
	static const enum dlio_key_kind kinds[] = {
		[K_BOOL] = DLIO_KEY_BOOL,	    [K_INT] = DLIO_KEY_INT,
		[K_FLOAT] = DLIO_KEY_FLOAT,	    [K_STR] = DLIO_KEY_STR,
		[K_PATH] = DLIO_KEY_STR,	    [K_RAWSTR] = DLIO_KEY_STR,
		[K_ENUM] = DLIO_KEY_ENUM,	    [K_INTLIST] = DLIO_KEY_INTLIST,
		[K_STRLIST] = DLIO_KEY_STRLIST,	    [K_TIME] = DLIO_KEY_TIME,
		[K_TIMESTDEV] = DLIO_KEY_TIMESTDEV, [K_OPTS] = DLIO_KEY_OPTS,
		[K_PRESENT] = DLIO_KEY_PRESENT,	    [K_SECTION] = DLIO_KEY_SECTION,
		[K_IGNORED] = DLIO_KEY_SECTION,
	};

	if (i >= NKEYS)
		return -ERANGE;
	ki->path = keys[i].path;
	ki->kind = kinds[keys[i].kind];
	ki->value = (const char *)cfg + keys[i].off;
	ki->names = keys[i].kind == K_ENUM ? keys[i].names : NULL;
	ki->set = cfg->key_set[i];
	return 0;
}

int dlio_config_is_set(const struct dlio_config *cfg, const char *key)
{
	int i = key_index(key);

	if (i < 0)
		return -ENOENT;
	return cfg->key_set[i];
}

void dlio_config_defaults(struct dlio_config *cfg, enum dlio_flavour flavour)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->flavour = flavour;
	cfg->framework = DLIO_FW_TENSORFLOW;
	strcpy(cfg->model.name, "default");
	cfg->model.model_size_bytes = 10240;
	cfg->model.model_datatype = DLIO_DT_FP16;
	cfg->model.optimizer_datatype = DLIO_DT_FP32;
	cfg->model.num_layers = -1;
	cfg->model.parallelism.tensor = 1;
	cfg->model.parallelism.pipeline = 1;
	cfg->model.parallelism.data = -1;
	cfg->model.transformer.vocab_size = 32000;
	cfg->model.transformer.hidden_size = 2048;
	cfg->model.transformer.ffn_hidden_size = 8192;
	cfg->model.transformer.num_attention_heads = 32;
	cfg->model.transformer.num_kv_heads = 8;
	cfg->workflow.train = 1;
	cfg->storage.storage_type = DLIO_ST_LOCAL_FS;
	strcpy(cfg->storage.storage_root, "./");
	cfg->dataset.format = DLIO_FMT_TFRECORD;
	strcpy(cfg->dataset.data_folder, "./data/");
	cfg->dataset.num_files_train = 8;
	cfg->dataset.num_samples_per_file = 1;
	cfg->dataset.record_length_bytes = 65536;
	strcpy(cfg->dataset.file_prefix, "img");
	strcpy(cfg->dataset.compression, "none");
	cfg->dataset.compression_level = 4;
	cfg->dataset.keep_files = 1;
	cfg->dataset.generation_buffer_size = 2147483648LL;
	strcpy(cfg->dataset.record_element_type, "uint8");
	cfg->dataset.record_element_bytes = 4;
	cfg->dataset.hdf5.num_dset_per_record = 1;
	cfg->reader.data_loader = DLIO_LOADER_UNSET;
	cfg->reader.batch_size = 1;
	cfg->reader.batch_size_eval = 1;
	cfg->reader.read_threads = 1;
	cfg->reader.computation_threads = 1;
	cfg->reader.prefetch_size = 2;
	strcpy(cfg->reader.file_shuffle, "off");
	cfg->reader.sample_shuffle = DLIO_SHUFFLE_OFF;
	cfg->reader.shuffle_size = 1024;
	strcpy(cfg->reader.read_type, "on_demand");
	cfg->reader.file_access = DLIO_FA_MULTI;
	cfg->reader.pin_memory = 1;
	strcpy(cfg->reader.multiprocessing_context, "fork");
	cfg->reader.data_loader_sampler = DLIO_SAMPLER_ITERATIVE;
	strcpy(cfg->reader.transformed_record_element_type, "uint8");
	cfg->train.epochs = 1;
	cfg->train.total_training_steps = -1;
	cfg->train.seed = 123;
	cfg->train.seed_change_epoch = 1;
	cfg->evaluation.eval_after_epoch = 1;
	cfg->evaluation.epochs_between_evals = 1;
	strcpy(cfg->checkpoint.checkpoint_folder, "./checkpoints/");
	cfg->checkpoint.checkpoint_after_epoch = 1;
	cfg->checkpoint.epochs_between_checkpoints = 1;
	cfg->checkpoint.steps_between_checkpoints = -1;
	cfg->checkpoint.time_between_checkpoints = -1;
	cfg->checkpoint.num_checkpoints_write = -1;
	cfg->checkpoint.num_checkpoints_read = -1;
	cfg->checkpoint.randomize_tensor = 1;
	cfg->checkpoint.ksm_madv_mergeable_id = 12;
	cfg->checkpoint.ksm_high_ram_trigger = 30.0;
	cfg->checkpoint.ksm_low_ram_exit = 15;
	cfg->checkpoint.ksm_await_time = 200;
	strcpy(cfg->output.log_file, "dlio.log");
	cfg->output.exclude_start_steps = 1;
	cfg->profiling.profiler = DLIO_PROF_IOSTAT;
	cfg->metric.au = 0.90;
}

struct lctx {
	struct dlio_config *cfg;
	struct dlio_ytree *t;
	struct dlio_diags *diags;
	char *err;
	size_t errlen;
	int nerr;
};

static int src_index(const struct lctx *c, const char *src)
{
	size_t i;

	for (i = 0; i < c->t->nsrcs; i++)
		if (c->t->srcs[i] == src)
			return (int)i;
	return 0;
}

static const char *src_name(const struct dlio_config *cfg, int idx, char *buf, size_t len)
{
	if (idx <= 0)
		return cfg->file;
	snprintf(buf, len, "<override %d>", idx);
	return buf;
}

static void node_error(struct lctx *c, const struct dlio_ynode *n, const char *path,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void node_error(struct lctx *c, const struct dlio_ynode *n, const char *path,
		       const char *fmt, ...)
{
	char what[384], msg[DLIO_DIAG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%d:%d: %s: %s", n->src, n->line, n->col, path, what);
	dlio_diags_add(c->diags, DLIO_SEV_ERROR, "%s", msg);
	if (!c->nerr++ && c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s", msg);
}

static void node_warn(struct lctx *c, const struct dlio_ynode *n, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void node_warn(struct lctx *c, const struct dlio_ynode *n, const char *path,
		      const char *fmt, ...)
{
	char what[384];
	int line = n->key ? n->key_line : n->line, col = n->key ? n->key_col : n->col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dlio_diags_add(c->diags, DLIO_SEV_WARNING, "%s:%d:%d: %s: %s", n->src, line, col, path,
		       what);
}

static const char *type_name(const struct dlio_ynode *n)
{
	if (n->kind == DLIO_Y_MAP)
		return "a mapping";
	if (n->kind == DLIO_Y_SEQ)
		return "a list";
	switch (n->type) {
	case DLIO_YT_NULL:
		return "null";
	case DLIO_YT_BOOL:
		return "a boolean";
	case DLIO_YT_INT:
		return "an integer";
	case DLIO_YT_FLOAT:
		return "a float";
	default:
		return "a string";
	}
}

static int store_str(struct lctx *c, const struct key *k, const struct dlio_ynode *n, char *dst)
{
	size_t len;

	if (n->kind != DLIO_Y_SCALAR) {
		node_error(c, n, k->path, "expected a string, got %s", type_name(n));
		return -EINVAL;
	}
	len = strlen(n->text);
	if (len >= k->size) {
		node_error(c, n, k->path, "value longer than %zu bytes", k->size - 1);
		return -E2BIG;
	}
	memcpy(dst, n->text, len + 1);
	if (k->kind == K_PATH)
		while (len > 1 && dst[len - 1] == '/')
			dst[--len] = '\0';
	if (k->names && k->kind == K_STR) {
		const char *const *nm;

		for (nm = k->names; *nm; nm++)
			if (!strcmp(*nm, dst))
				return 0;
		node_error(c, n, k->path, "'%s' is not one of the accepted values", dst);
		return -EINVAL;
	}
	return 0;
}

static int get_int(struct lctx *c, const struct key *k, const struct dlio_ynode *n,
		   int64_t *out)
{
	if (n->kind != DLIO_Y_SCALAR || n->type != DLIO_YT_INT) {
		if (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_STR)
			node_error(c, n, k->path, "expected an integer, got the string '%s'",
				   n->text);
		else
			node_error(c, n, k->path, "expected an integer, got %s", type_name(n));
		return -EINVAL;
	}
	if ((k->flags & F_POS) && n->ival <= 0) {
		node_error(c, n, k->path, "must be > 0, got %lld", (long long)n->ival);
		return -ERANGE;
	}
	if ((k->flags & F_NONNEG) && n->ival < 0) {
		node_error(c, n, k->path, "must be >= 0, got %lld", (long long)n->ival);
		return -ERANGE;
	}
	*out = n->ival;
	return 0;
}

static int get_num(struct lctx *c, const char *path, int flags, const struct dlio_ynode *n,
		   double *out)
{
	if (n->kind != DLIO_Y_SCALAR || (n->type != DLIO_YT_INT && n->type != DLIO_YT_FLOAT)) {
		if (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_STR)
			node_error(c, n, path, "expected a number, got the string '%s'", n->text);
		else
			node_error(c, n, path, "expected a number, got %s", type_name(n));
		return -EINVAL;
	}
	if (isnan(n->dval) || ((flags & (F_NONNEG | F_POS)) && isinf(n->dval))) {
		node_error(c, n, path, "must be a finite number");
		return -ERANGE;
	}
	if ((flags & F_NONNEG) && n->dval < 0) {
		node_error(c, n, path, "must be >= 0, got %s", n->text);
		return -ERANGE;
	}
	*out = n->dval;
	return 0;
}

static int load_time(struct lctx *c, const struct key *k, const struct dlio_ynode *n,
		     struct dlio_time *t)
{
	static const char *const tkeys[] = {"type",  "mean",  "stdev", "min",
					    "max",   "shape", "scale", "lam"};
	const struct dlio_ynode *ch, *ty;
	double v[8] = {0};
	int have[8] = {0};
	char sub[160];
	size_t i;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (n->kind == DLIO_Y_SCALAR) {
		if (n->type == DLIO_YT_NULL)
			return 0;
		ret = get_num(c, k->path, 0, n, &t->mean);
		if (!ret)
			t->kind = DLIO_TIME_CONST;
		return ret;
	}
	if (n->kind != DLIO_Y_MAP) {
		node_error(c, n, k->path, "expected seconds or a mapping, got %s", type_name(n));
		return -EINVAL;
	}
	for (ch = n->child; ch; ch = ch->next) {
		for (i = 0; i < 8; i++)
			if (!strcmp(ch->key, tkeys[i]))
				break;
		snprintf(sub, sizeof(sub), "%s.%s", k->path, ch->key);
		if (i == 8) {
			node_warn(c, ch, sub, "unknown key, ignored by DLIO");
			continue;
		}
		((struct dlio_ynode *)ch)->used = 1;
		have[i] = 1;
		if (i == 0)
			continue;
		if (get_num(c, sub, 0, ch, &v[i]))
			ret = -EINVAL;
	}
	if (ret)
		return ret;
	t->mean = v[1], t->stdev = v[2], t->min = v[3], t->max = v[4];
	t->shape = v[5], t->scale = v[6], t->lam = v[7];
	ty = dlio_ynode_get(n, "type");
	if (!ty) {
		if (!have[1] && !have[2])
			return 0;
		t->kind = have[2] ? DLIO_TIME_NORMAL : DLIO_TIME_CONST;
		return 0;
	}
	if (ty->kind != DLIO_Y_SCALAR || ty->type != DLIO_YT_STR) {
		node_error(c, ty, k->path, "type must be a distribution name");
		return -EINVAL;
	}
#define NEED(idx, name)                                                                           \
	do {                                                                                      \
		if (!have[idx]) {                                                                 \
			node_error(c, ty, k->path, "type %s needs '%s'", ty->text, name);         \
			return -EINVAL;                                                           \
		}                                                                                 \
	} while (0)
	if (!strcmp(ty->text, "normal")) {
		NEED(1, "mean");
		NEED(2, "stdev");
		t->kind = DLIO_TIME_NORMAL;
	} else if (!strcmp(ty->text, "uniform")) {
		NEED(3, "min");
		NEED(4, "max");
		t->kind = DLIO_TIME_UNIFORM;
	} else if (!strcmp(ty->text, "gamma")) {
		NEED(5, "shape");
		NEED(6, "scale");
		t->kind = DLIO_TIME_GAMMA;
	} else if (!strcmp(ty->text, "exponential")) {
		NEED(6, "scale");
		t->kind = DLIO_TIME_EXPONENTIAL;
	} else if (!strcmp(ty->text, "poisson")) {
		NEED(7, "lam");
		t->kind = DLIO_TIME_POISSON;
	} else {
		node_error(c, ty, k->path,
			   "unknown distribution '%s' (normal, uniform, gamma, exponential, "
			   "poisson)",
			   ty->text);
		return -EINVAL;
	}
#undef NEED
	return 0;
}

static int load_intlist(struct lctx *c, const struct key *k, const struct dlio_ynode *n,
			struct dlio_i64_list *l)
{
	const struct dlio_ynode *ch;
	char sub[160];
	size_t i = 0;
	int ret = 0;

	if (n->kind != DLIO_Y_SEQ) {
		node_error(c, n, k->path, "expected a list of integers, got %s", type_name(n));
		return -EINVAL;
	}
	l->n = 0;
	for (ch = n->child; ch; ch = ch->next, i++) {
		struct key ek = *k;

		snprintf(sub, sizeof(sub), "%s[%zu]", k->path, i);
		ek.path = sub;
		if (l->n >= DLIO_LIST_MAX) {
			node_error(c, ch, k->path, "more than %d entries", DLIO_LIST_MAX);
			return -E2BIG;
		}
		if (get_int(c, &ek, ch, &l->v[l->n]))
			ret = -EINVAL;
		else
			l->n++;
	}
	return ret;
}

static int load_strlist(struct lctx *c, const struct key *k, const struct dlio_ynode *n,
			struct dlio_str_list *l)
{
	const struct dlio_ynode *ch;

	l->n = 0;
	if (n->kind == DLIO_Y_SCALAR) {
		if (n->type == DLIO_YT_NULL)
			return 0;
		if (strlen(n->text) >= sizeof(l->v[0])) {
			node_error(c, n, k->path, "value too long");
			return -E2BIG;
		}
		strcpy(l->v[l->n++], n->text);
		return 0;
	}
	if (n->kind != DLIO_Y_SEQ) {
		node_error(c, n, k->path, "expected a list of strings or a string, got %s",
			   type_name(n));
		return -EINVAL;
	}
	for (ch = n->child; ch; ch = ch->next) {
		if (ch->kind != DLIO_Y_SCALAR || strlen(ch->text) >= sizeof(l->v[0]) ||
		    l->n >= sizeof(l->v) / sizeof(l->v[0])) {
			node_error(c, ch, k->path, "bad entry (a short string expected, at most %zu)",
				   sizeof(l->v) / sizeof(l->v[0]));
			return -EINVAL;
		}
		strcpy(l->v[l->n++], ch->text);
	}
	return 0;
}

static int load_opts(struct lctx *c, const struct key *k, const struct dlio_ynode *n)
{
	struct dlio_config *cfg = c->cfg;
	const struct dlio_ynode *ch;

	cfg->storage.noptions = 0;
	if (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_NULL)
		return 0;
	if (n->kind != DLIO_Y_MAP) {
		node_error(c, n, k->path, "expected a mapping, got %s", type_name(n));
		return -EINVAL;
	}
	for (ch = n->child; ch; ch = ch->next) {
		struct dlio_opt *o;

		((struct dlio_ynode *)ch)->used = 1;
		if (ch->kind != DLIO_Y_SCALAR || strlen(ch->key) >= sizeof(o->key) ||
		    strlen(ch->text) >= sizeof(o->value) ||
		    cfg->storage.noptions >= DLIO_OPTS_MAX) {
			node_error(c, ch, k->path, "%s: expected a short scalar (at most %d options)",
				   ch->key, DLIO_OPTS_MAX);
			return -EINVAL;
		}
		o = &cfg->storage.options[cfg->storage.noptions++];
		strcpy(o->key, ch->key);
		strcpy(o->value, ch->text);
		o->is_bool = ch->type == DLIO_YT_BOOL;
		o->is_null = ch->type == DLIO_YT_NULL;
		if (!strcmp(ch->key, "s3_force_path_style") && o->is_bool &&
		    cfg->flavour == DLIO_FLAVOUR_HEAD) {
			quirk(cfg, DLIO_Q_S3_FORCE_PATH_STYLE_BOOL);
			node_warn(c, ch, "storage.storage_options.s3_force_path_style",
				  "a YAML boolean; DLIO HEAD expects the string \"true\"/\"false\" "
				  "and crashes on a bool");
		}
	}
	return 0;
}

static void mark_used(struct dlio_ynode *n)
{
	struct dlio_ynode *c;

	n->used = 1;
	for (c = n->child; c; c = c->next)
		mark_used(c);
}

/* The section a key lives in: "reader.*" may come from the alias "data_reader". */
static struct dlio_ynode *lookup(struct lctx *c, const char *path)
{
	struct dlio_ynode *root = c->t->root;

	if (!strncmp(path, "reader", 6) && (path[6] == '.' || !path[6])) {
		struct dlio_ynode *dr = dlio_ynode_get(root, "data_reader");

		if (dr) {
			if (!path[6])
				return dr;
			return dlio_ynode_path(dr, path + 7);
		}
	}
	return dlio_ynode_path(root, path);
}

static int load_key(struct lctx *c, size_t idx)
{
	const struct key *k = &keys[idx];
	struct dlio_config *cfg = c->cfg;
	struct dlio_ynode *n = lookup(c, k->path);
	void *dst = (char *)cfg + k->off;
	int ret = 0;

	if (!n)
		return 0;
	if (k->kind == K_SECTION) {
		if (n->kind == DLIO_Y_MAP) {
			n->used = 1;
		} else if (!strcmp(k->path, "model") && n->kind == DLIO_Y_SCALAR &&
			   n->type != DLIO_YT_NULL) {
			/* HEAD/v2.0 test "'name' in model": a substring test on a string */
			n->used = 1;
			quirk(cfg, DLIO_Q_MODEL_STRING);
			node_warn(c, n, "model",
				  "a string (v1.0 style); DLIO reads nothing from it, model "
				  "defaults apply");
		} else if (!(n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_NULL)) {
			node_error(c, n, k->path, "expected a mapping, got %s", type_name(n));
			return -EINVAL;
		} else {
			n->used = 1;
		}
		return 0;
	}
	if (k->kind == K_IGNORED) {
		mark_used(n);
		quirk(cfg, k->quirk);
		node_warn(c, n, k->path, "%s", k->why);
		return 0;
	}
	n->used = 1;
	if ((k->flags & F_HEAD_ONLY) && cfg->flavour == DLIO_FLAVOUR_V20) {
		mark_used(n);
		quirk(cfg, DLIO_Q_RECORD_DIMS_V20);
		node_warn(c, n, k->path, "only read by DLIO HEAD; ignored with the v2.0 flavour");
		return 0;
	}
	if (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_NULL && k->kind != K_PRESENT &&
	    k->kind != K_TIME) {
		node_warn(c, n, k->path, "null value; the default is kept");
		return 0;
	}
	switch (k->kind) {
	case K_BOOL:
		if (n->kind != DLIO_Y_SCALAR || n->type != DLIO_YT_BOOL) {
			if (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_STR)
				node_error(c, n, k->path, "expected true or false, got the string '%s'",
					   n->text);
			else
				node_error(c, n, k->path, "expected true or false, got %s",
					   type_name(n));
			return -EINVAL;
		}
		*(int *)dst = n->bval;
		break;
	case K_INT:
		ret = get_int(c, k, n, (int64_t *)dst);
		break;
	case K_FLOAT:
		ret = get_num(c, k->path, k->flags, n, (double *)dst);
		break;
	case K_STR:
	case K_PATH:
		ret = store_str(c, k, n, (char *)dst);
		break;
	case K_RAWSTR:
		if (n->kind != DLIO_Y_SCALAR) {
			node_error(c, n, k->path, "expected a scalar, got %s", type_name(n));
			return -EINVAL;
		}
		/* DLIO keeps whatever YAML produced; a YAML 1.1 bool like off is False */
		if (n->type == DLIO_YT_BOOL)
			snprintf((char *)dst, k->size, "%s", n->bval ? "True" : "False");
		else
			ret = store_str(c, k, n, (char *)dst);
		break;
	case K_ENUM: {
		const char *const *nm;
		int i;

		if (n->kind != DLIO_Y_SCALAR || n->type != DLIO_YT_STR) {
			node_error(c, n, k->path, "expected one of the names below, got %s",
				   type_name(n));
			return -EINVAL;
		}
		for (nm = k->names, i = 0; *nm; nm++, i++)
			if (**nm && !strcmp(*nm, n->text))
				break;
		if (!*nm) {
			char list[256] = "";
			size_t off = 0;

			for (nm = k->names; *nm; nm++)
				if (**nm && off < sizeof(list))
					off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
								off ? ", " : "", *nm);
			node_error(c, n, k->path, "'%s' is not valid (one of: %s)", n->text, list);
			return -EINVAL;
		}
		*(int *)dst = i;
		if (k->quirk == DLIO_Q_IGNORED_KEY) {
			quirk(cfg, DLIO_Q_IGNORED_KEY);
			node_warn(c, n, k->path, "parsed but never used by DLIO");
		}
		break;
	}
	case K_INTLIST:
		ret = load_intlist(c, k, n, (struct dlio_i64_list *)dst);
		break;
	case K_STRLIST:
		ret = load_strlist(c, k, n, (struct dlio_str_list *)dst);
		break;
	case K_TIME:
		ret = load_time(c, k, n, (struct dlio_time *)dst);
		break;
	case K_TIMESTDEV: {
		struct dlio_time *t = dst;
		double sd;

		ret = get_num(c, k->path, F_NONNEG, n, &sd);
		if (ret)
			break;
		if (t->kind == DLIO_TIME_NONE || t->kind == DLIO_TIME_CONST ||
		    t->kind == DLIO_TIME_NORMAL) {
			t->kind = DLIO_TIME_NORMAL;
			t->stdev = sd;
		} else {
			node_warn(c, n, k->path, "ignored: the time is not a normal distribution");
		}
		break;
	}
	case K_OPTS:
		ret = load_opts(c, k, n);
		break;
	case K_PRESENT:
		if (n->kind == DLIO_Y_MAP || (n->kind == DLIO_Y_SCALAR && n->type == DLIO_YT_NULL)) {
			*(int *)dst = 1;
		} else {
			node_error(c, n, k->path, "expected a mapping, got %s", type_name(n));
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	if (!ret) {
		cfg->key_set[idx] = 1;
		cfg->key_loc[idx].src = src_index(c, n->src);
		cfg->key_loc[idx].line = n->line;
		cfg->key_loc[idx].col = n->col;
	}
	return ret;
}

static void report_unused(struct lctx *c, struct dlio_ynode *n)
{
	struct dlio_ynode *ch;
	char path[512];

	for (ch = n->child; ch; ch = ch->next) {
		if (!ch->used) {
			dlio_ynode_pathname(ch, path, sizeof(path));
			node_warn(c, ch, path, "unknown key; DLIO ignores it silently");
			continue;
		}
		if (ch->kind == DLIO_Y_MAP)
			report_unused(c, ch);
	}
}

/* Quirks visible from the config alone; run-dependent ones are added by validate(). */
static void config_quirks(struct dlio_config *cfg)
{
	enum dlio_sampler s = dlio_config_sampler(cfg);
	double rl = cfg->dataset.record_length_bytes;
	double d = floor(sqrt(rl));

	if (dlio_config_is_set(cfg, "reader.file_shuffle") > 0)
		quirk(cfg, DLIO_Q_FILE_SHUFFLE_STRING);
	if (dlio_config_is_set(cfg, "reader.read_type") > 0)
		quirk(cfg, DLIO_Q_READ_TYPE_STRING);
	if (dlio_config_is_set(cfg, "dataset.compression") > 0)
		quirk(cfg, DLIO_Q_COMPRESSION_STRING);
	if (dlio_config_is_set(cfg, "checkpoint.fsync") > 0)
		quirk(cfg, DLIO_Q_FSYNC_IGNORED);
	if (dlio_config_is_set(cfg, "checkpoint.recovery_rank_shift") > 0)
		quirk(cfg, DLIO_Q_RECOVERY_SHIFT_IGNORED);
	if (!cfg->workflow.train && cfg->workflow.checkpoint)
		quirk(cfg, DLIO_Q_TIME_BETWEEN_CKPT_ABS);
	if (!cfg->workflow.train && cfg->workflow.evaluation)
		quirk(cfg, DLIO_Q_EVAL_WITHOUT_TRAIN);
	if (cfg->workflow.train && cfg->reader.data_loader == DLIO_LOADER_UNSET)
		quirk(cfg, DLIO_Q_DATA_LOADER_REQUIRED);
	if (cfg->dataset.num_subfolders_train == 1 ||
	    (cfg->dataset.num_files_eval > 0 && cfg->dataset.num_subfolders_eval == 1))
		quirk(cfg, DLIO_Q_SUBFOLDERS_ONE);
	if (cfg->workflow.train && !cfg->dataset.record_dims.n && d * d != rl)
		quirk(cfg, DLIO_Q_RECORD_LENGTH_NOT_SQUARE);
	if (cfg->reader.data_loader == DLIO_LOADER_TENSORFLOW &&
	    cfg->dataset.format == DLIO_FMT_TFRECORD && dlio_config_file_shuffle_on(cfg))
		quirk(cfg, DLIO_Q_TFRECORD_FROZEN_ORDER);
	if (cfg->reader.sample_shuffle != DLIO_SHUFFLE_OFF &&
	    cfg->reader.data_loader != DLIO_LOADER_NATIVE_DALI &&
	    !(cfg->reader.data_loader == DLIO_LOADER_TENSORFLOW &&
	      cfg->dataset.format == DLIO_FMT_TFRECORD) &&
	    (s == DLIO_SAMPLER_INDEX || cfg->flavour == DLIO_FLAVOUR_HEAD))
		quirk(cfg, DLIO_Q_SAMPLE_SHUFFLE_NO_IO);
	if (cfg->dataset.format == DLIO_FMT_INDEXED_BINARY) {
		double total = d * d * (double)cfg->dataset.num_samples_per_file;

		if (total > (double)cfg->dataset.generation_buffer_size)
			quirk(cfg, DLIO_Q_INDEXED_BINARY_OFFSETS);
	}
	if ((cfg->dataset.format == DLIO_FMT_NPZ || cfg->dataset.format == DLIO_FMT_NPY) &&
	    cfg->dataset.num_samples_per_file > 1)
		quirk(cfg, DLIO_Q_WHOLE_FILE_PER_SAMPLE);
	if (cfg->dataset.format == DLIO_FMT_MMAP_INDEXED_BINARY)
		quirk(cfg, DLIO_Q_MMAP_NO_IO);
	if (cfg->reader.data_loader == DLIO_LOADER_NATIVE_DALI)
		quirk(cfg, DLIO_Q_NATIVE_DALI_SHARD);
	if (cfg->flavour == DLIO_FLAVOUR_HEAD && cfg->workflow.train)
		quirk(cfg, DLIO_Q_HEAD_EXTRA_BATCH);
}

enum dlio_sampler dlio_config_sampler(const struct dlio_config *cfg)
{
	if (dlio_config_is_set(cfg, "reader.data_loader_sampler") > 0)
		return cfg->reader.data_loader_sampler;
	switch (cfg->reader.data_loader) {
	case DLIO_LOADER_PYTORCH:
	case DLIO_LOADER_DALI:
	case DLIO_LOADER_NATIVE_DALI:
		return DLIO_SAMPLER_INDEX;
	case DLIO_LOADER_TENSORFLOW:
		return DLIO_SAMPLER_ITERATIVE;
	default:
		return DLIO_SAMPLER_NONE;
	}
}

int dlio_config_file_shuffle_on(const struct dlio_config *cfg)
{
	return dlio_config_is_set(cfg, "reader.file_shuffle") > 0;
}

int dlio_config_keep_files_open(const struct dlio_config *cfg)
{
	return dlio_config_is_set(cfg, "reader.read_type") > 0;
}

/* A file may hold the workload under "workload:" (a composed config) or bare. */
static void unwrap_workload(struct dlio_ytree *t)
{
	struct dlio_ynode *w = dlio_ynode_get(t->root, "workload");

	if (w && w->kind == DLIO_Y_MAP)
		dlio_ytree_reroot(t, w);
}

int dlio_config_load_buf(struct dlio_config *cfg, const char *name, const char *yaml, size_t len,
			 const struct dlio_load_opts *opts, struct dlio_diags *diags, char *err,
			 size_t errlen)
{
	struct dlio_ytree t;
	struct lctx c = {.cfg = cfg, .t = &t, .diags = diags, .err = err, .errlen = errlen};
	enum dlio_flavour fl = opts ? opts->flavour : DLIO_FLAVOUR_V20;
	size_t i;
	int ret, is_hydra;

	if (err && errlen)
		err[0] = '\0';
	dlio_config_defaults(cfg, fl);
	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	ret = dlio_ytree_load_buf(&t, name, yaml, len, err, errlen);
	if (ret) {
		dlio_diags_add(diags, DLIO_SEV_ERROR, "%s", err ? err : name);
		return ret;
	}
	unwrap_workload(&t);
	for (i = 0; opts && i < opts->noverrides; i++) {
		const char *o = opts->overrides[i];

		ret = dlio_ytree_override(&t, o, "workload.", &is_hydra, err, errlen);
		if (ret) {
			dlio_diags_add(diags, DLIO_SEV_ERROR, "%s", err ? err : o);
			goto out;
		}
		if (is_hydra) {
			const char *eq = strchr(o, '=');
			const char *key = o + strspn(o, "+~");

			if (eq && !strncmp(key, "hydra.run.dir=", 14))
				snprintf(cfg->hydra_run_dir, sizeof(cfg->hydra_run_dir), "%s", eq + 1);
			else if (eq && !strncmp(key, "hydra.output_subdir=", 20))
				snprintf(cfg->hydra_output_subdir, sizeof(cfg->hydra_output_subdir),
					 "%s", eq + 1);
		}
	}
	for (i = 0; i < NKEYS; i++)
		load_key(&c, i);
	{
		struct dlio_ynode *r = dlio_ynode_get(t.root, "reader");
		struct dlio_ynode *dr = dlio_ynode_get(t.root, "data_reader");

		if (r && dr) {
			mark_used(r);
			node_warn(&c, r, "reader",
				  "ignored: data_reader is also present and takes precedence");
		}
	}
	report_unused(&c, t.root);
	if (c.nerr) {
		ret = -EINVAL;
		goto out;
	}
	config_quirks(cfg);
out:
	dlio_ytree_free(&t);
	return ret;
}

int dlio_config_load(struct dlio_config *cfg, const char *path, const struct dlio_load_opts *opts,
		     struct dlio_diags *diags, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	dlio_config_defaults(cfg, opts ? opts->flavour : DLIO_FLAVOUR_V20);
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	buf = malloc(DLIO_Y_MAX_FILE + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = fread(buf + len, 1, DLIO_Y_MAX_FILE + 1 - len, f)) > 0) {
		len += n;
		if (len > DLIO_Y_MAX_FILE) {
			ret = -EFBIG;
			if (err && errlen)
				snprintf(err, errlen, "%s: larger than %d bytes", path,
					 DLIO_Y_MAX_FILE);
			goto out;
		}
	}
	ret = dlio_config_load_buf(cfg, path, buf, len, opts, diags, err, errlen);
out:
	if (ret && diags && !diags->nerrors)
		dlio_diags_add(diags, DLIO_SEV_ERROR, "%s", err ? err : path);
	free(buf);
	if (f)
		fclose(f);
	return ret;
}

struct vctx {
	struct dlio_config *cfg;
	struct dlio_diags *diags;
	char *err;
	size_t errlen;
	int nerr;
};

static void verr(struct vctx *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "file:line:col: key: reason" at the key's own position when it was given */
static void verr(struct vctx *v, const char *key, const char *fmt, ...)
{
	char what[384], msg[DLIO_STR_MAX + 512], ob[32];
	const struct dlio_config *cfg = v->cfg;
	int i = key_index(key);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (i >= 0 && cfg->key_set[i])
		snprintf(msg, sizeof(msg), "%s:%d:%d: %s: %s",
			 src_name(cfg, cfg->key_loc[i].src, ob, sizeof(ob)), cfg->key_loc[i].line,
			 cfg->key_loc[i].col, key, what);
	else
		snprintf(msg, sizeof(msg), "%s: %s: %s", cfg->file, key, what);
	dlio_diags_add(v->diags, DLIO_SEV_ERROR, "%s", msg);
	if (!v->nerr++ && v->err && v->errlen)
		snprintf(v->err, v->errlen, "%s", msg);
}

static const char *opt_get(const struct dlio_config *cfg, const char *key)
{
	size_t i;

	for (i = 0; i < cfg->storage.noptions; i++)
		if (!strcmp(cfg->storage.options[i].key, key) && !cfg->storage.options[i].is_null)
			return cfg->storage.options[i].value;
	return NULL;
}

int dlio_config_validate(struct dlio_config *cfg, int64_t comm_size, struct dlio_diags *diags,
			 char *err, size_t errlen)
{
	struct vctx v = {.cfg = cfg, .diags = diags, .err = err, .errlen = errlen};
	const int64_t tp = cfg->model.parallelism.tensor, pp = cfg->model.parallelism.pipeline;
	const int64_t L = cfg->model.num_layers;
	const enum dlio_loader ld = cfg->reader.data_loader;
	const enum dlio_format fmt = cfg->dataset.format;
	const int subset = cfg->checkpoint.mode == DLIO_CKPT_MODE_SUBSET;
	const int dp_set = dlio_config_is_set(cfg, "model.parallelism.data") > 0;
	int ckpt_active = cfg->workflow.checkpoint &&
			  !(cfg->workflow.generate_data && !cfg->workflow.train &&
			    !cfg->workflow.checkpoint);

	if (err && errlen)
		err[0] = '\0';
	if (comm_size <= 0) {
		verr(&v, "comm_size", "must be > 0, got %lld", (long long)comm_size);
		return -EINVAL;
	}
	if (cfg->workflow.train) {
		if (ld == DLIO_LOADER_UNSET)
			verr(&v, "reader.data_loader",
			     "required for training: DLIO's default is a plain string that matches "
			     "no data loader");
		if (fmt == DLIO_FMT_TFRECORD && ld == DLIO_LOADER_PYTORCH)
			verr(&v, "reader.data_loader",
			     "the pytorch loader cannot read tfrecord (DLIO raises)");
		if ((cfg->framework == DLIO_FW_TENSORFLOW && ld == DLIO_LOADER_PYTORCH) ||
		    (cfg->framework == DLIO_FW_PYTORCH && ld == DLIO_LOADER_TENSORFLOW))
			verr(&v, "reader.data_loader", "%s loader with the %s framework (DLIO raises)",
			     dlio_loader_name(ld), framework_names[cfg->framework]);
		if (ld == DLIO_LOADER_CUSTOM &&
		    dlio_config_is_set(cfg, "reader.data_loader_sampler") <= 0)
			verr(&v, "reader.data_loader_sampler",
			     "a custom data loader needs data_loader_sampler");
		if (fmt == DLIO_FMT_HDF5_OPT)
			verr(&v, "dataset.format", "hdf5_opt has no reader in DLIO");
		if (cfg->dataset.num_subfolders_train == 1)
			verr(&v, "dataset.num_subfolders_train",
			     "1 subfolder is generated flat but DLIO's reader asserts "
			     "num_subfolders == 0; use 0 or >= 2");
		if (cfg->workflow.evaluation && cfg->dataset.num_files_eval > 0 &&
		    cfg->dataset.num_subfolders_eval == 1)
			verr(&v, "dataset.num_subfolders_eval",
			     "1 subfolder is generated flat but DLIO's reader asserts "
			     "num_subfolders == 0; use 0 or >= 2");
		if (cfg->reader.odirect && fmt != DLIO_FMT_NPZ && fmt != DLIO_FMT_NPY)
			verr(&v, "reader.odirect", "O_DIRECT readers exist only for npz and npy");
	}
	if (ckpt_active || cfg->workflow.checkpoint) {
		if (L > 0 && L < pp)
			verr(&v, "model.num_layers", "%lld layers cannot fill %lld pipeline stages",
			     (long long)L, (long long)pp);
		if (pp > 1 && cfg->model.parallelism.zero_stage == 3)
			verr(&v, "model.parallelism.zero_stage",
			     "ZeRO stage 3 cannot be combined with pipeline parallelism > 1");
		if (cfg->model.parallelism.zero_stage > 3)
			verr(&v, "model.parallelism.zero_stage", "must be 0..3, got %lld",
			     (long long)cfg->model.parallelism.zero_stage);
		if (dp_set && !subset)
			verr(&v, "model.parallelism.data",
			     "may only be set with checkpoint.mode: subset");
		if (subset && (!dp_set || cfg->model.parallelism.data <= 0))
			verr(&v, "checkpoint.mode", "subset mode needs model.parallelism.data");
		else if (subset && cfg->model.parallelism.data * tp * pp < comm_size)
			verr(&v, "model.parallelism.data",
			     "data*tensor*pipeline = %lld is less than comm_size %lld",
			     (long long)(cfg->model.parallelism.data * tp * pp),
			     (long long)comm_size);
		if (!subset && comm_size % (tp * pp))
			verr(&v, "model.parallelism.tensor",
			     "comm_size %lld is not a multiple of tensor*pipeline = %lld",
			     (long long)comm_size, (long long)(tp * pp));
		if (cfg->checkpoint.num_checkpoints_write > 0 &&
		    cfg->checkpoint.num_checkpoints_read > cfg->checkpoint.num_checkpoints_write)
			verr(&v, "checkpoint.num_checkpoints_read",
			     "%lld reads but only %lld checkpoints written",
			     (long long)cfg->checkpoint.num_checkpoints_read,
			     (long long)cfg->checkpoint.num_checkpoints_write);
		if (cfg->checkpoint.ksm_present && cfg->checkpoint.randomize_tensor)
			verr(&v, "checkpoint.ksm", "KSM needs checkpoint.randomize_tensor: False");
	}
	if (fmt == DLIO_FMT_HDF5 && cfg->dataset.hdf5.num_dset_per_record > 1 &&
	    !cfg->dataset.record_dims.n)
		verr(&v, "dataset.hdf5.num_dset_per_record",
		     "%lld datasets need dataset.record_dims (DLIO splits its first item; the "
		     "legacy integer dims make it fail)",
		     (long long)cfg->dataset.hdf5.num_dset_per_record);
	if (cfg->dataset.record_dims.n) {
		if (cfg->dataset.record_dims.v[0] % cfg->dataset.hdf5.num_dset_per_record)
			verr(&v, "dataset.hdf5.num_dset_per_record",
			     "record_dims[0] = %lld is not divisible by %lld",
			     (long long)cfg->dataset.record_dims.v[0],
			     (long long)cfg->dataset.hdf5.num_dset_per_record);
		if ((fmt == DLIO_FMT_JPEG || fmt == DLIO_FMT_PNG) && cfg->dataset.record_dims.n > 2)
			verr(&v, "dataset.record_dims", "jpeg/png samples have at most 2 dimensions");
		if (cfg->dataset.record_length_bytes_stdev > 0)
			verr(&v, "dataset.record_length_bytes_stdev",
			     "cannot be combined with record_dims");
	}
	if ((cfg->storage.storage_type == DLIO_ST_S3 ||
	     cfg->storage.storage_type == DLIO_ST_AISTORE) &&
	    cfg->framework == DLIO_FW_PYTORCH) {
		if (fmt != DLIO_FMT_NPZ && fmt != DLIO_FMT_NPY)
			verr(&v, "dataset.format", "object storage with pytorch supports only npz/npy");
		if (cfg->storage.storage_type == DLIO_ST_S3) {
			static const char *const need[] = {"access_key_id", "secret_access_key",
							   "endpoint_url"};
			size_t i;

			for (i = 0; i < 3; i++)
				if (!opt_get(cfg, need[i]))
					verr(&v, "storage.storage_options",
					     "S3 with pytorch needs storage_options.%s", need[i]);
		}
	}
	if (cfg->storage.storage_type == DLIO_ST_S3 && cfg->workflow.checkpoint &&
	    cfg->framework != DLIO_FW_PYTORCH)
		verr(&v, "checkpoint.checkpoint_mechanism_classname",
		     "S3 checkpointing needs pt_s3_save (framework pytorch)");
	if (cfg->storage.storage_type == DLIO_ST_PARALLEL_FS)
		verr(&v, "storage.storage_type", "parallel_fs is accepted but DLIO has no storage for it");
	if (cfg->workflow.profiling && cfg->profiling.profiler == DLIO_PROF_DARSHAN)
		dlio_diags_add(diags, DLIO_SEV_WARNING,
			       "%s: profiling.profiler: darshan needs libdarshan in LD_PRELOAD",
			       cfg->file);
	if (cfg->flavour == DLIO_FLAVOUR_HEAD && cfg->workflow.train) {
		int64_t spst = cfg->dataset.num_samples_per_file * cfg->reader.batch_size * comm_size;

		if (cfg->dataset.num_files_train % spst)
			quirk(cfg, DLIO_Q_HEAD_TRIM);
	}
	if (cfg->reader.data_loader == DLIO_LOADER_TENSORFLOW && fmt != DLIO_FMT_TFRECORD &&
	    comm_size > 1)
		quirk(cfg, DLIO_Q_ITERATIVE_SAME_FILES);
	return v.nerr ? -EINVAL : 0;
}

double dlio_time_sample(const struct dlio_time *t, struct dlio_rng *rng)
{
	double v;

	switch (t->kind) {
	case DLIO_TIME_CONST:
		v = t->mean;
		break;
	case DLIO_TIME_NORMAL:
		v = dlio_rng_normal(rng, t->mean, t->stdev);
		break;
	case DLIO_TIME_UNIFORM:
		v = dlio_rng_uniform(rng, t->min, t->max);
		break;
	case DLIO_TIME_GAMMA:
		v = dlio_rng_gamma(rng, t->shape, t->scale);
		break;
	case DLIO_TIME_EXPONENTIAL:
		v = dlio_rng_exponential(rng, t->scale);
		break;
	case DLIO_TIME_POISSON:
		v = (double)dlio_rng_poisson(rng, t->lam);
		break;
	default:
		v = 0;
		break;
	}
	return fabs(v);
}
