// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune compare BASELINE.json CANDIDATE.json: did storage startup get worse?
 *
 * The statistics are in src/advice/compare.c and src/base/stats.c; this file reads the two files, refuses
 * incomparable runs, and writes the verdicts as a table, JSON, JUnit XML and Markdown.
 * Exit 0: no regression (or nothing --fail-on asks for); 1: a regression; 2: unusable input.
 */
#include "cmd.h"

#include "advice/compare.h"
#include "base/err.h"
#include "base/json.h"
#include "advice/results.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_ALPHA = 256,
	OPT_THRESHOLD,
	OPT_CONFIDENCE,
	OPT_JUNIT,
	OPT_MARKDOWN,
	OPT_METRIC,
	OPT_FAIL_ON,
	OPT_ALLOW_ENV,
	OPT_NOISE_FACTOR,
	OPT_BLOCKS,
	OPT_NO_CONTROL,
};

#define MAX_GLOBS      64
#define MAX_THRESHOLDS 64

enum fail_on {
	FAIL_REGRESSION = 1,
	FAIL_IMPROVEMENT = 2,
	FAIL_ANY = 3,
	FAIL_UNDECIDED = 4, /* also fail on "inconclusive" (too few repetitions) */
};

struct opts {
	struct stt_cmp_params p;
	const char *junit, *markdown;
	const char *globs[MAX_GLOBS];
	size_t nglobs;
	struct stt_cmp_threshold th[MAX_THRESHOLDS];
	char th_globs[MAX_THRESHOLDS][256];
	unsigned int fail_on;
	bool allow_env;
	const char *base_path, *cand_path;
};

/* ---- How figures read ---- */

static void fmt_ns(char *buf, size_t len, double ns)
{
	if (fabs(ns) < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (fabs(ns) < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (fabs(ns) < 1e9)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void fmt_value(char *buf, size_t len, double v, const char *unit)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (!strcmp(unit, "ns"))
		fmt_ns(buf, len, v);
	else if (!strcmp(unit, "containers/s"))
		snprintf(buf, len, "%.1f/s", v);
	else if (!strcmp(unit, "iops"))
		snprintf(buf, len, "%.0f IOPS", v);
	else
		snprintf(buf, len, "%.3g", v);
}

static void fmt_pct(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (isinf(v))
		snprintf(buf, len, "%cinf", v > 0 ? '+' : '-');
	else
		snprintf(buf, len, "%+.1f%%", v * 100.0);
}

/* The change, with @mark after it when the metric was adjusted for the machine's control. */
static void fmt_change(char *buf, size_t len, const struct stt_cmp_metric *m, const char *mark)
{
	char ch[32];

	fmt_pct(ch, sizeof(ch), m->r.change);
	snprintf(buf, len, "%s%s", ch, m->adjusted ? mark : "");
}

static bool any_adjusted(const struct stt_comparison *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->m[i].adjusted)
			return true;
	return false;
}

#define ADJUSTED_NOTE                                                                           \
	"adjusted for the machine's control, repetition by repetition (slopes in --json); the " \
	"medians beside it are as recorded"

static void fmt_interval(char *buf, size_t len, const struct stt_cmp_result *r)
{
	char lo[32], hi[32];

	if (r->method != STT_CMP_TEST) {
		snprintf(buf, len, "-");
		return;
	}
	fmt_pct(lo, sizeof(lo), r->lo);
	fmt_pct(hi, sizeof(hi), r->hi);
	snprintf(buf, len, "[%s, %s]", lo, hi);
}

static void fmt_p(char *buf, size_t len, double p)
{
	if (isnan(p))
		snprintf(buf, len, "-");
	else if (p < 0.0001)
		snprintf(buf, len, "<0.0001");
	else
		snprintf(buf, len, "%.4f", p);
}

/* "regression", or "regression (medians, n<5)" when no test was possible. */
static void fmt_verdict(char *buf, size_t len, const struct stt_cmp_metric *m)
{
	if (m->r.method == STT_CMP_TEST)
		snprintf(buf, len, "%s", stt_cmp_verdict_name(m->r.verdict));
	else
		snprintf(buf, len, "%s, by %s", stt_cmp_verdict_name(m->r.verdict),
			 stt_cmp_method_name(m->r.method));
}

static bool fails(const struct opts *o, const struct stt_cmp_metric *m)
{
	return ((o->fail_on & FAIL_REGRESSION) && m->r.verdict == STT_CMP_REGRESSION) ||
	       ((o->fail_on & FAIL_IMPROVEMENT) && m->r.verdict == STT_CMP_IMPROVEMENT) ||
	       ((o->fail_on & FAIL_UNDECIDED) && m->r.verdict == STT_CMP_INCONCLUSIVE);
}

static const char *fail_on_name(unsigned int f)
{
	return f == FAIL_ANY		    ? "any"
	       : f == FAIL_IMPROVEMENT	    ? "improvement"
	       : f & FAIL_UNDECIDED	    ? "inconclusive"
					    : "regression";
}

/* The threshold applied: "5%", or "~31%" when the metric's noise raised it. */
static void fmt_threshold(char *buf, size_t len, const struct stt_cmp_metric *m)
{
	double t = m->r.threshold_eff;

	if (m->r.verdict == STT_CMP_NOT_GATED || m->r.verdict == STT_CMP_INCONCLUSIVE)
		snprintf(buf, len, "-");
	else if (t > (m->r.log_scale ? log1p(m->threshold) : m->threshold))
		snprintf(buf, len, "~%.0f%%", t * 100.0);
	else /* the one given (on the log scale applied as its log ratio) */
		snprintf(buf, len, "%g%%", m->threshold * 100.0);
}

/* "3 regressions, 1 improvement, 2 inconclusive, 14 not gated in 36 metrics" */
static void fmt_counts(char *buf, size_t len, const struct stt_comparison *c)
{
	snprintf(buf, len,
		 "%zu regression%s, %zu improvement%s, %zu inconclusive, %zu not gated in %zu "
		 "metrics",
		 c->regressions, c->regressions == 1 ? "" : "s", c->improvements,
		 c->improvements == 1 ? "" : "s", c->inconclusive, c->not_gated, c->n);
}

/*
 * Why some metrics were not decided: each reason once, with the metrics it applies to
 * (the first few named).
 */
static void print_reasons(const struct stt_comparison *c, FILE *f)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct stt_cmp_metric *m = &c->m[i];
		size_t k = 0, shown = 0;
		bool seen = false;

		if (!m->r.why[0])
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(c->m[j].r.why, m->r.why);
		if (seen)
			continue;
		for (size_t j = i; j < c->n; j++)
			k += !strcmp(c->m[j].r.why, m->r.why);
		fprintf(f, "%s: ", stt_cmp_verdict_name(m->r.verdict));
		for (size_t j = i; j < c->n && shown < 3; j++)
			if (!strcmp(c->m[j].r.why, m->r.why))
				fprintf(f, "%s%s", shown++ ? ", " : "", c->m[j].name);
		if (k > shown)
			fprintf(f, " and %zu more", k - shown);
		fprintf(f, ": %s\n", m->r.why);
	}
}

/* One line on the rule, for every output. */
static void fmt_rule(char *buf, size_t len, const struct stt_cmp_params *p)
{
	char units[96] = "each repetition a unit";

	if (p->blocks > 1)
		snprintf(units, sizeof(units),
			 "tested on the medians of %u blocks of consecutive repetitions a side "
			 "(with %u or more)",
			 p->blocks, STT_COMPARE_BLOCK_MIN * p->blocks);
	snprintf(buf, len,
		 "a change counts when the one-sided Mann-Whitney test gives p < %g and its "
		 "one-sided %g%% bound lies beyond the threshold (%g%%%s, raised to %g times the "
		 "spread of one repetition: ~; interval shown: both bounds, %g%% two-sided), "
		 "%s; "
		 "not gated: a threshold so raised to %g%% or more, a percentile with fewer "
		 "than %d samples beyond it a repetition; times and rates with %d or more "
		 "repetitions a side are first adjusted for the mode's control (tmpfs "
		 "directories, no storage; %s), their thresholds raised by %g times what "
		 "that moved them by; inconclusive: fewer than %d repetitions a "
		 "side, too few units for any p < alpha, or, of the figures not adjusted, "
		 "a mode's regressions when its control would itself be a regression at the "
		 "threshold (its improvements, when faster)",
		 p->alpha, p->confidence * 100.0, p->threshold * 100.0,
		 p->n_per_metric ? " unless the metric has its own" : "", p->noise_factor,
		 (2.0 * p->confidence - 1.0) * 100.0, units, STT_COMPARE_MAX_GATED * 100.0,
		 STT_COMPARE_TAIL_MIN, STT_COMPARE_ADJUST_MIN_N,
		 p->no_control ? "off: --no-control" : "marked *", STT_COMPARE_ADJUST_HEDGE,
		 STT_COMPARE_MIN_N);
}

static size_t count_failing(const struct opts *o, const struct stt_comparison *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += fails(o, &c->m[i]);
	return n;
}

/* ---- The table ---- */

static void print_table(const struct opts *o, const struct stt_comparison *c, char **env,
			size_t nenv, FILE *f)
{
	int w = 6;
	char rule[1024], counts[256];

	for (size_t i = 0; i < c->n; i++)
		if ((int)strlen(c->m[i].name) > w)
			w = (int)strlen(c->m[i].name);
	fprintf(f, "baseline   %s\ncandidate  %s\n", o->base_path, o->cand_path);
	fmt_rule(rule, sizeof(rule), &c->params);
	fprintf(f, "rule       %s\n\n", rule);
	fprintf(f, "%-*s  %12s  %12s  %8s  %-20s  %8s  %9s  %s\n", w, "metric", "baseline",
		"candidate", "change", "interval", "p(worse)", "threshold", "verdict");
	for (size_t i = 0; i < c->n; i++) {
		const struct stt_cmp_metric *m = &c->m[i];
		char a[32], b[32], ch[32], iv[64], p[16], v[64], t[16];

		fmt_value(a, sizeof(a), m->base.median, m->unit);
		fmt_value(b, sizeof(b), m->cand.median, m->unit);
		fmt_change(ch, sizeof(ch), m, "*");
		fmt_interval(iv, sizeof(iv), &m->r);
		fmt_p(p, sizeof(p), m->r.p_worse);
		fmt_verdict(v, sizeof(v), m);
		fmt_threshold(t, sizeof(t), m);
		fprintf(f, "%-*s  %12s  %12s  %8s  %-20s  %8s  %9s  %s\n", w, m->name, a, b, ch, iv,
			p, t, v);
	}
	if (any_adjusted(c))
		fprintf(f, "*: %s\n", ADJUSTED_NOTE);
	fputc('\n', f);
	print_reasons(c, f);
	for (size_t i = 0; i < nenv; i++)
		fprintf(f, "environment differs (allowed): %s\n", env[i]);
	if (c->n_only_base)
		fprintf(f, "%zu metric%s only in the baseline (first: %s)\n", c->n_only_base,
			c->n_only_base == 1 ? "" : "s", c->only_base[0]);
	if (c->n_only_cand)
		fprintf(f, "%zu metric%s only in the candidate (first: %s)\n", c->n_only_cand,
			c->n_only_cand == 1 ? "" : "s", c->only_cand[0]);
	fmt_counts(counts, sizeof(counts), c);
	fprintf(f, "%s (fail on %s): %s\n", counts, fail_on_name(o->fail_on),
		count_failing(o, c) ? "FAIL" : "pass");
}

/* ---- JUnit XML ---- */

/* Text for an XML attribute or element: the five entities; control characters as '?'. */
static void xml_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			/* XML 1.0 allows no control characters but tab, newline and return */
			fputc(ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' ? '?' : ch, f);
		}
	}
}

/* "+12.0% [+7.1%, +16.9%], p=0.0003; baseline 0.43 ms (n=10), candidate 0.51 ms (n=10)" */
static void fmt_detail(char *buf, size_t len, const struct stt_cmp_metric *m)
{
	char a[32], b[32], ch[64], iv[64], p[16];

	fmt_value(a, sizeof(a), m->base.median, m->unit);
	fmt_value(b, sizeof(b), m->cand.median, m->unit);
	fmt_change(ch, sizeof(ch), m, " (adjusted for the control)");
	fmt_interval(iv, sizeof(iv), &m->r);
	fmt_p(p, sizeof(p), m->r.p_worse);
	snprintf(
	    buf, len,
	    "%s %s, p(worse)=%s, threshold %g%%, %s; baseline %s (n=%zu), candidate %s (n=%zu)", ch,
	    iv, p, m->threshold * 100.0, stt_cmp_method_name(m->r.method), a, m->base.n, b,
	    m->cand.n);
}

static void write_junit(const struct opts *o, const struct stt_comparison *c, char **env,
			size_t nenv, FILE *f)
{
	size_t failures = count_failing(o, c);
	size_t skipped = 0;
	char when[32], rule[1024];
	time_t now = time(NULL);
	struct tm tm;

	for (size_t i = 0; i < c->n; i++)
		skipped += !fails(o, &c->m[i]) && c->m[i].r.why[0];
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fmt_rule(rule, sizeof(rule), &c->params);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<testsuites name=\"stortune compare\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" time=\"0\">\n",
		c->n, failures);
	fprintf(f,
		"  <testsuite name=\"stortune compare\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" skipped=\"%zu\" time=\"0\" timestamp=\"%s\">\n",
		c->n, failures, skipped, when);
	fprintf(f, "    <properties>\n");
	fprintf(f, "      <property name=\"baseline\" value=\"");
	xml_put(f, o->base_path);
	fprintf(f, "\"/>\n      <property name=\"candidate\" value=\"");
	xml_put(f, o->cand_path);
	fprintf(f, "\"/>\n      <property name=\"rule\" value=\"");
	xml_put(f, rule);
	fprintf(f, "\"/>\n      <property name=\"fail_on\" value=\"%s\"/>\n",
		fail_on_name(o->fail_on));
	for (size_t i = 0; i < nenv; i++) {
		fprintf(f, "      <property name=\"environment_difference\" value=\"");
		xml_put(f, env[i]);
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "    </properties>\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct stt_cmp_metric *m = &c->m[i];
		char detail[512], group[256];

		/* the class is the backend (or "raw"), so that CI pages group by it */
		fmt_detail(detail, sizeof(detail), m);
		snprintf(group, sizeof(group), "%.*s", (int)strcspn(m->name, "/"), m->name);
		fprintf(f, "    <testcase classname=\"stortune.compare.");
		xml_put(f, group);
		fprintf(f, "\" name=\"");
		xml_put(f, m->name);
		fprintf(f, "\" time=\"0\">\n");
		if (fails(o, m)) {
			fprintf(f, "      <failure type=\"%s\" message=\"",
				stt_cmp_verdict_name(m->r.verdict));
			xml_put(f, stt_cmp_verdict_name(m->r.verdict));
			fputs(": ", f);
			xml_put(f, detail);
			fprintf(f, "\">");
			xml_put(f, m->name);
			fputs(": ", f);
			xml_put(f, detail);
			fprintf(f, "</failure>\n");
		} else if (m->r.why[0]) {
			/* not decided (inconclusive, not gated): skipped, with the reason */
			fprintf(f, "      <skipped message=\"");
			xml_put(f, stt_cmp_verdict_name(m->r.verdict));
			fputs(": ", f);
			xml_put(f, m->r.why);
			fprintf(f, "\"/>\n");
		} else {
			fprintf(f, "      <system-out>");
			xml_put(f, stt_cmp_verdict_name(m->r.verdict));
			fputs(": ", f);
			xml_put(f, detail);
			fprintf(f, "</system-out>\n");
		}
		fprintf(f, "    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
}

/* ---- Markdown ---- */

/* A table cell: '|' escaped, HTML's specials as entities, no line breaks. */
static void md_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '|':
			fputs("\\|", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '`':
			fputc('\'', f);
			break;
		case '\n':
		case '\r':
			fputc(' ', f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void write_markdown(const struct opts *o, const struct stt_comparison *c, char **env,
			   size_t nenv, FILE *f)
{
	size_t failing = count_failing(o, c);
	char rule[1024], counts[256];

	fmt_rule(rule, sizeof(rule), &c->params);
	fmt_counts(counts, sizeof(counts), c);
	fprintf(f, "### stortune compare: %s\n\n", failing ? "FAIL" : "pass");
	fprintf(f, "%s (fail on %s). Baseline `", counts, fail_on_name(o->fail_on));
	md_put(f, o->base_path);
	fputs("`, candidate `", f);
	md_put(f, o->cand_path);
	fputs("`.\n\n", f);
	for (size_t i = 0; i < nenv; i++) {
		fputs("> **Environment differs (allowed):** ", f);
		md_put(f, env[i]);
		fputs("\n>\n", f);
	}
	if (nenv)
		fputc('\n', f);
	fputs("| metric | baseline | candidate | change | interval | p (worse) | threshold | "
	      "verdict |\n",
	      f);
	fputs("|:--|--:|--:|--:|:--|--:|--:|:--|\n", f);
	for (size_t i = 0; i < c->n; i++) {
		const struct stt_cmp_metric *m = &c->m[i];
		char a[32], b[32], ch[32], iv[64], p[16], v[64], t[16];
		bool bold =
		    m->r.verdict == STT_CMP_REGRESSION || m->r.verdict == STT_CMP_IMPROVEMENT;

		fmt_value(a, sizeof(a), m->base.median, m->unit);
		fmt_value(b, sizeof(b), m->cand.median, m->unit);
		fmt_change(ch, sizeof(ch), m, "\\*");
		fmt_interval(iv, sizeof(iv), &m->r);
		fmt_p(p, sizeof(p), m->r.p_worse);
		fmt_verdict(v, sizeof(v), m);
		fputs("| `", f);
		md_put(f, m->name);
		fprintf(f, "` | %s | %s | %s | %s | ", a, b, ch, iv);
		md_put(f, p);
		fmt_threshold(t, sizeof(t), m);
		fprintf(f, " | %s | %s", t, bold ? "**" : "");
		md_put(f, v);
		if (m->r.why[0]) {
			fputs(": ", f);
			md_put(f, m->r.why);
		}
		fprintf(f, "%s |\n", bold ? "**" : "");
	}
	if (any_adjusted(c))
		fputs("\n\\*: " ADJUSTED_NOTE ".\n", f);
	fputs("\n<sub>", f);
	md_put(f, rule);
	fputs(".</sub>\n", f);
}

/* ---- Files ---- */

struct output {
	const char *path;
	void (*write)(const struct opts *, const struct stt_comparison *, char **, size_t, FILE *);
	char tmp[4096];
	bool made;
};

/*
 * Writes the outputs named on the command line: each to a temporary file first, renamed
 * only when all were written, so that a failure leaves nothing behind.
 */
static int write_files(const struct cmd_entry *self, const struct opts *o,
		       const struct stt_comparison *c, char **env, size_t nenv)
{
	struct output outs[2] = {
	    {.path = o->junit, .write = write_junit},
	    {.path = o->markdown, .write = write_markdown},
	};
	int r = CMD_EXIT_OK;

	for (size_t i = 0; i < 2 && r == CMD_EXIT_OK; i++) {
		FILE *f;
		int fd;

		if (!outs[i].path)
			continue;
		snprintf(outs[i].tmp, sizeof(outs[i].tmp), "%s.tmp-%d", outs[i].path,
			 (int)getpid());
		/* never an existing file or a symlink someone put there: O_EXCL, O_NOFOLLOW */
		fd = open(outs[i].tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f) {
			if (fd >= 0)
				close(fd);
			r = cmd_fail(self, CMD_EXIT_USAGE, "%s: cannot write: %s", outs[i].path,
				     strerror(errno));
			break;
		}
		outs[i].made = true;
		outs[i].write(o, c, env, nenv, f);
		if (fflush(f) | fsync(fileno(f)) | ferror(f) | fclose(f))
			r = cmd_fail(self, CMD_EXIT_USAGE, "%s: cannot write: %s", outs[i].path,
				     strerror(errno ? errno : EIO));
	}
	for (size_t i = 0; i < 2 && r == CMD_EXIT_OK; i++)
		if (outs[i].made && rename(outs[i].tmp, outs[i].path))
			r = cmd_fail(self, CMD_EXIT_USAGE, "%s: cannot write: %s", outs[i].path,
				     strerror(errno));
	for (size_t i = 0; i < 2; i++)
		if (outs[i].made && r != CMD_EXIT_OK)
			unlink(outs[i].tmp);
	return r;
}

/* ---- Options ---- */

/* "5%" or a fraction "0.05". */
static int parse_fraction(const char *s, double lo, double hi, bool pct_ok, double *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		return -EINVAL;
	if (pct_ok && *end == '%') {
		v /= 100.0;
		end++;
	}
	if (*end || !(v > lo && v < hi))
		return -EINVAL;
	*out = v;
	return 0;
}

/* --threshold T or GLOB=T; T a fraction below 1 (0.05) or a percentage (5%). */
static int parse_threshold(const struct cmd_entry *self, struct opts *o, const char *arg)
{
	const char *eq = strrchr(arg, '='), *t = eq ? eq + 1 : arg;
	double v;

	if (parse_fraction(t, -1.0, 10.0, true, &v) || v < 0.0 || (!strchr(t, '%') && v >= 1.0))
		return cmd_usage_error(self,
				       "--threshold %s: [GLOB=]T, T a fraction below 1 (0.05) "
				       "or a percentage (5%%)",
				       arg);
	if (!eq) {
		o->p.threshold = v;
		return CMD_CONTINUE;
	}
	if (eq == arg || (size_t)(eq - arg) >= sizeof(o->th_globs[0]))
		return cmd_usage_error(self,
				       "--threshold %s: the pattern before '=' is empty or "
				       "too long",
				       arg);
	if (o->p.n_per_metric == MAX_THRESHOLDS)
		return cmd_usage_error(self, "--threshold: at most %d patterns", MAX_THRESHOLDS);
	snprintf(o->th_globs[o->p.n_per_metric], sizeof(o->th_globs[0]), "%.*s", (int)(eq - arg),
		 arg);
	o->th[o->p.n_per_metric].glob = o->th_globs[o->p.n_per_metric];
	o->th[o->p.n_per_metric].threshold = v;
	o->p.n_per_metric++;
	o->p.per_metric = o->th;
	return CMD_CONTINUE;
}

static int parse_opts(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv,
		      struct opts *o)
{
	static const struct option opts[] = {
	    CMD_COMMON_OPTIONS,
	    {"alpha", required_argument, NULL, OPT_ALPHA},
	    {"threshold", required_argument, NULL, OPT_THRESHOLD},
	    {"confidence", required_argument, NULL, OPT_CONFIDENCE},
	    {"junit", required_argument, NULL, OPT_JUNIT},
	    {"markdown", required_argument, NULL, OPT_MARKDOWN},
	    {"metric", required_argument, NULL, OPT_METRIC},
	    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
	    {"allow-env-mismatch", no_argument, NULL, OPT_ALLOW_ENV},
	    {"noise-factor", required_argument, NULL, OPT_NOISE_FACTOR},
	    {"blocks", required_argument, NULL, OPT_BLOCKS},
	    {"no-control", no_argument, NULL, OPT_NO_CONTROL},
	    {NULL, 0, NULL, 0},
	};
	int c, r;

	/* Options may follow the files (GNU permutation: CMD_COMMON_SHORT without its '+'). */
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT + 1, opts, NULL)) != -1) {
		switch (c) {
		case OPT_ALPHA:
			if (parse_fraction(optarg, 0.0, 0.5, false, &o->p.alpha))
				return cmd_usage_error(self,
						       "--alpha %s: must be above 0 and below "
						       "0.5",
						       optarg);
			break;
		case OPT_THRESHOLD:
			if ((r = parse_threshold(self, o, optarg)) != CMD_CONTINUE)
				return r;
			break;
		case OPT_CONFIDENCE:
			if (parse_fraction(optarg, 0.5, 1.0, true, &o->p.confidence))
				return cmd_usage_error(self,
						       "--confidence %s: must be above 0.5 and "
						       "below 1 (or 50%% to 100%%)",
						       optarg);
			break;
		case OPT_JUNIT:
			o->junit = optarg;
			break;
		case OPT_MARKDOWN:
			o->markdown = optarg;
			break;
		case OPT_METRIC:
			if (o->nglobs == MAX_GLOBS)
				return cmd_usage_error(self, "--metric: at most %d patterns",
						       MAX_GLOBS);
			o->globs[o->nglobs++] = optarg;
			break;
		case OPT_FAIL_ON:
			if (!strcmp(optarg, "regression"))
				o->fail_on = FAIL_REGRESSION;
			else if (!strcmp(optarg, "improvement"))
				o->fail_on = FAIL_IMPROVEMENT;
			else if (!strcmp(optarg, "any"))
				o->fail_on = FAIL_ANY;
			else if (!strcmp(optarg, "inconclusive"))
				o->fail_on = FAIL_REGRESSION | FAIL_UNDECIDED;
			else
				return cmd_usage_error(self,
						       "--fail-on %s: regression, improvement, "
						       "any or inconclusive",
						       optarg);
			break;
		case OPT_NOISE_FACTOR: {
			char *end;

			errno = 0;
			o->p.noise_factor = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->p.noise_factor >= 0.0) ||
			    o->p.noise_factor > 100.0)
				return cmd_usage_error(self,
						       "--noise-factor %s: a number from 0 (off) "
						       "to 100",
						       optarg);
			break;
		}
		case OPT_BLOCKS:
			if (cmd_parse_uint(optarg, 0, STT_COMPARE_MAX_BLOCKS, &o->p.blocks))
				return cmd_usage_error(self,
						       "--blocks %s: a whole number from 0 (each "
						       "repetition) to %d",
						       optarg, STT_COMPARE_MAX_BLOCKS);
			break;
		case OPT_ALLOW_ENV:
			o->allow_env = true;
			break;
		case OPT_NO_CONTROL:
			o->p.no_control = true;
			break;
		default:
			if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
				return r;
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error(self,
				       argc - optind < 2
					   ? "needs two results files: BASELINE CANDIDATE"
					   : "unexpected argument '%s'",
				       argc - optind > 2 ? argv[optind + 2] : "");
	o->base_path = argv[optind];
	o->cand_path = argv[optind + 1];
	return CMD_CONTINUE;
}

static int cmd_compare(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	struct json_object *base = NULL, *cand = NULL, *j = NULL;
	struct stt_comparison cmp = {0};
	char **env = NULL;
	size_t nenv = 0;
	struct opts o;
	int r;

	memset(&o, 0, sizeof(o));
	stt_compare_params_init(&o.p);
	o.fail_on = FAIL_REGRESSION;
	if ((r = parse_opts(self, ctx, argc, argv, &o)) != CMD_CONTINUE)
		return r;

	if (stt_results_load(o.base_path, &base) || stt_results_load(o.cand_path, &cand)) {
		r = cmd_fail(self, CMD_EXIT_USAGE, "%s", stt_err_msg());
		goto out;
	}
	if (stt_compare_env(base, cand, &env, &nenv)) {
		r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (nenv && !o.allow_env) {
		char line[2048] = "";
		size_t used = 0;

		for (size_t i = 0; i < nenv && used < sizeof(line); i++)
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s",
						 i ? "; " : "", env[i]);
		r = cmd_fail(self, CMD_EXIT_USAGE,
			     "%s and %s come from different environments (%s); refusing "
			     "(--allow-env-mismatch compares them anyway)",
			     o.base_path, o.cand_path, line);
		goto out;
	}
	if ((r = stt_compare_docs(base, cand, &o.p, o.globs, o.nglobs, &cmp))) {
		r = cmd_fail(self, r == -ENOMEM ? CMD_EXIT_FAILURE : CMD_EXIT_USAGE, "%s vs %s: %s",
			     o.base_path, o.cand_path, stt_err_msg());
		goto out;
	}
	if ((r = write_files(self, &o, &cmp, env, nenv)) != CMD_EXIT_OK)
		goto out;
	if (ctx->json) {
		if (stt_comparison_to_json(&cmp, &j) ||
		    stt_json_add(j, "baseline", json_object_new_string(o.base_path)) ||
		    stt_json_add(j, "candidate", json_object_new_string(o.cand_path)) ||
		    stt_json_add(j, "environment_differences",
				 json_object_new_array_ext((int)nenv)) ||
		    stt_json_add(j, "fail_on", json_object_new_string(fail_on_name(o.fail_on))) ||
		    stt_json_add(j, "failed", json_object_new_boolean(count_failing(&o, &cmp)))) {
			r = cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nenv; i++)
			json_object_array_add(stt_json_get(j, "environment_differences"),
					      json_object_new_string(env[i]));
		cmd_print_json(j);
	} else {
		print_table(&o, &cmp, env, nenv, stdout);
	}
	r = count_failing(&o, &cmp) ? CMD_EXIT_FAILURE : CMD_EXIT_OK;
out:
	json_object_put(j);
	json_object_put(base);
	json_object_put(cand);
	stt_compare_strings_free(env, nenv);
	stt_comparison_release(&cmp);
	return r;
}

const struct cmd_entry cmd_compare_entry = {
    .name = "compare",
    .summary = "compare two results files: exit 1 on a statistically significant regression",
    .synopsis = "compare BASELINE.json CANDIDATE.json [--threshold [GLOB=]5%] [--alpha 0.05] "
		"[--noise-factor 2.5] [--blocks 15] [--no-control] [--metric GLOB] "
		"[--fail-on regression|improvement|any|inconclusive] [--junit FILE] "
		"[--markdown FILE] [--allow-env-mismatch]",
    .help = "Compares every figure present in both runs -- per backend, mode and phase the\n"
	    "latency p50 and p99 and the amplification, the storm's containers/s, and the raw\n"
	    "device's IOPS and clat p99 -- from the values of their repetitions. A\n"
	    "regression needs both a one-sided Mann-Whitney test with p < alpha and the\n"
	    "bound of the change (Hodges-Lehmann shift of the log values, distribution-free\n"
	    "bound at --confidence) lying beyond the threshold in the worse direction;\n"
	    "improvements likewise. Change and threshold are compared as log ratios, so a\n"
	    "factor counts the same either way: a rate that halves as a time that doubles.\n"
	    "The test's units are blocks: each side's repetitions, in the order they ran,\n"
	    "are cut into --blocks (15) blocks of consecutive ones and each block gives its\n"
	    "median (a side with fewer than 4 a block: each repetition is a unit). The\n"
	    "machine's speed moves in spells of seconds to tens of seconds, so neighbouring\n"
	    "repetitions are not independent; a spell over part of a run moves some of its\n"
	    "blocks and widens the bound rather than shifting it, while a slower device\n"
	    "moves every block.\n"
	    "\nIt decides only what the data can decide:\n"
	    "  - a metric's threshold is raised to --noise-factor (2.5) times the spread of one\n"
	    "    of the baseline's repetitions, seen from its neighbours ((q90-q10)/2.56 of\n"
	    "    the steps between successive log values, over sqrt 2), shown as ~31%: two\n"
	    "    runs of one build move by more than their repetitions' spread suggests\n"
	    "    (the machine's own speed wanders), so a smaller change is not a regression;\n"
	    "  - not gated (shown, never failing): a metric whose raised threshold reaches\n"
	    "    100%, and a percentile with fewer than 5 samples beyond it in a repetition\n"
	    "    (p99 of 40 containers); the reason says what would make it gateable;\n"
	    "  - inconclusive (exit 0 unless --fail-on inconclusive): fewer than 5\n"
	    "    repetitions a side, or a file without them (the medians are shown), or\n"
	    "    units too few for any p below --alpha (5 a side give at least 0.004); the\n"
	    "    reason gives the command that would settle it;\n"
	    "  - the machine's control (BACKEND/MODE/control/ns, never gated: directories\n"
	    "    made and removed on a tmpfs before each phase, no storage) is measured in\n"
	    "    every repetition, and the machine's wander moves a repetition's figures\n"
	    "    with it. With 20 or more repetitions a side, each time and rate of its\n"
	    "    backend and mode is adjusted for it before the test, repetition by\n"
	    "    repetition: log value - slope x (log control - the baseline's mean), the\n"
	    "    slope fitted inside the two runs (pooled, as in an analysis of covariance),\n"
	    "    so a change between the runs that the control explains is taken out; a\n"
	    "    slope a slower machine cannot give (a shorter time, a higher rate) is taken\n"
	    "    as 0, as in a run bound by its device. As the control has jumps of its\n"
	    "    own, half of what the adjustment moved the figure by is added to its\n"
	    "    threshold. Such a change is marked * and its slope is in --json; the\n"
	    "    medians are shown as recorded. Figures not adjusted (fewer\n"
	    "    repetitions): when the control would itself be a regression at the\n"
	    "    threshold as given (p < alpha, its bound beyond the threshold), the mode's\n"
	    "    regressions are inconclusive -- the kernel itself ran slower, which moves\n"
	    "    the phases as much as slower storage would; when faster, its improvements.\n"
	    "    The control is compared whatever --metric keeps; a document without it\n"
	    "    (older) is decided without it.\n"
	    "Runs from different environments (kernel, device model, profile, options,\n"
	    "Docker version, the tool's major version) are refused.\n"
	    "\noptions:\n"
	    "  --threshold T          relative change that matters: 5% or 0.05 (default 5%)\n"
	    "  --threshold GLOB=T     for the metrics matching GLOB (repeatable; last wins),\n"
	    "                         e.g. '*/amplification=2%'\n"
	    "  --alpha A              level of the one-sided test (default 0.05)\n"
	    "  --confidence C         of each one-sided bound of the change (default 0.90)\n"
	    "  --metric GLOB          only metrics matching GLOB (fnmatch; repeatable), e.g.\n"
	    "                         'overlay/*/start/*', '*/containers_per_s', 'raw/*'\n"
	    "  --fail-on WHAT         exit 1 on: regression (default), improvement, any, or\n"
	    "                         inconclusive (a regression or an undecided metric)\n"
	    "  --noise-factor K       raise each threshold to K x the baseline's spread of one\n"
	    "                         repetition (default 2.5; 0 turns the rule off)\n"
	    "  --blocks B             the test's units: medians of B blocks of consecutive\n"
	    "                         repetitions a side (default 15; 0 or 1: each repetition)\n"
	    "  --no-control           the machine's control adjusts and excuses nothing\n"
	    "                         (shown only)\n"
	    "  --junit FILE           JUnit XML: a test case per metric, failures as --fail-on\n"
	    "  --markdown FILE        a Markdown table, for a pull-request comment\n"
	    "  --allow-env-mismatch   compare runs from different environments (listed)\n"
	    "\nexit codes: 0 no regression, 1 regression (or what --fail-on names), 2 unusable\n"
	    "input (unreadable file, other schema, no common metric, different environments)\n"
	    "\nexamples:\n"
	    "  stortune compare results/baselines/2cpu-intel-xeon-processor.json new.json --junit "
	    "j.xml\n"
	    "  stortune compare base.json new.json --metric 'overlay/*/p50' --threshold 10%\n",
    .run = cmd_compare,
};
