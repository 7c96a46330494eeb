// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An image written as a `docker save` tar (for the real engine's POST /images/load): each layer
 * filled into a directory and written as a layer tar, the image configuration naming their
 * digests, and the manifest. Digests with OpenSSL's SHA-256 (the only includer of
 * <openssl/evp.h>); tars through sys/tarfile.
 */
#include "workload/image_int.h"

#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/tarfile.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int stt_image_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Adds a member of @size bytes read from @from (NULL: @data). */
static int add_member(struct stt_tar_writer *a, const char *name, enum stt_tar_type type,
		      unsigned int mode, const struct stt_image_entry *e, const char *from,
		      const void *data, uint64_t size, char *buf)
{
	struct stt_tar_entry te = {
	    .path = name,
	    .type = type,
	    .perm = mode,
	    .uid = e ? e->uid : 0,
	    .gid = e ? e->gid : 0,
	    .symlink = e && e->type == STT_IMAGE_SYMLINK ? e->target : NULL,
	    .hardlink = e && e->type == STT_IMAGE_HARDLINK ? e->target : NULL,
	};
	int r = 0, fd = -1;

	if (te.hardlink)
		size = 0;
	te.size = (int64_t)size;
	if (from && size) {
		fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return stt_err(-errno, "%s: %s", from, strerror(errno));
	}
	if ((r = stt_tar_add(a, &te, EXPORT_MTIME)))
		goto out;
	if (data && size && (r = stt_tar_write(a, data, (size_t)size)))
		goto out;
	while (fd >= 0 && size) {
		ssize_t n = read(fd, buf, size < IO_CHUNK ? (size_t)size : IO_CHUNK);

		if (n <= 0) {
			r = stt_err(n < 0 ? -errno : -EIO, "%s: short read", from);
			goto out;
		}
		if ((r = stt_tar_write(a, buf, (size_t)n)))
			goto out;
		size -= (uint64_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Layer @li as a layer tar at @out, its bytes taken from the layer filled into @filled. */
static int export_layer(struct stt_image *img, unsigned int li, const char *filled, const char *out,
			char *buf)
{
	const struct layer *L = &img->layers[li];
	char name[PATH_MAX], from[PATH_MAX];
	struct stt_tar_writer *a;
	int r;

	if ((r = stt_tar_create(out, &a)))
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
			r = add_member(a, name, STT_TAR_FILE, 0644, NULL, NULL, NULL, 0, buf);
			break;
		case STT_IMAGE_DIR:
			snprintf(name, sizeof(name), "%s/", e->path);
			r = add_member(a, name, STT_TAR_DIR, e->mode & 07777, e, NULL, NULL, 0,
				       buf);
			break;
		case STT_IMAGE_FILE:
			snprintf(from, sizeof(from), "%s/%s", filled, e->path);
			r = add_member(a, e->path, STT_TAR_FILE, e->mode & 07777, e, from, NULL,
				       e->size_bytes, buf);
			break;
		case STT_IMAGE_SYMLINK:
			r = add_member(a, e->path, STT_TAR_SYMLINK, 0777, e, NULL, NULL, 0, buf);
			break;
		case STT_IMAGE_HARDLINK:
			r = add_member(a, e->path, STT_TAR_FILE, e->mode & 07777, e, NULL, NULL, 0,
				       buf);
			break;
		}
	}
	if (r) {
		stt_tar_abandon(a);
		return r;
	}
	return stt_tar_finish(a);
}

static int add_file_member(struct stt_tar_writer *a, const char *name, const char *from, char *buf)
{
	struct stat st;

	if (stat(from, &st))
		return stt_err(-errno, "%s: %s", from, strerror(errno));
	return add_member(a, name, STT_TAR_FILE, 0644, NULL, from, NULL, (uint64_t)st.st_size, buf);
}

int stt_image_write_docker_save(struct stt_image *img, const char *path, const char *tag,
				const char *tmpdir)
{
	struct json_object *cfg = NULL, *man = NULL, *m, *rootfs, *ids, *layers, *tags, *c, *env;
	char(*digest)[65] = NULL, cfg_hex[65], name[PATH_MAX], lt[PATH_MAX];
	const char *text;
	struct stt_tar_writer *a = NULL;
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
		struct stt_layer_writer w = {0};

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
	if ((r = stt_image_sha256_hex(text, strlen(text), cfg_hex)))
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

	if ((r = stt_tar_create(path, &a)))
		goto out;
	for (unsigned int li = 0; li < img->n_layers && !r; li++) {
		snprintf(name, sizeof(name), "%s/", digest[li]);
		r = add_member(a, name, STT_TAR_DIR, 0755, NULL, NULL, NULL, 0, buf);
		snprintf(name, sizeof(name), "%s/layer.tar", digest[li]);
		snprintf(lt, sizeof(lt), "%s/layer-%u.tar", tmpdir, li);
		if (!r)
			r = add_file_member(a, name, lt, buf);
		if (!r && unlink(lt))
			r = stt_err(-errno, "%s: %s", lt, strerror(errno));
	}
	if (!r) {
		snprintf(name, sizeof(name), "%s.json", cfg_hex);
		r = add_member(a, name, STT_TAR_FILE, 0644, NULL, NULL, text, strlen(text), buf);
	}
	if (!r) {
		const char *mt = json_object_to_json_string_ext(
		    man, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		r = add_member(a, "manifest.json", STT_TAR_FILE, 0644, NULL, NULL, mt, strlen(mt),
			       buf);
	}
	if (r)
		stt_tar_abandon(a);
	else
		r = stt_tar_finish(a);
out:
	json_object_put(cfg);
	json_object_put(man);
	free(buf);
	free(digest);
	return r;
}
