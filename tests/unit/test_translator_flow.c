/*
 * The one-line flow form of a config (what dlio2fio puts in dlio_config=) must read back as
 * the same config, for every shipped workload in both flavours, with overrides, odd strings
 * and every time-value shape; and it must survive fio's job file line handling.
 */
#include "dlio_test_util.h"

#include <errno.h>
#include <math.h>

#include "dlio/config.h"
#include "dlio/emit.h"
#include "dlio/geometry.h"

static struct dlio_config a, b;
static struct dlio_diags diags;
static char err[1024];
static char line[DLIO_FLOW_MAX + 1];

/* load -> emit -> load, and the two configs must agree */
static void roundtrip(const struct dlio_config *src)
{
	struct dlio_load_opts o = {.flavour = src->flavour};
	char what[256];
	size_t i;
	int n;

	n = dlio_config_emit_flow(src, line, sizeof(line), err, sizeof(err));
	if (n < 0)
		fail_msg("%s: emit: %s", src->file, err);
	assert_int_equal((size_t)n, strlen(line));
	/* fio cuts lines at ';' and '#', and substitutes from '$' on */
	assert_null(strpbrk(line, ";#$\n"));
	memset(&diags, 0, sizeof(diags));
	if (dlio_config_load_buf(&b, "<flow>", line, (size_t)n, &o, &diags, err, sizeof(err)))
		fail_msg("%s: reload of %s: %s", src->file, line, err);
	if (dlio_config_diff(src, &b, what, sizeof(what)))
		fail_msg("%s: differs after the round trip at %s\n%s", src->file, what, line);
	/* nothing in the flow form is unknown; warnings about kept values may repeat */
	for (i = 0; i < diags.n; i++)
		if (strstr(diags.items[i].msg, "unknown key") || strstr(diags.items[i].msg, "null"))
			fail_msg("%s: the flow form warns: %s\n%s", src->file, diags.items[i].msg,
				 line);
}

static void test_shipped_workloads(void **state)
{
	static const char *const names[] = {
		"bert_v100.yaml",	  "cosmoflow_a100.yaml",     "cosmoflow_h100.yaml",
		"cosmoflow_v100.yaml",	  "default.yaml",	     "dlrm.yaml",
		"llama_1t.yaml",	  "llama_405b.yaml",	     "llama_70b.yaml",
		"llama_70b_zero3.yaml",	  "llama_7b.yaml",	     "llama_7b_zero3.yaml",
		"llama_8b_zero3.yaml",	  "megatron_deepspeed_LLNL.yaml",
		"plugin_default.yaml",	  "plugin_experimental_default.yaml",
		"plugin_experimental_pt_custom_checkpoint.yaml",
		"resnet50_a100.yaml",	  "resnet50_h100.yaml",	     "resnet50_tf.yaml",
		"resnet50_v100.yaml",	  "unet3d_a100.yaml",	     "unet3d_a100_s3.yaml",
		"unet3d_h100.yaml",	  "unet3d_h100_s3.yaml",     "unet3d_v100.yaml",
		"unet3d_v100_s3.yaml",
	};
	size_t i;
	int fl;

	(void)state;
	for (fl = DLIO_FLAVOUR_V20; fl <= DLIO_FLAVOUR_HEAD; fl++) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct dlio_load_opts o = {.flavour = (enum dlio_flavour)fl};
			char rel[256];

			snprintf(rel, sizeof(rel), "workloads/%s", names[i]);
			if (dlio_config_load(&a, dlio_test_path(rel), &o, NULL, err, sizeof(err)))
				fail_msg("%s: %s", names[i], err);
			roundtrip(&a);
		}
	}
}

/* The derived numbers the engine computes from the reloaded config are the same. */
static void test_derived_numbers_survive(void **state)
{
	static const char *const ovr[] = {"++workload.dataset.num_files_train=64",
					  "++workload.reader.batch_size=3"};
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20, .overrides = ovr, .noverrides = 2};
	struct dlio_load_opts o2 = {.flavour = DLIO_FLAVOUR_V20};
	struct dlio_geom ga, gb;
	struct dlio_file_size fa, fb;
	int64_t d1, d2;
	int n;

	(void)state;
	assert_int_equal(dlio_config_load(&a, dlio_test_path("workloads/unet3d_a100.yaml"), &o,
					  NULL, err, sizeof(err)),
			 0);
	n = dlio_config_emit_flow(&a, line, sizeof(line), err, sizeof(err));
	assert_true(n > 0);
	assert_non_null(strstr(line, "num_files_train: 64"));
	assert_non_null(strstr(line, "batch_size: 3"));
	assert_int_equal(dlio_config_load_buf(&b, "<flow>", line, (size_t)n, &o2, NULL, err,
					      sizeof(err)),
			 0);
	assert_int_equal(dlio_geom_init(&ga, &a, 4, DLIO_TRIM_NONE, err, sizeof(err)), 0);
	assert_int_equal(dlio_geom_init(&gb, &b, 4, DLIO_TRIM_NONE, err, sizeof(err)), 0);
	assert_int_equal(ga.steps, gb.steps);
	assert_int_equal(ga.steps, 64 / 3 / 4);
	dlio_geom_file_dims(&gb, 63, &d1, &d2);
	dlio_geom_file_size(&ga, d1, d2, &fa);
	dlio_geom_file_size(&gb, d1, d2, &fb);
	assert_int_equal(fa.size, fb.size);
}

static void load_text(struct dlio_config *c, const char *text)
{
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20};

	if (dlio_config_load_buf(c, "t.yaml", text, strlen(text), &o, NULL, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Strings that are not plain-safe: fio's comment and substitution characters, quotes,
 * YAML indicators, words YAML would type, non-ASCII. */
static void test_awkward_strings(void **state)
{
	(void)state;
	load_text(&a, "model: {name: \"a;b#c ${HOME} $pagesize \\\"q\\\" \\\\ x: {y} [z], yes\"}\n"
		      "dataset: {data_folder: 's3://bucket/with space/x', file_prefix: 'on',\n"
		      "          format: npz}\n"
		      "reader: {file_shuffle: 'off', read_type: 'no', data_loader: pytorch}\n"
		      "output: {folder: \"/tmp/\\u00e9t\\u00e9\\tx\", log_file: '123'}\n");
	roundtrip(&a);
	assert_string_equal(b.model.name, "a;b#c ${HOME} $pagesize \"q\" \\ x: {y} [z], yes");
	assert_string_equal(b.dataset.file_prefix, "on");
	assert_string_equal(b.output.log_file, "123");
	assert_true(dlio_config_file_shuffle_on(&b));
	assert_true(dlio_config_keep_files_open(&b));
}

/* YAML 1.1 booleans kept as strings by DLIO, and given-but-default values, stay given. */
static void test_given_ness(void **state)
{
	(void)state;
	load_text(&a, "reader:\n  file_shuffle: off\n  batch_size: 1\n  data_loader: pytorch\n"
		      "workflow: {train: true, generate_data: false}\n");
	roundtrip(&a);
	assert_string_equal(b.reader.file_shuffle, "False");
	assert_int_equal(dlio_config_is_set(&b, "reader.batch_size"), 1);
	assert_int_equal(dlio_config_is_set(&b, "reader.read_type"), 0);
}

static void test_time_shapes(void **state)
{
	static const char *const shapes[] = {
		"train: {computation_time: 0.636}",
		"train: {computation_time: 0.5, computation_time_stdev: 0}",
		"train: {computation_time: 0.5, computation_time_stdev: 0.125}",
		"train: {computation_time_stdev: 0.25}",
		"train: {computation_time: {mean: 2}}",
		"train: {computation_time: {mean: 2, min: 1}}",
		"train: {computation_time: {mean: 2, stdev: 0.5}}",
		"train: {computation_time: {type: normal, mean: 0, stdev: 0}}",
		"train: {computation_time: {type: uniform, min: 0.1, max: 0.3}}",
		"train: {computation_time: {type: uniform, min: 0, max: 0}, "
		"computation_time_stdev: 3}",
		"train: {computation_time: {type: gamma, shape: 2.5, scale: 1e-3}}",
		"train: {computation_time: {type: exponential, scale: 0.01}}",
		"train: {computation_time: {type: poisson, lam: 3}}",
		"train: {computation_time: null}",
		"evaluation: {eval_time: -1e300}",
		"checkpoint: {time_between_checkpoints: -.inf}",
		"reader: {preprocess_time: 0.1, preprocess_time_stdev: 1.0000000000000002}",
		"metric: {au: 0.1}",
		"dataset: {record_length_bytes: 114660.07, record_length_bytes_stdev: 1e20}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		load_text(&a, shapes[i]);
		roundtrip(&a);
	}
}

static void test_lists_and_sections(void **state)
{
	(void)state;
	load_text(&a, "model:\n  type: transformer\n  num_layers: 2\n"
		      "  layer_parameters: [1, 2, 9223372036854775807]\n"
		      "  optimization_groups: []\n"
		      "  parallelism: {tensor: 2, pipeline: 1, zero_stage: 3}\n"
		      "profiling: {iostat_devices: [sda, 'nvme0n1', \"a#b\"]}\n"
		      "checkpoint: {ksm: {}}\n");
	roundtrip(&a);
	assert_true(b.checkpoint.ksm_present);
	load_text(&a, "checkpoint: {ksm: {high_ram_trigger: 12.5}, rank_sync: true}\n"
		      "storage: {storage_type: s3, storage_root: b}\n");
	roundtrip(&a);
	assert_true(b.checkpoint.ksm_high_ram_trigger == 12.5);
}

static void test_head_storage_options(void **state)
{
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_HEAD};
	const char *text = "storage:\n  storage_type: s3\n  storage_options:\n"
			   "    access_key_id: a;b\n    s3_force_path_style: False\n"
			   "    s3_max_attempts: 5\n    region: null\n"
			   "dataset: {record_dims: [3, 4], record_element_type: float32}\n";

	(void)state;
	assert_int_equal(dlio_config_load_buf(&a, "t.yaml", text, strlen(text), &o, NULL, err,
					      sizeof(err)),
			 0);
	roundtrip(&a);
	assert_int_equal(b.storage.noptions, 4);
	assert_true(b.storage.options[1].is_bool);
	assert_true(b.storage.options[3].is_null);
	assert_true(dlio_config_has_quirk(&b, DLIO_Q_S3_FORCE_PATH_STYLE_BOOL));
}

/* A config too long for one fio line is refused, not truncated. */
static void test_too_long(void **state)
{
	char *text = malloc(64 * 1024);
	size_t off = 0;
	int i;

	(void)state;
	assert_non_null(text);
	off += (size_t)sprintf(text + off, "model: {layer_parameters: [");
	for (i = 0; i < 250; i++)
		off += (size_t)sprintf(text + off, "%s%d", i ? ", " : "", 1000000000 + i);
	sprintf(text + off, "]}\nmodel_extra: 1\n");
	load_text(&a, text);
	assert_true(dlio_config_emit_flow(&a, line, sizeof(line), err, sizeof(err)) > 0);
	off = (size_t)sprintf(text, "model: {name: '");
	memset(text + off, ';', 1000);
	off += 1000;
	off += (size_t)sprintf(text + off, "', type: '");
	memset(text + off, ';', 1000);
	off += 1000;
	sprintf(text + off, "'}\n");
	load_text(&a, text);
	assert_int_equal(dlio_config_emit_flow(&a, line, sizeof(line), err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "longer than"));
	/* and a small buffer is reported, not overrun */
	assert_int_equal(dlio_config_emit_flow(&a, line, 16, err, sizeof(err)), -ENOSPC);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_workloads),
		cmocka_unit_test(test_derived_numbers_survive),
		cmocka_unit_test(test_awkward_strings),
		cmocka_unit_test(test_given_ness),
		cmocka_unit_test(test_time_shapes),
		cmocka_unit_test(test_lists_and_sections),
		cmocka_unit_test(test_head_storage_options),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
