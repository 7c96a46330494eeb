// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/fmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *stt_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

/* A non-negative decimal number and the rest of the string. */
static int parse_number(const char *s, double *v, const char **rest)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -EINVAL;
	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || !isfinite(*v))
		return -EINVAL;
	*rest = end;
	return 0;
}

int stt_fmt_parse_u64(const char *s, int base, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, base);
	if (*end)
		return -EINVAL;
	if (errno)
		return -ERANGE;
	*v = x;
	return 0;
}

int stt_fmt_parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "kmgtp";
	const char *rest, *u;
	double v, mult = 1;
	int r;

	if ((r = parse_number(s, &v, &rest)))
		return r;
	if (*rest && strcasecmp(rest, "b")) {
		u = *rest ? strchr(units, tolower((unsigned char)*rest)) : NULL;
		if (!u)
			return -EINVAL;
		mult = pow(1024, (double)(u - units + 1));
		rest++;
		if (*rest && strcasecmp(rest, "b") && strcasecmp(rest, "ib"))
			return -EINVAL;
	}
	v *= mult;
	if (v >= 18446744073709551616.0)
		return -ERANGE;
	if (v != floor(v))
		return -EINVAL;
	*bytes = (uint64_t)v;
	return 0;
}

int stt_fmt_parse_time_ms(const char *s, uint64_t *ms)
{
	const char *rest;
	double v, mult;
	int r;

	if ((r = parse_number(s, &v, &rest)))
		return r;
	if (!*rest || !strcmp(rest, "s"))
		mult = 1000;
	else if (!strcmp(rest, "ms"))
		mult = 1;
	else if (!strcmp(rest, "m"))
		mult = 60000;
	else if (!strcmp(rest, "h"))
		mult = 3600000;
	else if (!strcmp(rest, "us"))
		mult = 0.001;
	else
		return -EINVAL;
	v *= mult;
	if (v >= 9.2e18)
		return -ERANGE;
	*ms = (uint64_t)llround(v);
	return 0;
}

static void sh_quoted(FILE *f, const char *s)
{
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
}

void stt_fmt_sh_word(FILE *f, const char *prefix, const char *s)
{
	fputc('\'', f);
	sh_quoted(f, prefix);
	sh_quoted(f, s);
	fputc('\'', f);
}
