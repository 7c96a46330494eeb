// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images: generated from a profile, or imported from a `docker save` tar. The only file that
 * includes libarchive.
 *
 * Both kinds become the same thing: per layer, a list of entries in the order they are applied
 * (deletions first, then directories, files and links), and the tree they yield, kept as a
 * hash table of paths. The startup working set is chosen from that tree.
 */
#include "image.h"

#include "err.h"
#include "fmt.h"
#include "fsutil.h"
#include "profile.h"

#include <archive.h>
#include <archive_entry.h>
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

#define IO_CHUNK (1u << 20)		    /* file data moves in chunks of this */
#define MANIFEST_MAX_BYTES (16u << 20)	    /* a manifest.json larger than this is not one */
#define MAX_LAYERS 1000			    /* in an imported image */
#define STARTUP_SHARE 0.064		    /* HelloBench: 6.4% of the image read at start */
#define REWRITE_SMALL_BYTES (64u << 10)	    /* rewrites prefer files up to this */

/* ---- small things ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xff51afd7ed558ccdull);

	return splitmix64(&s);
}

static double rnd01(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * 0x1.0p-53;
}

/* 0 .. n-1; n > 0. The modulo bias is far below what matters here. */
static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

static uint64_t log_uniform(uint64_t *s, uint64_t lo, uint64_t hi)
{
	double a = log((double)(lo ? lo : 1)), b = log((double)hi);

	if (hi <= lo)
		return lo;
	return (uint64_t)exp(a + rnd01(s) * (b - a));
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	return stt_fnv1a64(h, s, strlen(s) + 1);
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return stt_fnv1a64(h, b, sizeof(b));
}

static char *join(const char *dir, const char *name)
{
	char *s;

	if (!*dir)
		return strdup(name);
	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return s;
}

/* ---- the tree: path -> what is there, a hash table with tombstones ---- */

struct node {
	char *path; /* NULL: never used; TOMB: deleted */
	uint64_t size_bytes;
	uint32_t mode;
	uint8_t type; /* STT_IMAGE_DIR, _FILE or _SYMLINK */
};

struct tree {
	struct node *slot;
	size_t cap; /* a power of two */
	size_t used; /* live and tombstones */
	size_t live;
};

static char tomb_mark;
#define TOMB (&tomb_mark)

static bool live(const struct node *n)
{
	return n->path && n->path != TOMB;
}

static struct node *tree_find(const struct tree *t, const char *path)
{
	size_t m, i;

	if (!t->cap)
		return NULL;
	m = t->cap - 1;
	for (i = hash_str(STT_FNV1A64_INIT, path) & m;; i = (i + 1) & m) {
		struct node *n = &t->slot[i];

		if (!n->path)
			return NULL;
		if (n->path != TOMB && !strcmp(n->path, path))
			return n;
	}
}

static int tree_grow(struct tree *t)
{
	size_t cap = t->cap < 1024 ? 1024 : t->cap;
	struct node *s;

	while ((t->live + 1) * 2 > cap)
		cap *= 2;
	s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!live(&t->slot[i]))
			continue;
		for (j = hash_str(STT_FNV1A64_INIT, t->slot[i].path) & (cap - 1); s[j].path;
		     j = (j + 1) & (cap - 1))
			;
		s[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	t->used = t->live;
	return 0;
}

/* Sets what is at @path, adding it when new. */
static int tree_put(struct tree *t, const char *path, uint8_t type, uint32_t mode,
		    uint64_t size_bytes)
{
	struct node *n = tree_find(t, path);
	char *copy;
	size_t m, i;

	if (!n) {
		if ((t->used + 1) * 10 >= t->cap * 7 && tree_grow(t))
			return -ENOMEM;
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		m = t->cap - 1;
		for (i = hash_str(STT_FNV1A64_INIT, path) & m; live(&t->slot[i]); i = (i + 1) & m)
			;
		n = &t->slot[i];
		if (!n->path)
			t->used++;
		n->path = copy;
		t->live++;
	}
	n->type = type;
	n->mode = mode;
	n->size_bytes = size_bytes;
	return 0;
}

static void tree_del(struct tree *t, struct node *n)
{
	free(n->path);
	n->path = TOMB;
	t->live--;
}

/* Deletes everything below directory @dir (not @dir). */
static void tree_del_below(struct tree *t, const char *dir)
{
	size_t len = strlen(dir);

	for (size_t i = 0; i < t->cap; i++) {
		struct node *n = &t->slot[i];

		if (live(n) && (!len || (!strncmp(n->path, dir, len) && n->path[len] == '/')))
			tree_del(t, n);
	}
}

static void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (live(&t->slot[i]))
			free(t->slot[i].path);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int cmp_node_path(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;

	return strcmp(x->path, y->path);
}

/* The live nodes of @type (-1: all), sorted by path. */
static int tree_sorted(const struct tree *t, int type, struct node ***out, size_t *n)
{
	struct node **v = malloc((t->live + 1) * sizeof(*v));
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (live(&t->slot[i]) && (type < 0 || t->slot[i].type == type))
			v[k++] = &t->slot[i];
	qsort(v, k, sizeof(*v), cmp_node_path);
	*out = v;
	*n = k;
	return 0;
}

/* ---- the image ---- */

struct layer {
	struct stt_image_entry *e;
	size_t n, cap;
	struct stt_image_stats st;
	char *member;	 /* imported: the layer tar's name in the save tar */
	size_t n_tar;	 /* imported: entries the tar gives (the rest are deletions) */
	/* imported, while indexing */
	char **whiteouts, **opaques;
	size_t n_wh, n_opq;
	bool indexed;
};

struct stt_image {
	enum stt_image_kind kind;
	char *source;
	uint64_t seed;
	unsigned int n_layers;
	struct layer *layers;
	struct stt_image_layer_arg *args;
	struct tree tree;
	struct stt_image_stats totals;
	struct stt_image_startup startup;
	char digest[STT_PROFILE_HASH_LEN];
};

static void entry_release(struct stt_image_entry *e)
{
	free(e->path);
	free(e->target);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void layer_release(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++)
		entry_release(&l->e[i]);
	free(l->e);
	free(l->member);
	strv_free(l->whiteouts, l->n_wh);
	strv_free(l->opaques, l->n_opq);
	memset(l, 0, sizeof(*l));
}

/* A zeroed entry at the end of @l, or NULL. */
static struct stt_image_entry *layer_add(struct layer *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct stt_image_entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return NULL;
		l->e = e;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	return &l->e[l->n++];
}

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void startup_release(struct stt_image_startup *s)
{
	free(s->read_paths);
	free(s->read_file_bytes);
	free(s->stat_paths);
	free(s->readdir_paths);
	free(s->rewrite_paths);
	free(s->rewrite_file_bytes);
	memset(s, 0, sizeof(*s));
}

void stt_image_free(struct stt_image *img)
{
	if (!img)
		return;
	for (unsigned int i = 0; i < img->n_layers && img->layers; i++)
		layer_release(&img->layers[i]);
	free(img->layers);
	free(img->args);
	tree_release(&img->tree);
	startup_release(&img->startup);
	free(img->source);
	free(img);
}

static int image_new(enum stt_image_kind kind, const char *source, unsigned int n_layers,
		     struct stt_image **out)
{
	struct stt_image *img = calloc(1, sizeof(*img));

	*out = NULL;
	if (!img)
		return -ENOMEM;
	img->kind = kind;
	img->n_layers = n_layers;
	img->source = strdup(source);
	img->layers = calloc(n_layers, sizeof(*img->layers));
	img->args = calloc(n_layers, sizeof(*img->args));
	if (!img->source || !img->layers || !img->args) {
		stt_image_free(img);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n_layers; i++) {
		img->args[i].img = img;
		img->args[i].layer = i;
	}
	*out = img;
	return 0;
}

/* Applies one entry to the tree; imported entries may lack parents (made as Docker does). */
static int tree_apply(struct stt_image *img, unsigned int layer, const struct stt_image_entry *e)
{
	struct tree *t = &img->tree;
	struct node *n;
	char *p, *slash;
	int r = 0;

	if (e->type == STT_IMAGE_DELETE) {
		n = tree_find(t, e->path);
		if (n && n->type == STT_IMAGE_DIR)
			tree_del_below(t, e->path);
		if (n)
			tree_del(t, n);
		return 0;
	}
	p = strdup(e->path);
	if (!p)
		return -ENOMEM;
	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		n = tree_find(t, p);
		if (!n)
			r = tree_put(t, p, STT_IMAGE_DIR, 0755, 0);
		else if (n->type != STT_IMAGE_DIR)
			r = stt_err(-EINVAL, "%s: layer %u: %s: below %s, which is not a directory",
				    img->source, layer + 1, e->path, p);
		*slash = '/';
		if (r)
			goto out;
	}
	n = tree_find(t, e->path);
	if (n && n->type == STT_IMAGE_DIR && e->type != STT_IMAGE_DIR)
		tree_del_below(t, e->path);
	switch (e->type) {
	case STT_IMAGE_DIR:
		r = tree_put(t, e->path, STT_IMAGE_DIR, e->mode, 0);
		break;
	case STT_IMAGE_FILE:
		r = tree_put(t, e->path, STT_IMAGE_FILE, e->mode, e->size_bytes);
		break;
	case STT_IMAGE_SYMLINK:
		r = tree_put(t, e->path, STT_IMAGE_SYMLINK, 0777, 0);
		break;
	case STT_IMAGE_HARDLINK:
		n = tree_find(t, e->target);
		if (!n || n->type != STT_IMAGE_FILE) {
			r = stt_err(-EINVAL, "%s: layer %u: %s: hard link to %s, not a file",
				    img->source, layer + 1, e->path, e->target);
			break;
		}
		r = tree_put(t, e->path, STT_IMAGE_FILE, n->mode, n->size_bytes);
		break;
	case STT_IMAGE_DELETE:
		break;
	}
out:
	free(p);
	if (r == -ENOMEM)
		r = stt_err(r, "%s: out of memory", img->source);
	return r;
}

static void count(struct stt_image_stats *st, const struct stt_image_entry *e)
{
	switch (e->type) {
	case STT_IMAGE_DIR:
		st->dirs++;
		break;
	case STT_IMAGE_FILE:
		st->files++;
		st->bytes += e->size_bytes;
		break;
	case STT_IMAGE_SYMLINK:
		st->symlinks++;
		break;
	case STT_IMAGE_HARDLINK:
		st->hardlinks++;
		break;
	case STT_IMAGE_DELETE:
		st->deletes++;
		break;
	}
}

/* Per-layer stats, the final tree, its totals and the digest. */
static int image_finish(struct stt_image *img)
{
	uint64_t h = STT_FNV1A64_INIT;
	int r;

	for (unsigned int l = 0; l < img->n_layers; l++) {
		struct layer *L = &img->layers[l];
		uint64_t skipped = L->st.skipped, opaque = L->st.opaque_dirs;

		memset(&L->st, 0, sizeof(L->st));
		L->st.skipped = skipped;
		L->st.opaque_dirs = opaque;
		h = hash_u64(h, l);
		if (L->member)
			h = hash_str(h, L->member);
		for (size_t i = 0; i < L->n; i++) {
			const struct stt_image_entry *e = &L->e[i];

			count(&L->st, e);
			if (img->kind == STT_IMAGE_GENERATED && (r = tree_apply(img, l, e)))
				return r;
			h = hash_u64(h, e->type);
			h = hash_str(h, e->path);
			h = hash_str(h, e->target ? e->target : "");
			h = hash_u64(h, e->mode);
			h = hash_u64(h, ((uint64_t)e->uid << 32) | e->gid);
			h = hash_u64(h, e->size_bytes);
			h = hash_u64(h, e->content_seed);
		}
	}
	snprintf(img->digest, sizeof(img->digest), "fnv1a64:%016llx", (unsigned long long)h);

	memset(&img->totals, 0, sizeof(img->totals));
	for (size_t i = 0; i < img->tree.cap; i++) {
		const struct node *n = &img->tree.slot[i];

		if (!live(n))
			continue;
		if (n->type == STT_IMAGE_DIR)
			img->totals.dirs++;
		else if (n->type == STT_IMAGE_SYMLINK)
			img->totals.symlinks++;
		else {
			img->totals.files++;
			img->totals.bytes += n->size_bytes;
		}
	}
	return 0;
}

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
	d->path = join(g->dirs[parent].path, name);
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
	struct stt_image_entry *e = layer_add(&g->img->layers[layer]);

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
		f->path = join(g->dirs[f->dir].path, name);
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
		path = join(g->dirs[d].path, name);
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
			path = join(g->dirs[d].path, name);
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
			path = join(g->dirs[dd].path, name);
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

int stt_image_generate(const struct stt_profile *p, struct stt_image **out)
{
	struct stt_image *img = NULL;
	struct gen g = { 0 };
	int r;

	*out = NULL;
	r = image_new(STT_IMAGE_GENERATED, p->name ? p->name : "profile", p->image.layers, &img);
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
	if ((r = image_finish(img)))
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

/* ---- the startup working set ---- */

struct cand {
	const char *path;
	uint64_t size_bytes;
	uint64_t key; /* preference, then a hash of the path */
	size_t rank;  /* position in preference order */
	bool used;
};

static bool has_prefix(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* 0: executables and libraries, 1: configuration, 2: the rest. */
static unsigned int preference(const char *path)
{
	static const char *const code[] = {
		"bin",	   "sbin",	"lib",	       "lib64",		"usr/bin",	 "usr/sbin",
		"usr/lib", "usr/lib64", "usr/libexec", "usr/local/bin", "usr/local/lib",
	};

	for (size_t i = 0; i < sizeof(code) / sizeof(code[0]); i++)
		if (has_prefix(path, code[i]))
			return 0;
	return has_prefix(path, "etc") ? 1 : 2;
}

static int cmp_cand_key(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int cmp_cand_size(const void *a, const void *b)
{
	const struct cand *x = *(const struct cand *const *)a, *y = *(const struct cand *const *)b;

	if (x->size_bytes != y->size_bytes)
		return x->size_bytes < y->size_bytes ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int cmp_cand_rank(const void *a, const void *b)
{
	const struct cand *x = *(const struct cand *const *)a, *y = *(const struct cand *const *)b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int64_t sabs(int64_t v)
{
	return v < 0 ? -v : v;
}

/*
 * @n whole files summing to about @bytes: the first @n by preference, then single swaps with
 * the other files, each the one that brings the sum closest, until within 0.1% or no swap
 * helps. @pick gets them in preference order.
 */
static int pick_reads(struct cand *c, size_t m, size_t n, uint64_t bytes, struct cand **pick)
{
	struct cand **others = NULL;
	size_t n_others = m - n;
	int64_t sum = 0, tol = (int64_t)(bytes / 1000);

	for (size_t i = 0; i < n; i++) {
		pick[i] = &c[i];
		sum += (int64_t)c[i].size_bytes;
	}
	if (n_others) {
		others = malloc(n_others * sizeof(*others));
		if (!others)
			return -ENOMEM;
		for (size_t i = 0; i < n_others; i++)
			others[i] = &c[n + i];
		qsort(others, n_others, sizeof(*others), cmp_cand_size);
	}
	for (size_t iter = 0; n && n_others && iter < 4 * n + 100; iter++) {
		int64_t delta = (int64_t)bytes - sum, best_gain = 0, nd;
		size_t best_c = 0, best_u = 0;

		if (sabs(delta) <= tol)
			break;
		for (size_t k = 0; k < n; k++) {
			int64_t sc = (int64_t)pick[k]->size_bytes, want = sc + delta;
			size_t lo = 0, hi = n_others;

			if (want < 0)
				want = 0;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if ((int64_t)others[mid]->size_bytes < want)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t u = lo ? lo - 1 : 0; u <= lo && u < n_others; u++) {
				nd = delta - ((int64_t)others[u]->size_bytes - sc);
				if (sabs(delta) - sabs(nd) > best_gain) {
					best_gain = sabs(delta) - sabs(nd);
					best_c = k;
					best_u = u;
				}
			}
		}
		if (best_gain <= 0)
			break;
		{
			struct cand *in = others[best_u], *out = pick[best_c];
			size_t pos;

			sum += (int64_t)in->size_bytes - (int64_t)out->size_bytes;
			pick[best_c] = in;
			memmove(&others[best_u], &others[best_u + 1],
				(n_others - best_u - 1) * sizeof(*others));
			for (pos = 0; pos < n_others - 1 && cmp_cand_size(&others[pos], &out) < 0;
			     pos++)
				;
			memmove(&others[pos + 1], &others[pos],
				(n_others - 1 - pos) * sizeof(*others));
			others[pos] = out;
		}
	}
	qsort(pick, n, sizeof(*pick), cmp_cand_rank);
	free(others);
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? strndup(path, (size_t)(slash - path)) : strdup("");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int stt_image_apply_startup(struct stt_image *img, const struct stt_profile *p)
{
	struct stt_image_startup *s = &img->startup;
	struct node **files = NULL, **dirs = NULL;
	struct cand *c = NULL, **pick = NULL, *mid = NULL;
	size_t n_files = 0, n_dirs = 0, n_read = 0, n_stat, n_rd, n_rw, k;
	const char **dir_sorted = NULL;
	bool *dir_used = NULL;
	uint64_t salt = img->kind == STT_IMAGE_GENERATED ? img->seed : 0x64656661756c74ull;
	uint64_t want_bytes;
	int r = -ENOMEM;

	startup_release(s);
	if (p) {
		const char *what = NULL;
		uint64_t asked = 0, has = 0;

		if (p->startup.read_files > img->totals.files) {
			what = "read_files";
			asked = p->startup.read_files;
			has = img->totals.files;
		} else if (p->startup.read_bytes > img->totals.bytes) {
			what = "read_bytes";
			asked = p->startup.read_bytes;
			has = img->totals.bytes;
		} else if (p->startup.stat_files > img->totals.files) {
			what = "stat_files";
			asked = p->startup.stat_files;
			has = img->totals.files;
		} else if (p->startup.readdirs > img->totals.dirs) {
			what = "readdirs";
			asked = p->startup.readdirs;
			has = img->totals.dirs;
		} else if (p->startup.rewrite_files > img->totals.files) {
			what = "rewrite_files";
			asked = p->startup.rewrite_files;
			has = img->totals.files;
		}
		if (what)
			return stt_err(-EINVAL,
				       "%s: [startup] %s = %llu: more than image %s has (%llu)",
				       p->source ? p->source : "profile", what,
				       (unsigned long long)asked, img->source,
				       (unsigned long long)has);
	}
	if ((r = tree_sorted(&img->tree, STT_IMAGE_FILE, &files, &n_files)) ||
	    (r = tree_sorted(&img->tree, STT_IMAGE_DIR, &dirs, &n_dirs)))
		goto out;
	r = -ENOMEM;
	c = calloc(n_files + 1, sizeof(*c));
	pick = calloc(n_files + 1, sizeof(*pick));
	dir_sorted = calloc(n_dirs + 1, sizeof(*dir_sorted));
	dir_used = calloc(n_dirs + 1, sizeof(*dir_used));
	if (!c || !pick || !dir_sorted || !dir_used)
		goto out;
	for (size_t i = 0; i < n_files; i++) {
		c[i].path = files[i]->path;
		c[i].size_bytes = files[i]->size_bytes;
		c[i].key = ((uint64_t)preference(c[i].path) << 60) |
			   (hash_str(salt, c[i].path) >> 4);
	}
	qsort(c, n_files, sizeof(*c), cmp_cand_key);
	for (size_t i = 0; i < n_files; i++) {
		c[i].rank = i;
		/* the largest file; of equal ones the first path */
		if (c[i].size_bytes && (!mid || c[i].size_bytes > mid->size_bytes ||
					(c[i].size_bytes == mid->size_bytes &&
					 strcmp(c[i].path, mid->path) < 0)))
			mid = &c[i];
	}
	if (!(p ? p->startup.mid_write : true))
		mid = NULL;

	/* Reads. */
	if (p) {
		n_read = (size_t)p->startup.read_files;
		if ((r = pick_reads(c, n_files, n_read, p->startup.read_bytes, pick)))
			goto out;
		r = -ENOMEM;
	} else {
		uint64_t sum = 0;

		want_bytes = (uint64_t)((double)img->totals.bytes * STARTUP_SHARE + 0.5);
		for (size_t i = 0; i < n_files && sum < want_bytes - want_bytes / 100; i++) {
			if (sum + c[i].size_bytes > want_bytes + want_bytes / 50)
				continue;
			pick[n_read++] = &c[i];
			sum += c[i].size_bytes;
		}
	}
	s->read_paths = calloc(n_read + 1, sizeof(*s->read_paths));
	s->read_file_bytes = calloc(n_read + 1, sizeof(*s->read_file_bytes));
	if (!s->read_paths || !s->read_file_bytes)
		goto out;
	for (size_t i = 0; i < n_read; i++) {
		s->read_paths[i] = pick[i]->path;
		s->read_file_bytes[i] = pick[i]->size_bytes;
		s->read_bytes += pick[i]->size_bytes;
		pick[i]->used = true;
	}
	s->n_read = n_read;

	/* Stats: the files read, then others by preference. */
	n_stat = p ? (size_t)p->startup.stat_files : n_read;
	s->stat_paths = calloc(n_stat + 1, sizeof(*s->stat_paths));
	if (!s->stat_paths)
		goto out;
	for (k = 0; k < n_stat && k < n_read; k++)
		s->stat_paths[k] = s->read_paths[k];
	for (size_t i = 0; i < n_files && k < n_stat; i++)
		if (!c[i].used)
			s->stat_paths[k++] = c[i].path;
	s->n_stat = k;

	/* Readdirs: the directories of the files read, then others by preference. */
	n_rd = p ? (size_t)p->startup.readdirs : (n_dirs < 8 ? n_dirs : 8);
	s->readdir_paths = calloc(n_rd + 1, sizeof(*s->readdir_paths));
	if (!s->readdir_paths)
		goto out;
	for (size_t i = 0; i < n_dirs; i++)
		dir_sorted[i] = dirs[i]->path;
	k = 0;
	for (size_t i = 0; i < n_read && k < n_rd; i++) {
		char *d = dir_of(s->read_paths[i]);
		const char **hit;

		if (!d)
			goto out;
		hit = *d ? bsearch(&d, dir_sorted, n_dirs, sizeof(*dir_sorted), cmp_str) : NULL;
		free(d);
		if (hit && !dir_used[hit - dir_sorted]) {
			dir_used[hit - dir_sorted] = true;
			s->readdir_paths[k++] = *hit;
		}
	}
	if (k < n_rd) {
		struct cand *dc = calloc(n_dirs + 1, sizeof(*dc));
		size_t nd = 0;

		if (!dc)
			goto out;
		for (size_t i = 0; i < n_dirs; i++) {
			if (dir_used[i])
				continue;
			dc[nd].path = dir_sorted[i];
			dc[nd].key = ((uint64_t)preference(dir_sorted[i]) << 60) |
				     (hash_str(salt, dir_sorted[i]) >> 4);
			nd++;
		}
		qsort(dc, nd, sizeof(*dc), cmp_cand_key);
		for (size_t i = 0; i < nd && k < n_rd; i++)
			s->readdir_paths[k++] = dc[i].path;
		free(dc);
	}
	s->n_readdir = k;

	/* New files. */
	if (p ? p->startup.write_files : true) {
		s->write_files = p ? (unsigned int)p->startup.write_files : 2;
		s->write_file_bytes = (p ? p->startup.write_bytes : 64u << 10) / s->write_files;
		s->write_bytes = s->write_file_bytes * s->write_files;
	}

	/* Rewrites: small files first (configuration), never the mid-write file if avoidable. */
	n_rw = p ? (size_t)p->startup.rewrite_files : (n_files > 1);
	s->rewrite_paths = calloc(n_rw + 1, sizeof(*s->rewrite_paths));
	s->rewrite_file_bytes = calloc(n_rw + 1, sizeof(*s->rewrite_file_bytes));
	if (!s->rewrite_paths || !s->rewrite_file_bytes)
		goto out;
	k = 0;
	for (int pass = 0; pass < 3 && k < n_rw; pass++) {
		for (size_t i = 0; i < n_files && k < n_rw; i++) {
			bool small = c[i].size_bytes <= REWRITE_SMALL_BYTES;
			bool is_mid = &c[i] == mid;

			if ((pass == 0 && (!small || is_mid)) || (pass == 1 && (small || is_mid)) ||
			    (pass == 2 && !is_mid))
				continue;
			s->rewrite_paths[k] = c[i].path;
			s->rewrite_file_bytes[k] = c[i].size_bytes;
			s->rewrite_bytes += c[i].size_bytes;
			k++;
		}
	}
	s->n_rewrite = k;

	if (mid) {
		s->mid_path = mid->path;
		s->mid_file_bytes = mid->size_bytes;
	}
	s->total_bytes = s->read_bytes + s->write_bytes + s->rewrite_bytes + (s->mid_path ? 4 : 0);
	r = 0;
out:
	free(dir_used);
	free(dir_sorted);
	free(pick);
	free(c);
	free(dirs);
	free(files);
	if (r) {
		startup_release(s);
		if (r == -ENOMEM)
			r = stt_err(r, "%s: out of memory", img->source);
	}
	return r;
}

/* ---- docker save ---- */

/* A tar member's name as a path in the image: no "./", no "/" at either end; "" is the root. */
static int norm_path(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in) {
		const char *end = strchrnul(in, '/');
		size_t n = (size_t)(end - in);

		if (n == 2 && !strncmp(in, "..", 2))
			return -EINVAL;
		if (n && !(n == 1 && *in == '.')) {
			if (o + n + 2 > len)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, in, n);
			o += n;
		}
		in = *end ? end + 1 : end;
	}
	out[o] = '\0';
	return 0;
}

enum raw { RAW_ROOT, RAW_ENTRY, RAW_WHITEOUT, RAW_OPAQUE, RAW_META, RAW_SPECIAL };

/* What a layer tar's entry is; @path (and @target for links) normalised. */
static int classify(struct archive_entry *ae, char *path, char *target, size_t len,
		    enum raw *raw, enum stt_image_entry_type *type)
{
	const char *name = archive_entry_pathname(ae), *base, *link;
	char *slash;
	int r;

	if (!name)
		return -EINVAL;
	if ((r = norm_path(name, path, len)))
		return r;
	if (!*path) {
		*raw = RAW_ROOT;
		return 0;
	}
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!strncmp(base, ".wh.", 4)) {
		if (!strcmp(base, ".wh..wh..opq")) {
			*raw = RAW_OPAQUE;
			if (slash)
				*slash = '\0';
			else
				*path = '\0';
			return 0;
		}
		if (!strncmp(base, ".wh..wh.", 8)) {
			*raw = RAW_META;
			return 0;
		}
		if (!base[4] || !strcmp(base + 4, ".") || !strcmp(base + 4, ".."))
			return -EINVAL;
		memmove((char *)base, base + 4, strlen(base + 4) + 1);
		*raw = RAW_WHITEOUT;
		return 0;
	}
	*raw = RAW_ENTRY;
	link = archive_entry_hardlink(ae);
	if (link) {
		*type = STT_IMAGE_HARDLINK;
		if ((r = norm_path(link, target, len)))
			return r;
		return *target ? 0 : -EINVAL;
	}
	switch (archive_entry_filetype(ae)) {
	case AE_IFDIR:
		*type = STT_IMAGE_DIR;
		return 0;
	case AE_IFREG:
		*type = STT_IMAGE_FILE;
		return 0;
	case AE_IFLNK:
		*type = STT_IMAGE_SYMLINK;
		link = archive_entry_symlink(ae);
		if (!link || strlen(link) >= len)
			return -EINVAL;
		strcpy(target, link);
		return 0;
	default:
		*raw = RAW_SPECIAL;
		return 0;
	}
}

struct outer {
	struct archive *a;
	char buf[1 << 16];
};

static la_ssize_t inner_read(struct archive *a, void *arg, const void **buf)
{
	struct outer *o = arg;
	la_ssize_t n = archive_read_data(o->a, o->buf, sizeof(o->buf));

	if (n < 0) {
		archive_set_error(a, archive_errno(o->a), "%s", archive_error_string(o->a));
		return -1;
	}
	*buf = o->buf;
	return n;
}

/* libarchive's error as -errno: not a tar (or a bad one) -EINVAL, its errno, else -EIO. */
static int archive_err(struct archive *a)
{
	if (archive_errno(a) == EILSEQ) /* libarchive's ARCHIVE_ERRNO_FILE_FORMAT */
		return -EINVAL;
	return archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
}

/* The save tar, for reading; NULL with a message and *@r set. */
static struct archive *open_outer(const char *path, int *r)
{
	struct archive *a;
	struct stat st;

	if (stat(path, &st)) {
		*r = stt_err(-errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	a = archive_read_new();
	if (!a) {
		*r = stt_err(-ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		*r = stt_err(archive_err(a), "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* The layer tar in the outer archive's current member, read as a stream. */
static struct archive *open_inner(struct outer *o)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open(a, o, NULL, inner_read, NULL) != ARCHIVE_OK) {
		stt_err_set("%s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

struct member {
	char *name, *link; /* link: a symlink's target, as written */
	bool regular;
};

static void members_free(struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].link);
	}
	free(m);
}

/* Pass 1: manifest.json and the members' names. */
static int scan_save(const char *tar, char **manifest, struct member **members, size_t *n_members)
{
	struct archive_entry *ae;
	struct member *m = NULL;
	struct archive *a;
	size_t n = 0;
	char name[PATH_MAX];
	int r = -EINVAL, ar;

	*manifest = NULL;
	a = open_outer(tar, &r);
	if (!a)
		return r;
	while ((ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		struct member *nm;
		const char *pn = archive_entry_pathname(ae);

		if (!pn || norm_path(pn, name, sizeof(name)))
			continue;
		nm = realloc(m, (n + 1) * sizeof(*m));
		if (!nm)
			goto nomem;
		m = nm;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].name = strdup(name);
		if (!m[n].name)
			goto nomem;
		m[n].regular = archive_entry_filetype(ae) == AE_IFREG &&
			       !archive_entry_hardlink(ae);
		if (archive_entry_filetype(ae) == AE_IFLNK && archive_entry_symlink(ae)) {
			m[n].link = strdup(archive_entry_symlink(ae));
			if (!m[n].link)
				goto nomem;
		}
		n++;
		if (!strcmp(name, "manifest.json") && m[n - 1].regular && !*manifest) {
			la_int64_t size = archive_entry_size(ae);
			la_ssize_t got = 0, k;

			if (size < 0 || size > MANIFEST_MAX_BYTES) {
				r = stt_err(-EINVAL, "%s: manifest.json: too large", tar);
				goto out;
			}
			*manifest = malloc((size_t)size + 1);
			if (!*manifest)
				goto nomem;
			while (got < size) {
				k = archive_read_data(a, *manifest + got, (size_t)(size - got));
				if (k <= 0)
					break;
				got += k;
			}
			if (got != size) {
				r = stt_err(-EIO, "%s: manifest.json: %s", tar,
					    archive_error_string(a) ? archive_error_string(a)
								    : "truncated");
				goto out;
			}
			(*manifest)[size] = '\0';
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = stt_err(archive_err(a), "%s: %s", tar, archive_error_string(a));
		goto out;
	}
	if (!*manifest) {
		r = stt_err(-EINVAL, "%s: no manifest.json: not a docker save tar", tar);
		goto out;
	}
	*members = m;
	*n_members = n;
	m = NULL;
	n = 0;
	r = 0;
	goto out;
nomem:
	r = stt_err(-ENOMEM, "%s: out of memory", tar);
out:
	if (r) {
		free(*manifest);
		*manifest = NULL;
	}
	members_free(m, n);
	archive_read_free(a);
	return r;
}

/*
 * @link (a symlink's target) as seen from member @from: "dir/" + link, with "." and ".."
 * resolved; -EINVAL when it leaves the tar.
 */
static int link_target(const char *from, const char *link, char *out, size_t len)
{
	char buf[PATH_MAX * 2], *parts[256], *save = NULL, *slash = strrchr(from, '/');
	size_t np = 0, o = 0;

	if (link[0] == '/' || !slash)
		snprintf(buf, sizeof(buf), "%s", link);
	else
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - from), from, link);
	for (char *s = strtok_r(buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (!strcmp(s, "."))
			continue;
		if (!strcmp(s, "..")) {
			if (!np)
				return -EINVAL;
			np--;
		} else if (np < sizeof(parts) / sizeof(parts[0])) {
			parts[np++] = s;
		} else {
			return -EINVAL;
		}
	}
	out[0] = '\0';
	for (size_t i = 0; i < np; i++) {
		size_t n = strlen(parts[i]);

		if (o + n + 2 > len)
			return -ENAMETOOLONG;
		if (i)
			out[o++] = '/';
		memcpy(out + o, parts[i], n + 1);
		o += n;
	}
	return 0;
}

/* The member a manifest's layer path names, following symlinks (Docker links repeats). */
static int resolve_member(const char *tar, const char *layer, const struct member *m, size_t n,
			  char **out)
{
	char path[PATH_MAX], next[PATH_MAX];
	int r;

	if ((r = norm_path(layer, path, sizeof(path))) || !*path)
		return stt_err(-EINVAL, "%s: manifest.json: bad layer path %s", tar, layer);
	for (int hops = 0; hops < 8; hops++) {
		const struct member *hit = NULL;

		for (size_t i = 0; i < n && !hit; i++)
			if (!strcmp(m[i].name, path))
				hit = &m[i];
		if (!hit)
			return stt_err(-EINVAL, "%s: layer %s: not in the tar", tar, layer);
		if (hit->regular) {
			*out = strdup(path);
			return *out ? 0 : stt_err(-ENOMEM, "%s: out of memory", tar);
		}
		if (!hit->link)
			return stt_err(-EINVAL, "%s: layer %s: not a file", tar, layer);
		if (link_target(path, hit->link, next, sizeof(next)))
			return stt_err(-EINVAL, "%s: layer %s: a link out of the tar", tar, layer);
		memcpy(path, next, sizeof(path));
	}
	return stt_err(-ELOOP, "%s: layer %s: too many links", tar, layer);
}

static int parse_manifest(const char *tar, const char *text, char ***layers, size_t *n)
{
	struct json_object *root = json_tokener_parse(text), *img, *arr;
	int r = -EINVAL;

	*layers = NULL;
	*n = 0;
	if (!root || !json_object_is_type(root, json_type_array) ||
	    !json_object_array_length(root)) {
		r = stt_err(-EINVAL, "%s: manifest.json: not a list of images", tar);
		goto out;
	}
	img = json_object_array_get_idx(root, 0);
	if (!json_object_object_get_ex(img, "Layers", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		r = stt_err(-EINVAL, "%s: manifest.json: no \"Layers\"", tar);
		goto out;
	}
	if (!json_object_array_length(arr) || json_object_array_length(arr) > MAX_LAYERS) {
		r = stt_err(-EINVAL, "%s: manifest.json: %zu layers (1..%u)", tar,
			    json_object_array_length(arr), MAX_LAYERS);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *s = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(s, json_type_string)) {
			r = stt_err(-EINVAL, "%s: manifest.json: layer %zu: not a path", tar,
			    i + 1);
			goto out;
		}
		if (strv_add(layers, n, json_object_get_string(s))) {
			r = stt_err(-ENOMEM, "%s: out of memory", tar);
			goto out;
		}
	}
	r = 0;
out:
	if (r) {
		strv_free(*layers, *n);
		*layers = NULL;
		*n = 0;
	}
	json_object_put(root);
	return r;
}

/* Reads one layer tar's entries into @L: entries, whiteouts, opaque dirs, skipped count. */
static int index_layer(struct stt_image *img, unsigned int li, struct outer *o)
{
	struct layer *L = &img->layers[li];
	struct archive *a = open_inner(o);
	struct archive_entry *ae;
	char path[PATH_MAX], target[PATH_MAX];
	int r = 0, ar;

	if (!a)
		return stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			       stt_err_msg());
	while (!r && (ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		enum stt_image_entry_type type = STT_IMAGE_FILE;
		struct stt_image_entry *e;
		enum raw raw;

		r = classify(ae, path, target, sizeof(path), &raw, &type);
		if (r) {
			r = stt_err(-EINVAL, "%s: layer %u: %s: not a path inside the image",
				    img->source, li + 1, archive_entry_pathname(ae));
			break;
		}
		switch (raw) {
		case RAW_ROOT:
		case RAW_META:
			break;
		case RAW_SPECIAL:
			L->st.skipped++;
			break;
		case RAW_WHITEOUT:
			r = strv_add(&L->whiteouts, &L->n_wh, path);
			break;
		case RAW_OPAQUE:
			L->st.opaque_dirs++;
			r = strv_add(&L->opaques, &L->n_opq, path);
			break;
		case RAW_ENTRY:
			e = layer_add(L);
			if (!e) {
				r = -ENOMEM;
				break;
			}
			e->type = type;
			e->path = strdup(path);
			e->mode = archive_entry_perm(ae) & 07777;
			e->uid = (uint32_t)archive_entry_uid(ae);
			e->gid = (uint32_t)archive_entry_gid(ae);
			if (type == STT_IMAGE_FILE)
				e->size_bytes = (uint64_t)archive_entry_size(ae);
			if (type == STT_IMAGE_SYMLINK || type == STT_IMAGE_HARDLINK)
				e->target = strdup(target);
			if (!e->path || ((type == STT_IMAGE_SYMLINK ||
					  type == STT_IMAGE_HARDLINK) && !e->target))
				r = -ENOMEM;
			break;
		}
	}
	if (r == -ENOMEM)
		r = stt_err(r, "%s: out of memory", img->source);
	else if (!r && ar != ARCHIVE_EOF)
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    archive_error_string(a));
	L->n_tar = L->n;
	L->indexed = !r;
	archive_read_free(a);
	return r;
}

static int copy_layer(struct layer *to, const struct layer *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct stt_image_entry *e = layer_add(to);

		if (!e)
			return -ENOMEM;
		*e = from->e[i];
		e->path = strdup(from->e[i].path);
		e->target = from->e[i].target ? strdup(from->e[i].target) : NULL;
		if (!e->path || (from->e[i].target && !e->target))
			return -ENOMEM;
	}
	for (size_t i = 0; i < from->n_wh; i++)
		if (strv_add(&to->whiteouts, &to->n_wh, from->whiteouts[i]))
			return -ENOMEM;
	for (size_t i = 0; i < from->n_opq; i++)
		if (strv_add(&to->opaques, &to->n_opq, from->opaques[i]))
			return -ENOMEM;
	to->st.skipped = from->st.skipped;
	to->st.opaque_dirs = from->st.opaque_dirs;
	to->n_tar = from->n_tar;
	to->indexed = true;
	return 0;
}

static const char *parent_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return "";
	snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return buf;
}

/*
 * The deletions layer @li makes, against the tree of the layers below: its whiteouts of what
 * exists, and for each opaque directory everything below it that the layer does not write
 * (directories the layer writes inside it are opaque in effect too).
 */
static int layer_deletes(struct stt_image *img, unsigned int li)
{
	struct layer *L = &img->layers[li];
	struct tree mine = { 0 }, dels = { 0 };
	char **del = NULL, buf[PATH_MAX];
	size_t n_del = 0;
	struct stt_image_entry *e;
	int r = 0;

	for (size_t i = 0; i < L->n_tar && !r; i++) {
		char *p = strdup(L->e[i].path), *slash;

		if (!p) {
			r = -ENOMEM;
			break;
		}
		r = tree_put(&mine, p,
			     L->e[i].type == STT_IMAGE_DIR ? STT_IMAGE_DIR : STT_IMAGE_FILE, 0, 0);
		for (slash = strchr(p, '/'); slash && !r; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (!tree_find(&mine, p))
				r = tree_put(&mine, p, STT_IMAGE_DIR, 0, 0);
			*slash = '/';
		}
		free(p);
	}
	for (size_t i = 0; i < L->n_wh && !r; i++)
		if (tree_find(&img->tree, L->whiteouts[i]) && !tree_find(&dels, L->whiteouts[i]) &&
		    !(r = tree_put(&dels, L->whiteouts[i], 0, 0, 0)))
			r = strv_add(&del, &n_del, L->whiteouts[i]);
	for (size_t k = 0; k < L->n_opq && !r; k++) {
		const char *d = L->opaques[k];
		size_t dl = strlen(d);

		for (size_t i = 0; i < img->tree.cap && !r; i++) {
			const struct node *n = &img->tree.slot[i];
			const struct node *par;
			const char *pp;

			if (!live(n) || (dl && (strncmp(n->path, d, dl) || n->path[dl] != '/')))
				continue;
			if (tree_find(&mine, n->path) || tree_find(&dels, n->path))
				continue;
			pp = parent_of(n->path, buf, sizeof(buf));
			par = tree_find(&mine, pp);
			if (strcmp(pp, d) && !(par && par->type == STT_IMAGE_DIR))
				continue;
			if (!(r = tree_put(&dels, n->path, 0, 0, 0)))
				r = strv_add(&del, &n_del, n->path);
		}
	}
	if (r || !n_del)
		goto out;
	qsort(del, n_del, sizeof(*del), cmp_str);
	/* The deletions go first: make room at the front. */
	for (size_t i = 0; i < n_del; i++) {
		if (!layer_add(L)) {
			r = -ENOMEM;
			goto out;
		}
	}
	memmove(&L->e[n_del], &L->e[0], L->n_tar * sizeof(*L->e));
	for (size_t i = 0; i < n_del; i++) {
		e = &L->e[i];
		memset(e, 0, sizeof(*e));
		e->type = STT_IMAGE_DELETE;
		e->path = del[i];
		del[i] = NULL;
	}
out:
	strv_free(del, n_del);
	tree_release(&mine);
	tree_release(&dels);
	return r == -ENOMEM ? stt_err(r, "%s: out of memory", img->source) : r;
}

int stt_image_open_docker_save(const char *tar_path, struct stt_image **out)
{
	struct stt_image *img = NULL;
	struct member *members = NULL;
	size_t n_members = 0, n_layers = 0;
	struct outer *o = NULL;
	char *manifest = NULL, **layers = NULL, name[PATH_MAX];
	struct archive_entry *ae;
	int r, ar;

	*out = NULL;
	if ((r = scan_save(tar_path, &manifest, &members, &n_members)) ||
	    (r = parse_manifest(tar_path, manifest, &layers, &n_layers)))
		goto out;
	if ((r = image_new(STT_IMAGE_DOCKER_SAVE, tar_path, (unsigned int)n_layers, &img))) {
		r = stt_err(r, "%s: out of memory", tar_path);
		goto out;
	}
	for (size_t i = 0; i < n_layers; i++)
		if ((r = resolve_member(tar_path, layers[i], members, n_members,
					&img->layers[i].member)))
			goto out;

	/* Pass 2: every layer tar, in the order the save tar holds them. */
	o = calloc(1, sizeof(*o));
	if (!o) {
		r = stt_err(-ENOMEM, "%s: out of memory", tar_path);
		goto out;
	}
	o->a = open_outer(tar_path, &r);
	if (!o->a)
		goto out;
	while ((ar = archive_read_next_header(o->a, &ae)) == ARCHIVE_OK) {
		const char *pn = archive_entry_pathname(ae);

		if (!pn || norm_path(pn, name, sizeof(name)))
			continue;
		for (unsigned int i = 0; i < img->n_layers; i++) {
			if (img->layers[i].indexed || strcmp(img->layers[i].member, name))
				continue;
			if ((r = index_layer(img, i, o)))
				goto out;
			break;
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = stt_err(-EIO, "%s: %s", tar_path, archive_error_string(o->a));
		goto out;
	}
	for (unsigned int i = 0; i < img->n_layers; i++) {
		struct layer *L = &img->layers[i];

		for (unsigned int j = 0; j < i && !L->indexed; j++) {
			if (strcmp(img->layers[j].member, L->member))
				continue;
			if (copy_layer(L, &img->layers[j])) {
				r = stt_err(-ENOMEM, "%s: out of memory", tar_path);
				goto out;
			}
		}
		if (!L->indexed) {
			r = stt_err(-EIO, "%s: layer %u (%s): not read", tar_path, i + 1,
				    L->member);
			goto out;
		}
	}

	/* The tree, layer by layer: deletions first, then what the layer writes. */
	for (unsigned int i = 0; i < img->n_layers; i++) {
		struct layer *L = &img->layers[i];

		if ((r = layer_deletes(img, i)))
			goto out;
		for (size_t k = 0; k < L->n; k++)
			if ((r = tree_apply(img, i, &L->e[k])))
				goto out;
		strv_free(L->whiteouts, L->n_wh);
		strv_free(L->opaques, L->n_opq);
		L->whiteouts = L->opaques = NULL;
		L->n_wh = L->n_opq = 0;
	}
	if ((r = image_finish(img)) || (r = stt_image_apply_startup(img, NULL)))
		goto out;
	*out = img;
	img = NULL;
	r = 0;
out:
	if (o) {
		archive_read_free(o->a);
		free(o);
	}
	stt_image_free(img);
	strv_free(layers, n_layers);
	members_free(members, n_members);
	free(manifest);
	return r;
}

/* ---- filling a layer ---- */

static int full_path(const struct stt_layer_writer *w, const char *path, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", w->root, path) >= len)
		return stt_err(-ENAMETOOLONG, "%s/%s: path too long", w->root, path);
	return 0;
}

/*
 * Makes room for @path as Docker's layer application does: what is there goes unless both are
 * directories; a missing parent is made (0755).
 */
static int prepare(const struct stt_layer_writer *w, const char *path, bool dir)
{
	char full[PATH_MAX], *slash;
	struct stat st;
	int r;

	if ((r = full_path(w, path, full, sizeof(full))))
		return r;
	if (!lstat(full, &st)) {
		if (dir && S_ISDIR(st.st_mode))
			return 0;
		if ((r = stt_fs_rm_tree(full)))
			return stt_err(r, "%s: cannot replace: %s", full, strerror(-r));
		return 0;
	}
	if (errno != ENOENT)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	slash = strrchr(full, '/');
	*slash = '\0';
	if (lstat(full, &st)) {
		if (errno != ENOENT)
			return stt_err(-errno, "%s: %s", full, strerror(errno));
		if ((r = stt_fs_mkdir_p(full, 0755)))
			return stt_err(r, "%s: cannot create: %s", full, strerror(-r));
	} else if (!S_ISDIR(st.st_mode)) {
		return stt_err(-ENOTDIR, "%s: not a directory", full);
	}
	return 0;
}

/* Owner (when @own) and mode (not for symlinks), in that order: chown clears setuid. */
static int set_attrs(const struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	char full[PATH_MAX];
	int r;

	if ((r = full_path(w, e->path, full, sizeof(full))))
		return r;
	if (own && lchown(full, e->uid, e->gid))
		return stt_err(-errno, "%s: cannot chown: %s", full, strerror(errno));
	if (e->type != STT_IMAGE_SYMLINK && chmod(full, e->mode & 07777))
		return stt_err(-errno, "%s: cannot chmod: %s", full, strerror(errno));
	return 0;
}

/* Fills @buf with the next @len bytes of a file; 0 or -errno. */
typedef int (*source_fn)(void *arg, char *buf, size_t len);

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

struct tar_source {
	struct archive *a;
	const char *what;
};

static int tar_read(void *arg, char *buf, size_t len)
{
	struct tar_source *t = arg;
	size_t got = 0;

	while (got < len) {
		la_ssize_t n = archive_read_data(t->a, buf + got, len - got);

		if (n < 0)
			return stt_err(-EIO, "%s: %s", t->what, archive_error_string(t->a));
		if (!n)
			return stt_err(-EIO, "%s: truncated", t->what);
		got += (size_t)n;
	}
	return 0;
}

/* @e's bytes from @src: the first chunk through the writer, the rest appended. */
static int write_file(struct stt_layer_writer *w, const struct stt_image_entry *e,
		      source_fn src, void *arg, char *buf)
{
	uint64_t left = e->size_bytes;
	size_t n = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
	char full[PATH_MAX];
	int fd = -1, r;

	if ((r = src(arg, buf, n)) || (r = stt_layer_write(w, e->path, buf, n, e->mode & 0777)))
		return r;
	left -= n;
	if (!left)
		return 0;
	if ((r = full_path(w, e->path, full, sizeof(full))))
		return r;
	fd = open(full, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	while (left && !r) {
		size_t off = 0;

		n = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
		if ((r = src(arg, buf, n)))
			break;
		while (off < n) {
			ssize_t k = write(fd, buf + off, n - off);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = stt_err(-errno, "%s: cannot write: %s", full, strerror(errno));
				break;
			}
			off += (size_t)k;
		}
		left -= n;
	}
	if (close(fd) && !r)
		r = stt_err(-errno, "%s: cannot write: %s", full, strerror(errno));
	return r;
}

static int make_dir(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = prepare(w, e->path, true)) || (r = stt_layer_mkdir(w, e->path, e->mode & 0777)))
		return r;
	return set_attrs(w, e, own);
}

static int make_symlink(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = prepare(w, e->path, false)) || (r = stt_layer_symlink(w, e->target, e->path)))
		return r;
	return set_attrs(w, e, own);
}

static int make_hardlink(struct stt_layer_writer *w, const struct stt_image_entry *e)
{
	char from[PATH_MAX], to[PATH_MAX];
	int r;

	if ((r = prepare(w, e->path, false)) || (r = full_path(w, e->target, from, sizeof(from))) ||
	    (r = full_path(w, e->path, to, sizeof(to))))
		return r;
	if (link(from, to))
		return stt_err(-errno, "%s: cannot link to %s: %s", to, from, strerror(errno));
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
			r = make_dir(w, e, false);
			break;
		case STT_IMAGE_FILE:
			if (!(r = prepare(w, e->path, false)) &&
			    !(r = write_file(w, e, gen_read, &gs, buf)))
				r = set_attrs(w, e, false);
			break;
		case STT_IMAGE_SYMLINK:
			r = make_symlink(w, e, false);
			break;
		case STT_IMAGE_HARDLINK:
			r = make_hardlink(w, e);
			break;
		}
	}
	return r;
}

static int fill_docker(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
		       char *buf)
{
	const struct layer *L = &img->layers[li];
	struct archive *in = NULL;
	struct archive_entry *ae;
	struct outer *o = NULL;
	char path[PATH_MAX], target[PATH_MAX], what[PATH_MAX + 64];
	bool own = geteuid() == 0, found = false;
	size_t done = 0, k = L->n - L->n_tar;
	int r = 0, ar;

	for (size_t i = 0; i < L->n - L->n_tar && !r; i++)
		r = stt_layer_delete(w, L->e[i].path);
	if (r)
		return r;
	o = calloc(1, sizeof(*o));
	if (!o)
		return stt_err(-ENOMEM, "%s: out of memory", img->source);
	o->a = open_outer(img->source, &r);
	if (!o->a)
		goto out;
	while ((ar = archive_read_next_header(o->a, &ae)) == ARCHIVE_OK) {
		const char *pn = archive_entry_pathname(ae);

		if (pn && !norm_path(pn, path, sizeof(path)) && !strcmp(path, L->member)) {
			found = true;
			break;
		}
	}
	if (!found) {
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    ar == ARCHIVE_EOF ? "no longer in the tar"
					      : archive_error_string(o->a));
		goto out;
	}
	in = open_inner(o);
	if (!in) {
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    stt_err_msg());
		goto out;
	}
	while (!r && (ar = archive_read_next_header(in, &ae)) == ARCHIVE_OK) {
		const struct stt_image_entry *e;
		enum stt_image_entry_type type = STT_IMAGE_FILE;
		struct tar_source ts = { in, what };
		enum raw raw;

		if (classify(ae, path, target, sizeof(path), &raw, &type) || raw != RAW_ENTRY)
			continue; /* indexing has said what was wrong, or what was skipped */
		if (k >= L->n || strcmp(L->e[k].path, path) || L->e[k].type != type) {
			r = stt_err(-EIO, "%s: layer %u (%s): %s: changed since it was read",
				    img->source, li + 1, L->member, path);
			break;
		}
		e = &L->e[k++];
		snprintf(what, sizeof(what), "%s: layer %u: %s", img->source, li + 1, e->path);
		switch (e->type) {
		case STT_IMAGE_DIR:
			r = make_dir(w, e, own);
			break;
		case STT_IMAGE_FILE:
			if (!(r = prepare(w, e->path, false)) &&
			    !(r = write_file(w, e, tar_read, &ts, buf)))
				r = set_attrs(w, e, own);
			break;
		case STT_IMAGE_SYMLINK:
			r = make_symlink(w, e, own);
			break;
		case STT_IMAGE_HARDLINK:
			r = make_hardlink(w, e);
			break;
		case STT_IMAGE_DELETE:
			break;
		}
		done++;
	}
	if (!r && ar != ARCHIVE_EOF)
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    archive_error_string(in));
	if (!r && done != L->n_tar)
		r = stt_err(-EIO, "%s: layer %u (%s): %zu entries instead of %zu", img->source,
			    li + 1, L->member, done, L->n_tar);
out:
	archive_read_free(in);
	archive_read_free(o->a);
	free(o);
	return r;
}

int stt_image_fill(struct stt_layer_writer *w, void *arg)
{
	struct stt_image_layer_arg *la = arg;
	struct stt_image *img = la->img;
	char *buf;
	int r;

	if (la->layer >= img->n_layers)
		return stt_err(-EINVAL, "%s: no layer %u", img->source, la->layer + 1);
	buf = malloc(IO_CHUNK);
	if (!buf)
		return stt_err(-ENOMEM, "%s: out of memory", img->source);
	if (img->kind == STT_IMAGE_GENERATED)
		r = fill_generated(w, img, la->layer, buf);
	else
		r = fill_docker(w, img, la->layer, buf);
	free(buf);
	return r;
}

/* ---- accessors ---- */

enum stt_image_kind stt_image_kind(const struct stt_image *img)
{
	return img->kind;
}

const char *stt_image_source(const struct stt_image *img)
{
	return img->source;
}

unsigned int stt_image_layer_count(const struct stt_image *img)
{
	return img->n_layers;
}

struct stt_image_layer_arg *stt_image_layer_arg(struct stt_image *img, unsigned int layer)
{
	return layer < img->n_layers ? &img->args[layer] : NULL;
}

const struct stt_image_stats *stt_image_layer_stats(const struct stt_image *img,
						    unsigned int layer)
{
	return layer < img->n_layers ? &img->layers[layer].st : NULL;
}

size_t stt_image_layer_entries(const struct stt_image *img, unsigned int layer)
{
	return layer < img->n_layers ? img->layers[layer].n : 0;
}

const struct stt_image_entry *stt_image_layer_entry(const struct stt_image *img,
						    unsigned int layer, size_t i)
{
	if (layer >= img->n_layers || i >= img->layers[layer].n)
		return NULL;
	return &img->layers[layer].e[i];
}

const struct stt_image_stats *stt_image_totals(const struct stt_image *img)
{
	return &img->totals;
}

const struct stt_image_startup *stt_image_startup_set(const struct stt_image *img)
{
	return &img->startup;
}

const char *stt_image_digest(const struct stt_image *img)
{
	return img->digest;
}

static struct json_object *stats_json(const struct stt_image_stats *st, bool layer)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "files", json_object_new_uint64(st->files));
	json_object_object_add(o, "size_bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(o, "dirs", json_object_new_uint64(st->dirs));
	json_object_object_add(o, "symlinks", json_object_new_uint64(st->symlinks));
	json_object_object_add(o, "hardlinks", json_object_new_uint64(st->hardlinks));
	if (layer) {
		json_object_object_add(o, "deletes", json_object_new_uint64(st->deletes));
		json_object_object_add(o, "opaque_dirs", json_object_new_uint64(st->opaque_dirs));
		json_object_object_add(o, "skipped", json_object_new_uint64(st->skipped));
	}
	return o;
}

int stt_image_to_json(const struct stt_image *img, struct json_object **out)
{
	const struct stt_image_startup *s = &img->startup;
	struct json_object *o = stats_json(&img->totals, false), *layers, *su;

	*out = NULL;
	layers = json_object_new_array();
	su = json_object_new_object();
	if (!o || !layers || !su) {
		json_object_put(o);
		json_object_put(layers);
		json_object_put(su);
		return stt_err(-ENOMEM, "%s: out of memory", img->source);
	}
	json_object_object_add(o, "kind",
			       json_object_new_string(img->kind == STT_IMAGE_GENERATED
							      ? "generated"
							      : "docker-save"));
	json_object_object_add(o, "source", json_object_new_string(img->source));
	json_object_object_add(o, "digest", json_object_new_string(img->digest));
	for (unsigned int i = 0; i < img->n_layers; i++)
		json_object_array_add(layers, stats_json(&img->layers[i].st, true));
	json_object_object_add(o, "layers", layers);
	json_object_object_add(su, "read_files", json_object_new_uint64(s->n_read));
	json_object_object_add(su, "read_bytes", json_object_new_uint64(s->read_bytes));
	json_object_object_add(su, "stat_files", json_object_new_uint64(s->n_stat));
	json_object_object_add(su, "readdirs", json_object_new_uint64(s->n_readdir));
	json_object_object_add(su, "write_files", json_object_new_uint64(s->write_files));
	json_object_object_add(su, "write_bytes", json_object_new_uint64(s->write_bytes));
	json_object_object_add(su, "rewrite_files", json_object_new_uint64(s->n_rewrite));
	json_object_object_add(su, "rewrite_bytes", json_object_new_uint64(s->rewrite_bytes));
	json_object_object_add(su, "mid_write_path",
			       s->mid_path ? json_object_new_string(s->mid_path) : NULL);
	json_object_object_add(su, "mid_write_file_bytes",
			       json_object_new_uint64(s->mid_file_bytes));
	json_object_object_add(su, "total_bytes", json_object_new_uint64(s->total_bytes));
	json_object_object_add(o, "startup", su);
	*out = o;
	return 0;
}

/* ---- listing a tree ---- */

struct listing {
	char **lines;
	size_t n, cap;
	const char *const *ignore;
};

static bool ignored(const struct listing *L, const char *rel)
{
	for (size_t i = 0; L->ignore && L->ignore[i]; i++)
		if (has_prefix(rel, L->ignore[i]))
			return true;
	return false;
}

static int hash_file(const char *path, uint64_t *h)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	*h = STT_FNV1A64_INIT;
	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = stt_err(-errno, "%s: %s", path, strerror(errno));
		if (n <= 0)
			break;
		*h = stt_fnv1a64(*h, buf, (size_t)n);
	}
	close(fd);
	return r;
}

static int list_add(struct listing *L, const char *full, const char *rel, const struct stat *st)
{
	char extra[PATH_MAX + 8] = "", *line;
	uint64_t h = 0, size = 0;
	char type = '?';
	int r;

	if (S_ISDIR(st->st_mode)) {
		type = 'd';
	} else if (S_ISREG(st->st_mode)) {
		type = 'f';
		size = (uint64_t)st->st_size;
		if ((r = hash_file(full, &h)))
			return r;
	} else if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(full, t, sizeof(t) - 1);

		if (n < 0)
			return stt_err(-errno, "%s: %s", full, strerror(errno));
		t[n] = '\0';
		type = 'l';
		h = stt_fnv1a64(STT_FNV1A64_INIT, t, (size_t)n);
		snprintf(extra, sizeof(extra), " -> %s", t);
	} else {
		type = S_ISCHR(st->st_mode)   ? 'c'
		       : S_ISBLK(st->st_mode) ? 'b'
		       : S_ISFIFO(st->st_mode) ? 'p'
					       : 's';
		size = ((uint64_t)major(st->st_rdev) << 32) | minor(st->st_rdev);
	}
	if (asprintf(&line, "%s %c %04o %u:%u %llu %016llx%s", rel, type,
		     (unsigned int)(st->st_mode & 07777), (unsigned int)st->st_uid,
		     (unsigned int)st->st_gid, (unsigned long long)size, (unsigned long long)h,
		     extra) < 0)
		return -ENOMEM;
	if (L->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 256;
		char **nl = realloc(L->lines, cap * sizeof(*nl));

		if (!nl) {
			free(line);
			return -ENOMEM;
		}
		L->lines = nl;
		L->cap = cap;
	}
	L->lines[L->n++] = line;
	return 0;
}

static int list_dir(struct listing *L, const char *full, const char *rel)
{
	DIR *d = opendir(full);
	struct dirent *de;
	int r = 0;

	if (!d)
		return stt_err(-errno, "%s: %s", full, strerror(errno));
	while (!r && (errno = 0, de = readdir(d))) {
		char f[PATH_MAX], rl[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(f, sizeof(f), "%s/%s", full, de->d_name) >= sizeof(f) ||
		    (size_t)snprintf(rl, sizeof(rl), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
			    sizeof(rl)) {
			r = stt_err(-ENAMETOOLONG, "%s/%s: path too long", full, de->d_name);
			break;
		}
		if (ignored(L, rl))
			continue;
		if (lstat(f, &st)) {
			r = stt_err(-errno, "%s: %s", f, strerror(errno));
			break;
		}
		if ((r = list_add(L, f, rl, &st)))
			break;
		if (S_ISDIR(st.st_mode))
			r = list_dir(L, f, rl);
	}
	if (!r && errno)
		r = stt_err(-errno, "%s: %s", full, strerror(errno));
	closedir(d);
	return r;
}

int stt_image_tree_list(const char *root, const char *const *ignore, char **out)
{
	struct listing L = { .ignore = ignore };
	size_t len = 1;
	char *s, *p;
	int r;

	*out = NULL;
	r = list_dir(&L, root, "");
	if (r == -ENOMEM)
		r = stt_err(r, "%s: out of memory", root);
	if (r)
		goto out;
	if (L.n)
		qsort(L.lines, L.n, sizeof(*L.lines), cmp_str);
	for (size_t i = 0; i < L.n; i++)
		len += strlen(L.lines[i]) + 1;
	s = malloc(len);
	if (!s) {
		r = stt_err(-ENOMEM, "%s: out of memory", root);
		goto out;
	}
	p = s;
	for (size_t i = 0; i < L.n; i++)
		p += sprintf(p, "%s\n", L.lines[i]);
	*p = '\0';
	*out = s;
out:
	strv_free(L.lines, L.n);
	return r;
}
