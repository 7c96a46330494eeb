// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Comparing two results documents, figure by figure. See compare.h for the rule; the tests
 * behind it are in stats.c (Mann-Whitney U, the Hodges-Lehmann shift and its bounds).
 */
#include "advice/compare.h"

#include "base/err.h"
#include "base/json.h"
#include "base/stats.h"

#include <errno.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *stt_cmp_verdict_name(enum stt_cmp_verdict v)
{
	switch (v) {
	case STT_CMP_REGRESSION:
		return "regression";
	case STT_CMP_IMPROVEMENT:
		return "improvement";
	case STT_CMP_WITHIN:
		return "within threshold";
	case STT_CMP_INCONCLUSIVE:
		return "inconclusive";
	case STT_CMP_NOT_GATED:
		return "not gated";
	default:
		return "no change";
	}
}

const char *stt_cmp_method_name(enum stt_cmp_method m)
{
	switch (m) {
	case STT_CMP_MEDIANS_FEW:
		return "medians (n<5)";
	case STT_CMP_MEDIANS_ONLY:
		return "medians (no values)";
	default:
		return "mann-whitney";
	}
}

void stt_compare_params_init(struct stt_cmp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->alpha = 0.05;
	p->threshold = 0.05;
	p->confidence = 0.90;
	p->noise_factor = STT_COMPARE_NOISE_FACTOR;
	p->blocks = STT_COMPARE_BLOCKS;
}

double stt_compare_threshold(const struct stt_cmp_params *p, const char *name)
{
	for (size_t i = p->n_per_metric; i-- > 0;)
		if (!fnmatch(p->per_metric[i].glob, name, 0))
			return p->per_metric[i].threshold;
	return p->threshold;
}

/* @v relative to @base; from a base of 0 any change is infinite. */
static double relative(double v, double base)
{
	if (base != 0.0)
		return v / fabs(base);
	return v > 0.0 ? INFINITY : v < 0.0 ? -INFINITY : 0.0;
}

static int check_threshold(double t)
{
	if (!(t >= 0.0 && t < 10.0))
		return stt_err(-EINVAL, "threshold %g: must be from 0 to 10 (1000%%)", t);
	return 0;
}

static int check_params(const struct stt_cmp_params *p)
{
	int r;

	if (!(p->alpha > 0.0 && p->alpha < 0.5))
		return stt_err(-EINVAL, "alpha %g: must be above 0 and below 0.5", p->alpha);
	if ((r = check_threshold(p->threshold)))
		return r;
	for (size_t i = 0; i < p->n_per_metric; i++)
		if ((r = check_threshold(p->per_metric[i].threshold)))
			return r;
	if (!(p->confidence > 0.5 && p->confidence < 1.0))
		return stt_err(-EINVAL, "confidence %g: must be above 0.5 and below 1",
			       p->confidence);
	if (!(p->noise_factor >= 0.0 && p->noise_factor <= 100.0))
		return stt_err(-EINVAL, "noise factor %g: must be from 0 to 100", p->noise_factor);
	if (p->blocks > STT_COMPARE_MAX_BLOCKS)
		return stt_err(-EINVAL, "blocks %u: must be from 0 to %d", p->blocks,
			       STT_COMPARE_MAX_BLOCKS);
	return 0;
}

/* Values, every one positive and finite: the log scale, and what can be adjusted. */
static bool positive(const struct stt_cmp_sample *s)
{
	if (!s->values)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (!(s->values[i] > 0.0 && isfinite(s->values[i])))
			return false;
	return true;
}

static int test_samples(const struct stt_cmp_params *p, const struct stt_cmp_sample *base,
			const struct stt_cmp_sample *cand, struct stt_cmp_result *out, double *p_up,
			double *p_down)
{
	double *x = NULL, *y = NULL;
	struct stt_shift sh;
	struct stt_mw mw;
	size_t nx, ny;
	int r = -ENOMEM;

	out->log_scale = positive(base) && positive(cand);
	x = calloc(base->n, sizeof(*x));
	y = calloc(cand->n, sizeof(*y));
	if (!x || !y)
		goto out;
	for (size_t i = 0; i < base->n; i++)
		x[i] = out->log_scale ? log(base->values[i]) : base->values[i];
	for (size_t i = 0; i < cand->n; i++)
		y[i] = out->log_scale ? log(cand->values[i]) : cand->values[i];
	nx = base->n;
	ny = cand->n;
	if (p->blocks > 1 && nx >= STT_COMPARE_BLOCK_MIN * p->blocks &&
	    ny >= STT_COMPARE_BLOCK_MIN * p->blocks) {
		nx = stt_stats_block_medians(x, nx, p->blocks);
		ny = stt_stats_block_medians(y, ny, p->blocks);
		out->blocks = p->blocks;
	}
	if ((r = stt_stats_mann_whitney(x, nx, y, ny, &mw)) ||
	    (r = stt_stats_shift(x, nx, y, ny, p->confidence, &sh)))
		goto out;
	*p_up = mw.p_greater;
	*p_down = mw.p_less;
	if (out->log_scale) {
		out->change = expm1(sh.estimate);
		out->lo = expm1(sh.lo);
		out->hi = expm1(sh.hi);
	} else {
		out->change = relative(sh.estimate, base->median);
		out->lo = relative(sh.lo, base->median);
		out->hi = relative(sh.hi, base->median);
	}
out:
	free(x);
	free(y);
	return r;
}

/* Whether a one-sided test of @m and @n units can give p < @alpha at all. */
static bool reachable(size_t m, size_t n, double alpha)
{
	/* a level hit exactly is not reached: the test needs p < alpha */
	return stt_stats_mw_critical(m, n, alpha * (1.0 - 1e-6)) >= 0;
}

/*
 * The test cannot reach alpha at @ub and @uc units -- even runs that share no value give
 * p >= alpha: the verdict is inconclusive, with the units that would do (a gate that cannot
 * fail is not a pass).
 */
static void unreachable(const struct stt_cmp_params *p, size_t nb, size_t nc, size_t ub, size_t uc,
			struct stt_cmp_result *out)
{
	size_t k;

	out->verdict = STT_CMP_INCONCLUSIVE;
	for (k = ub > uc ? ub : uc; k <= STT_COMPARE_REACH_MAX && !reachable(k, k, p->alpha); k++)
		;
	if (k > STT_COMPARE_REACH_MAX)
		snprintf(out->why, sizeof(out->why),
			 "alpha %g is below any p the test can give; raise --alpha", p->alpha);
	else if (out->blocks)
		snprintf(out->why, sizeof(out->why),
			 "at %zu blocks a side no p reaches alpha %g; run with --blocks %zu "
			 "(%zu or more repetitions a side) or raise --alpha",
			 out->blocks, p->alpha, k, (size_t)STT_COMPARE_BLOCK_MIN * k);
	else
		snprintf(out->why, sizeof(out->why),
			 "at n=%zu and %zu repetitions no p reaches alpha %g; run both with "
			 "--repetitions %zu or raise --alpha",
			 nb, nc, p->alpha, k);
}

/*
 * The verdict of a tested figure from its bounds, p-values and effective threshold (set in
 * @out); @s: +1 when lower is better, -1 when higher is; @nb and @nc repetitions a side.
 */
static void decide(const struct stt_cmp_params *p, double s, size_t nb, size_t nc,
		   struct stt_cmp_result *out)
{
	size_t ub = out->blocks ? out->blocks : nb, uc = out->blocks ? out->blocks : nc;
	/* The bound nearest "no change", as a size of the change in that direction. */
	double worse_bound = s > 0 ? out->lo : -out->hi;
	double better_bound = s > 0 ? -out->hi : out->lo;

	if (out->log_scale) {
		worse_bound = s > 0 ? log1p(out->lo) : -log1p(out->hi);
		better_bound = s > 0 ? -log1p(out->hi) : log1p(out->lo);
	}
	out->why[0] = '\0';
	if (!isfinite(out->noise)) {
		out->verdict = STT_CMP_NOT_GATED;
		snprintf(out->why, sizeof(out->why),
			 "too noisy at n=%zu: the baseline's median is 0 and the repetitions are "
			 "not, so no relative change can be gated; a phase that asks for more "
			 "bytes makes it gateable",
			 nb);
	} else if (!(out->threshold_eff < STT_COMPARE_MAX_GATED)) {
		out->verdict = STT_CMP_NOT_GATED;
		snprintf(out->why, sizeof(out->why),
			 "too noisy at n=%zu: one repetition spreads +-%.0f%%, so only a change "
			 "beyond %.0f%% could be told from the drift between runs; more "
			 "containers a repetition (--containers) make it gateable",
			 nb, out->noise * 100.0, out->threshold_eff * 100.0);
	} else if (!reachable(ub, uc, p->alpha))
		unreachable(p, nb, nc, ub, uc, out);
	else if (out->p_worse < p->alpha && worse_bound > out->threshold_eff)
		out->verdict = STT_CMP_REGRESSION;
	else if (out->p_better < p->alpha && better_bound > out->threshold_eff)
		out->verdict = STT_CMP_IMPROVEMENT;
	else if (out->p_worse < p->alpha || out->p_better < p->alpha)
		out->verdict = STT_CMP_WITHIN;
	else
		out->verdict = STT_CMP_NO_CHANGE;
}

int stt_compare_samples(const struct stt_cmp_params *p, enum stt_cmp_better better,
			const struct stt_cmp_sample *base, const struct stt_cmp_sample *cand,
			struct stt_cmp_result *out)
{
	/* Changes are signed so that "worse" is positive: +1 when lower is better. */
	double s = better == STT_CMP_LOWER_BETTER ? 1.0 : -1.0, p_up, p_down;
	int r;

	memset(out, 0, sizeof(*out));
	out->lo = out->hi = out->p_worse = out->p_better = NAN;
	if ((r = check_params(p)))
		return r;
	if (!base->values || !cand->values)
		out->method = STT_CMP_MEDIANS_ONLY;
	else if (base->n < STT_COMPARE_MIN_N || cand->n < STT_COMPARE_MIN_N)
		out->method = STT_CMP_MEDIANS_FEW;
	else
		out->method = STT_CMP_TEST;

	out->noise = NAN;
	out->threshold_eff = p->threshold;
	if (out->method != STT_CMP_TEST) {
		if (!isfinite(base->median) || !isfinite(cand->median))
			return stt_err(-EINVAL, "a median is not a finite number");
		out->change = relative(cand->median - base->median, base->median);
		out->verdict = STT_CMP_INCONCLUSIVE;
		if (out->method == STT_CMP_MEDIANS_ONLY)
			snprintf(out->why, sizeof(out->why),
				 "a side has no repetitions (\"values\"); run bench with "
				 "--repetitions %d or more",
				 2 * STT_COMPARE_MIN_N);
		else
			snprintf(out->why, sizeof(out->why),
				 "n=%zu and %zu repetitions, %d a side are needed; run both with "
				 "--repetitions %d",
				 base->n, cand->n, STT_COMPARE_MIN_N, 2 * STT_COMPARE_MIN_N);
		return 0;
	}

	if ((r = test_samples(p, base, cand, out, &p_up, &p_down)))
		return r;
	/*
	 * On the log scale the threshold and the bounds are log ratios, so that a factor counts
	 * the same either way: a rate that halves is as far from "no change" as a time that
	 * doubles (as relative changes, -50% would need a threshold below 50%, +100% one below
	 * 100%).
	 */
	if (out->log_scale)
		out->threshold_eff = log1p(p->threshold);
	/* the baseline's noise: a slowdown that also spreads the candidate stays gateable */
	if ((r = stt_stats_spread(base->values, base->n, out->log_scale, base->median,
				  &out->noise)))
		return r;
	if (p->noise_factor * out->noise > out->threshold_eff)
		out->threshold_eff = p->noise_factor * out->noise;
	out->p_worse = s > 0 ? p_up : p_down;
	out->p_better = s > 0 ? p_down : p_up;
	decide(p, s, base->n, cand->n, out);
	return 0;
}

/* ---- Two documents ---- */

static bool selected(const char *name, const char *const *globs, size_t nglobs)
{
	if (!nglobs)
		return true;
	for (size_t i = 0; i < nglobs; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return false;
}

static struct stt_cmp_metric *find(struct stt_cmp_metric *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].name && !strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

static int push_name(char ***v, size_t *n, const char *name)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

void stt_comparison_release(struct stt_comparison *c)
{
	stt_compare_metrics_free(c->m, c->n);
	stt_compare_strings_free(c->only_base, c->n_only_base);
	stt_compare_strings_free(c->only_cand, c->n_only_cand);
	memset(c, 0, sizeof(*c));
}

/*
 * A percentile is decided by the samples beyond it: p99 of 40 containers is the worst start
 * but one, which neighbours decide. With fewer than STT_COMPARE_TAIL_MIN of them in a
 * repetition, a decided verdict becomes "not gated".
 */
static void tail_rule(struct stt_cmp_metric *m)
{
	double tail = m->per_rep * (1.0 - m->quantile), need;

	if (!(m->quantile > 0.0 && m->quantile < 1.0 && m->per_rep > 0.0) ||
	    tail >= STT_COMPARE_TAIL_MIN || m->r.verdict == STT_CMP_INCONCLUSIVE)
		return;
	need = ceil(STT_COMPARE_TAIL_MIN / (1.0 - m->quantile) - 1e-9);
	m->r.verdict = STT_CMP_NOT_GATED;
	snprintf(m->r.why, sizeof(m->r.why),
		 "too noisy at n=%.0f a repetition: p%g rests on %.1f samples beyond it, %d are "
		 "needed; gateable from --containers %.0f",
		 m->per_rep, m->quantile * 100.0, tail, STT_COMPARE_TAIL_MIN, need);
}

/* The length of BACKEND/MODE/ at the start of @name (through its second slash); 0: none. */
static size_t mode_prefix(const char *name)
{
	const char *s = strchr(name, '/');

	s = s ? strchr(s + 1, '/') : NULL;
	return s ? (size_t)(s - name) + 1 : 0;
}

/* A time or a rate: what the machine's own speed moves (not bytes, not amplification). */
static bool speed_unit(const char *unit)
{
	return unit &&
	       (!strcmp(unit, "ns") || !strcmp(unit, "ms") || !strcmp(unit, "containers/s"));
}

/* @s's values as logarithms into @out (positive() holds). */
static void logs_of(const struct stt_cmp_sample *s, double *out)
{
	for (size_t i = 0; i < s->n; i++)
		out[i] = log(s->values[i]);
}

/*
 * Adjusts metric @m for the machine's control of its backend and mode, repetition by repetition
 * (the control ran inside each repetition): log v becomes log v - slope * @lc, the slope pooled
 * within the two runs (stt_stats_pooled_slope). The machine's wander moves a repetition's
 * figures with its control; the adjustment takes out what the control explains, between the
 * runs as within them. A slower machine (a longer control) does not make a time shorter or a
 * rate higher: a slope of that sign is taken as 0 -- it is the fit's noise, or a run bound by
 * its device, where the figure does not follow the machine (a capped device may catch up while
 * the control runs) and carrying the slope across the runs would hide the slowdown. @lc: the
 * control's logs less the baseline's mean of them, baseline then candidate.
 */
static int adjust_one(struct stt_cmp_metric *m, const double *lc)
{
	size_t nb = m->base.n, nc = m->cand.n;
	double *ly = malloc((nb + nc) * sizeof(*ly)), slope;
	int r;

	if (!ly)
		return -ENOMEM;
	logs_of(&m->base, ly);
	logs_of(&m->cand, ly + nb);
	r = stt_stats_pooled_slope(ly, lc, nb, ly + nb, lc + nb, nc, &slope);
	if (!r) {
		double moved = 0.0;

		if (m->better == STT_CMP_LOWER_BETTER ? slope < 0.0 : slope > 0.0)
			slope = 0.0;

		for (size_t i = 0; i < nb; i++)
			m->base.values[i] = exp(ly[i] - slope * lc[i]);
		for (size_t i = 0; i < nc; i++) {
			m->cand.values[i] = exp(ly[nb + i] - slope * lc[nb + i]);
			moved += slope * lc[nb + i] / (double)nc;
		}
		m->adjusted = true;
		m->slope = slope;
		m->moved = moved;
	}
	free(ly);
	return r == -EINVAL ? 0 : r; /* a constant control explains nothing */
}

/*
 * The machine's control as a covariate: each time or rate of a backend and mode whose
 * repetitions line up with its control's (the same number on each side, at least
 * STT_COMPARE_ADJUST_MIN_N) is adjusted by adjust_one() before it is compared.
 */
static int control_adjust(struct stt_comparison *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct stt_cmp_metric *ctl = &c->m[i];
		size_t nb = ctl->base.n, nc = ctl->cand.n, plen = mode_prefix(ctl->name);
		double *lc, mean = 0.0;
		int r = 0;

		if (!ctl->control || c->params.no_control || !plen ||
		    nb < STT_COMPARE_ADJUST_MIN_N || nc < STT_COMPARE_ADJUST_MIN_N ||
		    !positive(&ctl->base) || !positive(&ctl->cand))
			continue;
		if (!(lc = malloc((nb + nc) * sizeof(*lc))))
			return -ENOMEM;
		logs_of(&ctl->base, lc);
		logs_of(&ctl->cand, lc + nb);
		for (size_t k = 0; k < nb; k++)
			mean += lc[k] / (double)nb;
		for (size_t k = 0; k < nb + nc; k++)
			lc[k] -= mean;
		for (size_t j = 0; j < c->n && !r; j++) {
			struct stt_cmp_metric *m = &c->m[j];

			if (m->control || !speed_unit(m->unit) || m->base.n != nb ||
			    m->cand.n != nc || strncmp(m->name, ctl->name, plen) ||
			    !positive(&m->base) || !positive(&m->cand))
				continue;
			r = adjust_one(m, lc);
			ctl->adjusting |= m->adjusted;
		}
		free(lc);
		if (r)
			return r;
	}
	return 0;
}

/*
 * The machine's control never gates. It says the machine was slower in the candidate when it
 * would itself be a regression at its threshold as given (not the noise-raised one): p < alpha
 * and the bound nearest "no change" beyond the threshold. A control that may have moved by a
 * few percent does not excuse a regression; one that surely moved by more than the threshold
 * does. Then the regressions of its backend and mode (the names that share its BACKEND/MODE/
 * prefix) become inconclusive; when faster, the improvements.
 */
static void control_rule(struct stt_comparison *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct stt_cmp_metric *ctl = &c->m[i];
		bool lg = ctl->r.log_scale;
		double lo, hi, lt;
		enum stt_cmp_verdict v = STT_CMP_NO_CHANGE;
		size_t plen = mode_prefix(ctl->name), made = 0;

		if (!ctl->control || ctl->r.method != STT_CMP_TEST)
			continue;
		lo = lg ? log1p(ctl->r.lo) : ctl->r.lo;
		hi = lg ? log1p(ctl->r.hi) : ctl->r.hi;
		lt = lg ? log1p(ctl->threshold) : ctl->threshold;
		ctl->r.verdict = STT_CMP_NOT_GATED;
		if (c->params.no_control) {
			snprintf(ctl->r.why, sizeof(ctl->r.why),
				 "the machine's control (no storage, never gated): turned off by "
				 "--no-control, so it adjusts and excuses nothing");
			continue;
		}
		if (ctl->r.p_worse < c->params.alpha && lo > lt)
			v = STT_CMP_REGRESSION;
		else if (ctl->r.p_better < c->params.alpha && -hi > lt)
			v = STT_CMP_IMPROVEMENT;
		for (size_t j = 0; j < c->n && v != STT_CMP_NO_CHANGE; j++) {
			struct stt_cmp_metric *m = &c->m[j];

			if (m->control || m->adjusted || m->r.verdict != v ||
			    strncmp(m->name, ctl->name, plen))
				continue;
			m->r.verdict = STT_CMP_INCONCLUSIVE;
			snprintf(m->r.why, sizeof(m->r.why),
				 "the machine itself ran %.0f%% %s in the candidate (%s, no "
				 "storage): the machine's own speed moves this figure as much as "
				 "the storage does; rerun both on a quiet machine",
				 fabs(ctl->r.change) * 100.0,
				 v == STT_CMP_REGRESSION ? "slower" : "faster", ctl->name);
			made++;
		}
		if (ctl->adjusting)
			snprintf(ctl->r.why, sizeof(ctl->r.why),
				 "the machine's control (no storage, never gated): %+.0f%%; this "
				 "backend and mode's times and rates are adjusted for it (*)%s",
				 ctl->r.change * 100.0,
				 !made ? ""
				 : v == STT_CMP_REGRESSION
				     ? ", its other regressions inconclusive"
				     : ", its other improvements inconclusive");
		else if (v != STT_CMP_NO_CHANGE)
			snprintf(
			    ctl->r.why, sizeof(ctl->r.why),
			    "the machine's control (no storage, never gated): %+.0f%%, so this "
			    "backend and mode's %s are inconclusive",
			    ctl->r.change * 100.0,
			    v == STT_CMP_REGRESSION ? "regressions" : "improvements");
		else
			snprintf(ctl->r.why, sizeof(ctl->r.why),
				 "the machine's control (no storage, never gated): no change "
				 "surely beyond %g%%, so the storage figures beside it stand",
				 ctl->threshold * 100.0);
	}
}

int stt_compare_docs(struct json_object *base, struct json_object *cand,
		     const struct stt_cmp_params *p, const char *const *globs, size_t nglobs,
		     struct stt_comparison *out)
{
	struct stt_cmp_metric *bm = NULL, *cm = NULL;
	struct stt_cmp_params one = *p;
	size_t nb = 0, nc = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->params = *p;
	if ((r = check_params(p)) || (r = stt_compare_figures(base, &bm, &nb)))
		return r;
	if ((r = stt_compare_figures(cand, &cm, &nc)))
		goto out;
	out->m = calloc(nb ? nb : 1, sizeof(*out->m));
	if (!out->m) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nb; i++) {
		struct stt_cmp_metric *b = &bm[i], *c, *m;

		/* the control is compared whatever --metric keeps: the rule needs it */
		if ((!b->control && !selected(b->name, globs, nglobs)) ||
		    find(out->m, out->n, b->name))
			continue;
		c = find(cm, nc, b->name);
		if (!c) {
			if ((r = push_name(&out->only_base, &out->n_only_base, b->name)))
				goto out;
			continue;
		}
		m = &out->m[out->n++];
		*m = *b;
		m->cand = c->base;
		memset(&c->base, 0, sizeof(c->base));
		memset(b, 0, sizeof(*b));
	}
	if ((r = control_adjust(out)))
		goto out;
	for (size_t i = 0; i < out->n; i++) {
		struct stt_cmp_metric *m = &out->m[i];

		one.threshold = m->threshold = stt_compare_threshold(p, m->name);
		if ((r = stt_compare_samples(&one, m->better, &m->base, &m->cand, &m->r))) {
			r = stt_err(r, "%s: %s", m->name, stt_err_msg());
			goto out;
		}
		if (m->adjusted && m->r.method == STT_CMP_TEST && m->r.log_scale) {
			/* what the adjustment moved is as sure as the control: part of it is the
			 * control's own */
			m->r.threshold_eff += STT_COMPARE_ADJUST_HEDGE * fabs(m->moved);
			decide(&one, m->better == STT_CMP_LOWER_BETTER ? 1.0 : -1.0, m->base.n,
			       m->cand.n, &m->r);
		}
		tail_rule(m);
	}
	control_rule(out);
	for (size_t i = 0; i < out->n; i++) {
		enum stt_cmp_verdict v = out->m[i].r.verdict;

		if (v == STT_CMP_REGRESSION)
			out->regressions++;
		else if (v == STT_CMP_IMPROVEMENT)
			out->improvements++;
		else if (v == STT_CMP_INCONCLUSIVE)
			out->inconclusive++;
		else if (v == STT_CMP_NOT_GATED)
			out->not_gated++;
	}
	for (size_t i = 0; i < nc; i++) {
		const char *name = cm[i].name;

		if (!name || (!cm[i].control && !selected(name, globs, nglobs)) ||
		    find(out->m, out->n, name) ||
		    find(cm, i, name))
			continue;
		if ((r = push_name(&out->only_cand, &out->n_only_cand, name)))
			goto out;
	}
	{
		size_t figures = 0; /* the control alone is no comparison */

		for (size_t i = 0; i < out->n; i++)
			figures += !out->m[i].control;
		if (!figures)
			r = stt_err(-ENODATA,
				    nglobs ? "no metric in common matches the --metric patterns"
					   : "no metric in common");
	}
out:
	stt_compare_metrics_free(bm, nb);
	stt_compare_metrics_free(cm, nc);
	if (r)
		stt_comparison_release(out);
	return r;
}

/* ---- JSON ---- */

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *side_json(const struct stt_cmp_sample *s)
{
	struct json_object *o = json_object_new_object();

	if (o && (stt_json_add(o, "n", json_object_new_int64((int64_t)s->n)) ||
		  stt_json_add(o, "median", json_object_new_double(s->median)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Appends @v to @arr, taking it in any case (NULL: a failed allocation). */
static int array_add(struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *strings_json(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		if (array_add(a, json_object_new_string(v[i]))) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static struct json_object *metric_json(const struct stt_cmp_metric *m)
{
	struct json_object *o = json_object_new_object();
	const struct stt_cmp_result *r = &m->r;

	if (!o)
		return NULL;
	if (stt_json_add(o, "name", json_object_new_string(m->name)) ||
	    stt_json_add(o, "unit", json_object_new_string(m->unit)) ||
	    stt_json_add(
		o, "better",
		json_object_new_string(m->better == STT_CMP_LOWER_BETTER ? "lower" : "higher")) ||
	    stt_json_add(o, "threshold", json_object_new_double(m->threshold)) ||
	    stt_json_add(o, "method", json_object_new_string(stt_cmp_method_name(r->method))) ||
	    stt_json_add(o, "scale",
			 json_object_new_string(r->method != STT_CMP_TEST ? "medians"
						: r->log_scale		  ? "log"
									  : "linear")) ||
	    stt_json_add(o, "baseline", side_json(&m->base)) ||
	    stt_json_add(o, "candidate", side_json(&m->cand)) ||
	    json_object_object_add(o, "change", jnum(r->change)) ||
	    json_object_object_add(o, "change_lo", jnum(r->lo)) ||
	    json_object_object_add(o, "change_hi", jnum(r->hi)) ||
	    json_object_object_add(o, "p_worse", jnum(r->p_worse)) ||
	    json_object_object_add(o, "p_better", jnum(r->p_better)) ||
	    stt_json_add(o, "blocks", json_object_new_int((int)r->blocks)) ||
	    json_object_object_add(o, "noise", jnum(r->noise)) ||
	    json_object_object_add(o, "control_slope", jnum(m->adjusted ? m->slope : NAN)) ||
	    stt_json_add(o, "threshold_applied", json_object_new_double(r->threshold_eff)) ||
	    stt_json_add(o, "verdict", json_object_new_string(stt_cmp_verdict_name(r->verdict))) ||
	    json_object_object_add(o, "why", r->why[0] ? json_object_new_string(r->why) : NULL)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int stt_comparison_to_json(const struct stt_comparison *c, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *params = json_object_new_object();
	struct json_object *arr = json_object_new_array(), *th = json_object_new_array();

	if (!o || !params || !arr || !th)
		goto fail;
	for (size_t i = 0; i < c->params.n_per_metric; i++) {
		struct json_object *t = json_object_new_object();

		if (array_add(th, t) ||
		    stt_json_add(t, "glob", json_object_new_string(c->params.per_metric[i].glob)) ||
		    stt_json_add(t, "threshold",
				 json_object_new_double(c->params.per_metric[i].threshold)))
			goto fail;
	}
	if (stt_json_add(params, "thresholds", th)) {
		th = NULL;
		goto fail;
	}
	th = NULL;
	if (stt_json_add(params, "alpha", json_object_new_double(c->params.alpha)) ||
	    stt_json_add(params, "threshold", json_object_new_double(c->params.threshold)) ||
	    stt_json_add(params, "confidence", json_object_new_double(c->params.confidence)) ||
	    stt_json_add(params, "min_repetitions", json_object_new_int(STT_COMPARE_MIN_N)) ||
	    stt_json_add(params, "noise_factor", json_object_new_double(c->params.noise_factor)) ||
	    stt_json_add(params, "blocks", json_object_new_int((int)c->params.blocks)) ||
	    stt_json_add(params, "control", json_object_new_boolean(!c->params.no_control)) ||
	    stt_json_add(params, "adjust_min_repetitions",
			 json_object_new_int(STT_COMPARE_ADJUST_MIN_N)) ||
	    stt_json_add(params, "adjust_hedge",
			 json_object_new_double(STT_COMPARE_ADJUST_HEDGE)) ||
	    stt_json_add(params, "max_gated_threshold",
			 json_object_new_double(STT_COMPARE_MAX_GATED)) ||
	    stt_json_add(params, "tail_samples_min", json_object_new_int(STT_COMPARE_TAIL_MIN)))
		goto fail;
	for (size_t i = 0; i < c->n; i++)
		if (array_add(arr, metric_json(&c->m[i])))
			goto fail;
	if (stt_json_add(o, "schema", json_object_new_string(STT_COMPARE_SCHEMA)) ||
	    stt_json_add(o, "schema_version", json_object_new_int(STT_COMPARE_VERSION)))
		goto fail;
	if (stt_json_add(o, "params", params)) {
		params = NULL;
		goto fail;
	}
	params = NULL;
	if (stt_json_add(o, "metrics", arr)) {
		arr = NULL;
		goto fail;
	}
	arr = NULL;
	if (stt_json_add(o, "only_in_baseline", strings_json(c->only_base, c->n_only_base)) ||
	    stt_json_add(o, "only_in_candidate", strings_json(c->only_cand, c->n_only_cand)) ||
	    stt_json_add(o, "regressions", json_object_new_int64((int64_t)c->regressions)) ||
	    stt_json_add(o, "improvements", json_object_new_int64((int64_t)c->improvements)) ||
	    stt_json_add(o, "inconclusive", json_object_new_int64((int64_t)c->inconclusive)) ||
	    stt_json_add(o, "not_gated", json_object_new_int64((int64_t)c->not_gated)))
		goto fail;
	*out = o;
	return 0;
fail:
	json_object_put(th);
	json_object_put(arr);
	json_object_put(params);
	json_object_put(o);
	return -ENOMEM;
}
