/*
 * Cutting an object written by fio into multipart parts, checked against S3's limits before
 * the first byte is sent, and the coverage of a part by fio's writes.
 */
#include "lib/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_VARIABLE_PART (8ull << 20)
/* A part written in more pieces than this is a pattern we refuse rather than track. */
#define COVER_MAX_FRAGMENTS 65536

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static void human(uint64_t v, char *out, size_t outsz)
{
	if (v >= (1ull << 30) && !(v % (1ull << 30)))
		snprintf(out, outsz, "%lluGiB", (unsigned long long)(v >> 30));
	else if (v >= (1ull << 20) && !(v % (1ull << 20)))
		snprintf(out, outsz, "%lluMiB", (unsigned long long)(v >> 20));
	else if (v >= 1024 && !(v % 1024))
		snprintf(out, outsz, "%lluKiB", (unsigned long long)(v >> 10));
	else
		snprintf(out, outsz, "%llu bytes", (unsigned long long)v);
}

int s3_plan_parts(uint64_t size, uint64_t part_size, uint64_t bs_min, uint64_t bs_max,
		  struct s3_part_plan *plan, char *err, size_t errlen)
{
	char a[32], b[32];
	uint64_t p = part_size;

	memset(plan, 0, sizeof(*plan));
	if (!size) {
		snprintf(err, errlen,
			 "the object's size is unknown (set size= or filesize= for a writing job)");
		return -EINVAL;
	}
	if (p) {
		if (p < S3_PART_MIN && size > p) {
			human(p, a, sizeof(a));
			snprintf(err, errlen,
				 "s3_part_size=%s is below S3's 5 MiB minimum for all parts but the "
				 "last; use s3_part_size=5m or more (or 0 for automatic)",
				 a);
			return -EINVAL;
		}
		if (p > S3_PART_MAX) {
			human(p, a, sizeof(a));
			snprintf(err, errlen, "s3_part_size=%s is above S3's 5 GiB maximum", a);
			return -EINVAL;
		}
		if (div_up(size, p) > S3_PARTS_MAX) {
			human(p, a, sizeof(a));
			human(size, b, sizeof(b));
			snprintf(err, errlen,
				 "an object of %s in parts of s3_part_size=%s needs %llu parts, more "
				 "than S3's limit of 10,000; use s3_part_size=%lluk or more (or 0 for "
				 "automatic)",
				 b, a, (unsigned long long)div_up(size, p),
				 (unsigned long long)div_up(div_up(size, S3_PARTS_MAX), 1024));
			return -EINVAL;
		}
	} else {
		uint64_t unit = bs_min && bs_min == bs_max ? bs_min : 0;

		if (unit)
			p = unit >= S3_PART_MIN ? unit : div_up(S3_PART_MIN, unit) * unit;
		else
			p = bs_max > AUTO_VARIABLE_PART ? bs_max : AUTO_VARIABLE_PART;
		if (div_up(size, p) > S3_PARTS_MAX) {
			uint64_t need = div_up(size, S3_PARTS_MAX);

			p = unit ? div_up(need, unit) * unit : div_up(need, 1ull << 20) << 20;
		}
		if (p > S3_PART_MAX && div_up(size, S3_PART_MAX) <= S3_PARTS_MAX)
			p = S3_PART_MAX;
		if (p > S3_PART_MAX || div_up(size, p) > S3_PARTS_MAX) {
			human(size, b, sizeof(b));
			snprintf(err, errlen,
				 "an object of %s does not fit S3's limits (10,000 parts of at most "
				 "5 GiB)",
				 b);
			return -EFBIG;
		}
	}
	if (p > size)
		p = size;
	plan->size = size;
	plan->part_size = p;
	plan->nparts = (uint32_t)div_up(size, p);
	return 0;
}

int s3_cover_add(struct s3_cover *c, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	uint32_t i, j;

	if (!len)
		return 0;
	/* first interval that ends at or after off (touching intervals merge) */
	for (i = 0; i < c->n && c->iv[i][1] < off; i++)
		;
	for (j = i; j < c->n && c->iv[j][0] <= end; j++) {
		if (c->iv[j][0] < off)
			off = c->iv[j][0];
		if (c->iv[j][1] > end)
			end = c->iv[j][1];
	}
	if (j == i) {
		/* no overlap: insert */
		if (c->n == c->cap) {
			uint32_t cap = c->cap ? c->cap * 2 : 8;
			void *iv;

			if (cap > COVER_MAX_FRAGMENTS)
				return -E2BIG;
			iv = realloc(c->iv, cap * sizeof(*c->iv));
			if (!iv)
				return -ENOMEM;
			c->iv = iv;
			c->cap = cap;
		}
		memmove(c->iv + i + 1, c->iv + i, (c->n - i) * sizeof(*c->iv));
		c->n++;
	} else if (j > i + 1) {
		memmove(c->iv + i + 1, c->iv + j, (c->n - j) * sizeof(*c->iv));
		c->n -= j - i - 1;
	}
	c->iv[i][0] = off;
	c->iv[i][1] = end;
	return 0;
}

bool s3_cover_full(const struct s3_cover *c, uint64_t len)
{
	return c->n == 1 && c->iv[0][0] == 0 && c->iv[0][1] >= len;
}

bool s3_cover_overlaps(const struct s3_cover *c, uint64_t off, uint64_t len)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->iv[i][0] < off + len && off < c->iv[i][1])
			return true;
	return false;
}

void s3_cover_free(struct s3_cover *c)
{
	free(c->iv);
	memset(c, 0, sizeof(*c));
}
