#include "dlio_test_util.h"

#include <errno.h>
#include <math.h>

#include "dlio/checkpoint.h"
#include "dlio/config.h"
#include "dlio/crc32.h"
#include "dlio/ptzip.h"

static struct dlio_config cfg;
static struct dlio_ckpt ck;
static char err[1024];

static void load(const char *wl, const char *const *ovr, size_t novr)
{
	char rel[256];
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20, .overrides = ovr,
				   .noverrides = novr};

	snprintf(rel, sizeof(rel), "workloads/%s", wl);
	if (dlio_config_load(&cfg, dlio_test_path(rel), &o, NULL, err, sizeof(err)))
		fail_msg("%s", err);
}

static void init(int64_t comm)
{
	if (dlio_ckpt_init(&ck, &cfg, comm, err, sizeof(err)))
		fail_msg("%s", err);
}

/* A file's tensors add up to its bytes, and torch.save's zip of them is exactly that
 * size: records back to back from 0, 64-byte aligned data, zip64 past 4 GiB. */
static void check_zip(const struct dlio_ckpt_file *f)
{
	int64_t n = dlio_ckpt_file_tensors(&ck, f, NULL, 0), sum = 0, i, off = 0;
	struct dlio_ckpt_tensor *t = calloc((size_t)n + 1, sizeof(*t));
	struct dlio_ptz z;

	assert_non_null(t);
	assert_int_equal(dlio_ckpt_file_tensors(&ck, f, t, n), n);
	for (i = 0; i < n; i++)
		sum += t[i].bytes;
	assert_int_equal(sum, f->bytes);
	assert_int_equal(dlio_ptz_plan(&z, f->bytes, t, n, 7), 0);
	assert_int_equal(z.ntensor, n);
	for (i = 0; i < z.nrec; i++) {
		const struct dlio_ptz_rec *r = &z.rec[i];

		assert_int_equal(r->off, off);
		assert_int_equal(r->data % 64, 0);
		if (r->tensor >= 0) {
			assert_true(r->len <= t[r->tensor].bytes);
			assert_int_equal(r->len % dlio_dtype_bytes(t[r->tensor].dtype), 0);
			assert_int_equal(r->desc, r->off >= 0xffffffffLL || r->len >= 0xffffffffLL ?
							  24 : 16);
		}
		off = r->data + r->len + r->desc;
	}
	assert_int_equal(z.cdir_off, off);
	assert_true(z.comment < 64 + 8); /* shifted padding, part of an element */
	assert_int_equal(z.zip64_end, f->bytes > 0xffffffffLL);
	free(t);
	dlio_ptz_free(&z);
}

/* "rank 0: a=1; b=2" against the layout */
static void check_rank_line(const char *line)
{
	long long rank;
	int used, i = 0;
	const char *p;

	assert_int_equal(sscanf(line, "rank %lld:%n", &rank, &used), 1);
	p = line + used;
	for (;;) {
		char name[128];
		long long bytes;
		struct dlio_ckpt_file f;

		if (sscanf(p, " %127[^=]=%lld%n", name, &bytes, &used) != 2)
			break;
		p += used;
		assert_int_equal(dlio_ckpt_rank_file(&ck, rank, i, &f), 0);
		if (strcmp(f.name, name) || f.bytes != bytes)
			fail_msg("rank %lld file %d: got %s=%lld want %s=%lld", rank, i, f.name,
				 (long long)f.bytes, name, bytes);
		check_zip(&f);
		i++;
		if (*p != ';')
			break;
		p++;
	}
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, rank), i);
}

static void test_layouts_file(void **state)
{
	char *text = dlio_test_slurp("checkpoint_layouts.txt");
	char *line, *save = NULL;
	int sections = 0, ranks = 0, active = 0;

	(void)state;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], dp[32];
		long long comm, params, total;

		if (!strncmp(line, "## ", 3) && strstr(line, "comm_size=")) {
			const char *wl = NULL;
			const char *o[2] = {"++workload.checkpoint.mode=subset",
					    "++workload.model.parallelism.data=8"};
			size_t no = 0;

			assert_int_equal(sscanf(line, "## %63s comm_size=%lld data_parallelism=%31s",
						name, &comm, dp),
					 3);
			assert_int_equal(sscanf(strstr(line, "params="), "params=%lld total_payload_bytes=%lld",
						&params, &total),
					 2);
			if (!strcmp(name, "mlperf_llama3_8b"))
				wl = "llama_8b_zero3.yaml";
			else if (!strcmp(name, "mlperf_llama3_70b"))
				wl = "llama_70b_zero3.yaml";
			else if (!strcmp(name, "mlperf_llama3_405b"))
				wl = "llama_405b.yaml";
			else if (!strcmp(name, "mlperf_llama3_1t"))
				wl = "llama_1t.yaml";
			else if (!strcmp(name, "llama_7b"))
				wl = "llama_7b.yaml";
			else if (!strcmp(name, "llama_70b"))
				wl = "llama_70b.yaml";
			else
				fail_msg("unknown section %s", name);
			if (strncmp(dp, "derived", 7)) {
				assert_string_equal(dp, "8");
				no = 2;
			}
			load(wl, o, no);
			assert_int_equal(dlio_config_validate(&cfg, comm, NULL, err, sizeof(err)),
					 !strcmp(name, "mlperf_llama3_1t") ? -EINVAL : 0);
			init(comm);
			assert_int_equal(ck.params, params);
			assert_int_equal(dlio_ckpt_total_bytes(&ck), total);
			sections++;
			active = 1;
		} else if (active && !strncmp(line, "rank ", 5)) {
			check_rank_line(line);
			ranks++;
		} else if (!strncmp(line, "## ", 3)) {
			active = 0;
		}
	}
	assert_int_equal(sections, 7);
	assert_int_equal(ranks, 48);
	free(text);
}

static int64_t total_files(void)
{
	int64_t r, n = 0;

	for (r = 0; r < ck.comm; r++)
		n += dlio_ckpt_rank_nfiles(&ck, r);
	return n;
}

static int64_t largest_rank(void)
{
	int64_t r, m = 0;

	for (r = 0; r < ck.comm; r++)
		if (dlio_ckpt_rank_bytes(&ck, r) > m)
			m = dlio_ckpt_rank_bytes(&ck, r);
	return m;
}

static void test_workloads_md_totals(void **state)
{
	(void)state;
	/* WORKLOADS.md section 2 */
	load("llama_7b_zero3.yaml", NULL, 0);
	init(8);
	assert_int_equal(total_files(), 16);
	assert_true(fabs(dlio_ckpt_total_bytes(&ck) / 1073741824.0 - 87.86) < 0.005);
	assert_int_equal(largest_rank(), 11792473088LL);
	load("llama_7b.yaml", NULL, 0);
	init(8);
	assert_int_equal(total_files(), 9);
	assert_int_equal(largest_rank(), 23584700416LL);
	load("llama_8b_zero3.yaml", NULL, 0);
	init(8);
	assert_true(fabs(dlio_ckpt_reported_gib(&ck) - 104.70) < 0.005);
	assert_int_equal(largest_rank(), 14053202944LL);
	load("llama_70b.yaml", NULL, 0);
	init(32);
	assert_int_equal(total_files(), 696);
	assert_true(fabs(dlio_ckpt_reported_gib(&ck) - 911.20) < 0.005);
	assert_int_equal(largest_rank(), 30706060288LL);
	load("llama_70b_zero3.yaml", NULL, 0);
	init(8);
	assert_int_equal(total_files(), 16);
	assert_int_equal(largest_rank(), 122297380864LL);
	init(64);
	assert_int_equal(total_files(), 128);
	load("llama_405b.yaml", NULL, 0);
	init(256);
	assert_int_equal(total_files(), 1288);
	assert_true(fabs(dlio_ckpt_reported_gib(&ck) - 5292.0) < 0.05);
	assert_int_equal(largest_rank(), 22738630400LL);
	init(512);
	assert_int_equal(total_files(), 1544);
	load("llama_1t.yaml", NULL, 0);
	init(512);
	assert_int_equal(total_files(), 1560);
	/* WORKLOADS.md rounds this to 15425.9 GiB; the SPEC 9.3 reference calculation
	 * (testvectors/tools/ckpt_calc.py) gives exactly 16563379306752 B = 15425.85 GiB */
	assert_int_equal(dlio_ckpt_total_bytes(&ck), 16563379306752LL);
	assert_int_equal(largest_rank(), 33154037208LL);
	init(1024);
	assert_int_equal(total_files(), 2072);
}

static void test_unet3d_only_rank0_model_tensor(void **state)
{
	struct dlio_ckpt_file f;
	char path[512];
	int64_t r;

	(void)state;
	load("unet3d_a100.yaml", NULL, 0);
	init(8);
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 0), 1);
	assert_int_equal(dlio_ckpt_rank_file(&ck, 0, 0, &f), 0);
	assert_string_equal(f.name, "model_states-0");
	assert_int_equal(f.bytes, 10240);
	for (r = 1; r < 8; r++)
		assert_int_equal(dlio_ckpt_rank_nfiles(&ck, r), 0);
	assert_int_equal(dlio_ckpt_rank_file(&ck, 0, 1, &f), -ERANGE);
	assert_true(dlio_ckpt_reported_gib(&ck) == 10240 / 1073741824.0);
	/* after epoch 5, every 2 epochs; with 3 steps the folder is step 4 */
	assert_false(dlio_ckpt_epoch_due(&ck, 4));
	assert_true(dlio_ckpt_epoch_due(&ck, 5));
	assert_false(dlio_ckpt_epoch_due(&ck, 6));
	assert_true(dlio_ckpt_epoch_due(&ck, 7));
	assert_false(dlio_ckpt_step_due(&ck, 3));
	dlio_ckpt_rank_file(&ck, 0, 0, &f);
	assert_true(dlio_ckpt_file_path(&ck, 5, 4, &f, 0, path, sizeof(path)) > 0);
	assert_string_equal(path, "checkpoints/unet3d/global_epoch5_step4/model_states-0.pt");
	assert_int_equal(dlio_ckpt_file_path(&ck, 5, 4, &f, 1, path, sizeof(path)), -ERANGE);
}

static void test_megatron_legacy_lists(void **state)
{
	struct dlio_ckpt_file f;
	int64_t i;

	(void)state;
	load("megatron_deepspeed_LLNL.yaml", NULL, 0);
	init(32);
	/* WORKLOADS.md: model_states-<r> 10240 B, dp-0 ranks 5 layer files of 65,574,784 B,
	 * every rank an optimizer file of 5,625,369,600 B */
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 8), 7);
	dlio_ckpt_rank_file(&ck, 8, 0, &f);
	assert_string_equal(f.name, "model_states-8");
	assert_int_equal(f.bytes, 10240);
	for (i = 1; i <= 5; i++) {
		char want[64];

		dlio_ckpt_rank_file(&ck, 8, i, &f);
		/* rank 8 is pipeline stage 2: layers 11..15 */
		snprintf(want, sizeof(want), "layer_%lld-model_8_model_states", (long long)(10 + i));
		assert_string_equal(f.name, want);
		assert_int_equal(f.bytes, 65574784);
		assert_false(f.computed);
	}
	dlio_ckpt_rank_file(&ck, 8, 6, &f);
	assert_string_equal(f.name, "zero_pp_rank_0_mp_rank_8_optim_states");
	assert_int_equal(f.bytes, 5625369600LL);
	assert_true(dlio_ckpt_step_due(&ck, 1000));
	assert_false(dlio_ckpt_epoch_due(&ck, 1));
	init(64);
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 32), 2);
	dlio_ckpt_rank_file(&ck, 32, 1, &f);
	assert_string_equal(f.name, "zero_pp_rank_1_mp_rank_0_optim_states");
}

static void test_bert_tf_and_step_mode(void **state)
{
	struct dlio_ckpt_file f;
	char path[512];

	(void)state;
	load("bert_v100.yaml", NULL, 0);
	init(8);
	assert_int_equal(ck.mech, DLIO_MECH_TF_SAVE);
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 0), 1);
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 1), 0);
	dlio_ckpt_rank_file(&ck, 0, 0, &f);
	assert_int_equal(f.bytes, 4034713312LL);
	assert_int_equal(dlio_ckpt_parts(&ck), 2);
	dlio_ckpt_file_path(&ck, 1, 250, &f, 1, path, sizeof(path));
	assert_string_equal(path,
			    "checkpoints/bert/global_epoch1_step250/model_states-0.pb-1.data-00000-of-00001");
	assert_true(dlio_ckpt_step_due(&ck, 250));
	assert_true(dlio_ckpt_step_due(&ck, 1000));
	assert_false(dlio_ckpt_step_due(&ck, 251));
	{
		const char *o[] = {"++workload.checkpoint.steps_between_checkpoints=0"};

		load("bert_v100.yaml", o, 1);
		init(8);
		assert_false(dlio_ckpt_step_due(&ck, 250));
		assert_false(dlio_ckpt_epoch_due(&ck, 1));
	}
}

static void test_zero0_and_s3(void **state)
{
	const char *o[] = {"++workload.model.parallelism.zero_stage=0"};
	struct dlio_ckpt_file f;
	struct dlio_load_opts lo = {.flavour = DLIO_FLAVOUR_HEAD};

	(void)state;
	load("llama_7b.yaml", o, 1);
	init(8);
	/* ZeRO 0: only rank 0 (the one model-parallel rank) writes, optimizer unsharded */
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 0), 2);
	assert_int_equal(dlio_ckpt_rank_nfiles(&ck, 1), 0);
	dlio_ckpt_rank_file(&ck, 0, 0, &f);
	assert_string_equal(f.name, "zero_pp_rank_0_mp_rank_0_model_states");
	assert_int_equal(f.bytes, 13476831232LL);
	dlio_ckpt_rank_file(&ck, 0, 1, &f);
	assert_int_equal(f.bytes, 3 * (6738415616LL + 5 * 4096) * 4);
	if (dlio_config_load(&cfg, dlio_test_path("workloads/unet3d_h100_s3.yaml"), &lo, NULL, err,
			     sizeof(err)))
		fail_msg("%s", err);
	init(8);
	assert_int_equal(ck.mech, DLIO_MECH_PT_S3_SAVE);
}

/* Write a small checkpoint file through the plan into memory, then read it back as
 * torch.load does: end record in the last 4096 bytes, central directory, records. */
static void test_zip_round_trip(void **state)
{
	const struct dlio_ckpt_tensor t[] = { { 1 << 20, DLIO_DT_FP16 }, { 6, DLIO_DT_FP16 },
					      { 300000, DLIO_DT_FP32 } };
	int64_t size = (1 << 20) + 6 + 300000, off = 0, len, cdo, cdl, cnt, n, i;
	uint8_t *file = malloc((size_t)size);
	struct dlio_ptz_span *sp;
	struct dlio_ptz z;
	const uint8_t *src;

	(void)state;
	assert_int_equal(dlio_ptz_plan(&z, size, t, 3, 1), 0);
	while ((len = dlio_ptz_piece(&z, off, 65536, &src)) > 0) {
		if (src) {
			memcpy(file + off, src, (size_t)len);
		} else {
			memset(file + off, (int)(off & 0xff), (size_t)len);
			assert_int_equal(dlio_ptz_account(&z, off, file + off, len), 0);
		}
		off += len;
	}
	assert_int_equal(len, 0);
	assert_int_equal(off, size);
	assert_int_equal(dlio_ptz_parse_end(file + size - 4096, 4096, size, &cdo, &cdl, &cnt, err,
					    sizeof(err)),
			 0);
	assert_int_equal(cdo, z.cdir_off);
	assert_int_equal(cnt, z.nrec);
	n = dlio_ptz_parse_cdir(file + cdo, cdl, cdo, cnt, &sp, err, sizeof(err));
	assert_int_equal(n, z.nrec);
	for (i = 0; i < n; i++) {
		assert_int_equal(sp[i].off, z.rec[i].off);
		assert_int_equal(sp[i].data_len, z.rec[i].len);
		assert_int_equal(sp[i].crc, z.rec[i].crc);
		assert_int_equal(sp[i].trail, z.rec[i].desc);
		assert_int_equal(dlio_ptz_local_len(file + sp[i].off, sp[i].len),
				 z.rec[i].data - z.rec[i].off);
	}
	assert_string_equal(sp[4].name, "archive/data/0");
	free(sp);
	/* a damaged end record or directory is an error, not a guess */
	file[size - 22 - z.comment] ^= 1;
	assert_int_equal(dlio_ptz_parse_end(file + size - 4096, 4096, size, &cdo, &cdl, &cnt, err,
					    sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a torch.save file"));
	file[cdo] ^= 1;
	assert_int_equal(dlio_ptz_parse_cdir(file + cdo, cdl, cdo, cnt, &sp, err, sizeof(err)),
			 -EINVAL);
	/* a file smaller than the framing is not a zip */
	dlio_ptz_free(&z);
	assert_int_equal(dlio_ptz_plan(&z, 1000, (const struct dlio_ckpt_tensor[]){ { 1000,
									       DLIO_DT_INT8 } },
				       1, 1),
			 -ENOSPC);
	free(file);
}

/* An O_DIRECT writer fills aligned blocks across streams: the same bytes, the same CRCs. */
static void test_zip_fill_blocks(void **state)
{
	const struct dlio_ckpt_tensor t[] = { { 1 << 20, DLIO_DT_FP16 }, { 6, DLIO_DT_FP16 },
					      { 300000, DLIO_DT_FP32 } };
	int64_t size = (1 << 20) + 6 + 300000, off = 0, len, n, framing = 0;
	uint8_t *a = malloc((size_t)size), *b = malloc((size_t)size);
	struct dlio_ptz za, zb;
	const uint8_t *src;

	(void)state;
	assert_int_equal(dlio_ptz_plan(&za, size, t, 3, 7), 0);
	assert_int_equal(dlio_ptz_plan(&zb, size, t, 3, 7), 0);
	while ((len = dlio_ptz_piece(&za, off, 65536, &src)) > 0) {
		if (src) {
			memcpy(a + off, src, (size_t)len);
		} else {
			for (int64_t i = 0; i < len; i++)
				a[off + i] = (uint8_t)((off + i) * 7 >> 3);
			assert_int_equal(dlio_ptz_account(&za, off, a + off, len), 0);
		}
		off += len;
	}
	/* the payload is whatever the block holds where the framing is not */
	for (off = 0; off < size; off++)
		b[off] = (uint8_t)(off * 7 >> 3);
	for (off = 0; off < size; off += 4096) {
		len = size - off < 4096 ? size - off : 4096;
		n = dlio_ptz_fill(&zb, off, b + off, len);
		assert_true(n >= 0 && n <= len);
		framing += n;
	}
	assert_memory_equal(a, b, (size_t)size);
	/* what is not tensor data is framing */
	for (int64_t i = 0; i < zb.ntensor; i++)
		framing += zb.rec[zb.first_tensor + i].len;
	assert_int_equal(framing, size);
	for (int64_t i = 0; i < za.nrec; i++)
		assert_int_equal(za.rec[i].crc, zb.rec[i].crc);
	/* out of order is an error */
	assert_int_equal(dlio_ptz_fill(&zb, 0, b, 4096), -EINVAL);
	dlio_ptz_free(&za);
	dlio_ptz_free(&zb);
	free(a);
	free(b);
}

/* Past 4 GiB: zip64 extras, descriptors and end records that readers find. */
static void test_zip64_directory(void **state)
{
	const struct dlio_ckpt_tensor t[] = { { 3LL << 30, DLIO_DT_FP32 },
					      { 5LL << 30, DLIO_DT_FP32 },
					      { 1LL << 20, DLIO_DT_FP32 } };
	int64_t size = (8LL << 30) + (1 << 20), len, cdo, cdl, cnt, n, i;
	struct dlio_ptz_span *sp;
	struct dlio_ptz z;
	const uint8_t *src;
	uint8_t *tail;

	(void)state;
	assert_int_equal(dlio_ptz_plan(&z, size, t, 3, 1), 0);
	assert_true(z.zip64_end);
	for (i = 0; i < z.ntensor; i++) /* stand in for streaming 8 GiB */
		z.rec[z.first_tensor + i].crc_len = z.rec[z.first_tensor + i].len;
	assert_int_equal(z.rec[z.first_tensor + 1].desc, 24); /* 5 GiB */
	assert_int_equal(z.rec[z.first_tensor + 2].desc, 24); /* past 4 GiB */
	len = dlio_ptz_piece(&z, z.tail_off, 1 << 20, &src);
	assert_int_equal(len, size - z.tail_off);
	tail = malloc((size_t)len);
	memcpy(tail, src, (size_t)len);
	assert_int_equal(dlio_ptz_parse_end(tail + len - 4096, 4096, size, &cdo, &cdl, &cnt, err,
					    sizeof(err)),
			 0);
	assert_int_equal(cdo, z.cdir_off);
	assert_true(cdo > 0xffffffffLL);
	n = dlio_ptz_parse_cdir(tail + (cdo - z.tail_off), cdl, cdo, cnt, &sp, err, sizeof(err));
	assert_int_equal(n, z.nrec);
	for (i = 0; i < n; i++) {
		assert_int_equal(sp[i].off, z.rec[i].off);
		assert_int_equal(sp[i].data_len, z.rec[i].len);
		assert_int_equal(sp[i].trail, z.rec[i].desc);
	}
	free(sp);
	free(tail);
	dlio_ptz_free(&z);
}

/* Each folding CRC-32 this CPU runs is zlib's for every length and alignment, and chains;
 * dlio_crc32() is the fastest of them. */
static void test_crc32_matches_zlib(void **state)
{
	size_t n = 70000, len, off;
	uint8_t *b = malloc(n);
	uint32_t seed = 12345;
	int level;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	print_message("CRC-32 implementations on this CPU: 0..%d\n", dlio_crc32_level());
	for (level = 0; level <= dlio_crc32_level(); level++) {
		for (off = 0; off < 33; off++)
			for (len = 0; len + off <= n; len = len < 600 ? len + 1 : len * 3 + 7)
				assert_int_equal(dlio_crc32_at(level, 0, b + off, len),
						 dlio_crc32_soft(0, b + off, len));
		assert_int_equal(dlio_crc32_at(level, dlio_crc32_at(level, 0, b, 1000), b + 1000,
					       n - 1000),
				 dlio_crc32_soft(0, b, n));
		assert_int_equal(dlio_crc32_at(level, 0xdeadbeef, b + 3, n - 3),
				 dlio_crc32_soft(0xdeadbeef, b + 3, n - 3));
	}
	for (len = 0; len < 600; len += 37)
		assert_int_equal(dlio_crc32(0, b, len), dlio_crc32_soft(0, b, len));
	assert_int_equal(dlio_crc32(0, "123456789", 9), 0xcbf43926u);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts_file),
		cmocka_unit_test(test_zip_round_trip),
		cmocka_unit_test(test_zip_fill_blocks),
		cmocka_unit_test(test_crc32_matches_zlib),
		cmocka_unit_test(test_zip64_directory),
		cmocka_unit_test(test_workloads_md_totals),
		cmocka_unit_test(test_unet3d_only_rank0_model_tensor),
		cmocka_unit_test(test_megatron_legacy_lists),
		cmocka_unit_test(test_bert_tf_and_step_mode),
		cmocka_unit_test(test_zero0_and_s3),
	};

	return cmocka_run_group_tests_name("dlio_checkpoint", tests, NULL, NULL);
}
