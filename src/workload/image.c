// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images: generated from a profile, or imported from a `docker save` tar. Generation is in
 * image_gen.c, the docker save import in image_tar.c (image_int.h joins them).
 *
 * Both kinds become the same thing: per layer, a list of entries in the order they are applied
 * (deletions first, then directories, files and links), and the tree they yield, kept as a
 * hash table of paths. The startup working set is chosen from that tree.
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

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return stt_fnv1a64(h, b, sizeof(b));
}

char *stt_img_join(const char *dir, const char *name)
{
	char *s;

	if (!*dir)
		return strdup(name);
	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return s;
}


static char tomb_mark;
#define TOMB (&tomb_mark)

bool stt_img_live(const struct node *n)
{
	return n->path && n->path != TOMB;
}

struct node *stt_img_tree_find(const struct tree *t, const char *path)
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

		if (!stt_img_live(&t->slot[i]))
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
int stt_img_tree_put(struct tree *t, const char *path, uint8_t type, uint32_t mode,
		    uint64_t size_bytes)
{
	struct node *n = stt_img_tree_find(t, path);
	char *copy;
	size_t m, i;

	if (!n) {
		if ((t->used + 1) * 10 >= t->cap * 7 && tree_grow(t))
			return -ENOMEM;
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		m = t->cap - 1;
		for (i = hash_str(STT_FNV1A64_INIT, path) & m; stt_img_live(&t->slot[i]); i = (i + 1) & m)
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

		if (stt_img_live(n) && (!len || (!strncmp(n->path, dir, len) && n->path[len] == '/')))
			tree_del(t, n);
	}
}

void stt_img_tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (stt_img_live(&t->slot[i]))
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
		if (stt_img_live(&t->slot[i]) && (type < 0 || t->slot[i].type == type))
			v[k++] = &t->slot[i];
	qsort(v, k, sizeof(*v), cmp_node_path);
	*out = v;
	*n = k;
	return 0;
}

static void entry_release(struct stt_image_entry *e)
{
	free(e->path);
	free(e->target);
}

void stt_img_strv_free(char **v, size_t n)
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
	stt_img_strv_free(l->whiteouts, l->n_wh);
	stt_img_strv_free(l->opaques, l->n_opq);
	memset(l, 0, sizeof(*l));
}

/* A zeroed entry at the end of @l, or NULL. */
struct stt_image_entry *stt_img_layer_add(struct layer *l)
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

int stt_img_strv_add(char ***v, size_t *n, const char *s)
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
	stt_img_tree_release(&img->tree);
	startup_release(&img->startup);
	free(img->source);
	free(img);
}

int stt_img_image_new(enum stt_image_kind kind, const char *source, unsigned int n_layers,
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
int stt_img_tree_apply(struct stt_image *img, unsigned int layer, const struct stt_image_entry *e)
{
	struct tree *t = &img->tree;
	struct node *n;
	char *p, *slash;
	int r = 0;

	if (e->type == STT_IMAGE_DELETE) {
		n = stt_img_tree_find(t, e->path);
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
		n = stt_img_tree_find(t, p);
		if (!n)
			r = stt_img_tree_put(t, p, STT_IMAGE_DIR, 0755, 0);
		else if (n->type != STT_IMAGE_DIR)
			r = stt_err(-EINVAL, "%s: layer %u: %s: below %s, which is not a directory",
				    img->source, layer + 1, e->path, p);
		*slash = '/';
		if (r)
			goto out;
	}
	n = stt_img_tree_find(t, e->path);
	if (n && n->type == STT_IMAGE_DIR && e->type != STT_IMAGE_DIR)
		tree_del_below(t, e->path);
	switch (e->type) {
	case STT_IMAGE_DIR:
		r = stt_img_tree_put(t, e->path, STT_IMAGE_DIR, e->mode, 0);
		break;
	case STT_IMAGE_FILE:
		r = stt_img_tree_put(t, e->path, STT_IMAGE_FILE, e->mode, e->size_bytes);
		break;
	case STT_IMAGE_SYMLINK:
		r = stt_img_tree_put(t, e->path, STT_IMAGE_SYMLINK, 0777, 0);
		break;
	case STT_IMAGE_HARDLINK:
		n = stt_img_tree_find(t, e->target);
		if (!n || n->type != STT_IMAGE_FILE) {
			r = stt_err(-EINVAL, "%s: layer %u: %s: hard link to %s, not a file",
				    img->source, layer + 1, e->path, e->target);
			break;
		}
		r = stt_img_tree_put(t, e->path, STT_IMAGE_FILE, n->mode, n->size_bytes);
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

void stt_img_count(struct stt_image_stats *st, const struct stt_image_entry *e)
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
int stt_img_image_finish(struct stt_image *img)
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

			stt_img_count(&L->st, e);
			if (img->kind == STT_IMAGE_GENERATED && (r = stt_img_tree_apply(img, l, e)))
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

		if (!stt_img_live(n))
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

int stt_img_cmp_str(const void *a, const void *b)
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
		hit = *d ? bsearch(&d, dir_sorted, n_dirs, sizeof(*dir_sorted), stt_img_cmp_str) : NULL;
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
int stt_img_prepare(const struct stt_layer_writer *w, const char *path, bool dir)
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
int stt_img_set_attrs(const struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
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
int stt_img_write_file(struct stt_layer_writer *w, const struct stt_image_entry *e,
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

int stt_img_make_dir(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = stt_img_prepare(w, e->path, true)) || (r = stt_layer_mkdir(w, e->path, e->mode & 0777)))
		return r;
	return stt_img_set_attrs(w, e, own);
}

int stt_img_make_symlink(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own)
{
	int r;

	if ((r = stt_img_prepare(w, e->path, false)) || (r = stt_layer_symlink(w, e->target, e->path)))
		return r;
	return stt_img_set_attrs(w, e, own);
}

int stt_img_make_hardlink(struct stt_layer_writer *w, const struct stt_image_entry *e)
{
	char from[PATH_MAX], to[PATH_MAX];
	int r;

	if ((r = stt_img_prepare(w, e->path, false)) ||
	    (r = full_path(w, e->target, from, sizeof(from))) ||
	    (r = full_path(w, e->path, to, sizeof(to))))
		return r;
	if (link(from, to))
		return stt_err(-errno, "%s: cannot link to %s: %s", to, from, strerror(errno));
	return 0;
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
		r = stt_img_fill_generated(w, img, la->layer, buf);
	else
		r = stt_img_fill_docker(w, img, la->layer, buf);
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
		qsort(L.lines, L.n, sizeof(*L.lines), stt_img_cmp_str);
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
	stt_img_strv_free(L.lines, L.n);
	return r;
}

