#include "dlio/ytree.h"
#include "lib/errbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>


static struct dlio_ynode *node_new(struct dlio_ytree *t, enum dlio_ykind kind, const char *src,
				   int line, int col)
{
	struct dlio_ynode *n;

	if (t->nnodes >= DLIO_Y_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	t->nnodes++;
	n->kind = kind;
	n->src = src;
	n->line = line;
	n->col = col;
	return n;
}

static void node_free(struct dlio_ytree *t, struct dlio_ynode *n)
{
	struct dlio_ynode *c, *nx;

	if (!n)
		return;
	for (c = n->child; c; c = nx) {
		nx = c->next;
		node_free(t, c);
	}
	free(n->key);
	free(n->text);
	free(n);
	if (t && t->nnodes)
		t->nnodes--;
}

static void node_append(struct dlio_ynode *parent, struct dlio_ynode *c)
{
	c->parent = parent;
	c->next = NULL;
	if (parent->last)
		parent->last->next = c;
	else
		parent->child = c;
	parent->last = c;
}

static void node_unlink(struct dlio_ynode *c)
{
	struct dlio_ynode *p = c->parent, **pp;

	if (!p)
		return;
	for (pp = &p->child; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	p->last = NULL;
	for (pp = &p->child; *pp; pp = &(*pp)->next)
		p->last = *pp;
	c->parent = NULL;
	c->next = NULL;
}

void dlio_ytree_free(struct dlio_ytree *t)
{
	size_t i;

	if (!t)
		return;
	node_free(t, t->root);
	for (i = 0; i < t->nsrcs; i++)
		free(t->srcs[i]);
	memset(t, 0, sizeof(*t));
}

void dlio_ytree_reroot(struct dlio_ytree *t, struct dlio_ynode *n)
{
	struct dlio_ynode *old = t->root;

	if (!n || n == old)
		return;
	node_unlink(n);
	node_free(t, old);
	free(n->key);
	n->key = NULL;
	t->root = n;
}

static const char *add_src(struct dlio_ytree *t, const char *name)
{
	char *s;

	if (t->nsrcs >= sizeof(t->srcs) / sizeof(t->srcs[0]))
		return NULL;
	s = strdup(name);
	if (!s)
		return NULL;
	t->srcs[t->nsrcs++] = s;
	return s;
}

/* PyYAML SafeLoader implicit resolvers, plus OmegaConf's float forms; timestamps are not
 * resolved (OmegaConf drops that resolver). Order matters: the first match wins. */
struct resolver {
	regex_t re_bool, re_float, re_int, re_null, re_ofloat;
	int ok;
};

static int resolver_init(struct resolver *r)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	rc |= regcomp(&r->re_bool,
		      "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
		      REG_EXTENDED | REG_NOSUB);
	rc |= regcomp(&r->re_float,
		      "^([-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?"
		      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
		      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
		      REG_EXTENDED | REG_NOSUB);
	rc |= regcomp(&r->re_int,
		      "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
		      "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
		      REG_EXTENDED | REG_NOSUB);
	rc |= regcomp(&r->re_null, "^(~|null|Null|NULL|)$", REG_EXTENDED | REG_NOSUB);
	rc |= regcomp(&r->re_ofloat,
		      "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+]?[0-9]+)?"
		      "|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
		      "|\\.[0-9_]+([eE][-+][0-9]+)?"
		      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
		      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
		      REG_EXTENDED | REG_NOSUB);
	r->ok = 1;
	return rc ? -EINVAL : 0;
}

/* The patterns are compiled once per process: compiling them took most of a
 * workload's load time.  glibc's regexec() may share a compiled pattern. */
static struct resolver shared_resolver;
static pthread_once_t resolver_once = PTHREAD_ONCE_INIT;
static int resolver_status;

static void resolver_compile(void)
{
	resolver_status = resolver_init(&shared_resolver);
}

static struct resolver *resolver_get(void)
{
	pthread_once(&resolver_once, resolver_compile);
	return resolver_status ? NULL : &shared_resolver;
}

static void strip_underscores(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (; *in && j + 1 < len; in++)
		if (*in != '_')
			out[j++] = *in;
	out[j] = '\0';
}

/* base-60 forms like 1:30 (YAML 1.1) */
static double sexagesimal(const char *s)
{
	double sign = 1, v = 0;
	const char *p = s;

	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		char *end;
		double part = strtod(p, &end);

		v = v * 60 + part;
		if (*end != ':')
			break;
		p = end + 1;
	}
	return sign * v;
}

static int parse_yaml_int(const char *text, int64_t *out)
{
	char buf[128];
	const char *p;
	int neg = 0, base = 10;
	char *end;
	unsigned long long u;

	if (strchr(text, ':')) {
		*out = (int64_t)sexagesimal(text);
		return 0;
	}
	strip_underscores(text, buf, sizeof(buf));
	p = buf;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] == 'b') {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p += 1;
	}
	errno = 0;
	u = strtoull(p, &end, base);
	if (errno || *end || u > (unsigned long long)INT64_MAX)
		return -ERANGE;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

static double parse_yaml_float(const char *text)
{
	char buf[128];
	const char *p;

	if (strstr(text, "inf") || strstr(text, "Inf") || strstr(text, "INF"))
		return text[0] == '-' ? -INFINITY : INFINITY;
	if (strstr(text, "nan") || strstr(text, "NaN") || strstr(text, "NAN"))
		return NAN;
	if (strchr(text, ':'))
		return sexagesimal(text);
	strip_underscores(text, buf, sizeof(buf));
	p = buf;
	return strtod(p, NULL);
}

static int resolve_plain(struct resolver *r, struct dlio_ynode *n)
{
	const char *s = n->text;

	if (!regexec(&r->re_bool, s, 0, NULL, 0)) {
		n->type = DLIO_YT_BOOL;
		n->bval = s[0] == 'y' || s[0] == 'Y' || s[0] == 't' || s[0] == 'T' ||
			  ((s[0] == 'o' || s[0] == 'O') && (s[1] == 'n' || s[1] == 'N'));
	} else if (!regexec(&r->re_float, s, 0, NULL, 0) && strpbrk(s, "0123456789in")) {
		n->type = DLIO_YT_FLOAT;
		n->dval = parse_yaml_float(s);
	} else if (!regexec(&r->re_int, s, 0, NULL, 0)) {
		n->type = DLIO_YT_INT;
		if (parse_yaml_int(s, &n->ival))
			return -ERANGE;
		n->dval = (double)n->ival;
	} else if (!regexec(&r->re_null, s, 0, NULL, 0)) {
		n->type = DLIO_YT_NULL;
	} else if (!regexec(&r->re_ofloat, s, 0, NULL, 0)) {
		n->type = DLIO_YT_FLOAT;
		n->dval = parse_yaml_float(s);
	} else {
		n->type = DLIO_YT_STR;
	}
	return 0;
}

struct dlio_ynode *dlio_ynode_get(const struct dlio_ynode *map, const char *key)
{
	struct dlio_ynode *c;

	if (!map || map->kind != DLIO_Y_MAP)
		return NULL;
	for (c = map->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

struct dlio_ynode *dlio_ynode_path(const struct dlio_ynode *map, const char *path)
{
	char seg[256];
	const struct dlio_ynode *n = map;
	const char *p = path, *dot;
	size_t len;

	while (n && *p) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (len >= sizeof(seg))
			return NULL;
		memcpy(seg, p, len);
		seg[len] = '\0';
		n = dlio_ynode_get(n, seg);
		p = dot ? dot + 1 : p + len;
	}
	return (struct dlio_ynode *)n;
}

size_t dlio_ynode_count(const struct dlio_ynode *n)
{
	const struct dlio_ynode *c;
	size_t k = 0;

	if (!n)
		return 0;
	for (c = n->child; c; c = c->next)
		k++;
	return k;
}

void dlio_ynode_pathname(const struct dlio_ynode *n, char *buf, size_t len)
{
	const struct dlio_ynode *chain[DLIO_Y_MAX_DEPTH + 2];
	size_t depth = 0, off = 0;
	int w;

	if (!len)
		return;
	buf[0] = '\0';
	for (; n && n->parent && depth < DLIO_Y_MAX_DEPTH + 2; n = n->parent)
		chain[depth++] = n;
	while (depth--) {
		const struct dlio_ynode *c = chain[depth];

		if (c->key)
			w = snprintf(buf + off, len - off, "%s%s", off ? "." : "", c->key);
		else
			w = snprintf(buf + off, len - off, "[%zu]", (size_t)0);
		if (w < 0 || (size_t)w >= len - off)
			return;
		off += (size_t)w;
	}
}

struct pctx {
	struct dlio_ytree *t;
	struct resolver *res;
	const char *src;
	char *err;
	size_t errlen;
};

static int parse_node(struct pctx *c, yaml_parser_t *p, yaml_event_t *ev, int depth,
		      struct dlio_ynode **out);

static int parse_collection(struct pctx *c, yaml_parser_t *p, struct dlio_ynode *n, int depth)
{
	yaml_event_type_t end = n->kind == DLIO_Y_MAP ? YAML_MAPPING_END_EVENT
						       : YAML_SEQUENCE_END_EVENT;
	yaml_event_t ev;
	int ret;

	for (;;) {
		struct dlio_ynode *key = NULL, *val = NULL;

		if (!yaml_parser_parse(p, &ev)) {
			errbuf_set(c->err, c->errlen, "%s:%zu:%zu: %s", c->src, p->problem_mark.line + 1,
			       p->problem_mark.column + 1, p->problem ? p->problem : "parse error");
			return -EINVAL;
		}
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (n->kind == DLIO_Y_SEQ) {
			ret = parse_node(c, p, &ev, depth + 1, &val);
			if (ret)
				return ret;
			node_append(n, val);
			continue;
		}
		ret = parse_node(c, p, &ev, depth + 1, &key);
		if (ret)
			return ret;
		if (key->kind != DLIO_Y_SCALAR) {
			errbuf_set(c->err, c->errlen, "%s:%d:%d: mapping keys must be scalars", c->src,
			       key->line, key->col);
			node_free(c->t, key);
			return -EINVAL;
		}
		if (dlio_ynode_get(n, key->text)) {
			/* OmegaConf's loader rejects duplicate keys; PyYAML alone would keep the last */
			errbuf_set(c->err, c->errlen, "%s:%d:%d: %s: duplicate key", c->src, key->line,
			       key->col, key->text);
			node_free(c->t, key);
			return -EINVAL;
		}
		if (!yaml_parser_parse(p, &ev)) {
			errbuf_set(c->err, c->errlen, "%s:%zu:%zu: %s", c->src, p->problem_mark.line + 1,
			       p->problem_mark.column + 1, p->problem ? p->problem : "parse error");
			node_free(c->t, key);
			return -EINVAL;
		}
		ret = parse_node(c, p, &ev, depth + 1, &val);
		if (ret) {
			node_free(c->t, key);
			return ret;
		}
		val->key = key->text;
		key->text = NULL;
		val->key_line = key->line;
		val->key_col = key->col;
		node_free(c->t, key);
		node_append(n, val);
	}
}

/* consumes ev */
static int parse_node(struct pctx *c, yaml_parser_t *p, yaml_event_t *ev, int depth,
		      struct dlio_ynode **out)
{
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	struct dlio_ynode *n = NULL;
	int ret = 0;

	*out = NULL;
	if (depth > DLIO_Y_MAX_DEPTH) {
		errbuf_set(c->err, c->errlen, "%s:%d:%d: nesting deeper than %d", c->src, line, col,
		       DLIO_Y_MAX_DEPTH);
		ret = -E2BIG;
		goto out;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.length > DLIO_Y_MAX_SCALAR) {
			errbuf_set(c->err, c->errlen, "%s:%d:%d: scalar longer than %d bytes", c->src,
			       line, col, DLIO_Y_MAX_SCALAR);
			ret = -E2BIG;
			goto out;
		}
		n = node_new(c->t, DLIO_Y_SCALAR, c->src, line, col);
		if (!n)
			goto nomem;
		n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->text)
			goto nomem;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag) {
			if (resolve_plain(c->res, n)) {
				errbuf_set(c->err, c->errlen, "%s:%d:%d: integer out of range", c->src,
				       line, col);
				ret = -ERANGE;
				goto out;
			}
		} else {
			n->type = DLIO_YT_STR;
		}
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		n = node_new(c->t, ev->type == YAML_MAPPING_START_EVENT ? DLIO_Y_MAP : DLIO_Y_SEQ,
			     c->src, line, col);
		if (!n)
			goto nomem;
		yaml_event_delete(ev);
		ev = NULL;
		ret = parse_collection(c, p, n, depth);
		goto out;
	case YAML_ALIAS_EVENT:
		errbuf_set(c->err, c->errlen, "%s:%d:%d: YAML aliases are not supported", c->src, line,
		       col);
		ret = -ENOTSUP;
		goto out;
	default:
		errbuf_set(c->err, c->errlen, "%s:%d:%d: unexpected YAML event", c->src, line, col);
		ret = -EINVAL;
		goto out;
	}
	goto out;
nomem:
	if (c->t->nnodes >= DLIO_Y_MAX_NODES) {
		errbuf_set(c->err, c->errlen, "%s:%d:%d: more than %d YAML nodes", c->src, line, col,
		       DLIO_Y_MAX_NODES);
		ret = -E2BIG;
	} else {
		errbuf_set(c->err, c->errlen, "%s: out of memory", c->src);
		ret = -ENOMEM;
	}
out:
	if (ev)
		yaml_event_delete(ev);
	if (ret) {
		node_free(c->t, n);
		return ret;
	}
	*out = n;
	return 0;
}

int dlio_ytree_load_buf(struct dlio_ytree *t, const char *name, const char *buf, size_t len,
			char *err, size_t errlen)
{
	struct pctx c = {.t = t, .err = err, .errlen = errlen};
	yaml_parser_t p;
	yaml_event_t ev;
	struct dlio_ynode *root = NULL;
	int ret = 0, have_parser = 0, done = 0;

	memset(t, 0, sizeof(*t));
	c.src = add_src(t, name);
	if (!c.src) {
		ret = -ENOMEM;
		goto out;
	}
	c.res = resolver_get();
	if (!c.res) {
		ret = -EINVAL;
		goto out;
	}
	if (!yaml_parser_initialize(&p)) {
		ret = -ENOMEM;
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			errbuf_set(err, errlen, "%s:%zu:%zu: %s", name, p.problem_mark.line + 1,
			       p.problem_mark.column + 1, p.problem ? p.problem : "parse error");
			ret = -EINVAL;
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			yaml_event_delete(&ev);
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root) {
				errbuf_set(err, errlen, "%s:%zu:%zu: more than one YAML document", name,
				       ev.start_mark.line + 1, ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				ret = -EINVAL;
				goto out;
			}
			yaml_event_delete(&ev);
			break;
		default:
			if (root) {
				yaml_event_delete(&ev);
				ret = -EINVAL;
				goto out;
			}
			ret = parse_node(&c, &p, &ev, 0, &root);
			if (ret)
				goto out;
			if (root->kind == DLIO_Y_SCALAR && root->type == DLIO_YT_NULL) {
				node_free(t, root);
				root = NULL;
			} else if (root->kind != DLIO_Y_MAP) {
				errbuf_set(err, errlen, "%s:%d:%d: top level must be a mapping", name,
				       root->line, root->col);
				ret = -EINVAL;
				goto out;
			}
			break;
		}
	}
	if (!root) {
		root = node_new(t, DLIO_Y_MAP, c.src, 1, 1);
		if (!root) {
			ret = -ENOMEM;
			goto out;
		}
	}
	t->root = root;
	root = NULL;
out:
	if (have_parser)
		yaml_parser_delete(&p);
	if (root)
		node_free(t, root);
	if (ret) {
		if (err && errlen && !err[0])
			errbuf_set(err, errlen, "%s: %s", name, strerror(-ret));
		dlio_ytree_free(t);
	}
	return ret;
}

int dlio_ytree_load_file(struct dlio_ytree *t, const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (err && errlen)
		err[0] = '\0';
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
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
			errbuf_set(err, errlen, "%s: larger than %d bytes", path, DLIO_Y_MAX_FILE);
			ret = -EFBIG;
			goto out;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		errbuf_set(err, errlen, "%s: read error", path);
		goto out;
	}
	ret = dlio_ytree_load_buf(t, path, buf, len, err, errlen);
out:
	free(buf);
	if (f)
		fclose(f);
	return ret;
}

/* Hydra override values */

struct hctx {
	struct dlio_ytree *t;
	const char *src, *s, *p;
	char *err;
	size_t errlen;
};

static int hydra_value(struct hctx *h, int depth, int nested, struct dlio_ynode **out);

static void skip_ws(struct hctx *h)
{
	while (*h->p == ' ' || *h->p == '\t')
		h->p++;
}

static int hcol(const struct hctx *h)
{
	return (int)(h->p - h->s) + 1;
}

static int ieq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && !strncasecmp(a, b, n);
}

static int match_full(const char *re, const char *s)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

static void hydra_type(struct dlio_ynode *n)
{
	const char *s = n->text;
	size_t len = strlen(s);
	char buf[128];

	n->type = DLIO_YT_STR;
	if (ieq(s, len, "null")) {
		n->type = DLIO_YT_NULL;
	} else if (ieq(s, len, "true") || ieq(s, len, "false")) {
		n->type = DLIO_YT_BOOL;
		n->bval = ieq(s, len, "true");
	} else if (match_full("^[-+]?(0|[1-9](_?[0-9])*)$", s)) {
		strip_underscores(s, buf, sizeof(buf));
		errno = 0;
		n->ival = strtoll(buf, NULL, 10);
		if (errno)
			return; /* too large for an int: stays a string */
		n->type = DLIO_YT_INT;
		n->dval = (double)n->ival;
	} else if (match_full("^[-+]?(([0-9](_?[0-9])*)?\\.[0-9](_?[0-9])*|[0-9](_?[0-9])*\\.?)"
			      "([eE][-+]?[0-9](_?[0-9])*)?$",
			      s) &&
		   strpbrk(s, ".eE")) {
		strip_underscores(s, buf, sizeof(buf));
		n->type = DLIO_YT_FLOAT;
		n->dval = strtod(buf, NULL);
	} else if (match_full("^[-+]?([iI][nN][fF]|[nN][aA][nN])$", s)) {
		n->type = DLIO_YT_FLOAT;
		n->dval = strpbrk(s, "nN") && strpbrk(s, "aA") ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
	}
}

static int hydra_primitive(struct hctx *h, int nested, struct dlio_ynode **out)
{
	const char *start = h->p, *end;
	struct dlio_ynode *n;
	char q;

	if (*h->p == '\'' || *h->p == '"') {
		q = *h->p++;
		start = h->p;
		while (*h->p && *h->p != q) {
			if (*h->p == '\\' && h->p[1])
				h->p++;
			h->p++;
		}
		if (*h->p != q) {
			errbuf_set(h->err, h->errlen, "%s:1:%d: unterminated quoted string", h->src,
			       (int)(start - h->s));
			return -EINVAL;
		}
		end = h->p++;
		n = node_new(h->t, DLIO_Y_SCALAR, h->src, 1, (int)(start - h->s));
		if (!n)
			return -ENOMEM;
		n->text = strndup(start, (size_t)(end - start));
		if (!n->text) {
			node_free(h->t, n);
			return -ENOMEM;
		}
		n->type = DLIO_YT_STR;
		*out = n;
		return 0;
	}
	while (*h->p && !(nested && strchr(",]}:", *h->p)) && *h->p != ',')
		h->p++;
	end = h->p;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = node_new(h->t, DLIO_Y_SCALAR, h->src, 1, (int)(start - h->s) + 1);
	if (!n)
		return -ENOMEM;
	n->text = strndup(start, (size_t)(end - start));
	if (!n->text) {
		node_free(h->t, n);
		return -ENOMEM;
	}
	hydra_type(n);
	/* Hydra: "key=" sets the empty string */
	if (!n->text[0])
		n->type = DLIO_YT_STR;
	*out = n;
	return 0;
}

static int hydra_value(struct hctx *h, int depth, int nested, struct dlio_ynode **out)
{
	struct dlio_ynode *n = NULL, *item = NULL, *key = NULL;
	char close;
	int ret = 0;

	*out = NULL;
	skip_ws(h);
	if (depth > DLIO_Y_MAX_DEPTH)
		return -E2BIG;
	if (*h->p != '[' && *h->p != '{')
		return hydra_primitive(h, nested, out);
	close = *h->p == '[' ? ']' : '}';
	n = node_new(h->t, close == ']' ? DLIO_Y_SEQ : DLIO_Y_MAP, h->src, 1, hcol(h));
	if (!n)
		return -ENOMEM;
	h->p++;
	skip_ws(h);
	if (*h->p == close) {
		h->p++;
		*out = n;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			skip_ws(h);
			ret = hydra_primitive(h, 1, &key);
			if (ret)
				goto out;
			skip_ws(h);
			if (*h->p != ':') {
				errbuf_set(h->err, h->errlen, "%s:1:%d: expected ':' in dictionary",
				       h->src, hcol(h));
				ret = -EINVAL;
				goto out;
			}
			h->p++;
		}
		ret = hydra_value(h, depth + 1, 1, &item);
		if (ret)
			goto out;
		if (key) {
			if (dlio_ynode_get(n, key->text)) {
				errbuf_set(h->err, h->errlen, "%s:1:%d: duplicate key %s", h->src,
				       key->col, key->text);
				ret = -EINVAL;
				goto out;
			}
			item->key = key->text;
			key->text = NULL;
			node_free(h->t, key);
			key = NULL;
		}
		node_append(n, item);
		item = NULL;
		skip_ws(h);
		if (*h->p == ',') {
			h->p++;
			continue;
		}
		if (*h->p == close) {
			h->p++;
			break;
		}
		errbuf_set(h->err, h->errlen, "%s:1:%d: expected ',' or '%c'", h->src, hcol(h), close);
		ret = -EINVAL;
		goto out;
	}
out:
	node_free(h->t, key);
	node_free(h->t, item);
	if (ret) {
		node_free(h->t, n);
		return ret;
	}
	*out = n;
	return 0;
}

static void copy_pos(struct dlio_ynode *n, const char *src, int col)
{
	struct dlio_ynode *c;

	n->src = src;
	n->line = 1;
	if (!n->col)
		n->col = col;
	for (c = n->child; c; c = c->next)
		copy_pos(c, src, col);
}

int dlio_ytree_override(struct dlio_ytree *t, const char *ovr, const char *prefix, int *is_hydra,
			char *err, size_t errlen)
{
	char srcname[64], path[512], seg[256];
	struct hctx h = {.t = t, .s = ovr, .err = err, .errlen = errlen};
	struct dlio_ynode *val = NULL, *cur, *next;
	const char *p = ovr, *eq, *pstart, *dot;
	int mode, ret = 0; /* 0 set existing, 1 add, 2 add-or-set, 3 delete */
	size_t plen, len;

	*is_hydra = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!t->root) {
		ret = -EINVAL;
		goto out;
	}
	snprintf(srcname, sizeof(srcname), "<override %zu>", t->nsrcs);
	h.src = add_src(t, srcname);
	if (!h.src) {
		errbuf_set(err, errlen, "%s: too many overrides (max %d)", ovr, DLIO_Y_MAX_OVERRIDES);
		ret = -E2BIG;
		goto out;
	}
	if (!strncmp(p, "++", 2)) {
		mode = 2;
		p += 2;
	} else if (*p == '+') {
		mode = 1;
		p++;
	} else if (*p == '~') {
		mode = 3;
		p++;
	} else {
		mode = 0;
	}
	pstart = p;
	eq = strchr(p, '=');
	plen = eq ? (size_t)(eq - p) : strlen(p);
	if (!plen || plen >= sizeof(path)) {
		errbuf_set(err, errlen, "%s:1:%d: %s: missing or overlong key", h.src,
		       (int)(pstart - ovr) + 1, ovr);
		ret = -EINVAL;
		goto out;
	}
	memcpy(path, p, plen);
	path[plen] = '\0';
	if (!eq && mode != 3) {
		errbuf_set(err, errlen, "%s:1:%d: %s: missing '=' (key=value)", h.src,
		       (int)(pstart - ovr) + 1, path);
		ret = -EINVAL;
		goto out;
	}
	if (eq) {
		h.p = eq + 1;
		ret = hydra_value(&h, 0, 0, &val);
		if (ret)
			goto out;
		skip_ws(&h);
		if (*h.p == ',') {
			errbuf_set(err, errlen,
			       "%s:1:%d: %s: a comma-separated value is a sweep, which needs "
			       "--multirun; quote it or use [a,b] for a list",
			       h.src, hcol(&h), path);
			ret = -EINVAL;
			goto out;
		}
		if (*h.p) {
			errbuf_set(err, errlen, "%s:1:%d: %s: trailing characters in value", h.src,
			       hcol(&h), path);
			ret = -EINVAL;
			goto out;
		}
		copy_pos(val, h.src, (int)(eq - ovr) + 2);
	}
	if (!strncmp(path, "hydra.", 6) || !strcmp(path, "hydra")) {
		*is_hydra = 1;
		goto out;
	}
	len = strlen(prefix);
	if (strncmp(path, prefix, len) || !path[len]) {
		errbuf_set(err, errlen, "%s:1:%d: %s: only %s* and hydra.* keys can be overridden",
		       h.src, (int)(pstart - ovr) + 1, path, prefix);
		ret = -EINVAL;
		goto out;
	}
	p = path + len;
	cur = t->root;
	for (;;) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (!len || len >= sizeof(seg)) {
			errbuf_set(err, errlen, "%s:1:%d: %s: bad key path", h.src,
			       (int)(pstart - ovr) + 1, path);
			ret = -EINVAL;
			goto out;
		}
		memcpy(seg, p, len);
		seg[len] = '\0';
		next = dlio_ynode_get(cur, seg);
		if (!dot)
			break;
		if (!next) {
			if (mode == 0 || mode == 3) {
				errbuf_set(err, errlen,
				       "%s:1:%d: %s: key '%s' is not in the config (use ++ or + to "
				       "add it)",
				       h.src, (int)(pstart - ovr) + 1, path, seg);
				ret = -ENOENT;
				goto out;
			}
			next = node_new(t, DLIO_Y_MAP, h.src, 1, (int)(pstart - ovr) + 1);
			if (!next) {
				ret = -ENOMEM;
				goto out;
			}
			next->key = strdup(seg);
			if (!next->key) {
				node_free(t, next);
				ret = -ENOMEM;
				goto out;
			}
			node_append(cur, next);
		} else if (next->kind != DLIO_Y_MAP) {
			errbuf_set(err, errlen, "%s:1:%d: %s: '%s' is not a mapping", h.src,
			       (int)(pstart - ovr) + 1, path, seg);
			ret = -ENOTDIR;
			goto out;
		}
		cur = next;
		p = dot + 1;
	}
	switch (mode) {
	case 0:
		if (!next) {
			errbuf_set(err, errlen,
			       "%s:1:%d: %s: key is not in the config; Hydra rejects it (use "
			       "++%s=... to add it)",
			       h.src, (int)(pstart - ovr) + 1, path, path);
			ret = -ENOENT;
			goto out;
		}
		break;
	case 1:
		if (next) {
			errbuf_set(err, errlen,
			       "%s:1:%d: %s: key already exists; Hydra's + only adds (use ++ to "
			       "override)",
			       h.src, (int)(pstart - ovr) + 1, path);
			ret = -EEXIST;
			goto out;
		}
		break;
	case 3:
		if (!next) {
			errbuf_set(err, errlen, "%s:1:%d: %s: cannot delete, key is not in the config",
			       h.src, (int)(pstart - ovr) + 1, path);
			ret = -ENOENT;
			goto out;
		}
		if (val && (next->kind != DLIO_Y_SCALAR || !next->text ||
			    strcmp(next->text, val->text ? val->text : ""))) {
			errbuf_set(err, errlen, "%s:1:%d: %s: cannot delete, value does not match",
			       h.src, (int)(pstart - ovr) + 1, path);
			ret = -EINVAL;
			goto out;
		}
		node_unlink(next);
		node_free(t, next);
		goto out;
	default:
		break;
	}
	val->key = strdup(seg);
	if (!val->key) {
		ret = -ENOMEM;
		goto out;
	}
	val->key_line = 1;
	val->key_col = (int)(pstart - ovr) + 1;
	if (next) {
		/* keep the key's position in the mapping: replace in place */
		struct dlio_ynode **pp;

		for (pp = &cur->child; *pp != next; pp = &(*pp)->next)
			;
		val->next = next->next;
		val->parent = cur;
		*pp = val;
		if (cur->last == next)
			cur->last = val;
		next->next = NULL;
		next->parent = NULL;
		node_free(t, next);
	} else {
		node_append(cur, val);
	}
	val = NULL;
out:
	node_free(t, val);
	if (ret && err && errlen && !err[0])
		errbuf_set(err, errlen, "%s: %s", ovr, strerror(-ret));
	return ret;
}
