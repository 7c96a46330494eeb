/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_IMAGE_H
#define STT_IMAGE_H

/*
 * Container images, as layers to be written through a backend's layer writer:
 *
 * - generated from a profile's [image] section: a plan of directories, files (path, size, mode,
 *   and bytes derived from the seed and the path), symlinks, and in upper layers overwrites and
 *   deletions of what lower layers hold. The same profile and seed give the same plan and the
 *   same bytes.
 * - imported from a `docker save` tar (Docker 20.10's <id>/layer.tar or the OCI layout's
 *   blobs/sha256/..., as manifest.json lists them). Layer i is applied as Docker applies it:
 *   ".wh.NAME" deletes NAME, an opaque directory (".wh..wh..opq") deletes what the lower layers
 *   had in it, hard links are links within the layer; device nodes, fifos and sockets are
 *   skipped and counted. Extended attributes are not applied.
 *
 * Either way the image knows the tree it yields (the files visible through all its layers) and
 * a startup working set chosen from that tree.
 */

#include "backend/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct stt_profile;

enum stt_image_kind { STT_IMAGE_GENERATED, STT_IMAGE_DOCKER_SAVE };

enum stt_image_entry_type {
	STT_IMAGE_DIR,
	STT_IMAGE_FILE,
	STT_IMAGE_SYMLINK,
	STT_IMAGE_HARDLINK, /* @target: a path written earlier in the same layer */
	STT_IMAGE_DELETE,   /* a whiteout: @path and all below it go */
};

/* One thing a layer writes. Paths are relative to the root, without a leading '/'. */
struct stt_image_entry {
	char *path;
	char *target;	       /* symlink target or hard link's path, else NULL */
	uint64_t size_bytes;   /* regular files (hard links: the target's) */
	uint64_t content_seed; /* generated images: the bytes' seed */
	uint32_t mode;	       /* permission bits, with setuid/setgid/sticky */
	uint32_t uid, gid;
	enum stt_image_entry_type type;
};

/* What a layer writes, or what the final tree holds. */
struct stt_image_stats {
	uint64_t files;	      /* regular files (not counting hard links) */
	uint64_t bytes;	      /* their bytes */
	uint64_t dirs;
	uint64_t symlinks;
	uint64_t hardlinks;
	uint64_t deletes;     /* whiteouts (layers only) */
	uint64_t opaque_dirs; /* of the deletes, how many opaque directories caused */
	uint64_t skipped;     /* device nodes, fifos, sockets (imported layers only) */
};

/*
 * The startup working set, in the image's paths (relative to the root), chosen from the regular
 * files of the final tree. Reads are whole files. Pointers stay valid until the next
 * stt_image_apply_startup() or stt_image_free().
 */
struct stt_image_startup {
	const char **read_paths; /* in the order to read them */
	uint64_t *read_file_bytes;
	size_t n_read;
	uint64_t read_bytes; /* the sum of read_file_bytes */

	const char **stat_paths;
	size_t n_stat;
	const char **readdir_paths; /* directories (never the root) */
	size_t n_readdir;

	unsigned int write_files; /* new files ... */
	uint64_t write_file_bytes; /* ... of this size each */
	uint64_t write_bytes;	   /* = write_files * write_file_bytes */

	const char **rewrite_paths; /* existing files rewritten whole, in place */
	uint64_t *rewrite_file_bytes;
	size_t n_rewrite;
	uint64_t rewrite_bytes;

	const char *mid_path;	 /* the largest regular file, or NULL (no mid write) */
	uint64_t mid_file_bytes; /* its size: write 4 bytes at mid_file_bytes / 2 */

	uint64_t total_bytes; /* read_bytes + write_bytes + rewrite_bytes + 4 if mid_path */
};

struct stt_image;

/* The argument of stt_image_fill(): which layer of which image. */
struct stt_image_layer_arg {
	struct stt_image *img;
	unsigned int layer; /* 0 = the base layer */
};

/* Generates the plan of @p's [image] and the startup set of its [startup]. */
__attribute__((warn_unused_result)) int stt_image_generate(const struct stt_profile *p,
							  struct stt_image **out);

/*
 * Reads a `docker save` tar: its manifest.json (the first image in it) and every layer's
 * entries; the startup set is the default one (see stt_image_apply_startup()). The layers' data
 * are read again by stt_image_fill().
 */
__attribute__((warn_unused_result)) int stt_image_open_docker_save(const char *tar_path,
								  struct stt_image **out);
/*
 * The same, of a tar of @len bytes at @buf (@name is its source in messages and the digest's
 * place of the path). @buf must outlive the image: stt_image_fill() reads it again.
 */
__attribute__((warn_unused_result)) int stt_image_open_docker_save_mem(const void *buf,
								      size_t len,
								      const char *name,
								      struct stt_image **out);

/*
 * Chooses the startup working set from the image's final tree: with @p's [startup] counts, or
 * with @p NULL the defaults: files by preference (bin/, sbin/, lib*, usr/bin, usr/lib*, etc/
 * first) until 6.4% of the image's bytes (what HelloBench's containers read at start: Harter et
 * al., "Slacker", FAST '16), as many stats as reads, 8 readdirs, 2 new files of 32 KiB, 1
 * rewrite, the mid write. The choice is deterministic. -EINVAL when the image has fewer files
 * or bytes than @p asks to read.
 */
__attribute__((warn_unused_result)) int stt_image_apply_startup(struct stt_image *img,
							       const struct stt_profile *p);

/*
 * Writes @img as a `docker save` tar at @path (Docker 20.10's layout: <diff id>/layer.tar per
 * layer, whiteouts as ".wh.NAME", the configuration <id>.json with rootfs.diff_ids, and
 * manifest.json naming it @tag), for the real engine's POST /images/load. Each layer is filled
 * into @tmpdir first (an existing directory the caller makes and removes; what is written there
 * is removed again on success).
 */
/* SHA-256 of @len bytes at @data as 64 hex digits and a NUL (OpenSSL). 0 or -EIO. */
__attribute__((warn_unused_result)) int stt_image_sha256_hex(const void *data, size_t len,
							     char hex[65]);
__attribute__((warn_unused_result)) int stt_image_write_docker_save(struct stt_image *img,
								   const char *path,
								   const char *tag,
								   const char *tmpdir);

/* Frees @img; NULL is a no-op. */
void stt_image_free(struct stt_image *img);

/*
 * A stt_layer_fill_fn: writes layer @arg->layer (a struct stt_image_layer_arg) through @w, as
 * Docker applies a layer: deletions first, then entries in order, each replacing what is at its
 * path unless both are directories; modes exact, owners when running as root. Fill the layers
 * in order. Into one directory with whiteout_chardev false, layer after layer, it yields the
 * image's final tree.
 */
int stt_image_fill(struct stt_layer_writer *w, void *arg);

enum stt_image_kind stt_image_kind(const struct stt_image *img);
/* The profile's name or the tar's path. */
const char *stt_image_source(const struct stt_image *img);
unsigned int stt_image_layer_count(const struct stt_image *img);
/* The argument for stt_image_fill() for @layer (owned by @img), NULL when out of range. */
struct stt_image_layer_arg *stt_image_layer_arg(struct stt_image *img, unsigned int layer);
/* What @layer writes; NULL when out of range. */
const struct stt_image_stats *stt_image_layer_stats(const struct stt_image *img,
						    unsigned int layer);
/* The entries of @layer in the order they are written (imported: metadata only). */
size_t stt_image_layer_entries(const struct stt_image *img, unsigned int layer);
const struct stt_image_entry *stt_image_layer_entry(const struct stt_image *img,
						    unsigned int layer, size_t i);
/* The final tree: regular files, their bytes, directories (not the root), links. */
const struct stt_image_stats *stt_image_totals(const struct stt_image *img);
const struct stt_image_startup *stt_image_startup_set(const struct stt_image *img);
/*
 * "fnv1a64:<hex>" of the plan: every entry's path, type, mode, owner, size, target and content
 * seed (imported images: with the layer tars' names, which carry their digests).
 */
const char *stt_image_digest(const struct stt_image *img);

/*
 * Follows @path (absolute or relative to the root) through the final tree as the kernel would,
 * symlinks included (at most 40): the type of what it names (STT_IMAGE_FILE, _DIR), its path
 * without symlinks into @out (may be NULL) and its size into *@size_bytes (may be NULL); or
 * -ENOENT, -ENOTDIR, -ELOOP, -EISDIR (the root).
 */
__attribute__((warn_unused_result)) int stt_image_resolve(const struct stt_image *img,
							 const char *path, char *out, size_t len,
							 uint64_t *size_bytes);

/* { kind, source, digest, layers: [stats...], files, size_bytes, ..., startup: {...} } */
__attribute__((warn_unused_result)) int stt_image_to_json(const struct stt_image *img,
							 struct json_object **out);

/*
 * A listing of the tree under @root for comparing trees: one line per entry below the root,
 * sorted by path: "PATH TYPE MODE UID:GID SIZE HASH" (HASH: fnv1a64 of a file's bytes or a
 * symlink's target). Paths equal to or below an entry of @ignore (NULL-terminated, may be NULL)
 * are left out. *@out is malloc'd.
 */
__attribute__((warn_unused_result)) int stt_image_tree_list(const char *root,
							   const char *const *ignore, char **out);

#endif
