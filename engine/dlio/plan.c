#include "dlio/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlio/rng.h"

static int epoch_seed(const struct dlio_plan *p, int64_t epoch, struct dlio_rng *r, char *err,
		      size_t errlen)
{
	const struct dlio_config *cfg = p->g->cfg;
	int64_t s = cfg->train.seed_change_epoch ? cfg->train.seed + epoch : cfg->train.seed;

	if (dlio_rng_seed(r, s)) {
		snprintf(err, errlen, "%s: train.seed: seed %lld for epoch %lld is outside numpy's "
				      "0..2^32-1",
			 cfg->file, (long long)s, (long long)epoch);
		return -EINVAL;
	}
	return 0;
}

/* reconfigure(epoch): shuffle train then eval in place, one stream */
static int shuffle_files(struct dlio_plan *p, int64_t epoch, char *err, size_t errlen)
{
	struct dlio_rng r;
	uint32_t *train = p->split == DLIO_SPLIT_TRAIN ? p->order : p->order_other;
	uint32_t *eval = p->split == DLIO_SPLIT_TRAIN ? p->order_other : p->order;
	int64_t ntrain = p->g->nfiles[DLIO_SPLIT_TRAIN], neval = p->g->nfiles[DLIO_SPLIT_EVAL];
	int ret;

	ret = epoch_seed(p, epoch, &r, err, errlen);
	if (ret)
		return ret;
	dlio_rng_shuffle_u32(&r, train, (size_t)ntrain);
	dlio_rng_shuffle_u32(&r, eval, (size_t)neval);
	return 0;
}

static int make_labels(struct dlio_plan *p, char *err, size_t errlen)
{
	struct dlio_rng r;
	int64_t i;
	int ret;

	if (!p->labels)
		return 0;
	for (i = 0; i < p->count; i++)
		p->labels[i] = (uint64_t)(p->start + i);
	ret = epoch_seed(p, p->epoch, &r, err, errlen);
	if (ret)
		return ret;
	dlio_rng_shuffle_u64(&r, p->labels, (size_t)p->count);
	return 0;
}

void dlio_plan_free(struct dlio_plan *p)
{
	if (!p)
		return;
	free(p->order);
	free(p->order_other);
	free(p->labels);
	p->order = p->order_other = NULL;
	p->labels = NULL;
}

static uint32_t *identity(int64_t n)
{
	uint32_t *v = malloc((size_t)(n ? n : 1) * sizeof(*v));
	int64_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = (uint32_t)i;
	return v;
}

int dlio_plan_init(struct dlio_plan *p, const struct dlio_geom *g, enum dlio_split split,
		   int64_t rank, char *err, size_t errlen)
{
	const struct dlio_config *cfg = g->cfg;
	enum dlio_sampler sampler = dlio_config_sampler(cfg);
	int ret = 0;

	memset(p, 0, sizeof(*p));
	if (err && errlen)
		err[0] = '\0';
	p->g = g;
	p->split = split;
	p->rank = rank;
	p->comm = g->comm_size;
	p->epoch = 1;
	if (rank < 0 || rank >= g->comm_size) {
		snprintf(err, errlen, "rank %lld outside 0..%lld", (long long)rank,
			 (long long)g->comm_size - 1);
		ret = -EINVAL;
		goto out;
	}
	p->nfiles = g->nfiles[split];
	p->nspf = g->nspf;
	if (p->nfiles > DLIO_PLAN_MAX_FILES || p->nfiles > INT64_MAX / p->nspf) {
		snprintf(err, errlen, "%s: too many files to plan (%lld)", cfg->file,
			 (long long)p->nfiles);
		ret = -E2BIG;
		goto out;
	}
	p->total = p->nfiles * p->nspf;
	p->spp = (p->total + p->comm - 1) / p->comm;
	p->start = rank * p->spp;
	p->count = p->total - p->start;
	if (p->count > p->spp)
		p->count = p->spp;
	if (p->count < 0)
		p->count = 0;
	p->batch = split == DLIO_SPLIT_TRAIN ? cfg->reader.batch_size : cfg->reader.batch_size_eval;
	p->workers = cfg->reader.read_threads > 0 ? cfg->reader.read_threads : 1;
	p->steps = split == DLIO_SPLIT_TRAIN ? g->steps : g->eval_steps;

	if (cfg->dataset.format == DLIO_FMT_SYNTHETIC ||
	    cfg->reader.data_loader == DLIO_LOADER_SYNTHETIC) {
		p->kind = DLIO_PLAN_NO_IO;
		goto out;
	}
	if (cfg->reader.data_loader == DLIO_LOADER_NATIVE_DALI) {
		snprintf(err, errlen, "%s: reader.data_loader: native_dali is not planned (DALI's "
				      "own readers decide the order)",
			 cfg->file);
		ret = -ENOTSUP;
		goto out;
	}
	if (cfg->reader.data_loader == DLIO_LOADER_TENSORFLOW &&
	    cfg->dataset.format == DLIO_FMT_TFRECORD) {
		p->kind = DLIO_PLAN_TFRECORD;
	} else if (sampler == DLIO_SAMPLER_INDEX) {
		p->kind = DLIO_PLAN_INDEX;
		p->main_process = cfg->reader.read_threads == 0;
	} else if (sampler == DLIO_SAMPLER_ITERATIVE) {
		p->kind = DLIO_PLAN_ITERATIVE;
		p->spt = p->spp / p->workers;
		if (p->spt == 0 && p->count > 0) {
			snprintf(err, errlen,
				 "%s: reader.read_threads: %lld threads for %lld samples per rank: "
				 "DLIO divides by zero",
				 cfg->file, (long long)p->workers, (long long)p->spp);
			ret = -EINVAL;
			goto out;
		}
	} else {
		snprintf(err, errlen, "%s: reader.data_loader: no sampler for loader %s", cfg->file,
			 dlio_loader_name(cfg->reader.data_loader));
		ret = -EINVAL;
		goto out;
	}
	if (p->kind != DLIO_PLAN_INDEX && dlio_config_file_shuffle_on(cfg)) {
		enum dlio_split other = split == DLIO_SPLIT_TRAIN ? DLIO_SPLIT_EVAL : DLIO_SPLIT_TRAIN;

		p->nother = g->nfiles[other];
		p->order = identity(p->nfiles);
		p->order_other = identity(p->nother);
		if (!p->order || !p->order_other) {
			ret = -ENOMEM;
			goto out;
		}
		ret = shuffle_files(p, 1, err, errlen);
		if (ret)
			goto out;
	}
	if (p->kind == DLIO_PLAN_ITERATIVE && cfg->reader.sample_shuffle != DLIO_SHUFFLE_OFF) {
		p->in_file_from_label = cfg->flavour == DLIO_FLAVOUR_V20;
		if (p->count > DLIO_PLAN_MAX_LABELS) {
			if (p->in_file_from_label && p->nspf > 1) {
				snprintf(err, errlen,
					 "%s: %lld samples per rank: too many to shuffle (max %lld)",
					 cfg->file, (long long)p->count,
					 (long long)DLIO_PLAN_MAX_LABELS);
				ret = -E2BIG;
				goto out;
			}
			/* labels only name samples here; not worth the memory */
		} else {
			p->labels = malloc((size_t)(p->count ? p->count : 1) * sizeof(*p->labels));
			if (!p->labels) {
				ret = -ENOMEM;
				goto out;
			}
			ret = make_labels(p, err, errlen);
			if (ret)
				goto out;
		}
	} else if (p->kind == DLIO_PLAN_ITERATIVE && cfg->flavour == DLIO_FLAVOUR_V20) {
		p->in_file_from_label = 1;
	}
out:
	if (ret)
		dlio_plan_free(p);
	return ret;
}

int dlio_plan_set_epoch(struct dlio_plan *p, int64_t epoch, char *err, size_t errlen)
{
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (epoch < p->epoch) {
		snprintf(err, errlen, "epoch %lld is before the plan's epoch %lld (shuffles "
				      "accumulate: make a new plan)",
			 (long long)epoch, (long long)p->epoch);
		return -EINVAL;
	}
	/* the tf.data tfrecord pipeline keeps the epoch-1 order */
	while (p->epoch < epoch) {
		p->epoch++;
		if (p->order && p->kind == DLIO_PLAN_ITERATIVE) {
			ret = shuffle_files(p, p->epoch, err, errlen);
			if (ret)
				return ret;
		}
	}
	return make_labels(p, err, errlen);
}

int64_t dlio_plan_file_at(const struct dlio_plan *p, int64_t i)
{
	return p->order ? (int64_t)p->order[i] : i;
}

static int64_t iter_thread_samples(const struct dlio_plan *p, int64_t t)
{
	int64_t nblocks, k, n = 0;

	if (!p->spt)
		return 0;
	nblocks = (p->count + p->spt - 1) / p->spt;
	for (k = t; k < nblocks; k += p->workers) {
		int64_t end = (k + 1) * p->spt < p->count ? (k + 1) * p->spt : p->count;

		n += end - k * p->spt;
	}
	return n;
}

int64_t dlio_plan_worker_batches(const struct dlio_plan *p, int64_t w)
{
	int64_t nb;

	if (w < 0 || w >= p->workers)
		return 0;
	switch (p->kind) {
	case DLIO_PLAN_INDEX:
		nb = p->count / p->batch;
		return w < nb ? (nb - w + p->workers - 1) / p->workers : 0;
	case DLIO_PLAN_ITERATIVE:
		return (iter_thread_samples(p, w) + p->batch - 1) / p->batch;
	default:
		return 0;
	}
}

int dlio_plan_step_source(const struct dlio_plan *p, int64_t step, int64_t *worker,
			  int64_t *batch)
{
	int64_t counts[256], minc = INT64_MAX, t, round, rem;
	int64_t T = p->workers;

	if (step < 0)
		return -ERANGE;
	if (p->kind == DLIO_PLAN_INDEX) {
		if (step >= p->count / p->batch)
			return -ERANGE;
		*worker = step % T;
		*batch = step / T;
		return 0;
	}
	if (p->kind != DLIO_PLAN_ITERATIVE || T > 256)
		return -ENOTSUP;
	for (t = 0; t < T; t++) {
		counts[t] = dlio_plan_worker_batches(p, t);
		if (counts[t] < minc)
			minc = counts[t];
	}
	if (step < minc * T) {
		*worker = step % T;
		*batch = step / T;
		return 0;
	}
	/* tf.data interleave: round robin, skipping threads that have run dry */
	rem = step - minc * T;
	for (round = minc;; round++) {
		int64_t active = 0;

		for (t = 0; t < T; t++)
			active += counts[t] > round;
		if (!active)
			return -ERANGE;
		if (rem < active) {
			for (t = 0; t < T; t++) {
				if (counts[t] > round && rem-- == 0) {
					*worker = t;
					*batch = round;
					return 0;
				}
			}
		}
		rem -= active;
	}
}

int64_t dlio_plan_prefetch_batches(const struct dlio_plan *p)
{
	const struct dlio_config *cfg = p->g->cfg;
	int64_t pf = cfg->reader.prefetch_size;

	if (p->kind == DLIO_PLAN_INDEX) {
		if (p->main_process)
			return 0;
		/* torch: prefetch_factor = ceil(prefetch_size / workers), 0 becomes 2 */
		pf = pf ? (pf + p->workers - 1) / p->workers : 2;
		return pf * p->workers;
	}
	return pf;
}

void dlio_plan_iter_init(struct dlio_plan_iter *it, const struct dlio_plan *p, int64_t worker)
{
	memset(it, 0, sizeof(*it));
	it->p = p;
	it->worker = worker;
	it->k = worker;
}

int dlio_plan_iter_next(struct dlio_plan_iter *it, struct dlio_sample *s)
{
	const struct dlio_plan *p = it->p;
	int64_t pos, label, fpr;

	if (it->worker < 0 || it->worker >= p->workers)
		return 0;
	if (p->kind == DLIO_PLAN_INDEX) {
		if (it->k >= p->count / p->batch)
			return 0;
		label = p->start + it->k * p->batch + it->j;
		s->label = label;
		s->file = label / p->nspf;
		s->in_file = label % p->nspf;
		s->worker = it->worker;
		s->batch = it->k / p->workers;
		s->pos = it->j;
		if (++it->j == p->batch) {
			it->j = 0;
			it->k += p->workers;
		}
		it->out++;
		return 1;
	}
	if (p->kind != DLIO_PLAN_ITERATIVE || !p->spt)
		return 0;
	pos = it->k * p->spt + it->j;
	if (pos >= p->count)
		return 0;
	label = p->labels ? (int64_t)p->labels[pos] : p->start + pos;
	if (pos == 0) {
		/* DLIO offsets only a rank's first sample: file_list[rank * fpr] */
		fpr = (p->nfiles / p->comm) % p->nfiles;
		s->file = dlio_plan_file_at(p, p->rank * fpr);
	} else {
		s->file = dlio_plan_file_at(p, (pos / p->nspf) % p->nfiles);
	}
	s->label = label;
	s->in_file = p->in_file_from_label ? label % p->nspf : pos % p->nspf;
	s->worker = it->worker;
	s->batch = it->out / p->batch;
	s->pos = it->out % p->batch;
	if (++it->j == p->spt) {
		it->j = 0;
		it->k += p->workers;
	}
	it->out++;
	return 1;
}

int64_t dlio_plan_tfr_nfiles(const struct dlio_plan *p)
{
	if (p->kind != DLIO_PLAN_TFRECORD)
		return 0;
	if (p->nfiles < p->comm)
		return p->nfiles;
	return (p->nfiles - p->rank + p->comm - 1) / p->comm;
}

int64_t dlio_plan_tfr_file(const struct dlio_plan *p, int64_t k)
{
	if (p->nfiles < p->comm)
		return dlio_plan_file_at(p, k);
	return dlio_plan_file_at(p, p->rank + k * p->comm);
}

int dlio_plan_tfr_record_sharded(const struct dlio_plan *p)
{
	return p->kind == DLIO_PLAN_TFRECORD && p->nfiles < p->comm;
}
