/*
 * DLIO workload configuration: every key DLIO reads (SPEC section 2), with DLIO's defaults
 * and types, loaded from a workload YAML (bare, or wrapped in "workload:") plus Hydra
 * overrides, then checked the way DLIO's ConfigArguments.validate() checks it.
 *
 * DLIO's own oddities are kept, not fixed: string-valued "enums" that any explicit value
 * turns on, misspelled fields that make keys inert, keys it never reads. Each one that
 * applies to a loaded config is recorded as a quirk (cfg->quirks) so a front end can
 * explain why the emulation does what it does.
 *
 * Nothing here prints or exits: problems go to a bounded struct dlio_diags list and the
 * first error also to the caller's buffer.
 */
#ifndef FIODLIO_DLIO_CONFIG_H
#define FIODLIO_DLIO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define DLIO_STR_MAX 1024
#define DLIO_LIST_MAX 256
#define DLIO_OPTS_MAX 16
#define DLIO_DIAG_MAX 128
#define DLIO_DIAG_LEN 512

enum dlio_flavour {
	DLIO_FLAVOUR_V20 = 0, /* mlperf_storage_v2.0 branch: what MLPerf Storage v2.0 ran */
	DLIO_FLAVOUR_HEAD,    /* argonne-lcf main */
};

enum dlio_framework { DLIO_FW_TENSORFLOW, DLIO_FW_PYTORCH };
enum dlio_storage_type { DLIO_ST_LOCAL_FS, DLIO_ST_PARALLEL_FS, DLIO_ST_S3, DLIO_ST_AISTORE };
enum dlio_format {
	DLIO_FMT_TFRECORD,
	DLIO_FMT_HDF5,
	DLIO_FMT_CSV,
	DLIO_FMT_NPZ,
	DLIO_FMT_NPY,
	DLIO_FMT_JPEG,
	DLIO_FMT_PNG,
	DLIO_FMT_INDEXED_BINARY,
	DLIO_FMT_MMAP_INDEXED_BINARY,
	DLIO_FMT_SYNTHETIC,
	DLIO_FMT_HDF5_OPT,
};
enum dlio_loader {
	DLIO_LOADER_UNSET, /* DLIO's default is a plain string matching no loader */
	DLIO_LOADER_TENSORFLOW,
	DLIO_LOADER_PYTORCH,
	DLIO_LOADER_DALI,
	DLIO_LOADER_NATIVE_DALI,
	DLIO_LOADER_SYNTHETIC,
	DLIO_LOADER_CUSTOM,
	DLIO_LOADER_NONE,
};
enum dlio_sampler { DLIO_SAMPLER_ITERATIVE, DLIO_SAMPLER_INDEX, DLIO_SAMPLER_NONE };
enum dlio_shuffle { DLIO_SHUFFLE_OFF, DLIO_SHUFFLE_SEED, DLIO_SHUFFLE_RANDOM };
enum dlio_file_access {
	DLIO_FA_MULTI,
	DLIO_FA_SHARED,
	DLIO_FA_COLLECTIVE,
	DLIO_FA_MPIO,
	DLIO_FA_POSIX,
};
enum dlio_ckpt_type { DLIO_CKPT_RANK_ZERO, DLIO_CKPT_ALL_RANKS };
enum dlio_ckpt_mode { DLIO_CKPT_MODE_DEFAULT, DLIO_CKPT_MODE_SUBSET };
enum dlio_profiler { DLIO_PROF_NONE, DLIO_PROF_IOSTAT, DLIO_PROF_DARSHAN, DLIO_PROF_TENSORBOARD };
enum dlio_dtype { DLIO_DT_FP16, DLIO_DT_BF16, DLIO_DT_FP32, DLIO_DT_FP64, DLIO_DT_INT8, DLIO_DT_UINT8 };

/* A sleep duration (SPEC 2.11): DLIO sleeps |draw| per use. */
enum dlio_time_kind {
	DLIO_TIME_NONE,
	DLIO_TIME_CONST,
	DLIO_TIME_NORMAL,
	DLIO_TIME_UNIFORM,
	DLIO_TIME_GAMMA,
	DLIO_TIME_EXPONENTIAL,
	DLIO_TIME_POISSON,
};
struct dlio_time {
	enum dlio_time_kind kind;
	double mean, stdev, min, max, shape, scale, lam;
};

struct dlio_i64_list {
	int64_t v[DLIO_LIST_MAX];
	size_t n;
};

struct dlio_str_list {
	char v[16][256];
	size_t n;
};

/* storage.storage_options: scalars kept as written, with their YAML type */
struct dlio_opt {
	char key[64];
	char value[DLIO_STR_MAX];
	int is_bool, is_null;
};

enum dlio_quirk {
	DLIO_Q_FILE_SHUFFLE_STRING,
	DLIO_Q_READ_TYPE_STRING,
	DLIO_Q_COMPRESSION_STRING,
	DLIO_Q_FSYNC_IGNORED,
	DLIO_Q_RECOVERY_SHIFT_IGNORED,
	DLIO_Q_MODEL_SIZE_NOT_READ,
	DLIO_Q_MODEL_STRING,
	DLIO_Q_LEGACY_RECORD_LENGTH,
	DLIO_Q_LEGACY_CHECKPOINT_KEYS,
	DLIO_Q_IGNORED_KEY,
	DLIO_Q_TIME_BETWEEN_CKPT_ABS,
	DLIO_Q_DATA_LOADER_REQUIRED,
	DLIO_Q_SUBFOLDERS_ONE,
	DLIO_Q_ITERATIVE_SAME_FILES,
	DLIO_Q_TFRECORD_FROZEN_ORDER,
	DLIO_Q_SAMPLE_SHUFFLE_NO_IO,
	DLIO_Q_INDEXED_BINARY_OFFSETS,
	DLIO_Q_S3_FORCE_PATH_STYLE_BOOL,
	DLIO_Q_WHOLE_FILE_PER_SAMPLE,
	DLIO_Q_HEAD_TRIM,
	DLIO_Q_EVAL_WITHOUT_TRAIN,
	DLIO_Q_RECORD_LENGTH_NOT_SQUARE,
	DLIO_Q_MMAP_NO_IO,
	DLIO_Q_NATIVE_DALI_SHARD,
	DLIO_Q_HEAD_EXTRA_BATCH,
	DLIO_Q_RECORD_DIMS_V20,
	DLIO_Q_COUNT
};

struct dlio_config {
	enum dlio_flavour flavour;
	char file[DLIO_STR_MAX]; /* where it came from, for messages */
	enum dlio_framework framework;

	struct {
		char name[DLIO_STR_MAX];
		char type[DLIO_STR_MAX]; /* "" when None */
		int64_t model_size_bytes;
		enum dlio_dtype model_datatype, optimizer_datatype;
		struct dlio_i64_list optimization_groups, layer_parameters;
		int64_t num_layers;
		struct {
			int64_t tensor, pipeline, data, zero_stage;
		} parallelism;
		struct {
			int64_t vocab_size, hidden_size, ffn_hidden_size, num_attention_heads,
				num_kv_heads;
		} transformer;
	} model;

	struct {
		int generate_data, train, evaluation, checkpoint, profiling;
		char query[DLIO_STR_MAX];
	} workflow;

	struct {
		enum dlio_storage_type storage_type;
		char storage_root[DLIO_STR_MAX];
		struct dlio_opt options[DLIO_OPTS_MAX];
		size_t noptions;
	} storage;

	struct {
		enum dlio_format format;
		char data_folder[DLIO_STR_MAX];
		int64_t num_files_train, num_files_eval, num_samples_per_file;
		double record_length_bytes, record_length_bytes_stdev;
		int64_t record_length_bytes_resize;
		int64_t num_subfolders_train, num_subfolders_eval;
		char file_prefix[DLIO_STR_MAX];
		char compression[64]; /* kept as a string, as DLIO does */
		int64_t compression_level;
		int enable_chunking;
		int64_t chunk_size;
		int keep_files;
		int64_t generation_buffer_size;
		struct dlio_i64_list record_dims;
		char record_element_type[32];
		int64_t record_element_bytes;
		struct {
			struct dlio_i64_list chunk_dims, max_shape;
			int64_t num_dset_per_record;
		} hdf5;
	} dataset;

	struct {
		enum dlio_loader data_loader;
		int64_t batch_size, batch_size_eval, read_threads, computation_threads,
			prefetch_size;
		char file_shuffle[64]; /* string: see DLIO_Q_FILE_SHUFFLE_STRING */
		enum dlio_shuffle sample_shuffle;
		int64_t shuffle_size;
		char read_type[64]; /* string: see DLIO_Q_READ_TYPE_STRING */
		enum dlio_file_access file_access;
		int64_t transfer_size; /* 0 = None (TF's 256 KiB) */
		struct dlio_time preprocess_time;
		int dont_use_mmap, odirect, pin_memory;
		char multiprocessing_context[32];
		char data_loader_classname[DLIO_STR_MAX];
		enum dlio_sampler data_loader_sampler; /* derived unless given */
		char reader_classname[DLIO_STR_MAX];
		struct dlio_i64_list transformed_record_dims;
		char transformed_record_element_type[32];
	} reader;

	struct {
		int64_t epochs;
		struct dlio_time computation_time;
		int64_t total_training_steps;
		int64_t seed;
		int seed_change_epoch;
	} train;

	struct {
		struct dlio_time eval_time;
		int64_t eval_after_epoch, epochs_between_evals;
	} evaluation;

	struct {
		char checkpoint_folder[DLIO_STR_MAX];
		int64_t checkpoint_after_epoch, epochs_between_checkpoints,
			steps_between_checkpoints;
		enum dlio_ckpt_type type;
		enum dlio_ckpt_mode mode;
		int fsync; /* stored, never used by DLIO */
		double time_between_checkpoints;
		int64_t num_checkpoints_write, num_checkpoints_read;
		int recovery_rank_shift; /* stored, never used by DLIO */
		int rank_sync, randomize_tensor;
		char checkpoint_mechanism_classname[DLIO_STR_MAX];
		int ksm_present;
		int64_t ksm_madv_mergeable_id, ksm_low_ram_exit, ksm_await_time;
		double ksm_high_ram_trigger;
	} checkpoint;

	struct {
		char folder[DLIO_STR_MAX]; /* "" = Hydra's run dir */
		char log_file[DLIO_STR_MAX];
		int64_t exclude_start_steps, exclude_end_steps;
	} output;

	struct {
		enum dlio_profiler profiler;
		struct dlio_str_list iostat_devices;
	} profiling;

	struct {
		double au;
	} metric;

	/* ++hydra.run.dir / ++hydra.output_subdir, if given */
	char hydra_run_dir[DLIO_STR_MAX];
	char hydra_output_subdir[DLIO_STR_MAX];

	uint64_t quirks; /* 1 << enum dlio_quirk */
	/* one flag and one source position per entry of the key table */
	unsigned char key_set[160];
	struct {
		int src; /* 0: cfg->file, k > 0: the k-th override ("<override k>") */
		int line, col;
	} key_loc[160];
};

enum dlio_severity { DLIO_SEV_WARNING, DLIO_SEV_ERROR };

struct dlio_diag {
	enum dlio_severity sev;
	char msg[DLIO_DIAG_LEN];
};

/* Bounded: past DLIO_DIAG_MAX entries, only the count grows. */
struct dlio_diags {
	struct dlio_diag items[DLIO_DIAG_MAX];
	size_t n, dropped, nerrors;
};

struct dlio_load_opts {
	enum dlio_flavour flavour;
	const char *const *overrides; /* Hydra syntax: ++workload.a.b=v, +..., ..., ~... */
	size_t noverrides;
};

void dlio_config_defaults(struct dlio_config *cfg, enum dlio_flavour flavour);

/* Load a workload file and apply overrides. Returns 0 or a negative errno. Type errors and
 * impossible values are errors ("file:line:col: key: what is wrong"); unknown or ignored
 * keys are warnings. diags may be NULL. */
int dlio_config_load(struct dlio_config *cfg, const char *path, const struct dlio_load_opts *opts,
		     struct dlio_diags *diags, char *err, size_t errlen);
/* The same from an in-memory YAML text (name is used in messages). */
int dlio_config_load_buf(struct dlio_config *cfg, const char *name, const char *yaml, size_t len,
			 const struct dlio_load_opts *opts, struct dlio_diags *diags, char *err,
			 size_t errlen);

/* DLIO's validate() rules that depend on the run (SPEC 2.14), for comm_size ranks. Also
 * records the run-dependent quirks. Returns 0 or -EINVAL with the first reason in err. */
int dlio_config_validate(struct dlio_config *cfg, int64_t comm_size, struct dlio_diags *diags,
			 char *err, size_t errlen);

/* Was this key (dotted YAML path, e.g. "reader.file_shuffle") given in the YAML or by an
 * override? -ENOENT for a key DLIO does not read. */
int dlio_config_is_set(const struct dlio_config *cfg, const char *key);

/* Effective sampler: explicit reader.data_loader_sampler, or DLIO's derivation. */
enum dlio_sampler dlio_config_sampler(const struct dlio_config *cfg);
/* file_shuffle has an effect iff the key was given at all (its value is never compared) */
int dlio_config_file_shuffle_on(const struct dlio_config *cfg);
/* index path closes every file after each sample unless read_type was given at all */
int dlio_config_keep_files_open(const struct dlio_config *cfg);

/* The key table, for code that writes a config back out as YAML (dlio_config_emit_flow). */
enum dlio_key_kind {
	DLIO_KEY_SECTION, /* a mapping, or a key DLIO ignores: nothing to write */
	DLIO_KEY_BOOL,	  /* int */
	DLIO_KEY_INT,	  /* int64_t */
	DLIO_KEY_FLOAT,	  /* double */
	DLIO_KEY_STR,	  /* char[] */
	DLIO_KEY_ENUM,	  /* int, index into names */
	DLIO_KEY_INTLIST, /* struct dlio_i64_list */
	DLIO_KEY_STRLIST, /* struct dlio_str_list */
	DLIO_KEY_TIME,	  /* struct dlio_time */
	DLIO_KEY_TIMESTDEV, /* struct dlio_time, whose stdev this key sets */
	DLIO_KEY_OPTS,	  /* cfg->storage.options */
	DLIO_KEY_PRESENT, /* int: the mapping was given */
};
struct dlio_key_info {
	const char *path; /* dotted YAML path */
	enum dlio_key_kind kind;
	const void *value; /* inside the config */
	const char *const *names; /* DLIO_KEY_ENUM */
	int set;		  /* given in the YAML or by an override */
};
size_t dlio_config_nkeys(void);
/* 0, or -ERANGE past the end */
int dlio_config_key_info(const struct dlio_config *cfg, size_t i, struct dlio_key_info *ki);

const char *dlio_quirk_name(enum dlio_quirk q);
const char *dlio_quirk_explain(enum dlio_quirk q);
static inline int dlio_config_has_quirk(const struct dlio_config *cfg, enum dlio_quirk q)
{
	return (int)((cfg->quirks >> q) & 1);
}

const char *dlio_format_name(enum dlio_format f); /* also the file extension */
const char *dlio_loader_name(enum dlio_loader l);
int dlio_dtype_bytes(enum dlio_dtype t);

/* Draw one sleep from t (seconds, already made non-negative as DLIO's abs() does). */
struct dlio_rng;
double dlio_time_sample(const struct dlio_time *t, struct dlio_rng *rng);

void dlio_diags_add(struct dlio_diags *d, enum dlio_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
