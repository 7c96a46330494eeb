// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images generated from a profile's [image]: the plan of layers (directories, files, links,
 * overwrites and deletions) and the bytes of each file, all from the seed.
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "base/fmt.h"
#include "sys/fsutil.h"
#include "workload/profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- generation ---- */

struct gdir {
	char *path; /* "" for the root */
	unsigned int depth, layer, parent;
	uint32_t mode;
};

struct gfile {
	char *path;
	uint64_t size_bytes;
	unsigned int layer, dir;
	uint32_t mode;
	uint8_t cls; /* 0 small, 1 medium, 2 large */
	bool old;    /* has an older version below */
};

struct gen {
	struct stt_image *img;
	const struct stt_profile_image *im;
	uint64_t rng;
	unsigned int nl;
	double *cum; /* cumulative layer weights */

	struct gdir *dirs;
	size_t n_dirs, cap_dirs;
	size_t n_visible_dirs; /* dirs[1 .. n_visible_dirs]; the rest are deleted above */
	unsigned int *order;   /* visible dirs (not the root) by layer */
	size_t *elig;	       /* order[0 .. elig[l]) have layer <= l */
	uint64_t **need;       /* per layer, a bit per dir: written in that layer */
	size_t need_words;

	struct gfile *files;
	uint64_t n_files;
	uint64_t serial; /* makes names unique */
};

static unsigned int pick_layer(struct gen *g, unsigned int from)
{
	double lo = from ? g->cum[from - 1] : 0, x = lo + rnd01(&g->rng) * (g->cum[g->nl - 1] - lo);

	for (unsigned int l = from; l < g->nl; l++)
		if (x < g->cum[l])
			return l;
	return g->nl - 1;
}

/*
 * "kavo372.py": a pronounceable stem, a decimal serial number, an extension. Letters then
 * digits: unique, and never one of the fixed names ("bin", "lib", ...).
 */
static void make_name(struct gen *g, const char *ext, char *buf, size_t len)
{
	static const char cons[] = "bcdfghjklmnprstvz", vow[] = "aeiou";
	unsigned int syl = 1 + (unsigned int)rnd_below(&g->rng, 3);
	char stem[16];
	size_t k = 0;

	for (unsigned int i = 0; i < syl; i++) {
		stem[k++] = cons[rnd_below(&g->rng, sizeof(cons) - 1)];
		stem[k++] = vow[rnd_below(&g->rng, sizeof(vow) - 1)];
	}
	stem[k] = '\0';
	snprintf(buf, len, "%s%llu%s", stem, (unsigned long long)g->serial++, ext);
}

static int add_dir(struct gen *g, unsigned int parent, const char *name, unsigned int layer,
		   uint32_t mode)
{
	struct gdir *d;

	if (g->n_dirs == g->cap_dirs) {
		size_t cap = g->cap_dirs ? g->cap_dirs * 2 : 64;

		d = realloc(g->dirs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		g->dirs = d;
		g->cap_dirs = cap;
	}
	d = &g->dirs[g->n_dirs];
	d->path = stt_img_join(g->dirs[parent].path, name);
	if (!d->path)
		return -ENOMEM;
	d->depth = g->dirs[parent].depth + 1;
	d->layer = layer;
	d->parent = parent;
	d->mode = mode;
	g->n_dirs++;
	return 0;
}

/* The directories: a chain down to dir_depth, a few usual top-level ones, the rest at random. */
static int gen_dirs(struct gen *g)
{
	static const char *const top[] = { "bin", "etc", "lib", "var", "tmp", "opt", "sbin" };
	uint64_t want = g->im->dirs;
	unsigned int *open = NULL;
	size_t n_open = 0;
	char name[64];
	int r = -ENOMEM;

	g->dirs = calloc(64, sizeof(*g->dirs));
	if (!g->dirs)
		return -ENOMEM;
	g->cap_dirs = 64;
	g->dirs[0].path = strdup("");
	if (!g->dirs[0].path)
		return -ENOMEM;
	g->n_dirs = 1;
	for (unsigned int k = 1; k <= g->im->dir_depth; k++) {
		if (k > 2)
			make_name(g, "", name, sizeof(name));
		if ((r = add_dir(g, k - 1, k == 1 ? "usr" : k == 2 ? "lib" : name, 0, 0755)))
			return r;
	}
	for (size_t k = 0; k < sizeof(top) / sizeof(top[0]) && g->n_dirs <= want; k++)
		if ((r = add_dir(g, 0, top[k], 0, strcmp(top[k], "tmp") ? 0755 : 01777)))
			return r;
	open = malloc((want + 1) * sizeof(*open));
	if (!open)
		return -ENOMEM;
	for (size_t k = 0; k < g->n_dirs; k++)
		if (g->dirs[k].depth < g->im->dir_depth)
			open[n_open++] = (unsigned int)k;
	while (g->n_dirs <= want) {
		unsigned int parent = open[rnd_below(&g->rng, n_open)];
		unsigned int layer = pick_layer(g, 0);

		if (layer < g->dirs[parent].layer)
			layer = g->dirs[parent].layer;
		make_name(g, "", name, sizeof(name));
		if ((r = add_dir(g, parent, name, layer, 0755)))
			goto out;
		if (g->dirs[g->n_dirs - 1].depth < g->im->dir_depth)
			open[n_open++] = (unsigned int)(g->n_dirs - 1);
	}
	g->n_visible_dirs = g->n_dirs - 1;

	/* By layer, for picking a directory visible in a layer. */
	g->order = malloc(g->n_visible_dirs * sizeof(*g->order));
	g->elig = calloc(g->nl, sizeof(*g->elig));
	if (!g->order || !g->elig)
		goto out;
	for (unsigned int l = 0, k = 0; l < g->nl; l++) {
		for (size_t d = 1; d < g->n_dirs; d++)
			if (g->dirs[d].layer == l)
				g->order[k++] = (unsigned int)d;
		g->elig[l] = k;
	}
	r = 0;
out:
	free(open);
	return r;
}

/*
 * A directory visible in @layer (never the root): mostly one the layer makes itself, as a
 * package or an application adds its own tree; else any.
 */
static unsigned int pick_dir(struct gen *g, unsigned int layer)
{
	size_t lo = layer ? g->elig[layer - 1] : 0;

	if (g->elig[layer] > lo && rnd01(&g->rng) < 0.8)
		return g->order[lo + rnd_below(&g->rng, g->elig[layer] - lo)];
	return g->order[rnd_below(&g->rng, g->elig[layer])];
}

/* Marks @d and its parents as written in @layer. */
static void need(struct gen *g, unsigned int layer, unsigned int d)
{
	for (; d; d = g->dirs[d].parent) {
		uint64_t *w = &g->need[layer][d / 64], bit = 1ull << (d % 64);

		if (*w & bit)
			return;
		*w |= bit;
	}
}

static int need_alloc(struct gen *g)
{
	g->need_words = (g->n_dirs + 64) / 64;
	g->need = calloc(g->nl, sizeof(*g->need));
	if (!g->need)
		return -ENOMEM;
	for (unsigned int l = 0; l < g->nl; l++) {
		g->need[l] = calloc(g->need_words, sizeof(uint64_t));
		if (!g->need[l])
			return -ENOMEM;
	}
	return 0;
}

/* Grows @need to the directories added since it was made. */
static int need_grow(struct gen *g)
{
	size_t words = (g->n_dirs + 64) / 64;

	if (words <= g->need_words)
		return 0;
	for (unsigned int l = 0; l < g->nl; l++) {
		uint64_t *w = realloc(g->need[l], words * sizeof(uint64_t));

		if (!w)
			return -ENOMEM;
		memset(w + g->need_words, 0, (words - g->need_words) * sizeof(uint64_t));
		g->need[l] = w;
	}
	g->need_words = words;
	return 0;
}

/*
 * Moves @v[0..n) within [lo, hi] (hi 0: unbounded) until they sum to @target: down in
 * proportion to v - lo, up in proportion to hi - v (unbounded: to v).
 */
static void fit(uint64_t *v, size_t n, uint64_t lo, uint64_t hi, uint64_t target)
{
	uint64_t sum = 0, room = 0, d, moved = 0;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	if (sum == target)
		return;
	if (sum > target) {
		d = sum - target;
		for (size_t i = 0; i < n; i++)
			room += v[i] - lo;
		for (size_t i = 0; i < n && room; i++) {
			uint64_t c = (uint64_t)((unsigned __int128)d * (v[i] - lo) / room);

			v[i] -= c;
			moved += c;
		}
		for (size_t i = 0; moved < d; i = (i + 1) % n) {
			if (v[i] > lo) {
				v[i]--;
				moved++;
			}
		}
		return;
	}
	d = target - sum;
	for (size_t i = 0; i < n; i++)
		room += hi ? hi - v[i] : v[i] + 1;
	for (size_t i = 0; i < n && room; i++) {
		uint64_t c = (uint64_t)((unsigned __int128)d * (hi ? hi - v[i] : v[i] + 1) / room);

		v[i] += c;
		moved += c;
	}
	for (size_t i = 0; moved < d; i = (i + 1) % n) {
		if (!hi || v[i] < hi) {
			v[i]++;
			moved++;
		}
	}
}

/* Sizes honouring the profile: small files up to small_file_max, the rest above, large ones. */
static int gen_sizes(struct gen *g, uint64_t *sizes, uint8_t *cls)
{
	const struct stt_profile_image *im = g->im;
	uint64_t ns, nm, nl, smax = im->small_file_max_bytes, rest, small_sum = 0, large_target;
	uint64_t *s, *m, *L;

	stt_profile_file_classes(im, &ns, &nm, &nl);
	L = sizes;
	s = sizes + nl;
	m = s + ns;
	for (uint64_t i = 0; i < nl; i++) {
		L[i] = (uint64_t)((double)im->large_file_bytes * (0.75 + 0.5 * rnd01(&g->rng)));
		cls[i] = 2;
	}
	for (uint64_t i = 0; i < ns; i++) {
		s[i] = rnd01(&g->rng) < 0.02 ? 0 : log_uniform(&g->rng, smax < 64 ? 1 : 64, smax);
		small_sum += s[i];
		cls[nl + i] = 0;
	}
	for (uint64_t i = 0; i < nm; i++) {
		m[i] = log_uniform(&g->rng, smax + 1, 64 * smax);
		cls[nl + ns + i] = 1;
	}
	large_target = nl == im->files ? im->size_bytes : nl * im->large_file_bytes;
	if (large_target > im->size_bytes)
		return stt_err(-EINVAL, "%s: [image] large files exceed size", g->img->source);
	fit(L, nl, 0, 0, large_target);
	rest = im->size_bytes - large_target;
	if (!nm) {
		if (ns * smax < rest)
			return stt_err(-EINVAL, "%s: [image] size: more than the small files hold",
				       g->img->source);
		fit(s, ns, 0, smax, rest);
		return 0;
	}
	if (rest < nm * (smax + 1))
		return stt_err(-EINVAL, "%s: [image] size: too small for files above %llu bytes",
			       g->img->source, (unsigned long long)smax);
	if (small_sum > rest - nm * (smax + 1)) {
		fit(s, ns, 0, smax, rest - nm * (smax + 1));
		small_sum = rest - nm * (smax + 1);
	}
	fit(m, nm, smax + 1, 0, rest - small_sum);
	return 0;
}

static const char *const ext_small[] = { ".py", ".js", ".conf", ".txt", ".h", ".json", "", ".mo" };
static const char *const ext_medium[] = { ".so", ".pyc", ".js", ".dat", ".a", ".png" };
static const char *const ext_large[] = { ".jar", ".so", ".bin" };

static const char *pick_ext(struct gen *g, uint8_t cls)
{
	if (cls == 2)
		return ext_large[rnd_below(&g->rng, 3)];
	if (cls == 1)
		return ext_medium[rnd_below(&g->rng, 6)];
	return ext_small[rnd_below(&g->rng, 8)];
}

static int emit(struct gen *g, unsigned int layer, enum stt_image_entry_type type,
		const char *path, const char *target, uint64_t size_bytes, uint32_t mode)
{
	struct stt_image_entry *e = stt_img_layer_add(&g->img->layers[layer]);

	if (!e)
		return -ENOMEM;
	e->type = type;
	e->mode = mode;
	e->size_bytes = size_bytes;
	e->path = strdup(path);
	if (target)
		e->target = strdup(target);
	if (type == STT_IMAGE_FILE)
		e->content_seed = mix(g->img->seed ^ hash_str(STT_FNV1A64_INIT, path), layer + 1);
	if (!e->path || (target && !e->target))
		return -ENOMEM;
	return 0;
}

/* The visible files: sizes, layers (none left empty), directories, names. */
static int gen_files(struct gen *g)
{
	uint64_t n = g->im->files, *sizes = NULL, *per_layer = NULL;
	uint8_t *cls = NULL;
	char name[64];
	int r = -ENOMEM;

	g->files = calloc(n, sizeof(*g->files));
	sizes = malloc(n * sizeof(*sizes));
	cls = malloc(n);
	per_layer = calloc(g->nl, sizeof(*per_layer));
	if (!g->files || !sizes || !cls || !per_layer)
		goto out;
	g->n_files = n;
	if ((r = gen_sizes(g, sizes, cls)))
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		struct gfile *f = &g->files[i];

		f->size_bytes = sizes[i];
		f->cls = cls[i];
		/* Big files (jars, runtimes) come with the application, in the upper half. */
		f->layer = pick_layer(g, cls[i] == 2 ? g->nl / 2 : 0);
		per_layer[f->layer]++;
	}
	/* Every layer writes something: take a file from the fullest layer. */
	for (unsigned int l = 0; l < g->nl && n >= g->nl; l++) {
		unsigned int from = 0;

		if (per_layer[l])
			continue;
		for (unsigned int k = 1; k < g->nl; k++)
			if (per_layer[k] > per_layer[from])
				from = k;
		for (uint64_t i = rnd_below(&g->rng, n);; i = (i + 1) % n) {
			if (g->files[i].layer == from) {
				g->files[i].layer = l;
				per_layer[from]--;
				per_layer[l]++;
				break;
			}
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		struct gfile *f = &g->files[i];

		f->dir = pick_dir(g, f->layer);
		f->mode = rnd01(&g->rng) < 0.1 ? 0755 : 0644;
		make_name(g, pick_ext(g, f->cls), name, sizeof(name));
		f->path = stt_img_join(g->dirs[f->dir].path, name);
		if (!f->path) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	free(per_layer);
	free(cls);
	free(sizes);
	return r;
}

/* @to relative to directory @from (both relative to the root): "../../lib/x.so". */
static char *relative(const char *from, const char *to)
{
	size_t i = 0, common, ups = 0, flen = strlen(from);
	const char *rest;
	char *s, *p;

	while (from[i] && from[i] == to[i])
		i++;
	if (!from[i] && to[i] == '/') {
		common = i + 1; /* @from is a parent of @to */
	} else {
		for (common = i; common && from[common - 1] != '/'; common--)
			;
	}
	rest = common < flen ? from + common : "";
	if (*rest) {
		ups = 1;
		for (const char *c = rest; *c; c++)
			ups += *c == '/';
	}
	s = malloc(ups * 3 + strlen(to + common) + 1);
	if (!s)
		return NULL;
	p = s;
	for (size_t k = 0; k < ups; k++, p += 3)
		memcpy(p, "../", 3);
	strcpy(p, to + common);
	return s;
}

/* Symlinks to visible files: 1 per 20 files. */
static int gen_symlinks(struct gen *g)
{
	char name[64], *path = NULL, *target = NULL;
	int r = 0;

	for (uint64_t k = 0; k < g->n_files / 20 && !r; k++) {
		const struct gfile *f = &g->files[rnd_below(&g->rng, g->n_files)];
		unsigned int layer = pick_layer(g, f->layer), d = pick_dir(g, layer);

		make_name(g, "", name, sizeof(name));
		path = stt_img_join(g->dirs[d].path, name);
		target = relative(g->dirs[d].path, f->path);
		if (!path || !target)
			r = -ENOMEM;
		else
			r = emit(g, layer, STT_IMAGE_SYMLINK, path, target, 0, 0777);
		need(g, layer, d);
		free(path);
		free(target);
	}
	return r;
}

/* What upper layers do to lower ones: overwrite some files, delete files and a directory. */
static int gen_churn(struct gen *g)
{
	uint64_t *below = calloc(g->nl + 1, sizeof(*below)), *cand = NULL;
	char name[64], *path = NULL;
	int r = -ENOMEM;

	cand = malloc((g->n_files + 1) * sizeof(*cand));
	if (!below || !cand)
		goto out;
	for (uint64_t i = 0; i < g->n_files; i++)
		below[g->files[i].layer + 1]++;
	for (unsigned int l = 1; l <= g->nl; l++)
		below[l] += below[l - 1];
	r = 0;
	for (unsigned int l = 1; l < g->nl && !r; l++) {
		uint64_t n_over = below[l] / 100, n_del = below[l] / 200, nc = 0;
		unsigned int from, parent, dd, nf;

		n_over = n_over < 1 ? 1 : n_over > 500 ? 500 : n_over;
		n_del = n_del < 1 ? 1 : n_del > 200 ? 200 : n_del;

		/* Overwrites: files of this layer that had an older version below. */
		for (uint64_t i = 0; i < g->n_files; i++)
			if (g->files[i].layer == l && g->dirs[g->files[i].dir].layer < l)
				cand[nc++] = i;
		for (uint64_t k = 0; k < n_over && k < nc && !r; k++) {
			uint64_t j = k + rnd_below(&g->rng, nc - k), t = cand[j];
			struct gfile *f = &g->files[t];

			cand[j] = cand[k];
			cand[k] = t;
			uint64_t old_bytes;

			from = g->dirs[f->dir].layer;
			from += (unsigned int)rnd_below(&g->rng, l - from);
			old_bytes = (uint64_t)((double)f->size_bytes * (0.5 + rnd01(&g->rng)));
			f->old = true;
			r = emit(g, from, STT_IMAGE_FILE, f->path, NULL, old_bytes, f->mode);
			need(g, from, f->dir);
		}

		/* Files written below, deleted here. */
		for (uint64_t k = 0; k < n_del && !r; k++) {
			unsigned int d;

			from = (unsigned int)rnd_below(&g->rng, l);
			d = pick_dir(g, from);
			make_name(g, ".old", name, sizeof(name));
			path = stt_img_join(g->dirs[d].path, name);
			if (!path) {
				r = -ENOMEM;
				break;
			}
			r = emit(g, from, STT_IMAGE_FILE, path, NULL,
				 log_uniform(&g->rng, 64, g->im->small_file_max_bytes), 0644);
			if (!r)
				r = emit(g, l, STT_IMAGE_DELETE, path, NULL, 0, 0);
			need(g, from, d);
			need(g, l, d);
			free(path);
			path = NULL;
		}

		/* A directory with a few files, written below and deleted here. */
		from = (unsigned int)rnd_below(&g->rng, l);
		parent = pick_dir(g, from);
		if (g->dirs[parent].depth >= g->im->dir_depth)
			parent = g->dirs[parent].parent;
		make_name(g, ".d", name, sizeof(name));
		if (r || (r = add_dir(g, parent, name, from, 0755)) || (r = need_grow(g)))
			break;
		dd = (unsigned int)(g->n_dirs - 1);
		nf = 1 + (unsigned int)rnd_below(&g->rng, 4);
		for (unsigned int k = 0; k < nf && !r; k++) {
			make_name(g, ".tmp", name, sizeof(name));
			path = stt_img_join(g->dirs[dd].path, name);
			if (!path) {
				r = -ENOMEM;
				break;
			}
			r = emit(g, from, STT_IMAGE_FILE, path, NULL,
				 log_uniform(&g->rng, 64, g->im->small_file_max_bytes), 0644);
			free(path);
			path = NULL;
		}
		if (!r)
			r = emit(g, l, STT_IMAGE_DELETE, g->dirs[dd].path, NULL, 0, 0);
		need(g, from, dd);
		need(g, l, parent);
	}
out:
	free(cand);
	free(below);
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct stt_image_entry *x = a, *y = b;
	int dx = x->type == STT_IMAGE_DELETE, dy = y->type == STT_IMAGE_DELETE;

	if (dx != dy)
		return dy - dx;
	return strcmp(x->path, y->path);
}

static void gen_release(struct gen *g)
{
	for (size_t i = 0; i < g->n_dirs; i++)
		free(g->dirs[i].path);
	free(g->dirs);
	for (uint64_t i = 0; g->files && i < g->n_files; i++)
		free(g->files[i].path);
	free(g->files);
	for (unsigned int l = 0; g->need && l < g->nl; l++)
		free(g->need[l]);
	free(g->need);
	free(g->order);
	free(g->elig);
	free(g->cum);
}

static int fill_generated(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
			  char *buf);

int stt_image_generate(const struct stt_profile *p, struct stt_image **out)
{
	struct stt_image *img = NULL;
	struct gen g = { 0 };
	int r;

	*out = NULL;
	r = stt_img_image_new(STT_IMAGE_GENERATED, fill_generated, p->name ? p->name : "profile",
			      p->image.layers, &img);
	if (r)
		goto out;
	img->seed = p->image.seed;
	g.img = img;
	g.im = &p->image;
	g.nl = p->image.layers;
	g.rng = mix(p->image.seed, 0x5354542d494d47ull); /* "STT-IMG" */
	r = -ENOMEM;
	g.cum = malloc(g.nl * sizeof(*g.cum));
	if (!g.cum)
		goto out;
	/* The base layer holds most (a distribution), the others vary around one share each. */
	for (unsigned int l = 0; l < g.nl; l++)
		g.cum[l] = (l ? g.cum[l - 1] : 0) + (l ? 0.5 + rnd01(&g.rng) : 3.0);

	if ((r = gen_dirs(&g)) || (r = need_alloc(&g)))
		goto out;
	/* A directory is written in its layer, and its parents with it. */
	for (size_t d = 1; d < g.n_dirs; d++)
		need(&g, g.dirs[d].layer, (unsigned int)d);
	if ((r = gen_files(&g)))
		goto out;
	for (uint64_t i = 0; i < g.n_files; i++) {
		const struct gfile *f = &g.files[i];

		if ((r = emit(&g, f->layer, STT_IMAGE_FILE, f->path, NULL, f->size_bytes, f->mode)))
			goto out;
		need(&g, f->layer, f->dir);
	}
	if ((r = gen_symlinks(&g)) || (r = gen_churn(&g)))
		goto out;
	for (unsigned int l = 0; l < g.nl; l++) {
		struct layer *L = &img->layers[l];

		for (size_t d = 1; d < g.n_dirs; d++) {
			const struct gdir *gd = &g.dirs[d];

			if (g.need[l][d / 64] & (1ull << (d % 64)) &&
			    (r = emit(&g, l, STT_IMAGE_DIR, gd->path, NULL, 0, gd->mode)))
				goto out;
		}
		if (L->n)
			qsort(L->e, L->n, sizeof(*L->e), cmp_entry);
	}
	if ((r = stt_img_image_finish(img)))
		goto out;
	if (img->totals.files != p->image.files || img->totals.bytes != p->image.size_bytes ||
	    img->totals.dirs != p->image.dirs) {
		const struct stt_image_stats *t = &img->totals;

		r = stt_err(-EIO, "%s: generated %llu files, %llu bytes, %llu dirs instead of "
				  "%llu, %llu, %llu (a bug)",
			    img->source, (unsigned long long)t->files, (unsigned long long)t->bytes,
			    (unsigned long long)t->dirs, (unsigned long long)p->image.files,
			    (unsigned long long)p->image.size_bytes,
			    (unsigned long long)p->image.dirs);
		goto out;
	}
	if ((r = stt_image_apply_startup(img, p)))
		goto out;
	*out = img;
	img = NULL;
	r = 0;
out:
	gen_release(&g);
	stt_image_free(img);
	if (r == -ENOMEM)
		r = stt_err(r, "%s: out of memory", p->name ? p->name : "profile");
	return r;
}



struct gen_source {
	uint64_t state;
};

static int gen_read(void *arg, char *buf, size_t len)
{
	struct gen_source *g = arg;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix64(&g->state);

		for (size_t k = 0; k < 8 && i + k < len; k++)
			buf[i + k] = (char)(v >> (8 * k));
	}
	return 0;
}


static int fill_generated(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
			  char *buf)
{
	const struct layer *L = &img->layers[li];
	int r = 0;

	for (size_t i = 0; i < L->n && !r; i++) {
		const struct stt_image_entry *e = &L->e[i];
		struct gen_source gs = { e->content_seed };

		switch (e->type) {
		case STT_IMAGE_DELETE:
			r = stt_layer_delete(w, e->path);
			break;
		case STT_IMAGE_DIR:
			r = stt_img_make_dir(w, e, false);
			break;
		case STT_IMAGE_FILE:
			if (!(r = stt_img_prepare(w, e->path, false)) &&
			    !(r = stt_img_write_file(w, e, gen_read, &gs, buf)))
				r = stt_img_set_attrs(w, e, false);
			break;
		case STT_IMAGE_SYMLINK:
			r = stt_img_make_symlink(w, e, false);
			break;
		case STT_IMAGE_HARDLINK:
			r = stt_img_make_hardlink(w, e);
			break;
		}
	}
	return r;
}

