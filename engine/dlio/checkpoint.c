#include "dlio/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dlio_ckpt_init(struct dlio_ckpt *c, const struct dlio_config *cfg, int64_t comm_size,
		   char *err, size_t errlen)
{
	const int subset = cfg->checkpoint.mode == DLIO_CKPT_MODE_SUBSET;
	int64_t heads = cfg->model.transformer.num_attention_heads;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = '\0';
	c->cfg = cfg;
	c->comm = comm_size;
	c->tp = cfg->model.parallelism.tensor;
	c->pp = cfg->model.parallelism.pipeline;
	c->zero = cfg->model.parallelism.zero_stage;
	if (comm_size <= 0 || c->tp <= 0 || c->pp <= 0 || heads <= 0) {
		snprintf(err, errlen, "%s: comm_size, tensor, pipeline and attention heads must be > 0",
			 cfg->file);
		ret = -EINVAL;
		goto out;
	}
	c->mp = c->tp * c->pp;
	c->dp = subset ? cfg->model.parallelism.data : comm_size / c->mp;
	if (c->dp <= 0) {
		snprintf(err, errlen, "%s: model.parallelism: data parallelism %lld (comm_size %lld, "
				      "tensor*pipeline %lld)",
			 cfg->file, (long long)c->dp, (long long)comm_size, (long long)c->mp);
		ret = -EINVAL;
		goto out;
	}
	c->L = cfg->model.num_layers;
	c->h = cfg->model.transformer.hidden_size;
	c->f = cfg->model.transformer.ffn_hidden_size;
	c->V = cfg->model.transformer.vocab_size;
	c->kv = c->h / heads * cfg->model.transformer.num_kv_heads;
	c->dt = dlio_dtype_bytes(cfg->model.model_datatype);
	c->ot = dlio_dtype_bytes(cfg->model.optimizer_datatype);
	c->legacy_layers = cfg->model.layer_parameters.n > 0;
	c->legacy_optim = cfg->model.optimization_groups.n > 0;
	c->model_tensor = strcmp(cfg->model.type, "transformer") && cfg->model.model_size_bytes > 0;
	if (c->L > 0) {
		int64_t emb = c->V * c->h;
		int64_t per = c->h + c->h * (c->h + 2 * c->kv) + c->h * c->h + c->h +
			      c->f * 2 * c->h + c->f * c->h;

		c->params = emb + per * c->L + c->h + emb;
	}
	if (cfg->framework == DLIO_FW_TENSORFLOW)
		c->mech = DLIO_MECH_TF_SAVE;
	else if (cfg->storage.storage_type == DLIO_ST_S3 && cfg->flavour == DLIO_FLAVOUR_HEAD)
		c->mech = DLIO_MECH_PT_S3_SAVE;
	else
		c->mech = DLIO_MECH_PT_SAVE;
out:
	return ret;
}

/* layers [*s, *e] of pipeline stage ppr; extend adds the embedding (0) to the first stage
 * and lm_head and final norm (L+1, L+2) to the last */
static void stage_range(const struct dlio_ckpt *c, int64_t ppr, int extend, int64_t *s,
			int64_t *e)
{
	int64_t q = c->L / c->pp, rem = c->L % c->pp;

	if (ppr < rem) {
		*s = ppr * (q + 1) + 1;
		*e = *s + q;
	} else {
		*s = rem * (q + 1) + (ppr - rem) * q + 1;
		*e = *s + q - 1;
	}
	if (extend) {
		if (ppr == c->pp - 1)
			*e = c->L + 2;
		if (ppr == 0)
			*s = 0;
	}
}

static int64_t layer_bytes(const struct dlio_ckpt *c, int64_t li)
{
	const struct dlio_config *cfg = c->cfg;
	int64_t sf, h = c->h, n, i;

	if (c->legacy_layers) {
		for (i = 0, n = 0; i < (int64_t)cfg->model.layer_parameters.n; i++)
			n += cfg->model.layer_parameters.v[i] / c->tp;
		return n; /* int8 */
	}
	sf = c->zero < 3 ? 1 : c->dp;
	if (li == 0 || li == c->L + 1)
		n = h * c->V / c->tp / sf;
	else if (li == c->L + 2)
		n = h / sf;
	else
		n = h / sf + h * (h + 2 * c->kv) / c->tp / sf + h * h / c->tp / sf + h / sf +
		    2 * h * c->f / c->tp / sf + h * c->f / c->tp / sf;
	return n * c->dt;
}

struct rank_layout {
	int writer;
	int model;
	int64_t layer_files; /* 0, 1 (one file with all layers) or per-layer count */
	int per_layer;
	int64_t s, e;
	int optim;
	int64_t dp, mp;
};

static void layout(const struct dlio_ckpt *c, int64_t r, struct rank_layout *l)
{
	int64_t ppr = (r / c->tp) % c->pp;

	memset(l, 0, sizeof(*l));
	l->dp = r / c->mp;
	l->mp = r % c->mp;
	/* ZeRO 0: only the first model-parallel group saves */
	l->writer = c->zero != 0 || r < c->mp;
	if (!l->writer)
		return;
	l->model = c->model_tensor;
	if (c->L > 0) {
		stage_range(c, ppr, !c->legacy_layers, &l->s, &l->e);
		if (c->zero == 0 || c->zero == 3) {
			l->layer_files = 1;
		} else if (l->dp == 0) {
			l->per_layer = c->pp > 1;
			l->layer_files = l->per_layer ? l->e - l->s + 1 : 1;
		}
		if (l->e < l->s)
			l->layer_files = 0;
	}
	if (c->legacy_optim)
		l->optim = 1;
	else if (c->L > 0)
		l->optim = (c->zero > 0 ? c->params / (c->dp * c->mp) : c->params / c->mp) > 0;
}

int64_t dlio_ckpt_rank_nfiles(const struct dlio_ckpt *c, int64_t rank)
{
	struct rank_layout l;

	layout(c, rank, &l);
	return l.model + l.layer_files + l.optim;
}

int dlio_ckpt_rank_file(const struct dlio_ckpt *c, int64_t rank, int64_t i,
			struct dlio_ckpt_file *f)
{
	const struct dlio_config *cfg = c->cfg;
	struct rank_layout l;
	int64_t li, n;
	size_t g;

	layout(c, rank, &l);
	memset(f, 0, sizeof(*f));
	if (i < 0 || rank < 0)
		return -ERANGE;
	if (i < l.model) {
		f->kind = DLIO_CKPT_MODEL;
		snprintf(f->name, sizeof(f->name), "model_states-%lld", (long long)rank);
		f->bytes = cfg->model.model_size_bytes;
		return 0;
	}
	i -= l.model;
	if (i < l.layer_files) {
		f->computed = !c->legacy_layers;
		if (l.per_layer) {
			f->kind = DLIO_CKPT_LAYER;
			f->layer = l.s + i;
			f->first_layer = f->last_layer = f->layer;
			f->bytes = layer_bytes(c, f->layer);
			snprintf(f->name, sizeof(f->name), "layer_%lld-model_%lld_model_states",
				 (long long)f->layer, (long long)l.mp);
			return 0;
		}
		f->kind = DLIO_CKPT_LAYERS;
		f->first_layer = l.s;
		f->last_layer = l.e;
		for (li = l.s; li <= l.e; li++)
			f->bytes += layer_bytes(c, li);
		if (c->zero == 0 || c->zero == 3)
			snprintf(f->name, sizeof(f->name), "zero_pp_rank_%lld_mp_rank_%lld_model_states",
				 (long long)l.dp, (long long)l.mp);
		else
			snprintf(f->name, sizeof(f->name), "model_%lld_model_states", (long long)l.mp);
		return 0;
	}
	i -= l.layer_files;
	if (i < l.optim) {
		f->kind = DLIO_CKPT_OPTIMIZER;
		snprintf(f->name, sizeof(f->name), "zero_pp_rank_%lld_mp_rank_%lld_optim_states",
			 (long long)l.dp, (long long)l.mp);
		if (c->legacy_optim) {
			/* int8 tensors a and b of each group, plus their concatenation */
			for (g = 0, n = 0; g < cfg->model.optimization_groups.n; g++)
				n += cfg->model.optimization_groups.v[g];
			f->bytes = 3 * n;
		} else {
			n = c->zero > 0 ? c->params / (c->dp * c->mp) : c->params / c->mp;
			f->bytes = 3 * (n + 5 * c->h) * c->ot;
			f->computed = 1;
		}
		return 0;
	}
	return -ERANGE;
}

static int64_t put_tensor(struct dlio_ckpt_tensor *out, int64_t max, int64_t n, int64_t bytes,
			  enum dlio_dtype dt)
{
	if (n < max) {
		out[n].bytes = bytes;
		out[n].dtype = dt;
	}
	return n + 1;
}

int64_t dlio_ckpt_file_tensors(const struct dlio_ckpt *c, const struct dlio_ckpt_file *f,
			       struct dlio_ckpt_tensor *out, int64_t max)
{
	const struct dlio_config *cfg = c->cfg;
	enum dlio_dtype mdt = cfg->model.model_datatype, odt = cfg->model.optimizer_datatype;
	int64_t n = 0, h = c->h, sf = c->zero < 3 ? 1 : c->dp, li, N, sum;
	size_t i;

	switch (f->kind) {
	case DLIO_CKPT_MODEL:
		return put_tensor(out, max, n, f->bytes, DLIO_DT_INT8);
	case DLIO_CKPT_LAYER:
	case DLIO_CKPT_LAYERS:
		for (li = f->first_layer; li <= f->last_layer; li++) {
			if (c->legacy_layers) {
				for (i = 0; i < cfg->model.layer_parameters.n; i++)
					n = put_tensor(out, max, n,
						       cfg->model.layer_parameters.v[i] / c->tp,
						       DLIO_DT_INT8);
			} else if (li == 0 || li == c->L + 1) {
				n = put_tensor(out, max, n, h * c->V / c->tp / sf * c->dt, mdt);
			} else if (li == c->L + 2) {
				n = put_tensor(out, max, n, h / sf * c->dt, mdt);
			} else {
				const int64_t e[6] = { h / sf,
						       h * (h + 2 * c->kv) / c->tp / sf,
						       h * h / c->tp / sf,
						       h / sf,
						       2 * h * c->f / c->tp / sf,
						       h * c->f / c->tp / sf };

				for (int k = 0; k < 6; k++)
					n = put_tensor(out, max, n, e[k] * c->dt, mdt);
			}
		}
		return n;
	case DLIO_CKPT_OPTIMIZER:
		if (c->legacy_optim) {
			/* int8 tensors a and b of each group, then their concatenation */
			for (i = 0, sum = 0; i < cfg->model.optimization_groups.n; i++) {
				int64_t g = cfg->model.optimization_groups.v[i];

				n = put_tensor(out, max, n, g, DLIO_DT_INT8);
				n = put_tensor(out, max, n, g, DLIO_DT_INT8);
				sum += g;
			}
			return put_tensor(out, max, n, sum, DLIO_DT_INT8);
		}
		N = c->zero > 0 ? c->params / (c->dp * c->mp) : c->params / c->mp;
		for (int k = 0; k < 3; k++) {
			n = put_tensor(out, max, n, N * c->ot, odt);
			n = put_tensor(out, max, n, 5 * h * c->ot, odt);
		}
		return n;
	}
	return 0;
}

int64_t dlio_ckpt_rank_bytes(const struct dlio_ckpt *c, int64_t rank)
{
	struct dlio_ckpt_file f;
	int64_t i, n = dlio_ckpt_rank_nfiles(c, rank), total = 0;

	for (i = 0; i < n; i++)
		if (!dlio_ckpt_rank_file(c, rank, i, &f))
			total += f.bytes;
	return total;
}

int64_t dlio_ckpt_total_bytes(const struct dlio_ckpt *c)
{
	int64_t r, total = 0;

	for (r = 0; r < c->comm; r++)
		total += dlio_ckpt_rank_bytes(c, r);
	return total;
}

double dlio_ckpt_reported_gib(const struct dlio_ckpt *c)
{
	struct dlio_ckpt_file f;
	int64_t r, i, n, total = 0;

	if (strcmp(c->cfg->model.type, "transformer"))
		return (double)c->cfg->model.model_size_bytes / 1073741824.0;
	for (r = 0; r < c->comm; r++) {
		n = dlio_ckpt_rank_nfiles(c, r);
		for (i = 0; i < n; i++)
			if (!dlio_ckpt_rank_file(c, r, i, &f) && f.computed)
				total += f.bytes;
	}
	return (double)total / 1073741824.0;
}

int dlio_ckpt_folder(const struct dlio_ckpt *c, int64_t epoch, int64_t step, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, "%s/global_epoch%lld_step%lld", c->cfg->checkpoint.checkpoint_folder,
			 (long long)epoch, (long long)step);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

int dlio_ckpt_parts(const struct dlio_ckpt *c)
{
	return c->mech == DLIO_MECH_TF_SAVE ? 2 : 1;
}

int dlio_ckpt_file_path(const struct dlio_ckpt *c, int64_t epoch, int64_t step,
			const struct dlio_ckpt_file *f, int part, char *buf, size_t len)
{
	static const char *const tf_parts[] = {".pb-1.index", ".pb-1.data-00000-of-00001"};
	const char *suffix;
	int n;

	if (part < 0 || part >= dlio_ckpt_parts(c))
		return -ERANGE;
	switch (c->mech) {
	case DLIO_MECH_TF_SAVE:
		suffix = tf_parts[part];
		break;
	case DLIO_MECH_PT_S3_SAVE:
		suffix = ".pts3";
		break;
	default:
		suffix = ".pt";
		break;
	}
	n = dlio_ckpt_folder(c, epoch, step, buf, len);
	if (n < 0)
		return n;
	n = snprintf(buf + n, len - (size_t)n, "/%s%s", f->name, suffix) + n;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

int dlio_ckpt_epoch_due(const struct dlio_ckpt *c, int64_t epoch)
{
	const struct dlio_config *cfg = c->cfg;
	int64_t after = cfg->checkpoint.checkpoint_after_epoch;
	int64_t every = cfg->checkpoint.epochs_between_checkpoints;

	if (!cfg->workflow.train || !cfg->workflow.checkpoint ||
	    cfg->checkpoint.steps_between_checkpoints >= 0 || every <= 0)
		return 0;
	return epoch >= after && (epoch - after) % every == 0;
}

int dlio_ckpt_step_due(const struct dlio_ckpt *c, int64_t step)
{
	const struct dlio_config *cfg = c->cfg;
	int64_t k = cfg->checkpoint.steps_between_checkpoints;

	if (!cfg->workflow.train || !cfg->workflow.checkpoint || k <= 0)
		return 0;
	return step > 0 && step % k == 0;
}
