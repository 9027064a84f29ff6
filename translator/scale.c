/*
 * --scale-down: the Hydra overrides that shrink a workload to a run of a second or two while
 * keeping its shape — the same phases, format, loader, sampler, checkpoint mechanism and
 * layout kind — so that a job file can be tried on a real backend before the real run.
 * Only values above a bound are touched; keys the user overrode are left as given.
 */
#include "jobfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* the bounds; README's dlio2fio section lists them */
#define S_FILES 6
#define S_FILES_EVAL 2
#define S_SAMPLES 2
#define S_RECORD 4096
#define S_BATCH 2
#define S_EPOCHS 2
#define S_STEPS 3
#define S_STEPS_CKPT 3
#define S_TIME 0.001
#define S_CKPT_WRITE 2
#define S_CKPT_READ 1
#define S_CKPT_PAUSE 0.01
#define S_MODEL_BYTES 16384
#define S_LAYERS 4
#define S_HIDDEN 64
#define S_HEADS 4
#define S_VOCAB 512
#define S_LIST_ELEM 4096

struct sctx {
	struct d2f_scale *s;
	const char *const *user;
	size_t nuser;
	int full;
};

/* did one of the user's overrides name this key (or a key under it, or a section above it)? */
static int user_set(const struct sctx *c, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < c->nuser; i++) {
		const char *p = c->user[i];
		size_t pl;

		p += strspn(p, "+~");
		if (strncmp(p, "workload.", 9))
			continue;
		p += 9;
		pl = strcspn(p, "=");
		if (!strncmp(p, key, pl < kl ? pl : kl) &&
		    ((pl == kl) || (pl < kl && key[pl] == '.') || (pl > kl && p[kl] == '.')))
			return 1;
	}
	return 0;
}

static void add(struct sctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct sctx *c, const char *key, const char *fmt, ...)
{
	char val[D2F_SCALE_LEN];
	va_list ap;
	int n;

	if (user_set(c, key))
		return;
	if (c->s->n >= D2F_SCALE_MAX) {
		c->full = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	n = snprintf(c->s->v[c->s->n], D2F_SCALE_LEN, "++workload.%s=%s", key, val);
	if (n < 0 || n >= D2F_SCALE_LEN) {
		c->full = 1;
		return;
	}
	c->s->n++;
}

static void cap_int(struct sctx *c, const char *key, int64_t v, int64_t max)
{
	if (v > max)
		add(c, key, "%lld", (long long)max);
}

/* a sleep of at most S_TIME on average, the distribution kept, its parameters scaled */
static void cap_time(struct sctx *c, const char *key, const struct dlio_time *t)
{
	char sub[128];
	double mean, f;

	switch (t->kind) {
	case DLIO_TIME_CONST:
		mean = t->mean;
		break;
	case DLIO_TIME_NORMAL:
		mean = t->mean > t->stdev ? t->mean : t->stdev;
		break;
	case DLIO_TIME_UNIFORM:
		mean = t->max > -t->min ? t->max : -t->min;
		break;
	case DLIO_TIME_GAMMA:
		mean = t->shape * t->scale;
		break;
	case DLIO_TIME_EXPONENTIAL:
		mean = t->scale;
		break;
	case DLIO_TIME_POISSON:
		mean = t->lam;
		break;
	default:
		return;
	}
	if (mean < 0)
		mean = -mean;
	if (mean <= S_TIME)
		return;
	f = S_TIME / mean;
	if (user_set(c, key))
		return;
#define SUB(name, v)                                                                              \
	do {                                                                                      \
		snprintf(sub, sizeof(sub), "%s.%s", key, name);                                   \
		add(c, sub, "%.6g", v);                                                           \
	} while (0)
	switch (t->kind) {
	case DLIO_TIME_CONST:
		add(c, key, "%.6g", t->mean * f);
		break;
	case DLIO_TIME_NORMAL:
		SUB("mean", t->mean * f);
		SUB("stdev", t->stdev * f);
		break;
	case DLIO_TIME_UNIFORM:
		SUB("min", t->min * f);
		SUB("max", t->max * f);
		break;
	case DLIO_TIME_GAMMA:
	case DLIO_TIME_EXPONENTIAL:
		SUB("scale", t->scale * f);
		break;
	default: /* poisson draws whole seconds: mostly 0 from here on */
		SUB("lam", t->lam * f);
		break;
	}
#undef SUB
}

/* each element of a parameter list at most S_LIST_ELEM, the proportions kept */
static void cap_list(struct sctx *c, const char *key, const struct dlio_i64_list *l)
{
	char val[D2F_SCALE_LEN];
	int64_t mx = 0;
	size_t i, off = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i] > mx)
			mx = l->v[i];
	if (mx <= S_LIST_ELEM)
		return;
	val[off++] = '[';
	for (i = 0; i < l->n && off < sizeof(val) - 24; i++) {
		int64_t v = (int64_t)((double)l->v[i] * S_LIST_ELEM / (double)mx + 0.5);

		off += (size_t)snprintf(val + off, sizeof(val) - off, "%s%lld", i ? "," : "",
					(long long)(v > 0 ? v : 1));
	}
	if (i < l->n) {
		c->full = 1;
		return;
	}
	snprintf(val + off, sizeof(val) - off, "]");
	add(c, key, "%s", val);
}

/* a * b, INT64_MAX past it (the values are the user's: anything goes) */
static int64_t mul(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t smallest_factor(int64_t v)
{
	int64_t p;

	for (p = 2; p * p <= v; p++)
		if (v % p == 0)
			return p;
	return v;
}

int d2f_scale_down(const struct dlio_config *cfg, int64_t ranks, const char *const *user,
		   size_t nuser, struct d2f_scale *s, char *err, size_t errlen)
{
	struct sctx c = {.s = s, .user = user, .nuser = nuser};
	const int data = cfg->workflow.generate_data || cfg->workflow.train;
	const int ckpt = cfg->workflow.checkpoint;
	int64_t epochs = cfg->train.epochs, steps = 0;

	memset(s, 0, sizeof(*s));
	if (data) {
		double rl = cfg->dataset.record_length_bytes;
		int64_t files = cfg->dataset.num_files_train, spf = cfg->dataset.num_samples_per_file;
		int64_t batch = cfg->reader.batch_size, be, want, nf;

		if (batch > S_BATCH && !user_set(&c, "reader.batch_size"))
			batch = S_BATCH;
		/* samples for three steps on every rank (DLIO's samples/s needs three): files
		 * first, then samples per file when the files are few */
		want = mul(mul(3, batch), ranks);
		if (spf > S_SAMPLES && !user_set(&c, "dataset.num_samples_per_file"))
			spf = S_SAMPLES;
		nf = spf > 0 ? want / spf + (want % spf != 0) : files;
		if (nf < S_FILES)
			nf = S_FILES;
		if (files > nf && !user_set(&c, "dataset.num_files_train"))
			files = nf;
		if (files > 0 && mul(files, spf) < want && spf < cfg->dataset.num_samples_per_file) {
			spf = want / files + (want % files != 0);
			if (spf > cfg->dataset.num_samples_per_file)
				spf = cfg->dataset.num_samples_per_file;
		}
		cap_int(&c, "dataset.num_files_train", cfg->dataset.num_files_train, files);
		cap_int(&c, "dataset.num_samples_per_file", cfg->dataset.num_samples_per_file, spf);
		/* and one evaluation step on every rank */
		be = cfg->reader.batch_size_eval;
		if (be > S_BATCH && !user_set(&c, "reader.batch_size_eval"))
			be = S_BATCH;
		nf = spf > 0 ? mul(be, ranks) / spf + (mul(be, ranks) % spf != 0) : 0;
		cap_int(&c, "dataset.num_files_eval", cfg->dataset.num_files_eval,
			nf > S_FILES_EVAL ? nf : S_FILES_EVAL);
		steps = batch > 0 ? mul(files, spf) / mul(batch, ranks) : 0;
		if (rl > S_RECORD && !user_set(&c, "dataset.record_length_bytes")) {
			add(&c, "dataset.record_length_bytes", "%d", S_RECORD);
			if (cfg->dataset.record_length_bytes_stdev > 0)
				add(&c, "dataset.record_length_bytes_stdev", "%.0f",
				    cfg->dataset.record_length_bytes_stdev * S_RECORD / rl + 0.5);
		}
		cap_int(&c, "dataset.record_length_bytes_resize",
			cfg->dataset.record_length_bytes_resize, S_RECORD);
		cap_int(&c, "reader.batch_size", cfg->reader.batch_size, S_BATCH);
		cap_int(&c, "reader.batch_size_eval", cfg->reader.batch_size_eval, S_BATCH);
		cap_time(&c, "reader.preprocess_time", &cfg->reader.preprocess_time);
	}
	if (cfg->workflow.train) {
		if (epochs > S_EPOCHS && !user_set(&c, "train.epochs")) {
			add(&c, "train.epochs", "%d", S_EPOCHS);
			epochs = S_EPOCHS;
		}
		if (cfg->train.total_training_steps > 0 && steps > 0)
			cap_int(&c, "train.total_training_steps", cfg->train.total_training_steps,
				steps < S_STEPS ? steps : S_STEPS);
		cap_time(&c, "train.computation_time", &cfg->train.computation_time);
		cap_time(&c, "evaluation.eval_time", &cfg->evaluation.eval_time);
		/* evaluations and checkpoints still fall inside the fewer epochs */
		cap_int(&c, "evaluation.eval_after_epoch", cfg->evaluation.eval_after_epoch, epochs);
		cap_int(&c, "evaluation.epochs_between_evals", cfg->evaluation.epochs_between_evals,
			epochs);
		if (ckpt) {
			cap_int(&c, "checkpoint.checkpoint_after_epoch",
				cfg->checkpoint.checkpoint_after_epoch, epochs);
			cap_int(&c, "checkpoint.epochs_between_checkpoints",
				cfg->checkpoint.epochs_between_checkpoints, epochs);
			/* a step-mode checkpoint ends a statistics block, whose samples/s
			 * DLIO computes from its steps minus 2: blocks of 3 steps */
			cap_int(&c, "checkpoint.steps_between_checkpoints",
				cfg->checkpoint.steps_between_checkpoints, S_STEPS_CKPT);
		}
	}
	if (ckpt) {
		const int64_t L = cfg->model.num_layers;
		int64_t tp = cfg->model.parallelism.tensor, pp = cfg->model.parallelism.pipeline;
		int64_t h = cfg->model.transformer.hidden_size;
		int64_t heads = cfg->model.transformer.num_attention_heads;
		double t = cfg->checkpoint.time_between_checkpoints;

		if (!cfg->workflow.train) {
			cap_int(&c, "checkpoint.num_checkpoints_write",
				cfg->checkpoint.num_checkpoints_write, S_CKPT_WRITE);
			cap_int(&c, "checkpoint.num_checkpoints_read",
				cfg->checkpoint.num_checkpoints_read, S_CKPT_READ);
			if (t > S_CKPT_PAUSE || t < -S_CKPT_PAUSE)
				add(&c, "checkpoint.time_between_checkpoints", "%g",
				    t < 0 ? -S_CKPT_PAUSE : S_CKPT_PAUSE);
		}
		cap_int(&c, "model.model_size_bytes", cfg->model.model_size_bytes, S_MODEL_BYTES);
		cap_list(&c, "model.layer_parameters", &cfg->model.layer_parameters);
		cap_list(&c, "model.optimization_groups", &cfg->model.optimization_groups);
		/* fewer ranks: tensor x pipeline must still divide them (the larger one shrinks
		 * first, so both kinds of parallelism stay when they can) */
		if (cfg->checkpoint.mode != DLIO_CKPT_MODE_SUBSET && tp > 0 && pp > 0 &&
		    ranks % mul(tp, pp)) {
			while (ranks % mul(tp, pp)) {
				if (tp >= pp)
					tp /= smallest_factor(tp);
				else
					pp /= smallest_factor(pp);
			}
			if (tp != cfg->model.parallelism.tensor)
				add(&c, "model.parallelism.tensor", "%lld", (long long)tp);
			if (pp != cfg->model.parallelism.pipeline)
				add(&c, "model.parallelism.pipeline", "%lld", (long long)pp);
		}
		if (L > 0) {
			int64_t l2 = L > S_LAYERS ? S_LAYERS : L;

			if (l2 < pp)
				l2 = pp < L ? pp : L;
			cap_int(&c, "model.num_layers", L, l2);
		}
		if (L > 0 && h > S_HIDDEN && !user_set(&c, "model.transformer.hidden_size")) {
			int64_t kv = cfg->model.transformer.num_kv_heads;
			int64_t f = cfg->model.transformer.ffn_hidden_size;
			int64_t h2 = heads > S_HEADS ? S_HEADS : heads;

			add(&c, "model.transformer.hidden_size", "%d", S_HIDDEN);
			/* the attention heads still divide the hidden size, and grouped-query
			 * attention keeps its kind */
			while (h2 > 1 && S_HIDDEN % h2)
				h2--;
			if (h2 != heads)
				add(&c, "model.transformer.num_attention_heads", "%lld",
				    (long long)h2);
			if (kv > 0 && heads > 0) {
				int64_t kv2 = kv * h2 / heads;

				if (kv2 < 1)
					kv2 = 1;
				if (kv2 != kv)
					add(&c, "model.transformer.num_kv_heads", "%lld",
					    (long long)kv2);
			}
			if (f > 0) {
				int64_t f2 = (int64_t)((double)f * S_HIDDEN / (double)h + 0.5);

				if (f2 < f)
					add(&c, "model.transformer.ffn_hidden_size", "%lld",
					    (long long)(f2 > 0 ? f2 : 1));
			}
		}
		if (L > 0)
			cap_int(&c, "model.transformer.vocab_size", cfg->model.transformer.vocab_size,
				S_VOCAB);
	}
	if (c.full) {
		snprintf(err, errlen, "--scale-down: more than %d overrides", D2F_SCALE_MAX);
		return -E2BIG;
	}
	return 0;
}
