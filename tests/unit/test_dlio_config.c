#include "dlio_test_util.h"

#include <errno.h>
#include <math.h>

#include "dlio/config.h"
#include "dlio/rng.h"

static struct dlio_config cfg;
static struct dlio_diags diags;
static char err[1024];

static int has_diag(enum dlio_severity sev, const char *needle)
{
	size_t i;

	for (i = 0; i < diags.n; i++)
		if (diags.items[i].sev == sev && strstr(diags.items[i].msg, needle))
			return 1;
	return 0;
}

static int load_wl(const char *name, enum dlio_flavour fl, const char *const *ovr, size_t novr)
{
	char rel[256];
	struct dlio_load_opts o = {.flavour = fl, .overrides = ovr, .noverrides = novr};

	snprintf(rel, sizeof(rel), "workloads/%s", name);
	memset(&diags, 0, sizeof(diags));
	return dlio_config_load(&cfg, dlio_test_path(rel), &o, &diags, err, sizeof(err));
}

static int load_text(const char *text, const char *const *ovr, size_t novr)
{
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20, .overrides = ovr,
				   .noverrides = novr};

	memset(&diags, 0, sizeof(diags));
	return dlio_config_load_buf(&cfg, "t.yaml", text, strlen(text), &o, &diags, err,
				    sizeof(err));
}

static void test_all_shipped_workloads_load(void **state)
{
	static const char *const names[] = {
		"bert_v100.yaml",	  "cosmoflow_a100.yaml",     "cosmoflow_h100.yaml",
		"cosmoflow_v100.yaml",	  "default.yaml",	     "dlio_config.yaml",
		"dlrm.yaml",		  "llama_1t.yaml",	     "llama_405b.yaml",
		"llama_70b.yaml",	  "llama_70b_zero3.yaml",    "llama_7b.yaml",
		"llama_7b_zero3.yaml",	  "llama_8b_zero3.yaml",     "megatron_deepspeed_LLNL.yaml",
		"plugin_default.yaml",	  "plugin_experimental_default.yaml",
		"plugin_experimental_pt_custom_checkpoint.yaml",
		"resnet50_a100.yaml",	  "resnet50_h100.yaml",	     "resnet50_tf.yaml",
		"resnet50_v100.yaml",	  "unet3d_a100.yaml",	     "unet3d_a100_s3.yaml",
		"unet3d_h100.yaml",	  "unet3d_h100_s3.yaml",     "unet3d_v100.yaml",
		"unet3d_v100_s3.yaml",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int ret = load_wl(names[i], DLIO_FLAVOUR_V20, NULL, 0);

		if (ret)
			fail_msg("%s: %s", names[i], err);
		assert_int_equal(diags.nerrors, 0);
		ret = load_wl(names[i], DLIO_FLAVOUR_HEAD, NULL, 0);
		if (ret)
			fail_msg("%s (HEAD): %s", names[i], err);
	}
}

static void test_unet3d_a100_values(void **state)
{
	(void)state;
	assert_int_equal(load_wl("unet3d_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_int_equal(cfg.framework, DLIO_FW_PYTORCH);
	assert_string_equal(cfg.model.name, "unet3d");
	assert_string_equal(cfg.model.type, "cnn");
	/* model.model_size is not a key: the default tensor size stays */
	assert_int_equal(cfg.model.model_size_bytes, 10240);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_MODEL_SIZE_NOT_READ));
	assert_true(has_diag(DLIO_SEV_WARNING, "unet3d_a100.yaml:4:3: model.model_size"));
	assert_false(cfg.workflow.generate_data);
	assert_true(cfg.workflow.train && cfg.workflow.checkpoint);
	assert_false(cfg.workflow.evaluation);
	assert_string_equal(cfg.dataset.data_folder, "data/unet3d");
	assert_int_equal(cfg.dataset.format, DLIO_FMT_NPZ);
	assert_int_equal(cfg.dataset.num_files_train, 168);
	assert_int_equal(cfg.dataset.num_samples_per_file, 1);
	assert_true(cfg.dataset.record_length_bytes == 146600628.0);
	assert_true(cfg.dataset.record_length_bytes_stdev == 68341808.0);
	assert_int_equal(cfg.dataset.record_length_bytes_resize, 2097152);
	assert_int_equal(cfg.reader.data_loader, DLIO_LOADER_PYTORCH);
	assert_int_equal(cfg.reader.batch_size, 7);
	assert_int_equal(cfg.reader.read_threads, 4);
	assert_int_equal(cfg.reader.prefetch_size, 2);
	assert_string_equal(cfg.reader.file_shuffle, "seed");
	assert_int_equal(cfg.reader.sample_shuffle, DLIO_SHUFFLE_SEED);
	assert_int_equal(dlio_config_sampler(&cfg), DLIO_SAMPLER_INDEX);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_SAMPLE_SHUFFLE_NO_IO));
	assert_int_equal(cfg.train.epochs, 5);
	assert_int_equal(cfg.train.computation_time.kind, DLIO_TIME_CONST);
	assert_true(cfg.train.computation_time.mean == 0.636);
	assert_string_equal(cfg.checkpoint.checkpoint_folder, "checkpoints/unet3d");
	assert_int_equal(cfg.checkpoint.checkpoint_after_epoch, 5);
	assert_int_equal(cfg.checkpoint.epochs_between_checkpoints, 2);
	assert_true(cfg.metric.au == 0.90);
	assert_true(dlio_config_is_set(&cfg, "reader.file_shuffle") == 1);
	assert_true(dlio_config_is_set(&cfg, "reader.read_type") == 0);
	assert_int_equal(dlio_config_is_set(&cfg, "reader.bogus"), -ENOENT);
	assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
}

static void test_resnet_float_record_and_one_space_indent(void **state)
{
	(void)state;
	assert_int_equal(load_wl("resnet50_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_true(cfg.dataset.record_length_bytes == 114660.07);
	assert_int_equal(cfg.dataset.num_samples_per_file, 1251);
	assert_int_equal(cfg.dataset.format, DLIO_FMT_TFRECORD);
	assert_int_equal(cfg.reader.data_loader, DLIO_LOADER_TENSORFLOW);
	assert_int_equal(cfg.reader.computation_threads, 8);
	assert_int_equal(cfg.reader.batch_size, 400);
	assert_true(cfg.reader.dont_use_mmap);
	assert_int_equal(dlio_config_sampler(&cfg), DLIO_SAMPLER_ITERATIVE);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_RECORD_LENGTH_NOT_SQUARE));
	assert_false(dlio_config_file_shuffle_on(&cfg));
	assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
}

static void test_legacy_keys_fall_back_to_defaults(void **state)
{
	(void)state;
	assert_int_equal(load_wl("plugin_default.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_MODEL_STRING));
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_LEGACY_RECORD_LENGTH));
	assert_true(cfg.dataset.record_length_bytes == 65536.0);
	assert_string_equal(cfg.model.name, "default");
	assert_int_equal(cfg.dataset.num_subfolders_train, 2);
	assert_int_equal(cfg.evaluation.eval_time.kind, DLIO_TIME_CONST);
	assert_true(cfg.evaluation.eval_time.mean == 0.5);
	assert_true(has_diag(DLIO_SEV_WARNING, "dataset.record_length: v1.0 name"));

	assert_int_equal(load_wl("plugin_experimental_pt_custom_checkpoint.yaml", DLIO_FLAVOUR_V20,
				 NULL, 0),
			 0);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_LEGACY_CHECKPOINT_KEYS));
	assert_string_equal(cfg.checkpoint.checkpoint_mechanism_classname,
			    "dlio_benchmark.plugins.experimental.src.checkpoint.pytorch_"
			    "checkpointing.CustomPyTorchCheckpointing");
}

static void test_megatron_lists_and_comment(void **state)
{
	(void)state;
	assert_int_equal(load_wl("megatron_deepspeed_LLNL.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_int_equal(cfg.model.optimization_groups.n, 3);
	assert_int_equal(cfg.model.optimization_groups.v[0], 1009254400);
	assert_int_equal(cfg.model.optimization_groups.v[2], 793600);
	assert_int_equal(cfg.model.layer_parameters.n, 2);
	assert_int_equal(cfg.model.layer_parameters.v[1], 209715200);
	assert_int_equal(cfg.model.num_layers, 40);
	assert_int_equal(cfg.model.parallelism.pipeline, 8);
	assert_int_equal(cfg.model.parallelism.tensor, 4);
	assert_int_equal(cfg.model.parallelism.zero_stage, 1);
	assert_true(cfg.train.computation_time.mean == 2.44);
	assert_int_equal(cfg.train.total_training_steps, 1000);
	assert_int_equal(cfg.dataset.num_samples_per_file, 277203535);
	assert_int_equal(cfg.dataset.format, DLIO_FMT_MMAP_INDEXED_BINARY);
	assert_int_equal(cfg.checkpoint.type, DLIO_CKPT_ALL_RANKS);
	assert_int_equal(cfg.checkpoint.steps_between_checkpoints, 1000);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_IGNORED_KEY));
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_MMAP_NO_IO));
	/* TP4 x PP8 needs a multiple of 32 ranks */
	assert_int_equal(dlio_config_validate(&cfg, 32, &diags, err, sizeof(err)), 0);
	assert_int_equal(dlio_config_validate(&cfg, 16, &diags, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "comm_size 16 is not a multiple of tensor*pipeline = 32"));
}

static void test_bert_ignored_debug(void **state)
{
	(void)state;
	assert_int_equal(load_wl("bert_v100.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_true(has_diag(DLIO_SEV_WARNING, "bert_v100.yaml:10:3: workflow.debug"));
	assert_string_equal(cfg.dataset.file_prefix, "part");
	assert_int_equal(cfg.model.model_size_bytes, 4034713312LL);
	assert_false(cfg.train.seed_change_epoch);
	assert_int_equal(cfg.reader.transfer_size, 262144);
	assert_int_equal(cfg.checkpoint.steps_between_checkpoints, 250);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_TFRECORD_FROZEN_ORDER));
}

static void test_s3_options(void **state)
{
	(void)state;
	assert_int_equal(load_wl("unet3d_a100_s3.yaml", DLIO_FLAVOUR_HEAD, NULL, 0), 0);
	assert_int_equal(cfg.storage.storage_type, DLIO_ST_S3);
	assert_string_equal(cfg.storage.storage_root, "s3pytorchconnector");
	assert_string_equal(cfg.dataset.data_folder, "s3://s3pytorchconnector");
	assert_int_equal(cfg.storage.noptions, 6);
	assert_string_equal(cfg.storage.options[2].key, "endpoint_url");
	assert_string_equal(cfg.storage.options[2].value, "http://localhost:9020");
	assert_true(cfg.storage.options[4].is_bool);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_S3_FORCE_PATH_STYLE_BOOL));
	assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
	{
		const char *o[] = {"~workload.storage.storage_options.endpoint_url"};

		assert_int_equal(load_wl("unet3d_a100_s3.yaml", DLIO_FLAVOUR_HEAD, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "storage_options.endpoint_url"));
	}
	/* v2.0 has no storage_options */
	assert_int_equal(load_wl("unet3d_a100_s3.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_int_equal(cfg.storage.noptions, 0);
	assert_true(has_diag(DLIO_SEV_WARNING, "storage.storage_options: only read by DLIO HEAD"));
}

static void test_llama_1t_training_without_loader_fails(void **state)
{
	(void)state;
	assert_int_equal(load_wl("llama_1t.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_DATA_LOADER_REQUIRED));
	assert_int_equal(dlio_config_validate(&cfg, 512, &diags, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reader.data_loader: required for training"));
	/* MLPerf's fix (train False) makes it valid */
	{
		const char *o[] = {"workload.workflow.train=False",
				   "workload.workflow.generate_data=false"};

		assert_int_equal(load_wl("llama_1t.yaml", DLIO_FLAVOUR_V20, o, 2), 0);
		assert_false(cfg.workflow.train);
		assert_int_equal(dlio_config_validate(&cfg, 512, &diags, err, sizeof(err)), 0);
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_TIME_BETWEEN_CKPT_ABS));
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_FSYNC_IGNORED));
		assert_int_equal(dlio_config_validate(&cfg, 256, &diags, err, sizeof(err)),
				 -EINVAL);
	}
}

static void test_primary_config_keys_unknown(void **state)
{
	(void)state;
	assert_int_equal(load_wl("dlio_config.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_true(has_diag(DLIO_SEV_WARNING, "dlio_config.yaml:2:1: defaults: unknown key"));
	assert_true(has_diag(DLIO_SEV_WARNING, "dlio_config.yaml:8:1: hydra: unknown key"));
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load_text("", NULL, 0), 0);
	assert_int_equal(cfg.framework, DLIO_FW_TENSORFLOW);
	assert_int_equal(cfg.dataset.format, DLIO_FMT_TFRECORD);
	assert_int_equal(cfg.dataset.num_files_train, 8);
	assert_int_equal(cfg.dataset.num_files_eval, 0);
	assert_true(cfg.dataset.record_length_bytes == 65536);
	assert_string_equal(cfg.dataset.data_folder, "./data/");
	assert_string_equal(cfg.dataset.file_prefix, "img");
	assert_int_equal(cfg.dataset.generation_buffer_size, 2147483648LL);
	assert_int_equal(cfg.reader.data_loader, DLIO_LOADER_UNSET);
	assert_int_equal(cfg.reader.prefetch_size, 2);
	assert_int_equal(cfg.reader.shuffle_size, 1024);
	assert_int_equal(cfg.model.transformer.ffn_hidden_size, 8192);
	assert_int_equal(cfg.model.parallelism.data, -1);
	assert_int_equal(cfg.train.seed, 123);
	assert_true(cfg.train.seed_change_epoch);
	assert_true(cfg.checkpoint.time_between_checkpoints == -1);
	assert_int_equal(cfg.output.exclude_start_steps, 1);
	assert_int_equal(cfg.profiling.profiler, DLIO_PROF_IOSTAT);
	assert_true(cfg.metric.au == 0.90);
	assert_true(cfg.workflow.train);
	assert_int_equal(cfg.train.computation_time.kind, DLIO_TIME_NONE);
}

static void test_workload_wrapper(void **state)
{
	(void)state;
	assert_int_equal(load_text("workload:\n  dataset:\n    num_files_train: 5\n", NULL, 0), 0);
	assert_int_equal(cfg.dataset.num_files_train, 5);
	{
		const char *o[] = {"workload.dataset.num_files_train=6"};

		assert_int_equal(load_text("workload:\n  dataset:\n    num_files_train: 5\n", o, 1),
				 0);
		assert_int_equal(cfg.dataset.num_files_train, 6);
	}
}

static void test_type_errors_have_positions(void **state)
{
	(void)state;
	assert_int_equal(load_text("dataset:\n  num_files_train: abc\n", NULL, 0), -EINVAL);
	assert_string_equal(err,
			    "t.yaml:2:20: dataset.num_files_train: expected an integer, got the "
			    "string 'abc'");
	assert_int_equal(load_text("reader:\n  batch_size: 0\n", NULL, 0), -EINVAL);
	assert_string_equal(err, "t.yaml:2:15: reader.batch_size: must be > 0, got 0");
	assert_int_equal(load_text("dataset:\n  format: parquet\n", NULL, 0), -EINVAL);
	assert_non_null(strstr(err, "t.yaml:2:11: dataset.format: 'parquet' is not valid (one of: "
				    "tfrecord, hdf5"));
	assert_int_equal(load_text("workflow:\n  train: maybe\n", NULL, 0), -EINVAL);
	assert_string_equal(err,
			    "t.yaml:2:10: workflow.train: expected true or false, got the string "
			    "'maybe'");
	assert_int_equal(load_text("dataset:\n  record_length_bytes: -5\n", NULL, 0), -EINVAL);
	assert_int_equal(load_text("model:\n  layer_parameters: [1, x]\n", NULL, 0), -EINVAL);
	assert_non_null(strstr(err, "model.layer_parameters[1]"));
	assert_int_equal(load_text("dataset: 5\n", NULL, 0), -EINVAL);
	assert_string_equal(err, "t.yaml:1:10: dataset: expected a mapping, got an integer");
	/* every error is collected, the first one is returned */
	assert_int_equal(load_text("dataset:\n  num_files_train: x\n  num_files_eval: y\n", NULL, 0),
			 -EINVAL);
	assert_int_equal(diags.nerrors, 2);
	/* YAML syntax errors carry a position too */
	assert_int_equal(load_text("dataset:\n  a: [1,\n", NULL, 0), -EINVAL);
	assert_non_null(strstr(err, "t.yaml:"));
	assert_int_equal(load_text("a: 1\na: 2\n", NULL, 0), -EINVAL);
	assert_string_equal(err, "t.yaml:2:1: a: duplicate key");
}

static void test_unknown_keys_warn(void **state)
{
	(void)state;
	assert_int_equal(load_text("dataset:\n  bogus: 1\n  num_files_train: 3\nextra:\n  x: 1\n",
				   NULL, 0),
			 0);
	assert_true(has_diag(DLIO_SEV_WARNING, "t.yaml:2:3: dataset.bogus: unknown key"));
	assert_true(has_diag(DLIO_SEV_WARNING, "t.yaml:4:1: extra: unknown key"));
	assert_false(has_diag(DLIO_SEV_WARNING, "num_files_train"));
	assert_int_equal(cfg.dataset.num_files_train, 3);
}

static void test_yaml11_scalars(void **state)
{
	(void)state;
	assert_int_equal(load_text("workflow:\n  train: off\n  evaluation: Yes\nreader:\n  "
				   "file_shuffle: off\n  read_type: memory\ndataset:\n  "
				   "record_length_bytes: 1e3\n  num_files_train: 0x10\n",
				   NULL, 0),
			 0);
	assert_false(cfg.workflow.train);
	assert_true(cfg.workflow.evaluation);
	/* the value is never compared: off still shuffles */
	assert_true(dlio_config_file_shuffle_on(&cfg));
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_FILE_SHUFFLE_STRING));
	assert_true(dlio_config_keep_files_open(&cfg));
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_READ_TYPE_STRING));
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_EVAL_WITHOUT_TRAIN));
	assert_true(cfg.dataset.record_length_bytes == 1000.0);
	assert_int_equal(cfg.dataset.num_files_train, 16);
	/* quoted numbers are strings */
	assert_int_equal(load_text("dataset:\n  num_files_train: '8'\n", NULL, 0), -EINVAL);
}

static void test_overrides(void **state)
{
	const char *base = "dataset:\n  num_files_train: 4\nreader:\n  batch_size: 2\n  "
			   "file_shuffle: seed\n";

	(void)state;
	{
		const char *o[] = {"++workload.dataset.num_files_train=16",
				   "++workload.dataset.num_files_eval=2",
				   "workload.reader.batch_size=3",
				   "~workload.reader.file_shuffle",
				   "+workload.train.computation_time={mean: 1.5, stdev: 0.25}",
				   "++workload.model.layer_parameters=[1,2,3]",
				   "++workload.dataset.data_folder=s3://bucket/x/",
				   "++workload.dataset.file_prefix='123'",
				   "++workload.workflow.train=TRUE",
				   "++hydra.run.dir=/tmp/out",
				   "++hydra.output_subdir=dlio_config"};

		assert_int_equal(load_text(base, o, sizeof(o) / sizeof(o[0])), 0);
		assert_int_equal(cfg.dataset.num_files_train, 16);
		assert_int_equal(cfg.dataset.num_files_eval, 2);
		assert_int_equal(cfg.reader.batch_size, 3);
		assert_false(dlio_config_file_shuffle_on(&cfg));
		assert_int_equal(cfg.train.computation_time.kind, DLIO_TIME_NORMAL);
		assert_true(cfg.train.computation_time.mean == 1.5);
		assert_true(cfg.train.computation_time.stdev == 0.25);
		assert_int_equal(cfg.model.layer_parameters.n, 3);
		assert_int_equal(cfg.model.layer_parameters.v[2], 3);
		assert_string_equal(cfg.dataset.data_folder, "s3://bucket/x");
		assert_string_equal(cfg.dataset.file_prefix, "123");
		assert_true(cfg.workflow.train);
		assert_string_equal(cfg.hydra_run_dir, "/tmp/out");
		assert_string_equal(cfg.hydra_output_subdir, "dlio_config");
	}
	{
		const char *o[] = {"workload.dataset.num_files_eval=2"};

		assert_int_equal(load_text(base, o, 1), -ENOENT);
		assert_non_null(strstr(err, "<override 1>:1:1: dataset.num_files_eval") ||
				strstr(err, "workload.dataset.num_files_eval"));
	}
	{
		const char *o[] = {"+workload.reader.batch_size=3"};

		assert_int_equal(load_text(base, o, 1), -EEXIST);
	}
	{
		const char *o[] = {"~workload.reader.prefetch_size"};

		assert_int_equal(load_text(base, o, 1), -ENOENT);
	}
	{
		const char *o[] = {"++workload.reader.batch_size=1,2"};

		assert_int_equal(load_text(base, o, 1), -EINVAL);
		assert_non_null(strstr(err, "sweep"));
	}
	{
		/* Hydra's bools are only true/false: yes stays a string */
		const char *o[] = {"++workload.workflow.train=yes"};

		assert_int_equal(load_text(base, o, 1), -EINVAL);
		assert_non_null(strstr(err, "<override 1>:1:27: workflow.train: expected true or "
					    "false, got the string 'yes'"));
	}
	{
		const char *o[] = {"++workload.reader.batch_size=abc"};

		assert_int_equal(load_text(base, o, 1), -EINVAL);
		assert_string_equal(err, "<override 1>:1:30: reader.batch_size: expected an "
					 "integer, got the string 'abc'");
	}
	{
		const char *o[] = {"++other.x=1"};

		assert_int_equal(load_text(base, o, 1), -EINVAL);
	}
	{
		const char *o[] = {"++workload.train.computation_time={type: uniform, min: 1, max: 2}"};

		assert_int_equal(load_text(base, o, 1), 0);
		assert_int_equal(cfg.train.computation_time.kind, DLIO_TIME_UNIFORM);
		assert_true(cfg.train.computation_time.max == 2);
	}
}

static void test_data_reader_alias(void **state)
{
	(void)state;
	assert_int_equal(load_text("data_reader:\n  batch_size: 9\nreader:\n  batch_size: 3\n",
				   NULL, 0),
			 0);
	assert_int_equal(cfg.reader.batch_size, 9);
	assert_true(has_diag(DLIO_SEV_WARNING, "reader: ignored: data_reader"));
	assert_int_equal(load_text("data_reader:\n  data_loader: pytorch\n", NULL, 0), 0);
	assert_int_equal(cfg.reader.data_loader, DLIO_LOADER_PYTORCH);
}

static void test_time_values(void **state)
{
	struct dlio_rng r;

	(void)state;
	assert_int_equal(load_text("train:\n  computation_time: -0.5\n  "
				   "computation_time_stdev: 0.1\n",
				   NULL, 0),
			 0);
	assert_int_equal(cfg.train.computation_time.kind, DLIO_TIME_NORMAL);
	assert_true(cfg.train.computation_time.mean == -0.5);
	assert_true(cfg.train.computation_time.stdev == 0.1);
	dlio_rng_seed(&r, 10);
	/* |normal(-0.5, 0.1)| with the first legacy gaussian 1.3315865... */
	assert_true(fabs(dlio_time_sample(&cfg.train.computation_time, &r) -
			 fabs(-0.5 + 0.1 * 1.331586504129518)) < 1e-15);
	assert_int_equal(load_text("train:\n  computation_time: {type: gamma, shape: 2}\n", NULL, 0),
			 -EINVAL);
	assert_non_null(strstr(err, "needs 'scale'"));
	assert_int_equal(load_text("train:\n  computation_time: {type: weibull}\n", NULL, 0),
			 -EINVAL);
	assert_int_equal(load_text("evaluation:\n  eval_time: {mean: 2}\n", NULL, 0), 0);
	assert_int_equal(cfg.evaluation.eval_time.kind, DLIO_TIME_CONST);
	assert_true(dlio_time_sample(&cfg.evaluation.eval_time, &r) == 2);
	assert_int_equal(load_text("evaluation:\n  eval_time: {type: poisson, lam: 3.5}\n", NULL, 0),
			 0);
	assert_int_equal(cfg.evaluation.eval_time.kind, DLIO_TIME_POISSON);
}

static void test_validate_rules(void **state)
{
	(void)state;
	assert_int_equal(load_wl("llama_70b.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_int_equal(dlio_config_validate(&cfg, 32, &diags, err, sizeof(err)), 0);
	{
		const char *o[] = {"++workload.model.parallelism.data=2"};

		assert_int_equal(load_wl("llama_70b.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 32, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "<override 1>:1:"));
		assert_non_null(strstr(err, "only be set with checkpoint.mode: subset"));
	}
	{
		const char *o[] = {"++workload.checkpoint.mode=subset"};

		assert_int_equal(load_wl("llama_70b_zero3.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "subset mode needs model.parallelism.data"));
	}
	{
		const char *o[] = {"++workload.checkpoint.mode=subset",
				   "++workload.model.parallelism.data=8"};

		assert_int_equal(load_wl("llama_70b_zero3.yaml", DLIO_FLAVOUR_V20, o, 2), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
		/* 8 * 8 * 1 = 64 < 128 */
		assert_int_equal(dlio_config_validate(&cfg, 128, &diags, err, sizeof(err)), -EINVAL);
	}
	{
		const char *o[] = {"++workload.model.parallelism.zero_stage=3"};

		assert_int_equal(load_wl("llama_405b.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 256, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "ZeRO stage 3"));
	}
	{
		const char *o[] = {"++workload.checkpoint.num_checkpoints_read=11"};

		assert_int_equal(load_wl("llama_8b_zero3.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "11 reads but only 10"));
	}
	{
		const char *o[] = {"++workload.checkpoint.ksm={}"};

		assert_int_equal(load_wl("llama_8b_zero3.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_true(cfg.checkpoint.ksm_present);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "randomize_tensor"));
	}
	{
		const char *o[] = {"++workload.model.num_layers=16"};

		assert_int_equal(load_wl("llama_405b.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 256, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "16 layers cannot fill 32 pipeline stages"));
	}
	{
		const char *o[] = {"workload.reader.data_loader=pytorch"};

		assert_int_equal(load_wl("resnet50_a100.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "cannot read tfrecord"));
		assert_int_equal(diags.nerrors, 2); /* also the framework mismatch */
	}
	{
		const char *o[] = {"++workload.dataset.record_dims=[4,4]"};

		assert_int_equal(load_wl("unet3d_a100.yaml", DLIO_FLAVOUR_HEAD, o, 1), 0);
		assert_int_equal(cfg.dataset.record_dims.n, 2);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "cannot be combined with record_dims"));
		/* v2.0 does not read record_dims */
		assert_int_equal(load_wl("unet3d_a100.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(cfg.dataset.record_dims.n, 0);
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_RECORD_DIMS_V20));
	}
	{
		const char *o[] = {"++workload.dataset.num_subfolders_train=1"};

		assert_int_equal(load_wl("unet3d_a100.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), -EINVAL);
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_SUBFOLDERS_ONE));
	}
}

static void test_head_trim_and_iterative_quirks(void **state)
{
	(void)state;
	assert_int_equal(load_wl("resnet50_a100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0), 0);
	assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_HEAD_TRIM));
	assert_int_equal(load_wl("resnet50_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0), 0);
	assert_int_equal(dlio_config_validate(&cfg, 8, &diags, err, sizeof(err)), 0);
	assert_false(dlio_config_has_quirk(&cfg, DLIO_Q_HEAD_TRIM));
	{
		const char *o[] = {"++workload.dataset.format=npz"};

		assert_int_equal(load_wl("resnet50_a100.yaml", DLIO_FLAVOUR_V20, o, 1), 0);
		assert_int_equal(dlio_config_validate(&cfg, 2, &diags, err, sizeof(err)), 0);
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_ITERATIVE_SAME_FILES));
		assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_WHOLE_FILE_PER_SAMPLE));
	}
}

static void test_quirk_texts(void **state)
{
	int q;

	(void)state;
	for (q = 0; q < DLIO_Q_COUNT; q++) {
		assert_non_null(dlio_quirk_name((enum dlio_quirk)q));
		assert_true(strlen(dlio_quirk_explain((enum dlio_quirk)q)) > 10);
	}
}

static void test_diags_bounded(void **state)
{
	char *text = malloc(64 * 1024);
	size_t off = 0;
	int i;

	(void)state;
	for (i = 0; i < 300; i++)
		off += (size_t)sprintf(text + off, "k%d: 1\n", i);
	assert_int_equal(load_text(text, NULL, 0), 0);
	assert_int_equal(diags.n, DLIO_DIAG_MAX);
	assert_int_equal(diags.dropped, 300 - DLIO_DIAG_MAX);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_shipped_workloads_load),
		cmocka_unit_test(test_unet3d_a100_values),
		cmocka_unit_test(test_resnet_float_record_and_one_space_indent),
		cmocka_unit_test(test_legacy_keys_fall_back_to_defaults),
		cmocka_unit_test(test_megatron_lists_and_comment),
		cmocka_unit_test(test_bert_ignored_debug),
		cmocka_unit_test(test_s3_options),
		cmocka_unit_test(test_llama_1t_training_without_loader_fails),
		cmocka_unit_test(test_primary_config_keys_unknown),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_workload_wrapper),
		cmocka_unit_test(test_type_errors_have_positions),
		cmocka_unit_test(test_unknown_keys_warn),
		cmocka_unit_test(test_yaml11_scalars),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_data_reader_alias),
		cmocka_unit_test(test_time_values),
		cmocka_unit_test(test_validate_rules),
		cmocka_unit_test(test_head_trim_and_iterative_quirks),
		cmocka_unit_test(test_quirk_texts),
		cmocka_unit_test(test_diags_bounded),
	};

	return cmocka_run_group_tests_name("dlio_config", tests, NULL, NULL);
}
