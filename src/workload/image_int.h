/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_IMAGE_INT_H
#define STT_IMAGE_INT_H

/*
 * Inside the image module, shared by its files and by nothing else (their order is in image.c):
 * image.c, image_startup.c, image_write.c, image_list.c at the bottom; image_gen.c (generation
 * from a profile) and image_tar.c (import of a `docker save` tar; the only includer of
 * libarchive) above them.
 */

#include "workload/image.h"
#include "workload/profile.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define IO_CHUNK (1u << 20)		 /* file data moves in chunks of this */
#define MANIFEST_MAX_BYTES (16u << 20) /* a manifest.json larger than this is not one */
#define MAX_LAYERS 1000		 /* in an imported image */
#define STARTUP_SHARE 0.064		 /* HelloBench: 6.4% of the image read at start */
#define REWRITE_SMALL_BYTES (64u << 10) /* rewrites prefer files up to this */

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xff51afd7ed558ccdull);

	return splitmix64(&s);
}

static inline double rnd01(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * 0x1.0p-53;
}

/* 0 .. n-1; n > 0. The modulo bias is far below what matters here. */
static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

static inline uint64_t log_uniform(uint64_t *s, uint64_t lo, uint64_t hi)
{
	double a = log((double)(lo ? lo : 1)), b = log((double)hi);

	if (hi <= lo)
		return lo;
	return (uint64_t)exp(a + rnd01(s) * (b - a));
}

/* @path is @dir or lies below it. */
static inline bool stt_img_has_prefix(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

static inline uint64_t hash_str(uint64_t h, const char *s)
{
	return stt_fnv1a64(h, s, strlen(s) + 1);
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

struct stt_image;

/*
 * Writes layer @li of @img through @w (@buf: IO_CHUNK bytes). Each kind of image brings its own:
 * the generator and the importer sit above this module and hand it theirs at creation, so the
 * tree never calls up into them.
 */
typedef int (*stt_img_fill_fn)(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
			       char *buf);

struct stt_image {
	enum stt_image_kind kind;
	stt_img_fill_fn fill;
	char *source;
	const void *mem; /* docker save read from memory: its bytes (the caller's), else NULL */
	size_t mem_len;
	uint64_t seed;
	unsigned int n_layers;
	struct layer *layers;
	struct stt_image_layer_arg *args;
	struct tree tree;
	struct stt_image_stats totals;
	struct stt_image_startup startup;
	char digest[STT_PROFILE_HASH_LEN];
};

typedef int (*source_fn)(void *arg, char *buf, size_t len);

char *stt_img_join(const char *dir, const char *name);
int stt_img_image_new(enum stt_image_kind kind, stt_img_fill_fn fill, const char *source,
		      unsigned int n_layers, struct stt_image **out);
int stt_img_image_finish(struct stt_image *img);
struct stt_image_entry *stt_img_layer_add(struct layer *l);
int stt_img_strv_add(char ***v, size_t *n, const char *s);
void stt_img_strv_free(char **v, size_t n);
void stt_img_count(struct stt_image_stats *st, const struct stt_image_entry *e);
bool stt_img_live(const struct node *n);
int stt_img_tree_apply(struct stt_image *img, unsigned int layer, const struct stt_image_entry *e);
struct node *stt_img_tree_find(const struct tree *t, const char *path);
int stt_img_tree_put(struct tree *t, const char *path, uint8_t type, uint32_t mode,
		    uint64_t size_bytes);
void stt_img_tree_release(struct tree *t);
/* The live nodes of @type (-1: all), sorted by path; *@out is freed by the caller. */
int stt_img_tree_sorted(const struct tree *t, int type, struct node ***out, size_t *n);
void stt_img_startup_release(struct stt_image_startup *s);
int stt_img_cmp_str(const void *a, const void *b);
int stt_img_prepare(const struct stt_layer_writer *w, const char *path, bool dir);
int stt_img_set_attrs(const struct stt_layer_writer *w, const struct stt_image_entry *e, bool own);
int stt_img_write_file(struct stt_layer_writer *w, const struct stt_image_entry *e,
		      source_fn src, void *arg, char *buf);
int stt_img_make_dir(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own);
int stt_img_make_symlink(struct stt_layer_writer *w, const struct stt_image_entry *e, bool own);
int stt_img_make_hardlink(struct stt_layer_writer *w, const struct stt_image_entry *e);

#endif
