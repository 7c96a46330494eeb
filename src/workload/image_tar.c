// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images imported from a `docker save` tar (Docker 20.10's <id>/layer.tar or the OCI layout),
 * read through sys/tarfile. The way back, an image written as one, is image_export.c.
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "base/fmt.h"
#include "sys/fsutil.h"
#include "sys/tarfile.h"
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
static int classify(const struct stt_tar_entry *te, char *path, char *target, size_t len,
		    enum raw *raw, enum stt_image_entry_type *type)
{
	const char *name = te->path, *base, *link;
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
	link = te->hardlink;
	if (link) {
		*type = STT_IMAGE_HARDLINK;
		if ((r = norm_path(link, target, len)))
			return r;
		return *target ? 0 : -EINVAL;
	}
	switch (te->type) {
	case STT_TAR_DIR:
		*type = STT_IMAGE_DIR;
		return 0;
	case STT_TAR_FILE:
		*type = STT_IMAGE_FILE;
		return 0;
	case STT_TAR_SYMLINK:
		*type = STT_IMAGE_SYMLINK;
		link = te->symlink;
		if (!link || strlen(link) >= len)
			return -EINVAL;
		strcpy(target, link);
		return 0;
	default:
		*raw = RAW_SPECIAL;
		return 0;
	}
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
static int scan_save(const char *tar, const void *mem, size_t len, char **manifest,
		     struct member **members, size_t *n_members)
{
	struct stt_tar_entry te;
	struct member *m = NULL;
	struct stt_tar *a;
	size_t n = 0;
	char name[PATH_MAX];
	int r, ar;

	*manifest = NULL;
	if ((r = stt_tar_open(tar, mem, len, &a)))
		return r;
	while ((ar = stt_tar_next(a, &te)) == 1) {
		struct member *nm;
		const char *pn = te.path;

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
		m[n].regular = te.type == STT_TAR_FILE && !te.hardlink;
		if (te.type == STT_TAR_SYMLINK && te.symlink) {
			m[n].link = strdup(te.symlink);
			if (!m[n].link)
				goto nomem;
		}
		n++;
		if (!strcmp(name, "manifest.json") && m[n - 1].regular && !*manifest) {
			int64_t size = te.size;
			ssize_t got = 0, k;

			if (size < 0 || size > MANIFEST_MAX_BYTES) {
				r = stt_err(-EINVAL, "%s: manifest.json: too large", tar);
				goto out;
			}
			*manifest = malloc((size_t)size + 1);
			if (!*manifest)
				goto nomem;
			while (got < size) {
				k = stt_tar_read(a, *manifest + got, (size_t)(size - got));
				if (k <= 0)
					break;
				got += k;
			}
			if (got != size) {
				r = stt_err(-EIO, "%s: manifest.json: %s", tar,
					    k < 0 ? stt_tar_error(a) : "truncated");
				goto out;
			}
			(*manifest)[size] = '\0';
		}
	}
	if (ar < 0) {
		r = stt_err(ar, "%s: %s", tar, stt_tar_error(a));
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
	stt_tar_close(a);
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
		if (stt_img_strv_add(layers, n, json_object_get_string(s))) {
			r = stt_err(-ENOMEM, "%s: out of memory", tar);
			goto out;
		}
	}
	r = 0;
out:
	if (r) {
		stt_img_strv_free(*layers, *n);
		*layers = NULL;
		*n = 0;
	}
	json_object_put(root);
	return r;
}

/* Reads one layer tar's entries into @L: entries, whiteouts, opaque dirs, skipped count. */
static int index_layer(struct stt_image *img, unsigned int li, struct stt_tar *o)
{
	struct layer *L = &img->layers[li];
	struct stt_tar_entry te;
	struct stt_tar *a;
	char path[PATH_MAX], target[PATH_MAX];
	int r, ar = 0;

	if ((r = stt_tar_open_member(o, &a)))
		return stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			       stt_err_msg());
	while (!r && (ar = stt_tar_next(a, &te)) == 1) {
		enum stt_image_entry_type type = STT_IMAGE_FILE;
		struct stt_image_entry *e;
		enum raw raw;

		r = classify(&te, path, target, sizeof(path), &raw, &type);
		if (r) {
			r = stt_err(-EINVAL, "%s: layer %u: %s: not a path inside the image",
				    img->source, li + 1, te.path ? te.path : "(no name)");
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
			r = stt_img_strv_add(&L->whiteouts, &L->n_wh, path);
			break;
		case RAW_OPAQUE:
			L->st.opaque_dirs++;
			r = stt_img_strv_add(&L->opaques, &L->n_opq, path);
			break;
		case RAW_ENTRY:
			e = stt_img_layer_add(L);
			if (!e) {
				r = -ENOMEM;
				break;
			}
			e->type = type;
			e->path = strdup(path);
			e->mode = te.perm;
			e->uid = te.uid;
			e->gid = te.gid;
			if (type == STT_IMAGE_FILE)
				e->size_bytes = (uint64_t)te.size;
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
	else if (!r && ar < 0)
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    stt_tar_error(a));
	L->n_tar = L->n;
	L->indexed = !r;
	stt_tar_close(a);
	return r;
}

static int copy_layer(struct layer *to, const struct layer *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct stt_image_entry *e = stt_img_layer_add(to);

		if (!e)
			return -ENOMEM;
		*e = from->e[i];
		e->path = strdup(from->e[i].path);
		e->target = from->e[i].target ? strdup(from->e[i].target) : NULL;
		if (!e->path || (from->e[i].target && !e->target))
			return -ENOMEM;
	}
	for (size_t i = 0; i < from->n_wh; i++)
		if (stt_img_strv_add(&to->whiteouts, &to->n_wh, from->whiteouts[i]))
			return -ENOMEM;
	for (size_t i = 0; i < from->n_opq; i++)
		if (stt_img_strv_add(&to->opaques, &to->n_opq, from->opaques[i]))
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
		r = stt_img_tree_put(&mine, p,
			     L->e[i].type == STT_IMAGE_DIR ? STT_IMAGE_DIR : STT_IMAGE_FILE, 0, 0);
		for (slash = strchr(p, '/'); slash && !r; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (!stt_img_tree_find(&mine, p))
				r = stt_img_tree_put(&mine, p, STT_IMAGE_DIR, 0, 0);
			*slash = '/';
		}
		free(p);
	}
	for (size_t i = 0; i < L->n_wh && !r; i++)
		if (stt_img_tree_find(&img->tree, L->whiteouts[i]) &&
		    !stt_img_tree_find(&dels, L->whiteouts[i]) &&
		    !(r = stt_img_tree_put(&dels, L->whiteouts[i], 0, 0, 0)))
			r = stt_img_strv_add(&del, &n_del, L->whiteouts[i]);
	for (size_t k = 0; k < L->n_opq && !r; k++) {
		const char *d = L->opaques[k];
		size_t dl = strlen(d);

		for (size_t i = 0; i < img->tree.cap && !r; i++) {
			const struct node *n = &img->tree.slot[i];
			const struct node *par;
			const char *pp;

			if (!stt_img_live(n) || (dl && (strncmp(n->path, d, dl) || n->path[dl] != '/')))
				continue;
			if (stt_img_tree_find(&mine, n->path) || stt_img_tree_find(&dels, n->path))
				continue;
			pp = parent_of(n->path, buf, sizeof(buf));
			par = stt_img_tree_find(&mine, pp);
			if (strcmp(pp, d) && !(par && par->type == STT_IMAGE_DIR))
				continue;
			if (!(r = stt_img_tree_put(&dels, n->path, 0, 0, 0)))
				r = stt_img_strv_add(&del, &n_del, n->path);
		}
	}
	if (r || !n_del)
		goto out;
	qsort(del, n_del, sizeof(*del), stt_img_cmp_str);
	/* The deletions go first: make room at the front. */
	for (size_t i = 0; i < n_del; i++) {
		if (!stt_img_layer_add(L)) {
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
	stt_img_strv_free(del, n_del);
	stt_img_tree_release(&mine);
	stt_img_tree_release(&dels);
	return r == -ENOMEM ? stt_err(r, "%s: out of memory", img->source) : r;
}

static int fill_docker(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
		       char *buf);

static int open_save(const char *tar_path, const void *mem, size_t len, struct stt_image **out)
{
	struct stt_image *img = NULL;
	struct member *members = NULL;
	size_t n_members = 0, n_layers = 0;
	struct stt_tar *o = NULL;
	char *manifest = NULL, **layers = NULL, name[PATH_MAX];
	struct stt_tar_entry te;
	int r, ar;

	*out = NULL;
	if ((r = scan_save(tar_path, mem, len, &manifest, &members, &n_members)) ||
	    (r = parse_manifest(tar_path, manifest, &layers, &n_layers)))
		goto out;
	if ((r = stt_img_image_new(STT_IMAGE_DOCKER_SAVE, fill_docker, tar_path, (unsigned int)n_layers, &img))) {
		r = stt_err(r, "%s: out of memory", tar_path);
		goto out;
	}
	img->mem = mem;
	img->mem_len = len;
	for (size_t i = 0; i < n_layers; i++)
		if ((r = resolve_member(tar_path, layers[i], members, n_members,
					&img->layers[i].member)))
			goto out;

	/* Pass 2: every layer tar, in the order the save tar holds them. */
	if ((r = stt_tar_open(tar_path, mem, len, &o)))
		goto out;
	while ((ar = stt_tar_next(o, &te)) == 1) {
		const char *pn = te.path;

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
	if (ar < 0) {
		r = stt_err(-EIO, "%s: %s", tar_path, stt_tar_error(o));
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
			if ((r = stt_img_tree_apply(img, i, &L->e[k])))
				goto out;
		stt_img_strv_free(L->whiteouts, L->n_wh);
		stt_img_strv_free(L->opaques, L->n_opq);
		L->whiteouts = L->opaques = NULL;
		L->n_wh = L->n_opq = 0;
	}
	if ((r = stt_img_image_finish(img)) || (r = stt_image_apply_startup(img, NULL)))
		goto out;
	*out = img;
	img = NULL;
	r = 0;
out:
	stt_tar_close(o);
	stt_image_free(img);
	stt_img_strv_free(layers, n_layers);
	members_free(members, n_members);
	free(manifest);
	return r;
}

int stt_image_open_docker_save(const char *tar_path, struct stt_image **out)
{
	return open_save(tar_path, NULL, 0, out);
}

int stt_image_open_docker_save_mem(const void *buf, size_t len, const char *name,
				   struct stt_image **out)
{
	if (!buf)
		return stt_err(-EINVAL, "%s: no data", name);
	return open_save(name, buf, len, out);
}

struct tar_source {
	struct stt_tar *a;
	const char *what;
};

static int tar_read(void *arg, char *buf, size_t len)
{
	struct tar_source *t = arg;
	size_t got = 0;

	while (got < len) {
		ssize_t n = stt_tar_read(t->a, buf + got, len - got);

		if (n < 0)
			return stt_err(-EIO, "%s: %s", t->what, stt_tar_error(t->a));
		if (!n)
			return stt_err(-EIO, "%s: truncated", t->what);
		got += (size_t)n;
	}
	return 0;
}

/* @e's bytes from @src: the first chunk through the writer, the rest appended. */

static int fill_docker(struct stt_layer_writer *w, struct stt_image *img, unsigned int li,
		       char *buf)
{
	const struct layer *L = &img->layers[li];
	struct stt_tar *in = NULL, *o = NULL;
	struct stt_tar_entry te;
	char path[PATH_MAX], target[PATH_MAX], what[PATH_MAX + 64];
	bool own = geteuid() == 0, found = false;
	size_t done = 0, k = L->n - L->n_tar;
	int r = 0, ar;

	for (size_t i = 0; i < L->n - L->n_tar && !r; i++)
		r = stt_layer_delete(w, L->e[i].path);
	if (r)
		return r;
	if ((r = stt_tar_open(img->source, img->mem, img->mem_len, &o)))
		return r;
	while ((ar = stt_tar_next(o, &te)) == 1) {
		const char *pn = te.path;

		if (pn && !norm_path(pn, path, sizeof(path)) && !strcmp(path, L->member)) {
			found = true;
			break;
		}
	}
	if (!found) {
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    !ar ? "no longer in the tar" : stt_tar_error(o));
		goto out;
	}
	if ((r = stt_tar_open_member(o, &in))) {
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    stt_err_msg());
		goto out;
	}
	while (!r && (ar = stt_tar_next(in, &te)) == 1) {
		const struct stt_image_entry *e;
		enum stt_image_entry_type type = STT_IMAGE_FILE;
		struct tar_source ts = { in, what };
		enum raw raw;

		if (classify(&te, path, target, sizeof(path), &raw, &type) || raw != RAW_ENTRY)
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
			r = stt_img_make_dir(w, e, own);
			break;
		case STT_IMAGE_FILE:
			if (!(r = stt_img_prepare(w, e->path, false)) &&
			    !(r = stt_img_write_file(w, e, tar_read, &ts, buf)))
				r = stt_img_set_attrs(w, e, own);
			break;
		case STT_IMAGE_SYMLINK:
			r = stt_img_make_symlink(w, e, own);
			break;
		case STT_IMAGE_HARDLINK:
			r = stt_img_make_hardlink(w, e);
			break;
		case STT_IMAGE_DELETE:
			break;
		}
		done++;
	}
	if (!r && ar < 0)
		r = stt_err(-EIO, "%s: layer %u (%s): %s", img->source, li + 1, L->member,
			    stt_tar_error(in));
	if (!r && done != L->n_tar)
		r = stt_err(-EIO, "%s: layer %u (%s): %zu entries instead of %zu", img->source,
			    li + 1, L->member, done, L->n_tar);
out:
	stt_tar_close(in);
	stt_tar_close(o);
	return r;
}
