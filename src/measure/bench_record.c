// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the phase runner records of a mode's repetitions, and the results' members made of it:
 * per phase the latency histogram and per-repetition p50, p99, mean and device counters, the
 * storm, the page cache and the pool's data per container, each a summary with its values.
 */
#include "measure/bench_run.h"

#include "base/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct json_object *stt_bench_summary_json(const double *x, size_t n, const char *unit)
{
	struct json_object *o = json_object_new_object(), *ci, *vals;
	struct stt_summary s;

	if (!o)
		return NULL;
	json_object_object_add(o, "unit", json_object_new_string(unit));
	json_object_object_add(o, "n", json_object_new_int64((int64_t)n));
	if (!n || stt_stats_summarize(x, n, &s, NULL)) {
		json_object_object_add(o, "median", NULL);
		return o;
	}
	ci = json_object_new_array();
	json_object_array_add(ci, json_object_new_double(s.ci_lo));
	json_object_array_add(ci, json_object_new_double(s.ci_hi));
	json_object_object_add(o, "median", json_object_new_double(s.median));
	json_object_object_add(o, "ci95", ci);
	json_object_object_add(o, "mean", json_object_new_double(s.mean));
	json_object_object_add(o, "stddev", json_object_new_double(s.stddev));
	json_object_object_add(o, "outliers", json_object_new_int64((int64_t)s.n_outliers));
	{
		/* noisy: too spread to gate, by compare's own rule (stt_stats_spread) */
		double spread = NAN;
		bool logs = true;

		for (size_t i = 0; i < n; i++)
			logs &= x[i] > 0.0;
		if (stt_stats_spread(x, n, logs, s.median, &spread))
			spread = NAN;
		json_object_object_add(o, "spread",
				       isfinite(spread) ? json_object_new_double(spread) : NULL);
		json_object_object_add(
		    o, "noisy",
		    json_object_new_boolean(!(spread * STT_STATS_NOISE_FACTOR < 1.0)));
	}
	/* The repetitions themselves, in run order: what compare tests. */
	vals = json_object_new_array_ext((int)n);
	for (size_t i = 0; vals && i < n; i++)
		json_object_array_add(vals, json_object_new_double(x[i]));
	json_object_object_add(o, "values", vals);
	return o;
}

int stt_bench_mode_init(struct mode_rec *m, unsigned int reps)
{
	memset(m, 0, sizeof(*m));
	for (int p = 0; p < STT_NPHASES; p++) {
		struct phase_rec *ph = &m->ph[p];

		if (stt_hist_init(&ph->all, STT_HIST_SLOW_GROUPS))
			return -ENOMEM;
		ph->p50 = calloc(reps, sizeof(double));
		ph->p99 = calloc(reps, sizeof(double));
		ph->mean = calloc(reps, sizeof(double));
		ph->rd_bytes = calloc(reps, sizeof(double));
		ph->wr_bytes = calloc(reps, sizeof(double));
		ph->rd_ios = calloc(reps, sizeof(double));
		ph->wr_ios = calloc(reps, sizeof(double));
		ph->ampl = calloc(reps, sizeof(double));
		if (!ph->p50 || !ph->p99 || !ph->mean || !ph->rd_bytes || !ph->wr_bytes ||
		    !ph->rd_ios || !ph->wr_ios || !ph->ampl)
			return -ENOMEM;
	}
	m->cps = calloc(reps, sizeof(double));
	m->elapsed_ms = calloc(reps, sizeof(double));
	m->flush_ms = calloc(reps, sizeof(double));
	m->pc_per_ctr = calloc(reps, sizeof(double));
	m->pool_per_ctr = calloc(reps, sizeof(double));
	m->control_ns = calloc(reps, sizeof(double));
	return m->cps && m->elapsed_ms && m->flush_ms && m->pc_per_ctr && m->pool_per_ctr &&
			       m->control_ns ?
		       0 :
		       -ENOMEM;
}

void stt_bench_mode_release(struct mode_rec *m)
{
	for (int p = 0; p < STT_NPHASES; p++) {
		struct phase_rec *ph = &m->ph[p];

		stt_hist_release(&ph->all);
		free(ph->p50);
		free(ph->p99);
		free(ph->mean);
		free(ph->rd_bytes);
		free(ph->wr_bytes);
		free(ph->rd_ios);
		free(ph->wr_ios);
		free(ph->ampl);
	}
	free(m->cps);
	free(m->elapsed_ms);
	free(m->flush_ms);
	free(m->pc_per_ctr);
	free(m->pool_per_ctr);
	free(m->control_ns);
}

uint64_t stt_bench_requested(const struct stt_bench_workload *wl, enum stt_bench_phase p)
{
	switch (p) {
	case STT_PHASE_READ:
		return wl->read_bytes;
	case STT_PHASE_WRITE:
		return (uint64_t)wl->write_files * wl->write_file_bytes + wl->rewrite_bytes;
	case STT_PHASE_COW:
		return wl->mid_path ? 4 : 0;
	default:
		return 0;
	}
}

/* Notes @what in @noisy (", "-separated) when its summary is flagged noisy. */
static void note_noisy(char *noisy, size_t len, const char *what, struct json_object *summary)
{
	struct json_object *flag = json_object_object_get(summary, "noisy");
	size_t used = strlen(noisy);

	if (flag && json_object_get_boolean(flag))
		snprintf(noisy + used, len - used, "%s%s", used ? ", " : "", what);
}

struct json_object *stt_bench_mode_json(const struct run *r, const struct mode_rec *m,
					const char *mode, struct json_object *warnings)
{
	struct json_object *o = json_object_new_object(), *phases = json_object_new_object();
	unsigned int n = m->nreps;
	char noisy[512] = "";

	for (int p = 0; p < STT_NPHASES; p++) {
		const struct phase_rec *ph = &m->ph[p];
		struct json_object *j = json_object_new_object(), *dev = json_object_new_object();
		struct json_object *jh;
		struct json_object *s;
		char what[64];

		if (p == STT_PHASE_COW && !r->wl->mid_path) {
			json_object_put(j);
			json_object_put(dev);
			continue;
		}
		if (!stt_json_hist(&ph->all, STT_JSON_HIST_DETAIL | STT_JSON_HIST_CLAMPED, &jh))
			json_object_object_add(j, "lat_ns", jh);
		s = stt_bench_summary_json(ph->p50, n, "ns");
		snprintf(what, sizeof(what), "%s p50", stt_bench_phase_name((enum stt_bench_phase)p));
		note_noisy(noisy, sizeof(noisy), what, s);
		json_object_object_add(j, "p50_ns", s);
		json_object_object_add(j, "p99_ns", stt_bench_summary_json(ph->p99, n, "ns"));
		json_object_object_add(j, "mean_ns", stt_bench_summary_json(ph->mean, n, "ns"));
		json_object_object_add(dev, "read_bytes",
				       stt_bench_summary_json(ph->rd_bytes, n, "bytes"));
		json_object_object_add(dev, "write_bytes",
				       stt_bench_summary_json(ph->wr_bytes, n, "bytes"));
		json_object_object_add(dev, "read_ios", stt_bench_summary_json(ph->rd_ios, n, "ios"));
		json_object_object_add(dev, "write_ios",
				       stt_bench_summary_json(ph->wr_ios, n, "ios"));
		json_object_object_add(j, "device", dev);
		if (stt_bench_requested(r->wl, p)) {
			json_object_object_add(
				j, "requested_bytes",
				json_object_new_int64((int64_t)(stt_bench_requested(r->wl, p) *
								r->p->containers)));
			json_object_object_add(j, "amplification",
					       stt_bench_summary_json(ph->ampl, n, "ratio"));
		}
		json_object_object_add(phases, stt_bench_phase_name((enum stt_bench_phase)p), j);
	}
	json_object_object_add(o, "phases", phases);
	{
		struct json_object *storm = json_object_new_object(), *s;

		s = stt_bench_summary_json(m->cps, n, "containers/s");
		note_noisy(noisy, sizeof(noisy), "storm containers/s", s);
		json_object_object_add(storm, "containers_per_s", s);
		json_object_object_add(storm, "elapsed_ms",
				       stt_bench_summary_json(m->elapsed_ms, n, "ms"));
		json_object_object_add(storm, "flush_ms",
				       stt_bench_summary_json(m->flush_ms, n, "ms"));
		json_object_object_add(storm, "containers",
				       json_object_new_int((int)r->p->containers));
		json_object_object_add(storm, "concurrency",
				       json_object_new_int((int)r->p->concurrency));
		json_object_object_add(o, "storm", storm);
	}
	if (r->ctl_dir[0]) /* the machine's control ran (a tmpfs at /dev/shm) */
		json_object_object_add(o, "control_ns",
				       stt_bench_summary_json(m->control_ns, n, "ns"));
	json_object_object_add(o, "page_cache_per_container_bytes",
			       stt_bench_summary_json(m->pc_per_ctr, n, "bytes"));
	if (r->b && r->b->ops->pool_status)
		json_object_object_add(o, "pool_data_per_container_bytes",
				       stt_bench_summary_json(m->pool_per_ctr, n, "bytes"));
	if (*noisy) {
		char msg[768];

		snprintf(msg, sizeof(msg),
			 "%s %s: too noisy to gate (one repetition spreads by a third of the "
			 "median or more, n=%u; compare will not decide them): %s; more "
			 "containers a repetition narrow it",
			 r->name, mode, n, noisy);
		json_object_array_add(warnings, json_object_new_string(msg));
	}
	return o;
}

