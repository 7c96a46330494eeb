// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images imported from a `docker save` tar (Docker 20.10's <id>/layer.tar or the OCI layout).
 * The only file of the project that includes libarchive. And the way back: an image written as
 * a `docker save` tar (for the real engine's POST /images/load), its digests with OpenSSL's
 * SHA-256 (this file is also the only includer of <openssl/evp.h>).
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "base/fmt.h"
#include "sys/fsutil.h"
#include "workload/profile.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

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

/*
 * The save tar, for reading: the file @path, or @len bytes at @mem when @mem is not NULL (then
 * @path only names it). NULL with a message and *@r set.
 */
static struct archive *open_outer(const char *path, const void *mem, size_t len, int *r)
{
	struct archive *a;
	struct stat st;
	int ar;

	if (!mem && stat(path, &st)) {
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
	if (mem)
		ar = archive_read_open_memory(a, mem, len);
	else
		ar = archive_read_open_filename(a, path, 1 << 16);
	if (ar != ARCHIVE_OK) {
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
static int scan_save(const char *tar, const void *mem, size_t len, char **manifest,
		     struct member **members, size_t *n_members)
{
	struct archive_entry *ae;
	struct member *m = NULL;
	struct archive *a;
	size_t n = 0;
	char name[PATH_MAX];
	int r = -EINVAL, ar;

	*manifest = NULL;
	a = open_outer(tar, mem, len, &r);
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
	struct outer *o = NULL;
	char *manifest = NULL, **layers = NULL, name[PATH_MAX];
	struct archive_entry *ae;
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
	o = calloc(1, sizeof(*o));
	if (!o) {
		r = stt_err(-ENOMEM, "%s: out of memory", tar_path);
		goto out;
	}
	o->a = open_outer(tar_path, mem, len, &r);
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
	if (o) {
		archive_read_free(o->a);
		free(o);
	}
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
	o->a = open_outer(img->source, img->mem, img->mem_len, &r);
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


/* ---- docker save export ---- */

#define EXPORT_MTIME 1000000000 /* a fixed time: the same image gives the same tar */

/* "sha256" of @path's bytes as 64 hex digits. */
static int sha256_file(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL;
	int fd, r = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	buf = malloc(IO_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, IO_CHUNK)) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = -EIO;
			goto out;
		}
	if (n < 0) {
		r = stt_err(-errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		r = -EIO;
		goto out;
	}
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(fd);
	return r;
}

static int sha256_buf(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int write_err(struct archive *a, const char *what)
{
	return stt_err(-EIO, "%s: %s", what, archive_error_string(a));
}

/* Adds a member of @size bytes read from @from (NULL: @data). */
static int add_member(struct archive *a, const char *name, mode_t type, unsigned int mode,
		      const struct stt_image_entry *e, const char *from, const void *data,
		      uint64_t size, char *buf)
{
	struct archive_entry *ae = archive_entry_new();
	int r = 0, fd = -1;

	if (!ae)
		return -ENOMEM;
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, mode);
	archive_entry_set_mtime(ae, EXPORT_MTIME, 0);
	archive_entry_set_uid(ae, e ? e->uid : 0);
	archive_entry_set_gid(ae, e ? e->gid : 0);
	if (e && e->type == STT_IMAGE_SYMLINK)
		archive_entry_set_symlink(ae, e->target);
	if (e && e->type == STT_IMAGE_HARDLINK) {
		archive_entry_set_hardlink(ae, e->target);
		size = 0;
	}
	archive_entry_set_size(ae, (la_int64_t)size);
	if (from && size) {
		fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			r = stt_err(-errno, "%s: %s", from, strerror(errno));
			goto out;
		}
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		r = write_err(a, name);
		goto out;
	}
	if (data && size && archive_write_data(a, data, (size_t)size) != (la_ssize_t)size) {
		r = write_err(a, name);
		goto out;
	}
	while (fd >= 0 && size) {
		ssize_t n = read(fd, buf, size < IO_CHUNK ? (size_t)size : IO_CHUNK);

		if (n <= 0) {
			r = stt_err(n < 0 ? -errno : -EIO, "%s: short read", from);
			goto out;
		}
		if (archive_write_data(a, buf, (size_t)n) != n) {
			r = write_err(a, name);
			goto out;
		}
		size -= (uint64_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ae);
	return r;
}

static struct archive *open_writer(const char *path, int *r)
{
	struct archive *a = archive_write_new();

	if (!a) {
		*r = -ENOMEM;
		return NULL;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		*r = write_err(a, path);
		archive_write_free(a);
		return NULL;
	}
	*r = 0;
	return a;
}

static int close_writer(struct archive *a, const char *path)
{
	int r = 0;

	if (archive_write_close(a) != ARCHIVE_OK)
		r = write_err(a, path);
	archive_write_free(a);
	return r;
}

/* Layer @li as a layer tar at @out, its bytes taken from the layer filled into @filled. */
static int export_layer(struct stt_image *img, unsigned int li, const char *filled,
			const char *out, char *buf)
{
	const struct layer *L = &img->layers[li];
	char name[PATH_MAX], from[PATH_MAX];
	struct archive *a;
	int r;

	a = open_writer(out, &r);
	if (!a)
		return r;
	for (size_t i = 0; i < L->n && !r; i++) {
		const struct stt_image_entry *e = &L->e[i];
		const char *slash = strrchr(e->path, '/');

		switch (e->type) {
		case STT_IMAGE_DELETE:
			/* Docker's whiteout: ".wh.NAME" beside what it deletes. */
			snprintf(name, sizeof(name), "%.*s.wh.%s",
				 slash ? (int)(slash - e->path + 1) : 0, e->path,
				 slash ? slash + 1 : e->path);
			r = add_member(a, name, AE_IFREG, 0644, NULL, NULL, NULL, 0, buf);
			break;
		case STT_IMAGE_DIR:
			snprintf(name, sizeof(name), "%s/", e->path);
			r = add_member(a, name, AE_IFDIR, e->mode & 07777, e, NULL, NULL, 0, buf);
			break;
		case STT_IMAGE_FILE:
			snprintf(from, sizeof(from), "%s/%s", filled, e->path);
			r = add_member(a, e->path, AE_IFREG, e->mode & 07777, e, from, NULL,
				       e->size_bytes, buf);
			break;
		case STT_IMAGE_SYMLINK:
			r = add_member(a, e->path, AE_IFLNK, 0777, e, NULL, NULL, 0, buf);
			break;
		case STT_IMAGE_HARDLINK:
			r = add_member(a, e->path, AE_IFREG, e->mode & 07777, e, NULL, NULL, 0, buf);
			break;
		}
	}
	if (r) {
		archive_write_free(a);
		return r;
	}
	return close_writer(a, out);
}

static int add_file_member(struct archive *a, const char *name, const char *from, char *buf)
{
	struct stat st;

	if (stat(from, &st))
		return stt_err(-errno, "%s: %s", from, strerror(errno));
	return add_member(a, name, AE_IFREG, 0644, NULL, from, NULL, (uint64_t)st.st_size, buf);
}

int stt_image_write_docker_save(struct stt_image *img, const char *path, const char *tag,
				const char *tmpdir)
{
	struct json_object *cfg = NULL, *man = NULL, *m, *rootfs, *ids, *layers, *tags, *c, *env;
	char (*digest)[65] = NULL, cfg_hex[65], name[PATH_MAX], lt[PATH_MAX];
	const char *text;
	struct archive *a = NULL;
	char *buf = NULL;
	int r;

	digest = calloc(img->n_layers ? img->n_layers : 1, sizeof(*digest));
	buf = malloc(IO_CHUNK);
	cfg = json_object_new_object();
	if (!digest || !buf || !cfg) {
		r = -ENOMEM;
		goto out;
	}
	/* Each layer: filled into a directory of its own, written as a tar, hashed. */
	for (unsigned int li = 0; li < img->n_layers; li++) {
		struct stt_layer_writer w = { 0 };

		snprintf(name, sizeof(name), "%s/fill-%u", tmpdir, li);
		snprintf(lt, sizeof(lt), "%s/layer-%u.tar", tmpdir, li);
		if ((r = stt_fs_mkdir_p(name, 0755))) {
			r = stt_err(r, "%s: cannot create: %s", name, strerror(-r));
			goto out;
		}
		w.root = name;
		w.whiteout_chardev = false;
		if ((r = stt_image_fill(&w, &img->args[li])) ||
		    (r = export_layer(img, li, name, lt, buf)) || (r = sha256_file(lt, digest[li])))
			goto out;
		if ((r = stt_fs_rm_tree(name))) {
			r = stt_err(r, "%s: cannot remove: %s", name, strerror(-r));
			goto out;
		}
	}
	/* The image configuration: what Docker checks the layers against. */
	json_object_object_add(cfg, "architecture", json_object_new_string("amd64"));
	json_object_object_add(cfg, "os", json_object_new_string("linux"));
	json_object_object_add(cfg, "created", json_object_new_string("2001-09-09T01:46:40Z"));
	c = json_object_new_object();
	env = json_object_new_array();
	json_object_array_add(env, json_object_new_string("PATH=/usr/local/sbin:/usr/local/bin:"
							  "/usr/sbin:/usr/bin:/sbin:/bin"));
	json_object_object_add(c, "Env", env);
	{
		struct json_object *lab = json_object_new_object();

		json_object_object_add(lab, "stortune", json_object_new_string(img->digest));
		json_object_object_add(c, "Labels", lab);
	}
	json_object_object_add(cfg, "config", c);
	rootfs = json_object_new_object();
	ids = json_object_new_array();
	for (unsigned int li = 0; li < img->n_layers; li++) {
		snprintf(name, sizeof(name), "sha256:%s", digest[li]);
		json_object_array_add(ids, json_object_new_string(name));
	}
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(cfg, "rootfs", rootfs);
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((r = sha256_buf(text, strlen(text), cfg_hex)))
		goto out;

	man = json_object_new_array();
	m = json_object_new_object();
	snprintf(name, sizeof(name), "%s.json", cfg_hex);
	json_object_object_add(m, "Config", json_object_new_string(name));
	tags = json_object_new_array();
	json_object_array_add(tags, json_object_new_string(tag));
	json_object_object_add(m, "RepoTags", tags);
	layers = json_object_new_array();
	for (unsigned int li = 0; li < img->n_layers; li++) {
		snprintf(name, sizeof(name), "%s/layer.tar", digest[li]);
		json_object_array_add(layers, json_object_new_string(name));
	}
	json_object_object_add(m, "Layers", layers);
	json_object_array_add(man, m);

	a = open_writer(path, &r);
	if (!a)
		goto out;
	for (unsigned int li = 0; li < img->n_layers && !r; li++) {
		snprintf(name, sizeof(name), "%s/", digest[li]);
		r = add_member(a, name, AE_IFDIR, 0755, NULL, NULL, NULL, 0, buf);
		snprintf(name, sizeof(name), "%s/layer.tar", digest[li]);
		snprintf(lt, sizeof(lt), "%s/layer-%u.tar", tmpdir, li);
		if (!r)
			r = add_file_member(a, name, lt, buf);
		if (!r && unlink(lt))
			r = stt_err(-errno, "%s: %s", lt, strerror(errno));
	}
	if (!r) {
		snprintf(name, sizeof(name), "%s.json", cfg_hex);
		r = add_member(a, name, AE_IFREG, 0644, NULL, NULL, text, strlen(text), buf);
	}
	if (!r) {
		const char *mt = json_object_to_json_string_ext(
			man, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		r = add_member(a, "manifest.json", AE_IFREG, 0644, NULL, NULL, mt, strlen(mt), buf);
	}
	if (r)
		archive_write_free(a);
	else
		r = close_writer(a, path);
out:
	json_object_put(cfg);
	json_object_put(man);
	free(buf);
	free(digest);
	return r;
}
