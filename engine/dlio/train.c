#include "dlio/train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlio/config.h"

static int block_push(struct dlio_train_block *b, double load, double compute, double proc)
{
	if (b->nsteps == b->cap) {
		int64_t cap = b->cap ? b->cap * 2 : 64;
		double *l = realloc(b->load, (size_t)cap * sizeof(double));
		double *c = l ? realloc(b->compute, (size_t)cap * sizeof(double)) : NULL;
		double *p = c ? realloc(b->proc, (size_t)cap * sizeof(double)) : NULL;

		if (l)
			b->load = l;
		if (c)
			b->compute = c;
		if (!p)
			return -ENOMEM;
		b->proc = p;
		b->cap = cap;
	}
	b->load[b->nsteps] = load;
	b->compute[b->nsteps] = compute;
	b->proc[b->nsteps] = proc;
	b->nsteps++;
	return 0;
}

static void block_free(struct dlio_train_block *b)
{
	free(b->load);
	free(b->compute);
	free(b->proc);
	memset(b, 0, sizeof(*b));
}

static int64_t tfr_chunk(const struct dlio_config *cfg)
{
	return cfg->reader.transfer_size > 0 ? cfg->reader.transfer_size : 262144;
}

int64_t dlio_train_file_size(const struct dlio_train *t, enum dlio_split s, int64_t idx)
{
	int64_t gidx = dlio_geom_gen_index(t->g, s, idx);
	struct dlio_file_size fs;

	if (gidx < 0 || gidx >= t->ndims ||
	    dlio_geom_file_size(t->g, t->dims[2 * gidx], t->dims[2 * gidx + 1], &fs))
		return -1;
	return fs.size;
}

int64_t dlio_train_max_read(const struct dlio_geom *g, int whole_file)
{
	struct dlio_dims_iter it;
	int64_t total = g->nfiles_gen[0] + (g->nfiles_gen[1] > 0 ? g->nfiles_gen[1] : 0);
	int64_t best = 0;

	if (g->cfg->dataset.format == DLIO_FMT_TFRECORD &&
	    g->cfg->reader.data_loader == DLIO_LOADER_TENSORFLOW)
		return tfr_chunk(g->cfg);
	dlio_dims_iter_init(&it, g);
	for (int64_t i = 0; i < total; i++) {
		struct dlio_read_iter rd;
		struct dlio_read r;
		struct dlio_file_size fs;
		int64_t d1, d2;

		dlio_dims_iter_next(&it, &d1, &d2);
		if (whole_file) {
			if (!dlio_geom_file_size(g, d1, d2, &fs) && fs.size > best)
				best = fs.size;
			continue;
		}
		/* every sample of a file has the same reads but for its offset */
		for (int ph = DLIO_IO_OPEN; ph <= DLIO_IO_SAMPLE; ph++)
			if (!dlio_reads_init(&rd, g, d1, d2, 0, (enum dlio_io_phase)ph))
				while (dlio_reads_next(&rd, &r))
					if (r.len > best)
						best = r.len;
	}
	return best;
}

static void request_one(struct dlio_train *t)
{
	int64_t w, j;

	if (t->requested >= t->nbatches ||
	    dlio_plan_step_source(&t->plan, t->requested, &w, &j))
		return;
	if (t->w[w].allowed < j + 1)
		t->w[w].allowed = j + 1;
	t->requested++;
}

/* Records one batch needs from the stream before tf.data can hand it out: the
 * batch itself and, when records are shuffled, a full shuffle buffer ahead. */
static int64_t tfr_needed(const struct dlio_train *t, int64_t batches)
{
	int64_t shuffle = t->cfg->reader.sample_shuffle != DLIO_SHUFFLE_OFF ?
				  t->cfg->reader.shuffle_size :
				  0;
	int64_t need = (batches * t->batch + shuffle) * t->tfr_factor;

	return need < t->tfr_total ? need : t->tfr_total;
}

static int tfr_take_file(struct dlio_train *t, struct dlio_tfr_stream *st)
{
	struct dlio_file_size fs;
	int64_t f, gidx;

	if (t->tfr_next >= t->tfr_nfiles)
		return 0;
	f = dlio_plan_tfr_file(&t->plan, t->tfr_next++);
	gidx = dlio_geom_gen_index(t->g, t->plan.split, f);
	if (dlio_geom_file_size(t->g, t->dims[2 * gidx], t->dims[2 * gidx + 1], &fs))
		return 0;
	st->file = f;
	st->size = fs.size;
	st->nrec = t->g->nspf;
	st->rec_len = st->nrec > 0 ? fs.size / st->nrec : fs.size;
	st->offset = st->arrived = 0;
	st->fresh = 1;
	return 1;
}

/* DLIO HEAD's training loop fetches a batch and then checks whether the step is past
 * the last one: the batch after the last step is taken from the loader (and so read,
 * and one more requested) unless the loader has none left.  v2.0 breaks right after
 * the last step; evaluation breaks after its last step in both (SPEC 6.1, 7). */
static int64_t loop_extra(const struct dlio_train *t, const struct dlio_plan *p)
{
	return t->cfg->flavour == DLIO_FLAVOUR_HEAD && p->split == DLIO_SPLIT_TRAIN &&
	       t->steps < t->nbatches;
}

/*
 * TFRecordDataset(files, buffer_size, num_parallel_reads=read_threads): that many
 * files stream at once, each read sequentially in buffer_size pieces, and a file
 * that ends hands its slot to the next of the shard.  Each epoch starts the
 * stream from the beginning (a new iterator).
 */
static int start_tfr(struct dlio_train *t, double now)
{
	const struct dlio_plan *p = &t->plan;
	struct dlio_train_block *b;

	t->tfr = 1;
	t->batch = p->batch;
	t->main_process = 0;
	t->keep_open = 1;
	t->tfr_chunk = tfr_chunk(t->cfg);
	t->tfr_nfiles = dlio_plan_tfr_nfiles(p);
	t->tfr_next = 0;
	t->tfr_arrived = 0;
	t->tfr_factor = dlio_plan_tfr_record_sharded(p) ? t->comm : 1;
	t->tfr_total = t->tfr_nfiles * t->g->nspf;
	t->nworkers = t->cfg->reader.read_threads > 0 ? t->cfg->reader.read_threads : 1;
	if (t->nworkers > DLIO_TRAIN_MAX_WORKERS)
		t->nworkers = DLIO_TRAIN_MAX_WORKERS;
	t->steps = p->split == DLIO_SPLIT_TRAIN ? t->g->steps : t->g->eval_steps;
	t->nbatches = t->tfr_total / t->tfr_factor / (t->batch > 0 ? t->batch : 1);
	if (t->steps > t->nbatches)
		t->steps = t->nbatches;
	t->extra = loop_extra(t, p);
	t->prefetch = t->cfg->reader.prefetch_size;
	memset(t->s, 0, sizeof(t->s[0]) * (size_t)t->nworkers);
	memset(t->w, 0, sizeof(t->w[0]) * (size_t)t->nworkers);
	for (int64_t i = 0; i < t->nworkers; i++) {
		t->s[i].file = -1;
		tfr_take_file(t, &t->s[i]);
	}
	t->requested = t->consumed = 0;
	t->computing = 0;
	t->start_loading = now;
	b = p->split == DLIO_SPLIT_TRAIN ? &t->ep[t->epoch - 1].train : &t->ep[t->epoch - 1].eval;
	b->start = now;
	return 0;
}

/* The next chunk a stream may read: tf.data reads ahead until the records it
 * holds cover the prefetched batches, the batch being built and the shuffle
 * buffer. */
static int tfr_step(struct dlio_train *t, int64_t i, struct dlio_train_req *r)
{
	struct dlio_tfr_stream *st = &t->s[i];
	int64_t want, have = t->tfr_arrived;

	if (st->inflight || t->state == DLIO_TS_DRAIN || t->state == DLIO_TS_EVAL_DRAIN)
		return 0;
	if (st->file < 0 || st->offset >= st->size) {
		if (!tfr_take_file(t, st)) {
			st->file = -1;
			return 0;
		}
	}
	for (int64_t k = 0; k < t->nworkers; k++)
		if (t->s[k].inflight && t->s[k].rec_len > 0)
			have += t->tfr_chunk / t->s[k].rec_len + 1;
	want = tfr_needed(t, t->consumed + t->prefetch + 1);
	if (have >= want)
		return 0;
	r->worker = i;
	r->split = t->plan.split;
	r->file = st->file;
	r->open = st->fresh;
	r->offset = st->offset;
	r->len = st->size - st->offset < t->tfr_chunk ? st->size - st->offset : t->tfr_chunk;
	st->fresh = 0;
	st->offset += r->len;
	st->inflight = 1;
	return 1;
}

static void tfr_complete(struct dlio_train *t, const struct dlio_train_req *r)
{
	struct dlio_tfr_stream *st = &t->s[r->worker];
	int64_t before = st->rec_len > 0 ? st->arrived / st->rec_len : 0, after;

	st->inflight = 0;
	st->arrived += r->len;
	after = st->rec_len > 0 ? st->arrived / st->rec_len : 0;
	if (after > st->nrec)
		after = st->nrec;
	t->tfr_arrived += after - before;
	t->samples_read += after - before;
}

static int start_loop(struct dlio_train *t, enum dlio_split split, double now)
{
	const struct dlio_plan *p = &t->plan;
	struct dlio_train_block *b;

	(void)split;
	t->nworkers = p->workers;
	if (t->nworkers > DLIO_TRAIN_MAX_WORKERS) {
		snprintf(t->err, sizeof(t->err), "reader.read_threads=%lld: at most %d are modelled",
			 (long long)t->nworkers, DLIO_TRAIN_MAX_WORKERS);
		return -EINVAL;
	}
	if (p->kind == DLIO_PLAN_TFRECORD)
		return start_tfr(t, now);
	t->batch = p->batch;
	t->main_process = p->main_process;
	t->keep_open = p->kind == DLIO_PLAN_ITERATIVE;
	t->nbatches = 0;
	for (int64_t w = 0; w < t->nworkers; w++)
		t->nbatches += dlio_plan_worker_batches(p, w);
	t->steps = p->split == DLIO_SPLIT_TRAIN ? t->g->steps : t->g->eval_steps;
	if (t->steps > t->nbatches)
		t->steps = t->nbatches;
	t->extra = loop_extra(t, p);
	t->prefetch = dlio_plan_prefetch_batches(p);
	memset(t->w, 0, sizeof(t->w[0]) * (size_t)t->nworkers);
	for (int64_t w = 0; w < t->nworkers; w++) {
		dlio_plan_iter_init(&t->w[w].it, p, w);
		t->w[w].open_file = -1;
	}
	t->requested = t->consumed = 0;
	for (int64_t i = 0; i < t->prefetch; i++)
		request_one(t);
	t->computing = 0;
	t->start_loading = now;
	b = p->split == DLIO_SPLIT_TRAIN ? &t->ep[t->epoch - 1].train : &t->ep[t->epoch - 1].eval;
	b->start = now;
	return 0;
}

static int start_epoch(struct dlio_train *t, double now)
{
	int ret;

	if (t->epoch == 1)
		ret = dlio_plan_init(&t->plan, t->g, DLIO_SPLIT_TRAIN, t->rank, t->err,
				     sizeof(t->err));
	else {
		/* the eval pass left an eval plan: the train plan is rebuilt and moved on */
		dlio_plan_free(&t->plan);
		ret = dlio_plan_init(&t->plan, t->g, DLIO_SPLIT_TRAIN, t->rank, t->err,
				     sizeof(t->err));
		if (!ret && t->epoch > 1)
			ret = dlio_plan_set_epoch(&t->plan, t->epoch, t->err, sizeof(t->err));
	}
	if (ret)
		return ret;
	t->ep[t->epoch - 1].start = now;
	t->state = DLIO_TS_TRAIN;
	return start_loop(t, DLIO_SPLIT_TRAIN, now);
}

static int begin_sample(struct dlio_train *t, struct dlio_train_worker *w)
{
	enum dlio_split s = t->plan.split;
	int64_t gidx = dlio_geom_gen_index(t->g, s, w->cur.file);
	int64_t d1 = t->dims[2 * gidx], d2 = t->dims[2 * gidx + 1];
	int ret;

	w->started = 1;
	if (w->cur.file != w->open_file) {
		w->open_file = w->cur.file;
		w->since_open = 0;
		w->phase = 0;
		if (t->whole_file) {
			memset(&w->rd, 0, sizeof(w->rd));
			w->rd.fixed[0].offset = 0;
			w->rd.fixed[0].len = dlio_train_file_size(t, s, w->cur.file);
			w->rd.nfixed = 1;
			return 0;
		}
		ret = dlio_reads_init(&w->rd, t->g, d1, d2, w->cur.in_file, DLIO_IO_OPEN);
	} else {
		w->phase = 1;
		ret = t->whole_file ? 0 :
				      dlio_reads_init(&w->rd, t->g, d1, d2, w->cur.in_file,
						      DLIO_IO_SAMPLE);
		if (t->whole_file)
			memset(&w->rd, 0, sizeof(w->rd));
	}
	if (ret)
		snprintf(t->err, sizeof(t->err), "reads of file %lld: %s", (long long)w->cur.file,
			 strerror(-ret));
	return ret;
}

static void advance(struct dlio_train *t, double now);

/* The rank's file `i` (and part) of the checkpoint: its size, or -1 past the end. */
static int64_t ck_file_size(const struct dlio_train *t, int64_t i, int64_t part)
{
	struct dlio_ckpt_file f;

	if (i >= t->ck_nfiles || dlio_ckpt_rank_file(t->ck, t->rank, i, &f))
		return -1;
	/* tf_save: the tensors go to the .data part; the .index part is empty */
	return dlio_ckpt_parts(t->ck) == 2 && part == 0 ? 0 : f.bytes;
}

static void ck_next_file(struct dlio_train *t);

static void start_ckpt(struct dlio_train *t, int64_t step, enum dlio_train_state resume,
		       double now)
{
	t->ck_resume = resume;
	t->ck_epoch = t->epoch;
	t->ck_step = step;
	t->ck_file = t->ck_off = 0;
	t->ck_part = -1;
	t->ck_inflight = 0;
	ck_next_file(t);
	t->ck_start = now;
	t->state = DLIO_TS_CKPT;
}

/* Move to the next non-empty file (or part) of the checkpoint; ck_size < 0 at the end.
 * tf_save's empty .index parts are created by the caller along with their .data. */
static void ck_next_file(struct dlio_train *t)
{
	int parts = dlio_ckpt_parts(t->ck);

	do {
		if (++t->ck_part == parts) {
			t->ck_part = 0;
			t->ck_file++;
		}
		t->ck_off = 0;
		t->ck_size = ck_file_size(t, t->ck_file, t->ck_part);
	} while (t->ck_size == 0);
}

/* Next piece of the checkpoint: files one after another, each in ck_chunk pieces; a
 * file's last piece goes out once its others are stored, so it can be closed. */
static int ck_step(struct dlio_train *t, struct dlio_train_req *r)
{
	int64_t len;

	if (t->ck_size < 0 || t->ck_off >= t->ck_size)
		return 0; /* done, or the file's last piece is in flight */
	len = t->ck_size - t->ck_off < t->ck_chunk ? t->ck_size - t->ck_off : t->ck_chunk;
	r->worker = -1;
	r->write = 1;
	r->ck_file = t->ck_file;
	r->ck_part = t->ck_part;
	r->ck_epoch = t->ck_epoch;
	r->ck_step = t->ck_step;
	r->ck_size = t->ck_size;
	r->open = t->ck_off == 0;
	r->offset = t->ck_off;
	if (t->ck_piece && (!t->ck_inflight || t->ck_off + len < t->ck_size)) {
		/* (asked only when the piece may go out: the caller plans at the first) */
		len = t->ck_piece(t->ck_piece_arg, r, len, t->err, sizeof(t->err));
		if (len <= 0 || t->ck_off + len > t->ck_size) {
			if (len > 0)
				snprintf(t->err, sizeof(t->err),
					 "checkpoint write of %lld bytes at %lld past the file's %lld",
					 (long long)len, (long long)t->ck_off,
					 (long long)t->ck_size);
			t->state = DLIO_TS_DONE;
			return -1;
		}
	}
	if (t->ck_off + len >= t->ck_size && t->ck_inflight) {
		memset(r, 0, sizeof(*r)); /* the workers' reads may go on */
		return 0;
	}
	r->len = len;
	r->last = t->ck_off + len >= t->ck_size;
	t->ck_off += len;
	t->ck_inflight++;
	return 1;
}

static void finish_sample(struct dlio_train *t, struct dlio_train_worker *w, double now)
{
	int64_t batch = w->cur.batch;
	double sleep;

	t->samples_read++;
	w->since_open++;
	/* the index path opens, reads and closes every sample; a TF reader thread keeps
	 * its file for the n samples it holds */
	if (!t->keep_open || w->since_open >= t->g->nspf)
		w->open_file = -1;
	if (dlio_plan_iter_next(&w->it, &w->cur)) {
		w->started = 0;
		if (w->cur.batch != batch)
			w->done = batch + 1;
	} else {
		w->have_cur = 0;
		w->exhausted = 1;
		w->done = batch + 1;
	}
	sleep = t->cfg->reader.preprocess_time.kind == DLIO_TIME_NONE ?
			0 :
			dlio_time_sample(&t->cfg->reader.preprocess_time, &t->rng);
	if (sleep > 0)
		w->busy_until = now + sleep;
	advance(t, now);
}

/* Bring a worker to its next read, finishing samples that need no I/O. 1: a read
 * is ready in *r; 0: the worker waits (for a request, a sleep, or the end). */
static int worker_step(struct dlio_train *t, struct dlio_train_worker *w, double now,
		       struct dlio_read *r, int *open)
{
	for (;;) {
		if (w->inflight || w->exhausted || now < w->busy_until)
			return 0;
		if (!w->have_cur) {
			if (!dlio_plan_iter_next(&w->it, &w->cur)) {
				w->exhausted = 1;
				return 0;
			}
			w->have_cur = 1;
			w->started = 0;
		}
		if (!w->started) {
			if (w->cur.batch >= w->allowed)
				return 0;
			*open = w->cur.file != w->open_file;
			if (begin_sample(t, w))
				return -1;
		}
		if (dlio_reads_next(&w->rd, r)) {
			if (*open)
				w->since_open = 0;
			return 1;
		}
		if (w->phase == 0) {
			int64_t gidx = dlio_geom_gen_index(t->g, t->plan.split, w->cur.file);

			w->phase = 1;
			if (t->whole_file)
				memset(&w->rd, 0, sizeof(w->rd));
			else if (dlio_reads_init(&w->rd, t->g, t->dims[2 * gidx], t->dims[2 * gidx + 1],
						 w->cur.in_file, DLIO_IO_SAMPLE))
				return -1;
			continue;
		}
		finish_sample(t, w, now);
	}
}

static int loop_drained(const struct dlio_train *t)
{
	if (t->tfr) {
		/* a new iterator drops what tf.data buffered; reads in flight still land */
		for (int64_t i = 0; i < t->nworkers; i++)
			if (t->s[i].inflight)
				return 0;
		return 1;
	}
	for (int64_t w = 0; w < t->nworkers; w++)
		if (t->w[w].done < t->w[w].allowed || t->w[w].inflight)
			return 0;
	return 1;
}

int dlio_train_block_span(const struct dlio_train_epoch *ep, int64_t k, int64_t *first,
			  int64_t *n, double *start, double *end)
{
	for (int64_t j = 0; j <= ep->ncut; j++) {
		int64_t a = j == 0 ? 0 : ep->cut_step[j - 1];
		int64_t b = j < ep->ncut ? ep->cut_step[j] : ep->train.nsteps;

		if (b <= a || k-- > 0)
			continue;
		*first = a;
		*n = b - a;
		*start = j == 0 ? ep->train.start : ep->cut_t1[j - 1];
		*end = j < ep->ncut ? ep->cut_t0[j] : ep->train.end;
		return 0;
	}
	return -1;
}

/* DLIO's AU and throughput of one block (SPEC 11.2): steps [first, first + n) of b
 * from start to end, the exclusions counted in the block's own list, the literal
 * "- 2". */
static void block_metrics(const struct dlio_train *t, const struct dlio_train_block *b,
			  int64_t first, int64_t n, double start, double end, int64_t steps_cfg,
			  int64_t batch, int eval, double *au, double *tput)
{
	int64_t s0 = t->cfg->output.exclude_start_steps;
	int64_t e = steps_cfg - 1 - t->cfg->output.exclude_end_steps;
	double compute = 0, time = end - start;

	for (int64_t i = 0; i < n; i++) {
		if (i >= s0 && i <= e)
			compute += b->compute[first + i];
		else
			time -= b->proc[first + i];
	}
	*au = compute > 0 && time > 0 ? 100.0 * compute / time : 0;
	if (eval)
		*tput = end > start ? (double)n / (end - start) * (double)batch : 0;
	else
		*tput = time > 0 ? (double)(n - 2) / time * (double)batch : 0;
}

/* The epoch's figures: the step-weighted mean over its blocks (SPEC 11.3). */
static void epoch_metrics(const struct dlio_train *t, struct dlio_train_epoch *ep)
{
	double au = 0, tput = 0, bau, btput, start, end;
	int64_t first, n, steps = 0;

	for (int64_t k = 0; !dlio_train_block_span(ep, k, &first, &n, &start, &end); k++) {
		block_metrics(t, &ep->train, first, n, start, end, t->g->steps,
			      t->cfg->reader.batch_size, 0, &bau, &btput);
		au += bau * (double)n;
		tput += btput * (double)n;
		steps += n;
	}
	ep->au = steps ? au / (double)steps : 0;
	ep->throughput = steps ? tput / (double)steps : 0;
}

static int push_cut(struct dlio_train_epoch *ep, int64_t step, double t0, double t1)
{
	if (ep->ncut == ep->cut_cap) {
		int64_t cap = ep->cut_cap ? ep->cut_cap * 2 : 16;
		int64_t *s = realloc(ep->cut_step, (size_t)cap * sizeof(*s));
		double *a = s ? realloc(ep->cut_t0, (size_t)cap * sizeof(*a)) : NULL;
		double *b = a ? realloc(ep->cut_t1, (size_t)cap * sizeof(*b)) : NULL;

		if (s)
			ep->cut_step = s;
		if (a)
			ep->cut_t0 = a;
		if (!b)
			return -ENOMEM;
		ep->cut_t1 = b;
		ep->cut_cap = cap;
	}
	ep->cut_step[ep->ncut] = step;
	ep->cut_t0[ep->ncut] = t0;
	ep->cut_t1[ep->ncut] = t1;
	ep->ncut++;
	return 0;
}

static void end_epoch(struct dlio_train *t, double now)
{
	struct dlio_train_epoch *ep = &t->ep[t->epoch - 1];

	ep->end = now;
	epoch_metrics(t, ep);
	if (ep->has_eval)
		block_metrics(t, &ep->eval, 0, ep->eval.nsteps, ep->eval.start, ep->eval.end,
			      t->g->eval_steps, t->cfg->reader.batch_size_eval, 1, &ep->eval_au,
			      &ep->eval_throughput);
	t->nep = t->epoch;
	if (t->epoch >= t->epochs) {
		t->state = DLIO_TS_DONE;
		return;
	}
	t->epoch++;
	if (start_epoch(t, now))
		t->state = DLIO_TS_DONE;
}

static void advance(struct dlio_train *t, double now)
{
	for (;;) {
		struct dlio_train_block *b;
		int64_t w, j;

		if (t->computing) {
			if (now < t->compute_end)
				return;
			t->computing = 0;
			b = t->state == DLIO_TS_TRAIN ? &t->ep[t->epoch - 1].train :
							&t->ep[t->epoch - 1].eval;
			b->proc[b->nsteps - 1] = t->compute_end - t->start_loading;
			t->start_loading = t->compute_end;
			if (t->state == DLIO_TS_TRAIN) {
				t->gstep++;
				t->barrier_wait = 1; /* the barrier, then a step-mode checkpoint */
			}
			continue;
		}
		if (t->barrier_wait) {
			/* the wait is in the block's wall time, in neither load nor proc */
			int ok = t->barrier ? t->barrier(t->barrier_arg, t->gstep) : 1;

			if (ok < 0) {
				snprintf(t->err, sizeof(t->err),
					 "step %lld: the other ranks did not reach the barrier in time "
					 "(did one of them fail?)",
					 (long long)t->gstep);
				t->state = DLIO_TS_DONE;
				return;
			}
			if (!ok)
				return;
			t->barrier_wait = 0;
			if (now > t->start_loading)
				t->start_loading = now;
			if (t->ck && dlio_ckpt_step_due(t->ck, t->consumed)) {
				start_ckpt(t, t->consumed, DLIO_TS_TRAIN, now);
				return;
			}
			continue;
		}
		switch (t->state) {
		case DLIO_TS_TRAIN:
		case DLIO_TS_EVAL:
			b = t->state == DLIO_TS_TRAIN ? &t->ep[t->epoch - 1].train :
							&t->ep[t->epoch - 1].eval;
			if (t->consumed == t->steps + t->extra) {
				/* the loop has exited: after the last step, or after HEAD's fetch
				 * of the next batch (its wait is in the block's wall time) */
				b->end = t->extra ? now : t->start_loading;
				if (t->state == DLIO_TS_TRAIN && t->ck &&
				    dlio_ckpt_epoch_due(t->ck, t->epoch)) {
					/* folder step: the steps the epoch ran, plus one */
					start_ckpt(t, t->steps + 1, DLIO_TS_DRAIN, now);
					return;
				}
				t->state = t->state == DLIO_TS_TRAIN ? DLIO_TS_DRAIN : DLIO_TS_EVAL_DRAIN;
				continue;
			}
			if (t->tfr) {
				if (t->tfr_arrived < tfr_needed(t, t->consumed + 1))
					return;
			} else {
				if (t->requested <= t->consumed)
					request_one(t); /* read_threads 0: read when asked for */
				if (dlio_plan_step_source(&t->plan, t->consumed, &w, &j) ||
				    j >= t->w[w].done)
					return;
			}
			t->consumed++;
			if (!t->main_process)
				request_one(t); /* a worker's loader asks for one more */
			if (t->consumed > t->steps)
				continue; /* HEAD's fetch past the last step: no step */
			t->compute_len = dlio_time_sample(t->state == DLIO_TS_TRAIN ?
								  &t->cfg->train.computation_time :
								  &t->cfg->evaluation.eval_time,
							  &t->rng);
			if (block_push(b, now - t->start_loading, t->compute_len, 0)) {
				snprintf(t->err, sizeof(t->err), "out of memory");
				t->state = DLIO_TS_DONE;
				return;
			}
			t->computing = 1;
			t->compute_end = now + t->compute_len;
			continue;
		case DLIO_TS_DRAIN:
			if (!loop_drained(t))
				return;
			if (t->cfg->workflow.evaluation && t->g->nfiles[DLIO_SPLIT_EVAL] > 0 &&
			    t->g->eval_steps > 0 && t->epoch >= t->next_eval) {
				t->next_eval += t->cfg->evaluation.epochs_between_evals;
				dlio_plan_free(&t->plan);
				if (dlio_plan_init(&t->plan, t->g, DLIO_SPLIT_EVAL, t->rank, t->err,
						   sizeof(t->err)) ||
				    (t->epoch > 1 && dlio_plan_set_epoch(&t->plan, t->epoch, t->err,
									 sizeof(t->err)))) {
					t->state = DLIO_TS_DONE;
					return;
				}
				t->ep[t->epoch - 1].has_eval = 1;
				t->state = DLIO_TS_EVAL;
				if (start_loop(t, DLIO_SPLIT_EVAL, now))
					t->state = DLIO_TS_DONE;
				continue;
			}
			end_epoch(t, now);
			continue;
		case DLIO_TS_EVAL_DRAIN:
			if (!loop_drained(t))
				return;
			end_epoch(t, now);
			continue;
		case DLIO_TS_CKPT:
			if (t->ck_size >= 0 || t->ck_inflight)
				return;
			/* saved: every file written and closed */
			if (t->ck_count < (int64_t)(sizeof(t->ck_dur) / sizeof(t->ck_dur[0])))
				t->ck_dur[t->ck_count] = now - t->ck_start;
			t->ck_count++;
			t->state = t->ck_resume;
			if (t->state == DLIO_TS_TRAIN) {
				/* a step-mode save: it ends this block, the next starts now */
				t->start_loading = now;
				if (push_cut(&t->ep[t->epoch - 1], t->ck_step, t->ck_start, now)) {
					snprintf(t->err, sizeof(t->err), "out of memory");
					t->state = DLIO_TS_DONE;
					return;
				}
			}
			continue;
		case DLIO_TS_DONE:
			return;
		}
	}
}

int dlio_train_init(struct dlio_train *t, const struct dlio_geom *g, int64_t rank,
		    int whole_file, double now, char *err, size_t errlen)
{
	const struct dlio_config *cfg = g->cfg;
	struct dlio_dims_iter it;
	int64_t total = g->nfiles_gen[0] + (g->nfiles_gen[1] > 0 ? g->nfiles_gen[1] : 0);
	int ret;

	memset(t, 0, sizeof(*t));
	t->g = g;
	t->cfg = cfg;
	t->rank = rank;
	t->comm = g->comm_size;
	t->whole_file = whole_file;
	t->epochs = cfg->train.epochs > 0 ? cfg->train.epochs : 1;
	t->next_eval = cfg->evaluation.eval_after_epoch;
	if (total > DLIO_PLAN_MAX_FILES) {
		snprintf(err, errlen, "%lld files: more than the %lld modelled", (long long)total,
			 (long long)DLIO_PLAN_MAX_FILES);
		return -E2BIG;
	}
	t->dims = malloc((size_t)(total > 0 ? total : 1) * 2 * sizeof(int64_t));
	t->ep = calloc((size_t)t->epochs, sizeof(*t->ep));
	if (!t->dims || !t->ep) {
		dlio_train_free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dlio_dims_iter_init(&it, g);
	for (int64_t i = 0; i < total; i++)
		dlio_dims_iter_next(&it, &t->dims[2 * i], &t->dims[2 * i + 1]);
	t->ndims = total;
	if (dlio_rng_seed(&t->rng, (cfg->train.seed + rank) & 0xffffffff))
		dlio_rng_seed(&t->rng, 0);
	t->epoch = 1;
	ret = start_epoch(t, now);
	if (ret) {
		snprintf(err, errlen, "%s", t->err);
		dlio_train_free(t);
		return ret;
	}
	advance(t, now);
	return 0;
}

void dlio_train_free(struct dlio_train *t)
{
	if (t->ep)
		for (int64_t i = 0; i < t->epochs; i++) {
			block_free(&t->ep[i].train);
			block_free(&t->ep[i].eval);
			free(t->ep[i].cut_step);
			free(t->ep[i].cut_t0);
			free(t->ep[i].cut_t1);
		}
	free(t->ep);
	free(t->dims);
	dlio_plan_free(&t->plan);
	t->ep = NULL;
	t->dims = NULL;
}

int dlio_train_next(struct dlio_train *t, double now, struct dlio_train_req *r)
{
	advance(t, now);
	if (t->state == DLIO_TS_DONE)
		return t->err[0] ? -EIO : DLIO_TRAIN_DONE;
	memset(r, 0, sizeof(*r));
	if (t->state == DLIO_TS_CKPT) {
		int ret = ck_step(t, r);

		if (ret)
			return ret < 0 ? -EIO : 1;
	}
	for (int64_t i = 0; i < t->nworkers; i++) {
		struct dlio_train_worker *w = &t->w[i];
		struct dlio_read rd;
		int open = 0;
		int ret;

		if (t->tfr) {
			if (tfr_step(t, i, r))
				return 1;
			continue;
		}
		ret = worker_step(t, w, now, &rd, &open);

		if (ret < 0)
			return -EIO;
		if (ret == 0)
			continue;
		w->inflight = 1;
		r->worker = i;
		r->split = t->plan.split;
		r->file = w->cur.file;
		r->open = open;
		r->offset = rd.offset;
		r->len = rd.len;
		return 1;
	}
	/* workers may have finished zero-I/O samples above: the model may have moved */
	return t->state == DLIO_TS_DONE ? (t->err[0] ? -EIO : DLIO_TRAIN_DONE) : 0;
}

void dlio_train_complete(struct dlio_train *t, const struct dlio_train_req *r, double now)
{
	struct dlio_train_worker *w;

	if (r->write) {
		t->ck_inflight--;
		t->ck_bytes += r->len;
		if (r->last)
			ck_next_file(t); /* the file is complete (the caller closes it) */
		advance(t, now);
		return;
	}
	w = &t->w[r->worker];
	t->reads++;
	t->bytes += r->len;
	if (t->tfr) {
		tfr_complete(t, r);
		advance(t, now);
		return;
	}
	w->inflight = 0;
	/* if that was the sample's last read, the sample (and maybe a batch) is done now */
	if (!dlio_reads_more(&w->rd) && w->phase == 0 && !t->whole_file) {
		int64_t gidx = dlio_geom_gen_index(t->g, t->plan.split, w->cur.file);

		w->phase = 1;
		if (dlio_reads_init(&w->rd, t->g, t->dims[2 * gidx], t->dims[2 * gidx + 1],
				    w->cur.in_file, DLIO_IO_SAMPLE))
			memset(&w->rd, 0, sizeof(w->rd));
	}
	if (dlio_reads_more(&w->rd)) {
		advance(t, now);
		return;
	}
	finish_sample(t, w, now);
}

void dlio_train_poll(struct dlio_train *t, double now)
{
	if (t->state != DLIO_TS_DONE)
		advance(t, now);
}

double dlio_train_next_event(const struct dlio_train *t)
{
	double next = -1;

	if (t->computing)
		next = t->compute_end;
	for (int64_t i = 0; i < t->nworkers; i++)
		if (t->w[i].busy_until > 0 && (next < 0 || t->w[i].busy_until < next))
			next = t->w[i].busy_until;
	return next;
}
