// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The startup working set of an image: which files a container start reads, stats, lists and
 * writes, chosen from the image's final tree by the profile's [startup] section.
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "workload/profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the startup working set ---- */

struct cand {
	const char *path;
	uint64_t size_bytes;
	uint64_t key; /* preference, then a hash of the path */
	size_t rank;  /* position in preference order */
	bool used;
};

/* 0: executables and libraries, 1: configuration, 2: the rest. */
static unsigned int preference(const char *path)
{
	static const char *const code[] = {
		"bin",	   "sbin",	"lib",	       "lib64",		"usr/bin",	 "usr/sbin",
		"usr/lib", "usr/lib64", "usr/libexec", "usr/local/bin", "usr/local/lib",
	};

	for (size_t i = 0; i < sizeof(code) / sizeof(code[0]); i++)
		if (stt_img_has_prefix(path, code[i]))
			return 0;
	return stt_img_has_prefix(path, "etc") ? 1 : 2;
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

	stt_img_startup_release(s);
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
	if ((r = stt_img_tree_sorted(&img->tree, STT_IMAGE_FILE, &files, &n_files)) ||
	    (r = stt_img_tree_sorted(&img->tree, STT_IMAGE_DIR, &dirs, &n_dirs)))
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
		stt_img_startup_release(s);
		if (r == -ENOMEM)
			r = stt_err(r, "%s: out of memory", img->source);
	}
	return r;
}
