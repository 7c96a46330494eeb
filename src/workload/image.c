// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The image itself, the bottom of the image module: per layer, a list of entries in the order
 * they are applied (deletions first, then directories, files and links), and the tree they yield,
 * kept as a hash table of paths; its accessors and its JSON.
 *
 * The module's files, bottom to top (each calls only the ones before it):
 *   image.c          the image and its tree
 *   image_startup.c  the startup working set, chosen from the tree
 *   image_write.c    writing entries into a layer through a backend's layer writer
 *   image_list.c     listing a real directory tree, to check a mount against the image
 *   image_gen.c      generation from a profile        } each hands the image its own fill
 *   image_tar.c      import of a `docker save` tar    } function (stt_img_fill_fn)
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
int stt_img_tree_sorted(const struct tree *t, int type, struct node ***out, size_t *n)
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

void stt_img_startup_release(struct stt_image_startup *s)
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
	stt_img_startup_release(&img->startup);
	free(img->source);
	free(img);
}

int stt_img_image_new(enum stt_image_kind kind, stt_img_fill_fn fill, const char *source,
		      unsigned int n_layers, struct stt_image **out)
{
	struct stt_image *img = calloc(1, sizeof(*img));

	*out = NULL;
	if (!img)
		return -ENOMEM;
	img->kind = kind;
	img->fill = fill;
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
	r = img->fill(w, img, la->layer, buf);
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

/* The target of the symlink at @path as the topmost layer that wrote it has it. */
static const char *symlink_target(const struct stt_image *img, const char *path)
{
	for (unsigned int li = img->n_layers; li-- > 0;)
		for (size_t i = img->layers[li].n; i-- > 0;) {
			const struct stt_image_entry *e = &img->layers[li].e[i];

			if (e->type == STT_IMAGE_SYMLINK && !strcmp(e->path, path))
				return e->target;
		}
	return NULL;
}

int stt_image_resolve(const struct stt_image *img, const char *path, char *out, size_t len,
		      uint64_t *size_bytes)
{
	char cur[4096] = "", rest[4096];
	unsigned int hops = 0;

	snprintf(rest, sizeof(rest), "%s", path);
	for (;;) {
		char *p = rest, comp[256], next[4096];
		size_t n;
		const struct node *nd;
		const char *tgt;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if (n >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		memmove(rest, p + n, strlen(p + n) + 1);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(cur, '/');

			if (slash)
				*slash = '\0';
			else
				cur[0] = '\0';
			continue;
		}
		snprintf(next, sizeof(next), "%s%s%s", cur, *cur ? "/" : "", comp);
		nd = stt_img_tree_find(&img->tree, next);
		if (!nd)
			return -ENOENT;
		if (nd->type != STT_IMAGE_SYMLINK) {
			if (nd->type != STT_IMAGE_DIR && rest[0]) {
				char *q = rest;

				while (*q == '/')
					q++;
				if (*q)
					return -ENOTDIR;
			}
			snprintf(cur, sizeof(cur), "%s", next);
			continue;
		}
		if (++hops > 40 || !(tgt = symlink_target(img, next)))
			return -ELOOP;
		/* The target replaces the component: from the root when absolute. */
		snprintf(next, sizeof(next), "%s%s", tgt, rest);
		snprintf(rest, sizeof(rest), "%s", next);
		if (tgt[0] == '/')
			cur[0] = '\0';
	}
	if (!*cur)
		return -EISDIR;
	{
		const struct node *nd = stt_img_tree_find(&img->tree, cur);

		if (!nd)
			return -ENOENT;
		if (out)
			snprintf(out, len, "%s", cur);
		if (size_bytes)
			*size_bytes = nd->size_bytes;
		return nd->type;
	}
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
