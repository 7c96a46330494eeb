// SPDX-License-Identifier: GPL-2.0-or-later
#include "unit.h"

#include "base/err.h"
#include "sys/fsutil.h"
#include "workload/image.h"
#include "workload/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const shipped[] = { "alpine",     "ci",	  "debian-service",
				       "jvm-service", "node-app", "python-app" };

static char tmp[PATH_MAX];

static int suite_init(void)
{
	const char *d = getenv("STT_PROFILE_DIR");

	if (setenv("STT_PROFILE_DIR", d && *d ? d : "profiles", 1))
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/stt-unit-image-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int suite_clean(void)
{
	return stt_fs_rm_tree(tmp);
}

/* A fresh directory under the suite's. */
static const char *subdir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmp, name);
	if (stt_fs_rm_tree(buf) || mkdir(buf, 0755))
		return NULL;
	return buf;
}

/* Every layer in order into @root: deletions are removals, as on a snapshot. */
static int fill_all(struct stt_image *img, const char *root)
{
	struct stt_layer_writer w = { .root = root, .whiteout_chardev = false };
	int r = 0;

	for (unsigned int l = 0; l < stt_image_layer_count(img) && !r; l++)
		r = stt_image_fill(&w, stt_image_layer_arg(img, l));
	if (r)
		fprintf(stderr, "\nfill %s: %s\n", root, stt_err_msg());
	return r;
}

static int read_all(const char *path, char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);

	*buf = NULL;
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf)
		goto fail;
	*len = 0;
	while ((n = read(fd, *buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return *len == (size_t)st.st_size ? 0 : -1;
fail:
	if (fd >= 0)
		close(fd);
	free(*buf);
	*buf = NULL;
	return -1;
}

/* Byte by byte: every regular file of listing @list under @a equals the one under @b. */
static size_t compare_files(const char *list, const char *a, const char *b)
{
	size_t differ = 0;
	const char *line = list;

	while (*line) {
		const char *nl = strchr(line, '\n');
		char rel[PATH_MAX], pa[PATH_MAX], pb[PATH_MAX], type;
		char *ba = NULL, *bb = NULL;
		size_t la = 0, lb = 0;

		if (sscanf(line, "%4095s %c", rel, &type) == 2 && type == 'f') {
			snprintf(pa, sizeof(pa), "%s/%s", a, rel);
			snprintf(pb, sizeof(pb), "%s/%s", b, rel);
			if (read_all(pa, &ba, &la) || read_all(pb, &bb, &lb) || la != lb ||
			    memcmp(ba, bb, la))
				differ++;
			free(ba);
			free(bb);
		}
		line = nl ? nl + 1 : line + strlen(line);
	}
	return differ;
}

/* Counts of a listing: regular files, their bytes, directories, symlinks. */
static void list_counts(const char *list, uint64_t *files, uint64_t *bytes, uint64_t *dirs,
			uint64_t *links)
{
	*files = *bytes = *dirs = *links = 0;
	for (const char *line = list; *line;) {
		const char *nl = strchr(line, '\n');
		char rel[PATH_MAX], type, mode[8], owner[32];
		unsigned long long size;

		if (sscanf(line, "%4095s %c %7s %31s %llu", rel, &type, mode, owner, &size) == 5) {
			*files += type == 'f';
			*bytes += type == 'f' ? size : 0;
			*dirs += type == 'd';
			*links += type == 'l';
		}
		line = nl ? nl + 1 : line + strlen(line);
	}
}

static void test_same_plan(void)
{
	struct stt_image *a = NULL, *b = NULL;
	struct stt_profile p;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &a), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &b), 0);
	CU_ASSERT_EQUAL(stt_image_kind(a), STT_IMAGE_GENERATED);
	CU_ASSERT_STRING_EQUAL(stt_image_source(a), "ci");
	CU_ASSERT_STRING_EQUAL(stt_image_digest(a), stt_image_digest(b));
	CU_ASSERT_EQUAL_FATAL(stt_image_layer_count(a), 3);
	CU_ASSERT_EQUAL_FATAL(stt_image_layer_count(b), 3);
	for (unsigned int l = 0; l < 3; l++) {
		size_t n = stt_image_layer_entries(a, l);

		CU_ASSERT_EQUAL_FATAL(stt_image_layer_entries(b, l), n);
		for (size_t i = 0; i < n; i++) {
			const struct stt_image_entry *x = stt_image_layer_entry(a, l, i);
			const struct stt_image_entry *y = stt_image_layer_entry(b, l, i);

			CU_ASSERT_STRING_EQUAL(x->path, y->path);
			CU_ASSERT_EQUAL(x->type, y->type);
			CU_ASSERT_EQUAL(x->mode, y->mode);
			CU_ASSERT_EQUAL(x->size_bytes, y->size_bytes);
			CU_ASSERT_EQUAL(x->content_seed, y->content_seed);
			CU_ASSERT((!x->target && !y->target) ||
				  (x->target && y->target && !strcmp(x->target, y->target)));
		}
	}
	CU_ASSERT_PTR_NULL(stt_image_layer_entry(a, 3, 0));
	CU_ASSERT_PTR_NULL(stt_image_layer_arg(a, 3));
	stt_image_free(a);
	stt_image_free(b);
	stt_profile_release(&p);
}

/* Same profile and seed: byte-identical trees; another seed: other bytes. */
static void test_same_bytes(void)
{
	char da[PATH_MAX], db[PATH_MAX], dc[PATH_MAX], *la = NULL, *lb = NULL, *lc = NULL;
	struct stt_image *a = NULL, *b = NULL, *c = NULL;
	uint64_t files, bytes, dirs, links;
	const struct stt_image_stats *t;
	struct stt_profile p;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &a), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &b), 0);
	p.image.seed = 2;
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &c), 0);
	CU_ASSERT_STRING_NOT_EQUAL(stt_image_digest(a), stt_image_digest(c));
	CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("a", da, sizeof(da)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("b", db, sizeof(db)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("c", dc, sizeof(dc)));
	CU_ASSERT_EQUAL_FATAL(fill_all(a, da), 0);
	CU_ASSERT_EQUAL_FATAL(fill_all(b, db), 0);
	CU_ASSERT_EQUAL_FATAL(fill_all(c, dc), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(da, NULL, &la), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(db, NULL, &lb), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(dc, NULL, &lc), 0);

	/* paths, types, modes, owners, sizes, content hashes; then the bytes themselves */
	CU_ASSERT_STRING_EQUAL(la, lb);
	CU_ASSERT_EQUAL(compare_files(la, da, db), 0);
	CU_ASSERT_STRING_NOT_EQUAL(la, lc);
	CU_ASSERT(compare_files(la, da, dc) > 0 || strcmp(la, lc));

	/* the tree on disk is the plan's */
	t = stt_image_totals(a);
	list_counts(la, &files, &bytes, &dirs, &links);
	CU_ASSERT_EQUAL(files, t->files);
	CU_ASSERT_EQUAL(bytes, t->bytes);
	CU_ASSERT_EQUAL(dirs, t->dirs);
	CU_ASSERT_EQUAL(links, t->symlinks);
	CU_ASSERT_EQUAL(files, 300);
	CU_ASSERT_EQUAL(bytes, 4 << 20);
	CU_ASSERT_EQUAL(dirs, 40);
	list_counts(lc, &files, &bytes, &dirs, &links);
	CU_ASSERT_EQUAL(files, 300);
	CU_ASSERT_EQUAL(bytes, 4 << 20);
	CU_ASSERT_EQUAL(dirs, 40);
	CU_ASSERT_PTR_NOT_NULL(strstr(la, "\ntmp d 1777 "));

	free(la);
	free(lb);
	free(lc);
	stt_image_free(a);
	stt_image_free(b);
	stt_image_free(c);
	stt_profile_release(&p);
}

/*
 * A generated image written as a docker save tar (what the real engine loads) and read back
 * by the importer yields the same tree, byte for byte, and the same layer count and totals.
 */
static void test_export_round_trip(void)
{
	char dg[PATH_MAX], di[PATH_MAX], dt[PATH_MAX], tar[PATH_MAX + 16];
	struct stt_image *g = NULL, *i = NULL;
	char *lg = NULL, *li = NULL;
	struct stt_profile p;

	/* ci: 3 layers, upper ones with deletions (whiteouts in the tar) */
	for (size_t k = 0; k < 1; k++) {
		const char *prof = "ci";

		CU_ASSERT_EQUAL_FATAL(stt_profile_load(prof, &p), 0);
		CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &g), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("exp-tmp", dt, sizeof(dt)));
		snprintf(tar, sizeof(tar), "%s/../exp-%s.tar", dt, prof);
		if (stt_image_write_docker_save(g, tar, "stortune-test:1", dt))
			fprintf(stderr, "\nexport: %s\n", stt_err_msg());
		CU_ASSERT_EQUAL_FATAL(stt_image_open_docker_save(tar, &i), 0);
		CU_ASSERT_EQUAL(stt_image_layer_count(i), stt_image_layer_count(g));
		CU_ASSERT_EQUAL(stt_image_totals(i)->files, stt_image_totals(g)->files);
		CU_ASSERT_EQUAL(stt_image_totals(i)->bytes, stt_image_totals(g)->bytes);
		CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("exp-g", dg, sizeof(dg)));
		CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("exp-i", di, sizeof(di)));
		CU_ASSERT_EQUAL_FATAL(fill_all(g, dg), 0);
		CU_ASSERT_EQUAL_FATAL(fill_all(i, di), 0);
		CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(dg, NULL, &lg), 0);
		CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(di, NULL, &li), 0);
		CU_ASSERT_STRING_EQUAL(lg, li);
		CU_ASSERT_EQUAL(compare_files(lg, dg, di), 0);
		free(lg);
		free(li);
		lg = li = NULL;
		stt_image_free(g);
		stt_image_free(i);
		stt_profile_release(&p);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every shipped profile: the plan holds its files and bytes exactly, and its working set. */
static void test_profiles(void)
{
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
		const struct stt_image_startup *s;
		const struct stt_image_stats *t;
		struct stt_image *img = NULL;
		struct stt_profile p;
		const char **paths;
		uint64_t want, sum = 0;

		CU_ASSERT_EQUAL_FATAL(stt_profile_load(shipped[i], &p), 0);
		if (stt_image_generate(&p, &img)) {
			fprintf(stderr, "\n%s: %s\n", shipped[i], stt_err_msg());
			CU_FAIL_FATAL("generate");
		}
		t = stt_image_totals(img);
		CU_ASSERT_EQUAL(t->files, p.image.files);
		CU_ASSERT_EQUAL(t->bytes, p.image.size_bytes);
		CU_ASSERT_EQUAL(t->dirs, p.image.dirs);
		CU_ASSERT_EQUAL(t->symlinks, p.image.files / 20);
		CU_ASSERT_EQUAL(stt_image_layer_count(img), p.image.layers);
		for (unsigned int l = 0; l < p.image.layers; l++) {
			const struct stt_image_stats *ls = stt_image_layer_stats(img, l);
			size_t n = stt_image_layer_entries(img, l);

			CU_ASSERT(ls->files >= 1);
			/* upper layers overwrite and delete what is below */
			CU_ASSERT(l == 0 || ls->deletes >= 2);
			/* deletions first, then by path: parents before children */
			for (size_t k = 1; k < n; k++) {
				const struct stt_image_entry *x, *y;
				bool dx, dy;

				x = stt_image_layer_entry(img, l, k - 1);
				y = stt_image_layer_entry(img, l, k);
				dx = x->type == STT_IMAGE_DELETE;
				dy = y->type == STT_IMAGE_DELETE;
				CU_ASSERT(dx > dy || (dx == dy && strcmp(x->path, y->path) < 0));
			}
			sum += ls->bytes;
		}
		/* overwritten and deleted bytes too */
		CU_ASSERT(p.image.layers == 1 || sum > p.image.size_bytes);

		s = stt_image_startup_set(img);
		want = p.startup.read_bytes;
		CU_ASSERT_EQUAL(s->n_read, p.startup.read_files);
		if (s->read_bytes + want / 100 < want || s->read_bytes > want + want / 100)
			fprintf(stderr, "\n%s: read %llu bytes for %llu\n", shipped[i],
				(unsigned long long)s->read_bytes, (unsigned long long)want);
		CU_ASSERT(s->read_bytes + want / 100 >= want && s->read_bytes <= want + want / 100);
		sum = 0;
		for (size_t k = 0; k < s->n_read; k++) {
			sum += s->read_file_bytes[k];
			CU_ASSERT(s->read_file_bytes[k] <= s->mid_file_bytes);
		}
		CU_ASSERT_EQUAL(sum, s->read_bytes);
		CU_ASSERT_EQUAL(s->n_stat, p.startup.stat_files);
		CU_ASSERT_EQUAL(s->n_readdir, p.startup.readdirs);
		CU_ASSERT_EQUAL(s->n_rewrite, p.startup.rewrite_files);
		CU_ASSERT_EQUAL(s->write_files, p.startup.write_files);
		CU_ASSERT(s->write_bytes <= p.startup.write_bytes &&
			  s->write_bytes + s->write_files >= p.startup.write_bytes);
		CU_ASSERT_PTR_NOT_NULL(s->mid_path);
		CU_ASSERT(s->mid_file_bytes >= p.image.large_file_bytes / 2);
		for (size_t k = 0; k < s->n_rewrite; k++)
			CU_ASSERT_STRING_NOT_EQUAL(s->rewrite_paths[k], s->mid_path);
		CU_ASSERT_EQUAL(s->total_bytes,
				s->read_bytes + s->write_bytes + s->rewrite_bytes + 4);
		/* no file read twice */
		paths = malloc((s->n_read + 1) * sizeof(*paths));
		CU_ASSERT_PTR_NOT_NULL_FATAL(paths);
		memcpy(paths, s->read_paths, s->n_read * sizeof(*paths));
		qsort(paths, s->n_read, sizeof(*paths), cmp_str);
		for (size_t k = 1; k < s->n_read; k++)
			CU_ASSERT(strcmp(paths[k - 1], paths[k]) < 0);
		free(paths);
		stt_image_free(img);
		stt_profile_release(&p);
	}
}

static bool is_file(const char *root, const char *rel, uint64_t size, mode_t type)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return !lstat(path, &st) && (st.st_mode & S_IFMT) == type &&
	       (type != S_IFREG || size == UINT64_MAX || (uint64_t)st.st_size == size);
}

/* The working set names what the filled tree holds. */
static void test_startup_paths(void)
{
	const struct stt_image_startup *s;
	struct stt_image *img = NULL;
	struct stt_profile p;
	char d[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &img), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("startup", d, sizeof(d)));
	CU_ASSERT_EQUAL_FATAL(fill_all(img, d), 0);
	s = stt_image_startup_set(img);
	for (size_t k = 0; k < s->n_read; k++)
		CU_ASSERT(is_file(d, s->read_paths[k], s->read_file_bytes[k], S_IFREG));
	for (size_t k = 0; k < s->n_stat; k++)
		CU_ASSERT(is_file(d, s->stat_paths[k], UINT64_MAX, S_IFREG));
	for (size_t k = 0; k < s->n_readdir; k++)
		CU_ASSERT(is_file(d, s->readdir_paths[k], 0, S_IFDIR));
	for (size_t k = 0; k < s->n_rewrite; k++)
		CU_ASSERT(is_file(d, s->rewrite_paths[k], s->rewrite_file_bytes[k], S_IFREG));
	CU_ASSERT(is_file(d, s->mid_path, s->mid_file_bytes, S_IFREG));
	CU_ASSERT_EQUAL(s->mid_file_bytes, 1 << 20); /* ci's one large file */

	/* the defaults: 6.4% of the bytes, by preference */
	CU_ASSERT_EQUAL(stt_image_apply_startup(img, NULL), 0);
	CU_ASSERT(s->read_bytes >= (uint64_t)(0.063 * (4 << 20)) &&
		  s->read_bytes <= (uint64_t)(0.066 * (4 << 20)));
	CU_ASSERT_EQUAL(s->n_stat, s->n_read);
	CU_ASSERT_EQUAL(s->n_readdir, 8);
	CU_ASSERT_EQUAL(s->write_files, 2);
	CU_ASSERT_EQUAL(s->n_rewrite, 1);
	CU_ASSERT_PTR_NOT_NULL(s->mid_path);
	for (size_t k = 0; k < s->n_read; k++)
		CU_ASSERT(is_file(d, s->read_paths[k], s->read_file_bytes[k], S_IFREG));
	stt_image_free(img);
	stt_profile_release(&p);
}

/*
 * A `docker save` tar made here, in both layouts: layer 1 with a setuid file, its hard
 * link, a symlink, a sticky directory, a fifo (skipped); layer 2 replaces a file, deletes
 * one (".wh.del") and replaces a directory's contents (".wh..wh..opq", with a subdirectory
 * kept and its old file gone); layer 3 is layer 2 again (a symlink in Docker's legacy
 * layout, the same blob twice in the OCI one, gzipped there).
 */
static const char make_save[] =
	"set -e; cd '%s'; umask 022\n"
	"mkdir -p l1/bin l1/etc l1/opt/rep/sub l1/tmp l2/etc l2/opt/rep/sub\n"
	"printf shell > l1/bin/sh; chmod 4755 l1/bin/sh; ln l1/bin/sh l1/bin/hl\n"
	"ln -s sh l1/bin/link; chmod 1777 l1/tmp; mkfifo l1/fifo\n"
	"printf 'old a' > l1/etc/a; printf gone > l1/etc/del\n"
	"printf x > l1/opt/rep/x; printf y > l1/opt/rep/sub/y\n"
	"printf 'new a' > l2/etc/a; : > l2/etc/.wh.del; : > l2/opt/rep/.wh..wh..opq\n"
	"printf new > l2/opt/rep/new; printf z > l2/opt/rep/sub/z\n"
	"(cd l1 && tar --numeric-owner -cf ../layer1.tar .)\n"
	"(cd l2 && tar --numeric-owner -cf ../layer2.tar .)\n"
	"mkdir -p legacy/aaa legacy/bbb legacy/ccc\n"
	"cp layer1.tar legacy/aaa/layer.tar; cp layer2.tar legacy/bbb/layer.tar\n"
	"ln -s ../bbb/layer.tar legacy/ccc/layer.tar\n"
	"echo '[{\"Config\":\"c.json\",\"RepoTags\":[\"t:1\"],\"Layers\":"
	"[\"aaa/layer.tar\",\"bbb/layer.tar\",\"ccc/layer.tar\"]}]' > legacy/manifest.json\n"
	"(cd legacy && tar -cf ../legacy.tar aaa bbb ccc manifest.json)\n"
	"mkdir -p oci/blobs/sha256; gzip -n -c layer2.tar > l2.gz\n"
	"d1=$(sha256sum layer1.tar | cut -c1-64); d2=$(sha256sum l2.gz | cut -c1-64)\n"
	"cp layer1.tar oci/blobs/sha256/$d1; cp l2.gz oci/blobs/sha256/$d2\n"
	"echo \"[{\\\"Config\\\":\\\"blobs/sha256/$d1\\\",\\\"Layers\\\":[\\\"blobs/sha256/$d1\\\","
	"\\\"blobs/sha256/$d2\\\",\\\"blobs/sha256/$d2\\\"]}]\" > oci/manifest.json\n"
	"(cd oci && tar -cf ../oci.tar manifest.json blobs)\n"
	/* bad ones */
	"tar -cf nomanifest.tar layer1.tar\n"
	"mkdir -p missing; cp legacy/manifest.json missing/; cp -r legacy/aaa missing/\n"
	"(cd missing && tar -cf ../missing.tar manifest.json aaa)\n"
	"mkdir -p evil/aaa; printf x > evil-file\n"
	"tar -P --transform 's,^evil-file,../evil,' -cf evil/aaa/layer.tar evil-file\n"
	"echo '[{\"Layers\":[\"aaa/layer.tar\"]}]' > evil/manifest.json\n"
	"(cd evil && tar -cf ../evil.tar aaa manifest.json)\n"
	"echo 'not a tar' > text.tar\n";

static char save_dir[PATH_MAX];

static int make_saves(void)
{
	char cmd[8192];

	if (!subdir("save", save_dir, sizeof(save_dir)))
		return -1;
	snprintf(cmd, sizeof(cmd), make_save, save_dir);
	return system(cmd);
}

static void test_make_saves(void)
{
	CU_ASSERT_EQUAL_FATAL(make_saves(), 0);
}

/* The "PATH TYPE" of a listing's lines, for comparing shapes. */
static char *shape(const char *list)
{
	char *s = calloc(1, strlen(list) + 1), *p = s;

	for (const char *line = list; s && *line;) {
		const char *nl = strchr(line, '\n');
		char rel[PATH_MAX], type;

		if (sscanf(line, "%4095s %c", rel, &type) == 2)
			p += sprintf(p, "%s %c\n", rel, type);
		line = nl ? nl + 1 : line + strlen(line);
	}
	return s;
}

static void check_import(const char *tar)
{
	static const char want[] = "bin d\nbin/hl f\nbin/link l\nbin/sh f\netc d\netc/a f\nopt d\n"
				   "opt/rep d\nopt/rep/new f\nopt/rep/sub d\nopt/rep/sub/z f\n"
				   "tmp d\n";
	char path[PATH_MAX], d[PATH_MAX], *list = NULL, *sh = NULL, *buf = NULL;
	const struct stt_image_stats *s0, *s1, *s2, *t;
	struct stt_image *img = NULL, *again = NULL;
	struct stat a, b;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", save_dir, tar);
	if (stt_image_open_docker_save(path, &img)) {
		fprintf(stderr, "\n%s: %s\n", path, stt_err_msg());
		CU_FAIL_FATAL("import");
	}
	CU_ASSERT_EQUAL(stt_image_kind(img), STT_IMAGE_DOCKER_SAVE);
	CU_ASSERT_EQUAL_FATAL(stt_image_layer_count(img), 3);
	s0 = stt_image_layer_stats(img, 0);
	s1 = stt_image_layer_stats(img, 1);
	s2 = stt_image_layer_stats(img, 2);
	CU_ASSERT_EQUAL(s0->files, 5);
	CU_ASSERT_EQUAL(s0->hardlinks, 1);
	CU_ASSERT_EQUAL(s0->symlinks, 1);
	CU_ASSERT_EQUAL(s0->dirs, 6);
	CU_ASSERT_EQUAL(s0->skipped, 1);
	CU_ASSERT_EQUAL(s0->deletes, 0);
	CU_ASSERT_EQUAL(s1->files, 3);
	CU_ASSERT_EQUAL(s1->deletes, 3); /* etc/del, opt/rep/x, opt/rep/sub/y */
	CU_ASSERT_EQUAL(s1->opaque_dirs, 1);
	CU_ASSERT_EQUAL(s2->deletes, 0); /* nothing left to delete */
	CU_ASSERT_EQUAL(s2->opaque_dirs, 1);
	CU_ASSERT_STRING_EQUAL(stt_image_layer_entry(img, 1, 0)->path, "etc/del");
	CU_ASSERT_STRING_EQUAL(stt_image_layer_entry(img, 1, 1)->path, "opt/rep/sub/y");
	CU_ASSERT_STRING_EQUAL(stt_image_layer_entry(img, 1, 2)->path, "opt/rep/x");
	t = stt_image_totals(img);
	CU_ASSERT_EQUAL(t->files, 5);
	CU_ASSERT_EQUAL(t->bytes, 5 + 5 + 5 + 3 + 1);
	CU_ASSERT_EQUAL(t->dirs, 6);
	CU_ASSERT_EQUAL(t->symlinks, 1);
	CU_ASSERT(stt_image_startup_set(img)->n_read >= 1);
	CU_ASSERT_EQUAL(stt_image_open_docker_save(path, &again), 0);
	CU_ASSERT_STRING_EQUAL(stt_image_digest(img), stt_image_digest(again));
	stt_image_free(again);

	/* layer by layer into one directory: the final tree */
	CU_ASSERT_PTR_NOT_NULL_FATAL(subdir(tar, d, sizeof(d)));
	CU_ASSERT_EQUAL_FATAL(fill_all(img, d), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(d, NULL, &list), 0);
	sh = shape(list);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
	if (strcmp(sh, want))
		fprintf(stderr, "\n%s: tree:\n%s", tar, list);
	CU_ASSERT_STRING_EQUAL(sh, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "bin/sh f 4755 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "tmp d 1777 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "bin/link l 0777 ") && strstr(list, " -> sh\n"));
	snprintf(path, sizeof(path), "%s/etc/a", d);
	CU_ASSERT_EQUAL(read_all(path, &buf, &len), 0);
	CU_ASSERT(buf && len == 5 && !memcmp(buf, "new a", 5));
	free(buf);
	snprintf(path, sizeof(path), "%s/bin/sh", d);
	CU_ASSERT_EQUAL(stat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/bin/hl", d);
	CU_ASSERT_EQUAL(stat(path, &b), 0);
	CU_ASSERT_EQUAL(a.st_ino, b.st_ino); /* a hard link, not a copy */

	/* as root, overlay's way: a layer per directory, deletions as 0/0 whiteouts */
	if (geteuid() == 0) {
		struct stt_layer_writer w = { .root = d, .whiteout_chardev = true };
		struct stat st;

		CU_ASSERT_PTR_NOT_NULL_FATAL(subdir("overlay-upper", d, sizeof(d)));
		CU_ASSERT_EQUAL(stt_image_fill(&w, stt_image_layer_arg(img, 1)), 0);
		snprintf(path, sizeof(path), "%s/opt/rep/sub/y", d);
		CU_ASSERT(!lstat(path, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
		snprintf(path, sizeof(path), "%s/opt/rep/sub/z", d);
		CU_ASSERT(!lstat(path, &st) && S_ISREG(st.st_mode));
	}
	free(sh);
	free(list);
	stt_image_free(img);
}

static void test_import_legacy(void)
{
	check_import("legacy.tar");
}

static void test_import_oci(void)
{
	check_import("oci.tar");
}

static void test_import_errors(void)
{
	static const struct {
		const char *tar, *msg;
		int r;
	} bad[] = {
		{ "nomanifest.tar", "no manifest.json: not a docker save tar", -EINVAL },
		{ "missing.tar", "layer bbb/layer.tar: not in the tar", -EINVAL },
		{ "evil.tar", "layer 1: ../evil: not a path inside the image", -EINVAL },
		{ "text.tar", "", -EINVAL },
		{ "nonexistent.tar", "No such file", -ENOENT },
	};
	struct stt_image *img = NULL;
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", save_dir, bad[i].tar);
		CU_ASSERT_EQUAL(stt_image_open_docker_save(path, &img), bad[i].r);
		CU_ASSERT_PTR_NULL(img);
		CU_ASSERT_EQUAL(strncmp(stt_err_msg(), path, strlen(path)), 0);
		if (!strstr(stt_err_msg(), bad[i].msg))
			fprintf(stderr, "\n  got: %s\n  want: ...%s\n", stt_err_msg(), bad[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), bad[i].msg));
	}
}

/* A profile's [startup] on an imported image, and one asking for more than it holds. */
static void test_import_startup(void)
{
	static const char text[] = "[image]\nlayers = 1\nfiles = 10\nsize = 1m\n"
				   "[startup]\nread_files = 2\nread_bytes = 10\nrewrite_files = 1\n"
				   "mid_write = no\n[run]\ncontainers = 1\n";
	const struct stt_image_startup *s;
	struct stt_image *img = NULL;
	struct stt_profile p;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/legacy.tar", save_dir);
	CU_ASSERT_EQUAL_FATAL(stt_image_open_docker_save(path, &img), 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_parse(text, "t.ini", &p), 0);
	CU_ASSERT_EQUAL(stt_image_apply_startup(img, &p), 0);
	s = stt_image_startup_set(img);
	CU_ASSERT_EQUAL(s->n_read, 2);
	CU_ASSERT_EQUAL(s->read_bytes, 10); /* 5 + 5, of the five files of 5, 5, 5, 3, 1 */
	CU_ASSERT_EQUAL(s->n_rewrite, 1);
	CU_ASSERT_PTR_NULL(s->mid_path);
	p.startup.read_files = 6;
	CU_ASSERT_EQUAL(stt_image_apply_startup(img, &p), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "[startup] read_files = 6: more than image"));
	stt_profile_release(&p);
	stt_image_free(img);
}

static void test_tree_list(void)
{
	static const char *const ignore[] = { "etc", "opt/rep/sub", NULL };
	char d[PATH_MAX], *list = NULL;

	snprintf(d, sizeof(d), "%s/legacy.tar", tmp);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(d, ignore, &list), 0);
	CU_ASSERT_PTR_NULL(strstr(list, "etc"));
	CU_ASSERT_PTR_NULL(strstr(list, "opt/rep/sub"));
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "opt/rep/new f "));
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "bin/sh f 4755 "));
	free(list);
	CU_ASSERT_EQUAL(stt_image_tree_list("/nonexistent", NULL, &list), -ENOENT);
}

static void test_json(void)
{
	struct json_object *o = NULL, *v, *su;
	struct stt_image *img = NULL;
	struct stt_profile p;

	CU_ASSERT_EQUAL_FATAL(stt_profile_load("ci", &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &img), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_to_json(img, &o), 0);
	CU_ASSERT(json_object_object_get_ex(o, "digest", &v) &&
		  !strcmp(json_object_get_string(v), stt_image_digest(img)));
	CU_ASSERT(json_object_object_get_ex(o, "kind", &v) &&
		  !strcmp(json_object_get_string(v), "generated"));
	CU_ASSERT(json_object_object_get_ex(o, "files", &v) && json_object_get_uint64(v) == 300);
	CU_ASSERT(json_object_object_get_ex(o, "size_bytes", &v) &&
		  json_object_get_uint64(v) == 4 << 20);
	CU_ASSERT(json_object_object_get_ex(o, "layers", &v) && json_object_array_length(v) == 3);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "startup", &su));
	CU_ASSERT(json_object_object_get_ex(su, "read_files", &v) &&
		  json_object_get_uint64(v) == 40);
	CU_ASSERT(json_object_object_get_ex(su, "read_bytes", &v) &&
		  json_object_get_uint64(v) == stt_image_startup_set(img)->read_bytes);
	CU_ASSERT(json_object_object_get_ex(su, "mid_write_path", &v) &&
		  !strcmp(json_object_get_string(v), stt_image_startup_set(img)->mid_path));
	json_object_put(o);
	stt_image_free(img);
	stt_profile_release(&p);
}

int unit_register_image(void)
{
	CU_pSuite s = CU_add_suite("image", suite_init, suite_clean);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "same profile and seed: same plan", test_same_plan);
	CU_add_test(s, "same seed: same bytes; other seed: other bytes", test_same_bytes);
	CU_add_test(s, "shipped profiles: files, bytes, working set", test_profiles);
	CU_add_test(s, "working set names what the tree holds", test_startup_paths);
	CU_add_test(s, "make docker save tars (tar, gzip)", test_make_saves);
	CU_add_test(s, "import docker save (legacy layout)", test_import_legacy);
	CU_add_test(s, "import docker save (OCI layout)", test_import_oci);
	CU_add_test(s, "import errors", test_import_errors);
	CU_add_test(s, "import with a profile's [startup]", test_import_startup);
	CU_add_test(s, "tree listing", test_tree_list);
	CU_add_test(s, "json", test_json);
	CU_add_test(s, "generated image as a docker save tar and back: the same tree",
		    test_export_round_trip);
	return CU_get_error();
}
