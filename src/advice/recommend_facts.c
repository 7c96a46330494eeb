// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The facts recommend's rules read, gathered from the results documents: which backend ran
 * where and with what figures (a native measurement wins over one from the VM tier), the
 * probe facts of this host, the image, and a tuning sweep with its picks of chunk size and
 * zeroing.
 */
#include "advice/recommend_int.h"

#include <stdlib.h>
#include <string.h>

const char *const be_names[BE_N] = {"overlay", "dm-loop", "direct-lvm"};

static double phase(struct json_object *mode, const char *name, const char *fig)
{
	char path[96];

	snprintf(path, sizeof(path), "phases.%s.%s", name, fig);
	return num(mode, path);
}

static void be_figures(struct be *b)
{
	struct json_object *mode = stt_json_get(b->j, "modes.cold");
	struct json_object *imp = stt_json_get(b->j, "pool.after_import");
	struct json_object *aft = stt_json_get(b->j, "pool.cold_after_writes");

	b->mode = "cold";
	if (!mode) {
		mode = stt_json_get(b->j, "modes.warm");
		aft = stt_json_get(b->j, "pool.warm_after_writes");
		b->mode = "warm";
	}
	b->start = phase(mode, "start", "p50_ns.median");
	b->fr = phase(mode, "first-read", "p50_ns.median");
	b->fw = phase(mode, "first-write", "p50_ns.median");
	b->cow = phase(mode, "cow-write", "p50_ns.median");
	b->stop = phase(mode, "stop", "p50_ns.median");
	b->rm = phase(mode, "remove", "p50_ns.median");
	b->storm = num(mode, "storm.containers_per_s.median");
	b->containers = num(mode, "storm.containers");
	if (!known(b->containers))
		b->containers = num(b->doc, "options.containers");
	b->fw_bytes = phase(mode, "first-write", "device.write_bytes.median");
	b->cow_bytes = phase(mode, "cow-write", "device.write_bytes.median");
	if (known(b->containers) && b->containers > 0) {
		b->fw_bytes /= b->containers;
		b->cow_bytes /= b->containers;
	}
	b->prov_ratio = num(b->j, "provisioning.clat_p50_ratio");
	b->block_bytes = num(imp, "data_block_bytes");
	b->pool_bytes = b->block_bytes * num(imp, "data_total_blocks");
	b->data_per_ctr = b->meta_per_data = NAN;
	if (imp && aft && known(b->containers) && b->containers > 0) {
		double d = num(aft, "data_used_blocks") - num(imp, "data_used_blocks");
		double m = num(aft, "meta_used_blocks") - num(imp, "meta_used_blocks");

		if (known(d) && d >= 0)
			b->data_per_ctr = d * b->block_bytes / b->containers;
		/* thin-pool metadata blocks are 4 KiB */
		if (known(d) && d > 0 && known(m) && m >= 0)
			b->meta_per_data = m * 4096.0 / (d * b->block_bytes);
	}
	b->fs = str(b->doc, "options.fs");
}

static bool doc_native(struct json_object *doc)
{
	const char *l = str(doc, "environment.label");

	return !l || !strcmp(l, "native");
}

/*
 * qualify --engine both: when the emulation and the real engine rank the backends
 * differently, the real engine's figures replace the emulated ones of the same document.
 */
static void engine_check(struct ctx *c)
{
	for (size_t i = 0; i < c->in->ndocs; i++) {
		struct json_object *doc = c->in->docs[i], *ec = stt_json_get(doc, "engine_check");
		struct json_object *agree = stt_json_get(ec, "rankings_agree");
		struct json_object *dis = stt_json_get(ec, "disagree_phases");
		struct json_object *real = stt_json_get(ec, "real");
		size_t used;

		if (!ec || !agree)
			continue;
		if (json_object_get_boolean(agree)) {
			snprintf(c->engine_note, sizeof(c->engine_note),
				 "The emulation and the real engine (qualify --engine both) rank "
				 "the backends the same in every phase.");
			continue;
		}
		c->engine_disagree = true;
		used = (size_t)snprintf(c->engine_note, sizeof(c->engine_note),
					"The emulation and the real engine (qualify --engine both) "
					"rank the backends differently in");
		for (size_t k = 0; dis && k < json_object_array_length(dis); k++)
			if (used < sizeof(c->engine_note))
				used += (size_t)snprintf(
					c->engine_note + used, sizeof(c->engine_note) - used, "%s %s",
					k ? "," : "",
					json_object_get_string(json_object_array_get_idx(dis, k)));
		if (used < sizeof(c->engine_note))
			snprintf(c->engine_note + used, sizeof(c->engine_note) - used,
				 "; these figures are the real engine's.");
		for (size_t k = 0; real && k < json_object_array_length(real); k++) {
			struct json_object *e = json_object_array_get_idx(real, k);
			const char *name = str(e, "backend"), *st = str(e, "status");

			if (!name || !st || strcmp(st, "ok"))
				continue;
			for (int n = 0; n < BE_N; n++)
				if (!strcmp(name, be_names[n]) && c->be[n].doc == doc)
					c->be[n].j = e;
		}
	}
}

/* A failed thin-pool run whose pool was found full: the first of each kind. */
static void find_pool_full(struct ctx *c, struct json_object *e, const char *name, const char *env)
{
	struct json_object *f = stt_json_get(e, "fault");
	const char *kind = str(f, "kind"), *what = str(f, "what");
	struct pool_full *p = NULL;

	if (!kind || strcmp(kind, "thin-pool") || !what || !str(f, "phase") ||
	    !known(num(f, "seconds_to_give_up")))
		return;
	if (!strcmp(what, "out of data space"))
		p = &c->full_data;
	else if (!strcmp(what, "out of metadata space"))
		p = &c->full_meta;
	if (!p || p->f)
		return;
	p->f = f;
	p->backend = name;
	p->env = env ?: "?";
}

static void find_backends(struct ctx *c)
{
	for (size_t i = 0; i < c->in->ndocs; i++) {
		struct json_object *doc = c->in->docs[i], *arr = stt_json_array(doc, "backends");

		for (size_t k = 0; arr && k < json_object_array_length(arr); k++) {
			struct json_object *e = json_object_array_get_idx(arr, k);
			const char *name = str(e, "backend"), *st = str(e, "status");
			const char *env = str(e, "environment");
			struct be *b = NULL;

			for (int n = 0; n < BE_N; n++)
				if (name && !strcmp(name, be_names[n]))
					b = &c->be[n];
			if (!b)
				continue;
			if (!env)
				env = doc_native(doc) ? "native" : str(doc, "environment.label");
			if (!st || strcmp(st, "ok")) {
				if (!b->j && !b->reason)
					b->reason = str(e, "reason") ?: "did not run";
				find_pool_full(c, e, name, env);
				continue;
			}
			if (b->j && (b->native || strcmp(env, "native")))
				continue; /* a native figure wins; else the first */
			b->j = e;
			b->doc = doc;
			b->env = env;
			b->native = !strcmp(env, "native");
			b->host = stt_json_get(e, "environment_detail.host");
			if (!b->host)
				b->host = stt_json_get(doc, "environment.host");
		}
	}
	engine_check(c);
	for (int n = 0; n < BE_N; n++)
		if (c->be[n].j)
			be_figures(&c->be[n]);
	c->dm = c->be[BE_DLVM].j ? &c->be[BE_DLVM] : c->be[BE_DMLOOP].j ? &c->be[BE_DMLOOP] : NULL;
}

static void find_tune(struct ctx *c)
{
	struct json_object *pts;

	for (size_t i = 0; i < c->in->ndocs && !c->tune; i++) {
		c->tune = stt_json_get(c->in->docs[i], "tune");
		c->tune_env = str(c->in->docs[i], "environment.label") ?: "native";
	}
	if (!c->tune)
		return;
	c->tune_backend = str(c->tune, "backend") ?: "?";
	pts = stt_json_array(c->tune, "points");
	for (size_t i = 0; pts && i < json_object_array_length(pts) && c->npts < 64; i++) {
		struct json_object *p = json_object_array_get_idx(pts, i);
		struct tune_point *t = &c->pts[c->npts];
		const char *st = str(p, "status");

		t->chunk = num(p, "chunk_size_bytes");
		t->zero = json_object_get_boolean(stt_json_get(p, "zeroing"));
		t->start = num(p, "start_p50_ns.median");
		t->fw = num(p, "first_write_p50_ns.median");
		t->space = num(p, "pool_data_bytes_per_container");
		t->reason = str(p, "reason");
		t->ok = st && !strcmp(st, "ok") && known(t->chunk) && known(t->start) &&
			known(t->fw) && t->chunk > 0 && t->start > 0 && t->fw > 0;
		c->npts++;
	}
}

/*
 * The sweep's picks. Zeroing: its cost is the median over the chunk sizes measured both ways
 * of the larger of first-write and start p50 with zeroing over without; on when that is at
 * most ZEROING_MAX_COST. Chunk: among the points of the chosen zeroing, those within
 * TUNE_MARGIN of the best start and the best first-write p50 (or, when none is, within
 * TUNE_MARGIN of the lowest worse-ratio); of those the one with the least pool data per container
 * (the smaller chunk on a tie, or when space was not recorded).
 */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double score(const struct tune_point *t, double best_start, double best_fw)
{
	return fmax(t->start / best_start, t->fw / best_fw);
}

static void pick_tune(struct ctx *c)
{
	double costs[64], best_start = INFINITY, best_fw = INFINITY, min_score = INFINITY;
	size_t ncost = 0;
	bool zero;
	int pick = -1;

	for (size_t i = 0; i < c->npts; i++) {
		if (!c->pts[i].ok || !c->pts[i].zero)
			continue;
		for (size_t k = 0; k < c->npts; k++) {
			if (!c->pts[k].ok || c->pts[k].zero || c->pts[k].chunk != c->pts[i].chunk)
				continue;
			costs[ncost++] =
			    fmax(c->pts[i].fw / c->pts[k].fw, c->pts[i].start / c->pts[k].start) -
			    1;
			break;
		}
	}
	c->tune_both_zeroing = ncost > 0;
	if (ncost) {
		qsort(costs, ncost, sizeof(costs[0]), cmp_double);
		c->zero_cost =
		    ncost % 2 ? costs[ncost / 2] : (costs[ncost / 2 - 1] + costs[ncost / 2]) / 2;
		zero = c->zero_cost <= ZEROING_MAX_COST;
	} else {
		/* one zeroing state measured: that one (off unless only on was swept) */
		zero = true;
		for (size_t i = 0; i < c->npts; i++)
			if (c->pts[i].ok && !c->pts[i].zero)
				zero = false;
	}
	for (size_t i = 0; i < c->npts; i++) {
		if (!c->pts[i].ok || c->pts[i].zero != zero)
			continue;
		best_start = fmin(best_start, c->pts[i].start);
		best_fw = fmin(best_fw, c->pts[i].fw);
	}
	/*
	 * A point's score is its worse ratio to the best start and first-write p50 (1 when it
	 * is best at both). Usually some point is within the margin of both bests; when none
	 * is, those within the margin of the lowest score compete.
	 */
	for (size_t i = 0; i < c->npts; i++)
		if (c->pts[i].ok && c->pts[i].zero == zero)
			min_score = fmin(min_score, score(&c->pts[i], best_start, best_fw));
	c->tune_score_max = fmax(1 + TUNE_MARGIN, min_score * (1 + TUNE_MARGIN));
	for (size_t i = 0; i < c->npts; i++) {
		const struct tune_point *t = &c->pts[i], *p;

		if (!t->ok || t->zero != zero || score(t, best_start, best_fw) > c->tune_score_max)
			continue;
		if (pick < 0) {
			pick = (int)i;
			continue;
		}
		p = &c->pts[pick];
		if (known(t->space) && known(p->space) && t->space != p->space) {
			if (t->space < p->space)
				pick = (int)i;
		} else if (t->chunk < p->chunk) {
			pick = (int)i;
		}
	}
	if (pick >= 0) {
		c->tune_ok = true;
		c->pick = (size_t)pick;
	}
}

void stt_rec_gather(struct ctx *c)
{
	for (size_t i = 0; i < c->in->ndocs; i++) {
		struct json_object *doc = c->in->docs[i];

		if (!c->host_native && doc_native(doc) && stt_json_get(doc, "environment.host")) {
			c->host = stt_json_get(doc, "environment.host");
			c->host_native = true;
			c->target = stt_json_get(doc, "environment.target");
			c->options = stt_json_get(doc, "options");
		}
		if (!c->host) {
			c->host = stt_json_get(doc, "environment.host");
			c->options = stt_json_get(doc, "options");
		}
		if (!known(c->image_bytes))
			c->image_bytes = num(doc, "image.size_bytes");
		if (!known(c->image_bytes))
			c->image_bytes = num(doc, "profile.image.size_bytes");
		if (!c->profile)
			c->profile = str(doc, "profile.name");
	}
	find_backends(c);
	find_tune(c);
	if (c->tune)
		pick_tune(c);
}
