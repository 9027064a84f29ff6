#include "dlio/emit.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct out {
	char *buf;
	size_t len, off;
	int full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->full = 1;
		o->buf[o->off] = '\0';
		return;
	}
	o->off += (size_t)n;
}

/* Words a plain scalar must not be, or YAML would type it as a bool, null or number. */
static int reserved_word(const char *s)
{
	static const char *const words[] = {"y",    "n",   "yes",  "no",  "on",  "off", "true",
					    "false", "null", "inf", "nan",  NULL};
	const char *const *w;

	for (w = words; *w; w++)
		if (!strcasecmp(s, *w))
			return 1;
	return 0;
}

/* A plain scalar only when it is obviously a string to YAML and harmless to fio. */
static int plain_ok(const char *s)
{
	const char *p;

	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '/' || *p == '-'))
			return 0;
	return !reserved_word(s);
}

static void put_str(struct out *o, const char *s)
{
	const unsigned char *p;

	if (plain_ok(s)) {
		put(o, "%s", s);
		return;
	}
	put(o, "\"");
	for (p = (const unsigned char *)s; *p; p++) {
		/* ';' and '#' end an fio line, '$' starts fio's substitutions */
		if (*p < 0x20 || *p == 0x7f || *p == ';' || *p == '#' || *p == '$' || *p == '"' ||
		    *p == '\\')
			put(o, "\\x%02x", *p);
		else
			put(o, "%c", *p);
	}
	put(o, "\"");
}

/* The shortest text that reads back as exactly d. */
static void put_double(struct out *o, double d)
{
	char tmp[64];
	int prec;

	if (isinf(d)) {
		put(o, "%s", d < 0 ? "-.inf" : ".inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	put(o, "%s", tmp);
}

static void put_time(struct out *o, const struct dlio_time *t)
{
	static const char *const kinds[] = {
		[DLIO_TIME_NORMAL] = "normal",	   [DLIO_TIME_UNIFORM] = "uniform",
		[DLIO_TIME_GAMMA] = "gamma",	   [DLIO_TIME_EXPONENTIAL] = "exponential",
		[DLIO_TIME_POISSON] = "poisson",
	};
	const double v[] = {t->mean, t->stdev, t->min, t->max, t->shape, t->scale, t->lam};
	static const char *const names[] = {"mean", "stdev", "min", "max", "shape", "scale", "lam"};
	static const unsigned need[] = {
		[DLIO_TIME_CONST] = 1,	  [DLIO_TIME_NORMAL] = 3,      [DLIO_TIME_UNIFORM] = 12,
		[DLIO_TIME_GAMMA] = 48,	  [DLIO_TIME_EXPONENTIAL] = 32, [DLIO_TIME_POISSON] = 64,
	};
	int i, first = 1;

	if (t->kind == DLIO_TIME_NONE) {
		put(o, "null");
		return;
	}
	if (t->kind == DLIO_TIME_CONST && !t->stdev && !t->min && !t->max && !t->shape &&
	    !t->scale && !t->lam) {
		put_double(o, t->mean);
		return;
	}
	put(o, "{");
	if (t->kind != DLIO_TIME_CONST) {
		put(o, "type: %s", kinds[t->kind]);
		first = 0;
	}
	/* the fields the type needs, and any other field given, so it reads back the same */
	for (i = 0; i < 7; i++) {
		if (!v[i] && !((need[t->kind] >> i) & 1))
			continue;
		put(o, "%s%s: ", first ? "" : ", ", names[i]);
		put_double(o, v[i]);
		first = 0;
	}
	put(o, "}");
}

#define MAX_DEPTH 8

struct nest {
	char seg[MAX_DEPTH][64];
	int items[MAX_DEPTH + 1]; /* entries written at each depth */
	int depth;
};

static int split_path(const char *path, char seg[MAX_DEPTH][64])
{
	int n = 0;
	const char *p = path;

	while (*p) {
		size_t l = strcspn(p, ".");

		if (n >= MAX_DEPTH || l >= 64)
			return -ENAMETOOLONG;
		memcpy(seg[n], p, l);
		seg[n][l] = '\0';
		n++;
		p += l;
		if (*p == '.')
			p++;
	}
	return n;
}

static void sep(struct out *o, struct nest *ns)
{
	if (ns->items[ns->depth]++)
		put(o, ", ");
}

/* Close and open mappings so that the next entry lands in the parent mapping of seg[n-1]. */
static void reach(struct out *o, struct nest *ns, char seg[MAX_DEPTH][64], int n)
{
	int common = 0;

	while (common < ns->depth && common < n - 1 && !strcmp(ns->seg[common], seg[common]))
		common++;
	while (ns->depth > common) {
		put(o, "}");
		ns->depth--;
	}
	while (ns->depth < n - 1) {
		sep(o, ns);
		put(o, "%s: {", seg[ns->depth]);
		strcpy(ns->seg[ns->depth], seg[ns->depth]);
		ns->depth++;
		ns->items[ns->depth] = 0;
	}
}

static void put_opts(struct out *o, const struct dlio_config *cfg)
{
	size_t i;

	put(o, "{");
	for (i = 0; i < cfg->storage.noptions; i++) {
		const struct dlio_opt *op = &cfg->storage.options[i];

		put(o, "%s", i ? ", " : "");
		put_str(o, op->key);
		put(o, ": ");
		if (op->is_null)
			put(o, "null");
		else if (op->is_bool) /* as written: a YAML 1.1 bool word, plain-safe */
			put(o, "%s", op->value);
		else
			put_str(o, op->value);
	}
	put(o, "}");
}

int dlio_config_emit_flow(const struct dlio_config *cfg, char *buf, size_t len, char *err,
			  size_t errlen)
{
	struct out o = {.buf = buf, .len = len < DLIO_FLOW_MAX + 1 ? len : DLIO_FLOW_MAX + 1};
	struct nest ns = {.depth = 0};
	char seg[MAX_DEPTH][64];
	size_t i, j;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	put(&o, "{");
	for (i = 0; i < dlio_config_nkeys(); i++) {
		struct dlio_key_info ki;
		int n;

		dlio_config_key_info(cfg, i, &ki);
		if (!ki.set || ki.kind == DLIO_KEY_SECTION)
			continue;
		n = split_path(ki.path, seg);
		if (n <= 0) {
			snprintf(err, errlen, "%s: key path too deep", ki.path);
			return -EINVAL;
		}
		if (ki.kind == DLIO_KEY_PRESENT) {
			/* an (empty) mapping of its own: its keys follow in the table */
			reach(&o, &ns, seg, n + 1);
			continue;
		}
		reach(&o, &ns, seg, n);
		sep(&o, &ns);
		put(&o, "%s: ", seg[n - 1]);
		switch (ki.kind) {
		case DLIO_KEY_BOOL:
			put(&o, "%s", *(const int *)ki.value ? "true" : "false");
			break;
		case DLIO_KEY_INT:
			put(&o, "%lld", (long long)*(const int64_t *)ki.value);
			break;
		case DLIO_KEY_FLOAT:
			put_double(&o, *(const double *)ki.value);
			break;
		case DLIO_KEY_STR:
			put_str(&o, (const char *)ki.value);
			break;
		case DLIO_KEY_ENUM:
			put_str(&o, ki.names[*(const int *)ki.value]);
			break;
		case DLIO_KEY_INTLIST: {
			const struct dlio_i64_list *l = ki.value;

			put(&o, "[");
			for (j = 0; j < l->n; j++)
				put(&o, "%s%lld", j ? ", " : "", (long long)l->v[j]);
			put(&o, "]");
			break;
		}
		case DLIO_KEY_STRLIST: {
			const struct dlio_str_list *l = ki.value;

			put(&o, "[");
			for (j = 0; j < l->n; j++) {
				put(&o, "%s", j ? ", " : "");
				put_str(&o, l->v[j]);
			}
			put(&o, "]");
			break;
		}
		case DLIO_KEY_TIME:
			put_time(&o, ki.value);
			break;
		case DLIO_KEY_TIMESTDEV:
			put_double(&o, ((const struct dlio_time *)ki.value)->stdev);
			break;
		case DLIO_KEY_OPTS:
			put_opts(&o, cfg);
			break;
		default:
			break;
		}
	}
	while (ns.depth > 0) {
		put(&o, "}");
		ns.depth--;
	}
	put(&o, "}");
	if (o.full) {
		snprintf(err, errlen,
			 "%s: the resolved workload is longer than %d bytes as one line, the most "
			 "an fio job file line can carry",
			 cfg->file, DLIO_FLOW_MAX);
		return -ENOSPC;
	}
	return (int)o.off;
}

/* Quirks that only say an ignored key was present; the emitted config drops such keys. */
#define INFO_QUIRKS                                                                               \
	((1ULL << DLIO_Q_MODEL_STRING) | (1ULL << DLIO_Q_LEGACY_RECORD_LENGTH) |                  \
	 (1ULL << DLIO_Q_LEGACY_CHECKPOINT_KEYS) | (1ULL << DLIO_Q_IGNORED_KEY) |                 \
	 (1ULL << DLIO_Q_MODEL_SIZE_NOT_READ) | (1ULL << DLIO_Q_RECORD_DIMS_V20))

static int time_eq(const struct dlio_time *a, const struct dlio_time *b)
{
	return a->kind == b->kind && a->mean == b->mean && a->stdev == b->stdev &&
	       a->min == b->min && a->max == b->max && a->shape == b->shape &&
	       a->scale == b->scale && a->lam == b->lam;
}

int dlio_config_diff(const struct dlio_config *a, const struct dlio_config *b, char *what,
		     size_t whatlen)
{
	size_t i, j;

	if (a->flavour != b->flavour) {
		snprintf(what, whatlen, "flavour");
		return 1;
	}
	for (i = 0; i < dlio_config_nkeys(); i++) {
		struct dlio_key_info ka, kb;
		int eq = 1;

		dlio_config_key_info(a, i, &ka);
		dlio_config_key_info(b, i, &kb);
		if (ka.kind == DLIO_KEY_SECTION)
			continue;
		switch (ka.kind) {
		case DLIO_KEY_BOOL:
		case DLIO_KEY_ENUM:
		case DLIO_KEY_PRESENT:
			eq = *(const int *)ka.value == *(const int *)kb.value;
			break;
		case DLIO_KEY_INT:
			eq = *(const int64_t *)ka.value == *(const int64_t *)kb.value;
			break;
		case DLIO_KEY_FLOAT:
			eq = *(const double *)ka.value == *(const double *)kb.value;
			break;
		case DLIO_KEY_STR:
			eq = !strcmp(ka.value, kb.value);
			break;
		case DLIO_KEY_INTLIST: {
			const struct dlio_i64_list *la = ka.value, *lb = kb.value;

			eq = la->n == lb->n;
			for (j = 0; eq && j < la->n; j++)
				eq = la->v[j] == lb->v[j];
			break;
		}
		case DLIO_KEY_STRLIST: {
			const struct dlio_str_list *la = ka.value, *lb = kb.value;

			eq = la->n == lb->n;
			for (j = 0; eq && j < la->n; j++)
				eq = !strcmp(la->v[j], lb->v[j]);
			break;
		}
		case DLIO_KEY_TIME:
		case DLIO_KEY_TIMESTDEV:
			eq = time_eq(ka.value, kb.value);
			break;
		case DLIO_KEY_OPTS:
			eq = a->storage.noptions == b->storage.noptions;
			for (j = 0; eq && j < a->storage.noptions; j++) {
				const struct dlio_opt *x = &a->storage.options[j],
						      *y = &b->storage.options[j];

				eq = !strcmp(x->key, y->key) && x->is_null == y->is_null &&
				     x->is_bool == y->is_bool &&
				     (x->is_null || !strcmp(x->value, y->value));
			}
			break;
		default:
			break;
		}
		if (!eq || ka.set != kb.set) {
			snprintf(what, whatlen, "%s%s", ka.path, eq ? " (given in one only)" : "");
			return 1;
		}
	}
	if ((a->quirks & ~INFO_QUIRKS) != (b->quirks & ~INFO_QUIRKS)) {
		snprintf(what, whatlen, "quirks %#llx vs %#llx",
			 (unsigned long long)(a->quirks & ~INFO_QUIRKS),
			 (unsigned long long)(b->quirks & ~INFO_QUIRKS));
		return 1;
	}
	return 0;
}
