// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backends for real: a 5-layer image and 20 containers on each available backend.
 * Files of every layer are visible through each container; a write in one container is
 * invisible in the others and in the image; a file deleted in an upper layer is invisible
 * (whiteout); a 4-byte write into the middle of a large lower file shows up only in that
 * container; and afterwards nothing of the backend is left (journal, mounts, loops, dm).
 *
 * Natively, overlay runs and the dm backends report why they are unavailable. In the VM
 * tier (tests/vm) the same binary runs with STT_PRIV_REQUIRE=dm-loop,direct-lvm, which
 * makes an unavailable backend a failure.
 */
#include "priv.h"

#include "backend/backend.h"
#include "sys/dm.h"
#include "base/err.h"
#include "sys/journal.h"

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

#define N_LAYERS 5
#define N_CONTAINERS 20
#define BIG_BYTES (8u << 20)

static int fill_layer(struct stt_layer_writer *w, void *arg)
{
	int i = *(int *)arg, r;
	char path[64], data[32];

	snprintf(path, sizeof(path), "layer%d", i);
	if ((r = stt_layer_mkdir(w, path, 0755)))
		return r;
	snprintf(path, sizeof(path), "layer%d/file", i);
	snprintf(data, sizeof(data), "L%d", i);
	if ((r = stt_layer_write(w, path, data, strlen(data), 0644)))
		return r;
	snprintf(data, sizeof(data), "v%d", i);
	if ((r = stt_layer_write(w, "common", data, strlen(data), 0644)))
		return r;
	if (i == 1) {
		char *big = malloc(BIG_BYTES);

		if (!big)
			return -ENOMEM;
		for (unsigned int k = 0; k < BIG_BYTES; k++)
			big[k] = (char)('a' + k % 26);
		r = stt_layer_write(w, "big", big, BIG_BYTES, 0644);
		free(big);
		if (r)
			return r;
	}
	if (i == 3 && (r = stt_layer_delete(w, "layer1/file")))
		return r;
	return 0;
}

static int read_file(const char *root, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int pread_at(const char *root, const char *rel, off_t off, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int write_at(const char *root, const char *rel, off_t off, const char *data, bool create)
{
	char path[PATH_MAX + 64];
	size_t len = strlen(data);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, data, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static bool exists(const char *root, const char *rel)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

/* What a container must see of the image (and not of container 0's writes). */
static void check_view(const char *root, bool is_c0)
{
	char buf[64], mid[4], link[64];
	char path[PATH_MAX + 64];
	ssize_t n;

	for (int i = 0; i < N_LAYERS; i++) {
		char rel[32], want[8];

		snprintf(rel, sizeof(rel), "layer%d/file", i);
		snprintf(want, sizeof(want), "L%d", i);
		if (i == 1) {
			CU_ASSERT_FALSE(exists(root, rel)); /* deleted in layer 3 */
			continue;
		}
		CU_ASSERT_EQUAL(read_file(root, rel, buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, want);
	}
	CU_ASSERT_TRUE(exists(root, "layer1")); /* the directory stays */
	CU_ASSERT_EQUAL(read_file(root, "common", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, is_c0 ? "c0" : "v4");
	CU_ASSERT_EQUAL(exists(root, "c0-only"), is_c0);
	CU_ASSERT_EQUAL(pread_at(root, "big", BIG_BYTES / 2, mid, 4), 0);
	if (is_c0) {
		CU_ASSERT_EQUAL(memcmp(mid, "ABCD", 4), 0);
	} else {
		for (int k = 0; k < 4; k++)
			CU_ASSERT_EQUAL(mid[k], (char)('a' + (BIG_BYTES / 2 + k) % 26));
	}
	/* The init layer: Docker's files. */
	CU_ASSERT_TRUE(exists(root, ".dockerenv"));
	CU_ASSERT_TRUE(exists(root, "etc/hostname"));
	CU_ASSERT_TRUE(exists(root, "dev/pts"));
	snprintf(path, sizeof(path), "%s/etc/mtab", root);
	n = readlink(path, link, sizeof(link) - 1);
	CU_ASSERT(n > 0);
	if (n > 0) {
		link[n] = '\0';
		CU_ASSERT_STRING_EQUAL(link, "/proc/mounts");
	}
}

/* overlay2's on-disk layout, from the first container's paths. */
static void check_overlay_layout(struct stt_container *c, struct stt_layer **img)
{
	char root[PATH_MAX], path[PATH_MAX + 200], buf[4096], link[256];
	struct stat st;
	ssize_t n;

	snprintf(root, sizeof(root), "%s", c->rootfs);
	*strrchr(root, '/') = '\0'; /* <root>/<id> */
	*strrchr(root, '/') = '\0'; /* <root> */

	for (int i = 0; i < N_LAYERS; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, img[i]->id);
		CU_ASSERT_EQUAL(read_file(path, "link", buf, sizeof(buf)), 0);
		CU_ASSERT_EQUAL(strlen(buf), STT_OVERLAY_LINK_LEN);
		snprintf(path, sizeof(path), "%s/l/%s", root, buf);
		n = readlink(path, link, sizeof(link) - 1);
		CU_ASSERT(n > 0);
		if (n > 0) {
			char want[128];

			link[n] = '\0';
			snprintf(want, sizeof(want), "../%s/diff", img[i]->id);
			CU_ASSERT_STRING_EQUAL(link, want);
		}
		snprintf(path, sizeof(path), "%s/%s", root, img[i]->id);
		CU_ASSERT_EQUAL(exists(path, "lower"), i > 0);
		CU_ASSERT_EQUAL(exists(path, "work"), i > 0);
		CU_ASSERT_TRUE(exists(path, "diff"));
	}
	/* The top image layer's lower: its four parents, nearest first. */
	snprintf(path, sizeof(path), "%s/%s", root, img[N_LAYERS - 1]->id);
	CU_ASSERT_EQUAL(read_file(path, "lower", buf, sizeof(buf)), 0);
	{
		int colons = 0;

		for (char *s = buf; *s; s++)
			colons += *s == ':';
		CU_ASSERT_EQUAL(colons, N_LAYERS - 2);
		CU_ASSERT_EQUAL(strncmp(buf, "l/", 2), 0);
	}
	/* The whiteout in layer 3: a 0/0 character device. */
	snprintf(path, sizeof(path), "%s/%s/diff/layer1/file", root, img[3]->id);
	CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISCHR(st.st_mode));
	CU_ASSERT_EQUAL(st.st_rdev, makedev(0, 0));
	/* The container's layer and its -init. */
	snprintf(path, sizeof(path), "%s/%s-init/diff", root, c->id);
	CU_ASSERT_TRUE(exists(path, ".dockerenv"));
	/* The image is untouched by container 0's writes. */
	snprintf(path, sizeof(path), "%s/%s/diff", root, img[N_LAYERS - 1]->id);
	CU_ASSERT_EQUAL(read_file(path, "common", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "v4");
	snprintf(path, sizeof(path), "%s/%s/diff", root, c->id);
	CU_ASSERT_EQUAL(read_file(path, "common", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "c0");
	/* Copy-up: the whole big file is in container 0's upper layer. */
	snprintf(path, sizeof(path), "%s/%s/diff/big", root, c->id);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, BIG_BYTES);
}

static bool nothing_left(const char *workdir)
{
	char dm[4096];
	bool ok = true;

	if (priv_sh("grep -q ' %s' /proc/self/mountinfo", workdir) == 0) {
		fprintf(stderr, "mounts left under %s\n", workdir);
		ok = false;
	}
	if (priv_sh("losetup -a | grep -q '%s'", workdir) == 0) {
		fprintf(stderr, "loop devices left on %s\n", workdir);
		ok = false;
	}
	if (stt_dm_list(dm, sizeof(dm)) > 0 && (strstr(dm, "stortune") || strstr(dm, "stt"))) {
		fprintf(stderr, "dm devices left: %s\n", dm);
		ok = false;
	}
	if (priv_sh("[ -z \"$(ls -A '%s')\" ]", workdir)) {
		fprintf(stderr, "files left in %s\n", workdir);
		ok = false;
	}
	return ok;
}

/* Of the test running, so that a failed assertion still undoes everything (suite cleanup). */
static struct stt_journal *j;

static int suite_cleanup(void)
{
	int r = 0;

	if (j) {
		r = stt_journal_undo_all(j, NULL, NULL);
		stt_journal_close(j);
		j = NULL;
	}
	return r;
}

/*
 * containerd's overlayfs snapshotter, from the first container's mount: overlay with
 * upperdir/workdir its snapshots/<id>/{fs,work} and lowerdir the init snapshot's and the
 * image's fs/ dirs (six, nearest first, each a directory of snapshots/); both bolt stores
 * written (more than their four initial pages).
 */
static void check_ctrd_layout(struct stt_container *c)
{
	char mnt[PATH_MAX], path[PATH_MAX + 100], *out = NULL, *lower, *p;
	struct stat st;
	int n = 0;

	snprintf(mnt, sizeof(mnt), "%s", c->rootfs);
	for (int i = 0; i < 5; i++) /* .../state/io.containerd.runtime.v2.task/default/<id>/rootfs */
		*strrchr(mnt, '/') = '\0';
	CU_ASSERT_EQUAL(priv_capture(&out, "findmnt -n -o FSTYPE,OPTIONS '%s'", c->rootfs), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(strncmp(out, "overlay", 7), 0);
	p = strstr(out, "upperdir=");
	CU_ASSERT_PTR_NOT_NULL(p ? strstr(p, "io.containerd.snapshotter.v1.overlayfs/snapshots/")
				 : NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/work"));
	lower = strstr(out, "lowerdir=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lower);
	lower += 9;
	lower[strcspn(lower, ",\n")] = '\0';
	for (char *tok = strtok(lower, ":"); tok; tok = strtok(NULL, ":"), n++) {
		CU_ASSERT_EQUAL(strcmp(tok + strlen(tok) - 3, "/fs"), 0);
		CU_ASSERT(stat(tok, &st) == 0 && S_ISDIR(st.st_mode));
	}
	CU_ASSERT_EQUAL(n, N_LAYERS + 1);
	free(out);
	snprintf(path, sizeof(path), "%s/io.containerd.snapshotter.v1.overlayfs/metadata.db", mnt);
	CU_ASSERT(stat(path, &st) == 0 && st.st_size > 4 * 4096);
	snprintf(path, sizeof(path), "%s/io.containerd.metadata.v1.bolt/meta.db", mnt);
	CU_ASSERT(stat(path, &st) == 0 && st.st_size > 4 * 4096);
}

static void run_backend(const char *name)
{
	struct stt_layer *img[N_LAYERS] = { 0 };
	struct stt_container *c[N_CONTAINERS] = { 0 }, *late = NULL;
	struct stt_backend_opts o;
	struct stt_backend *b = NULL;
	char workdir[PATH_MAX], jdir[PATH_MAX];
	size_t pending_image;
	int r;

	snprintf(workdir, sizeof(workdir), "%s/work-%s", priv_dir(), name);
	snprintf(jdir, sizeof(jdir), "%s/journal-%s", priv_dir(), name);
	suite_cleanup(); /* what an earlier failed test left */
	CU_ASSERT_EQUAL_FATAL(stt_journal_open(jdir, &j), 0);
	stt_backend_opts_init(&o);
	o.workdir = workdir;
	o.journal = j;
	o.scratch_bytes = 4ull << 30;
	o.data_bytes = 4ull << 30;
	o.meta_bytes = 128ull << 20;
	o.base_bytes = 1ull << 30;
	/* The VM tier gives direct-lvm its emulated NVMe disk (STT_PRIV_DEVICE=/dev/nvme0n1). */
	if (!strcmp(name, "direct-lvm") && getenv("STT_PRIV_DEVICE"))
		o.device = o.destroy_data = getenv("STT_PRIV_DEVICE");

	r = stt_backend_open(name, &o, &b);
	if (r)
		fprintf(stderr, "%s: %s\n", name, stt_err_msg());
	CU_ASSERT_EQUAL_FATAL(r, 0);

	for (int i = 0; i < N_LAYERS; i++) {
		r = stt_backend_layer_create(b, i ? img[i - 1] : NULL, fill_layer, &i, &img[i]);
		if (r)
			fprintf(stderr, "%s: layer %d: %s\n", name, i, stt_err_msg());
		CU_ASSERT_EQUAL_FATAL(r, 0);
	}
	pending_image = stt_journal_pending(j);

	for (int i = 0; i < N_CONTAINERS; i++) {
		r = stt_backend_container_create(b, img[N_LAYERS - 1], &c[i]);
		if (!r)
			r = stt_backend_container_start(b, c[i]);
		if (r)
			fprintf(stderr, "%s: container %d: %s\n", name, i, stt_err_msg());
		CU_ASSERT_EQUAL_FATAL(r, 0);
	}
	CU_ASSERT_EQUAL(write_at(c[0]->rootfs, "c0-only", 0, "x", true), 0);
	CU_ASSERT_EQUAL(write_at(c[0]->rootfs, "common", 0, "c0", true), 0);
	CU_ASSERT_EQUAL(write_at(c[0]->rootfs, "big", BIG_BYTES / 2, "ABCD", false), 0);
	for (int i = 0; i < N_CONTAINERS; i++)
		check_view(c[i]->rootfs, i == 0);
	if (!strcmp(name, "overlay"))
		check_overlay_layout(c[0], img);
	if (!strcmp(name, "containerd-overlayfs"))
		check_ctrd_layout(c[0]);

	/* A container made after the writes sees the image as it was. */
	CU_ASSERT_EQUAL_FATAL(stt_backend_container_create(b, img[N_LAYERS - 1], &late), 0);
	CU_ASSERT_EQUAL_FATAL(stt_backend_container_start(b, late), 0);
	check_view(late->rootfs, false);
	CU_ASSERT_EQUAL(stt_backend_container_remove(b, late), 0);

	/* Stop and start again: container 0 keeps its writes. */
	CU_ASSERT_EQUAL(stt_backend_container_stop(b, c[0]), 0);
	CU_ASSERT_EQUAL(stt_backend_container_start(b, c[0]), 0);
	check_view(c[0]->rootfs, true);

	for (int i = 0; i < N_CONTAINERS; i++) {
		r = stt_backend_container_remove(b, c[i]);
		if (r)
			fprintf(stderr, "%s: remove %d: %s\n", name, i, stt_err_msg());
		CU_ASSERT_EQUAL(r, 0);
	}
	/* Only the image's objects are left (for dm: its thin devices and the base). */
	CU_ASSERT_EQUAL(stt_journal_pending(j), pending_image);
	if (b->ops->pool_status) {
		struct stt_pool_status st;

		CU_ASSERT_EQUAL(stt_backend_pool_status(b, &st), 0);
		CU_ASSERT(st.data_used_blocks > 0);
		CU_ASSERT_FALSE(st.out_of_data_space);
	}
	for (int i = N_LAYERS; i-- > 0;)
		CU_ASSERT_EQUAL(stt_backend_layer_remove(b, img[i]), 0);
	r = stt_backend_close(b);
	if (r)
		fprintf(stderr, "%s: close: %s\n", name, stt_err_msg());
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(stt_journal_pending(j), 0);
	stt_journal_close(j);
	j = NULL;
	CU_ASSERT_TRUE(nothing_left(workdir));
	/* A real disk is left as it was found: no signature (no LVM2_member). */
	if (o.device)
		CU_ASSERT_EQUAL(priv_sh("[ -z \"$(blkid -p -o value -s TYPE %s)\" ]", o.device), 0);
	priv_sh("rmdir '%s' '%s' 2>/dev/null", workdir, jdir);
}

static void test_overlay(void)
{
	run_backend("overlay");
}

static void test_dmloop(void)
{
	run_backend("dm-loop");
}

static void test_directlvm(void)
{
	run_backend("direct-lvm");
}

static void test_ctrd_overlay(void)
{
	run_backend("containerd-overlayfs");
}

static void test_ctrd_devmapper(void)
{
	run_backend("containerd-devmapper");
}

/*
 * What `stortune backends` says of the dm backends matches the kernel: without
 * device-mapper they are unavailable with the reason, and selftest on them fails cleanly.
 */
static void test_availability(void)
{
	bool dm = priv_sh("grep -qw device-mapper /proc/misc") == 0;
	struct json_object *arr;
	char *out = NULL;

	CU_ASSERT_EQUAL(priv_capture(&out, "%s backends --json", priv_stortune()), 0);
	arr = out ? json_tokener_parse(out) : NULL;
	free(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
	{
		size_t n = 0;

		while (stt_backends[n])
			n++;
		CU_ASSERT_EQUAL(json_object_array_length(arr), n);
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *b = json_object_array_get_idx(arr, i), *v;
		const char *name = json_object_get_string(json_object_object_get(b, "backend"));
		bool avail;

		v = json_object_object_get(b, "available");
		avail = json_object_get_boolean(v);
		if (!strcmp(name, "overlay") || !strcmp(name, "containerd-overlayfs")) {
			CU_ASSERT_TRUE(avail);
			continue;
		}
		CU_ASSERT_EQUAL(avail, dm);
		if (!dm)
			CU_ASSERT_PTR_NOT_NULL(strstr(json_object_get_string(json_object_object_get(
							      b, "reason")),
						      "kernel has no device-mapper"));
	}
	json_object_put(arr);
	if (!dm) {
		CU_ASSERT_EQUAL(priv_capture(&out, "%s selftest --backend dm-loop 2>&1",
					     priv_stortune()),
				1);
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "dm-loop: unavailable: kernel has no "
							 "device-mapper")
					   : NULL);
		free(out);
	}
}

static bool required(const char *name)
{
	const char *req = getenv("STT_PRIV_REQUIRE");

	return req && strstr(req, name);
}

int priv_register_backends(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "overlay", test_overlay },
		{ "dm-loop", test_dmloop },
		{ "direct-lvm", test_directlvm },
		{ "containerd-overlayfs", test_ctrd_overlay },
		{ "containerd-devmapper", test_ctrd_devmapper },
	};
	CU_pSuite s = CU_add_suite("backends", NULL, suite_cleanup);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "availability matches the kernel", test_availability);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const struct stt_backend_ops *ops = stt_backend_lookup(tests[i].name);
		struct stt_backend_opts o;
		char reason[256] = "", title[128];

		stt_backend_opts_init(&o);
		if (ops->available(&o, reason, sizeof(reason)) && !required(tests[i].name)) {
			printf("backends: %s unavailable here: %s\n", tests[i].name, reason);
			continue;
		}
		snprintf(title, sizeof(title), "%s: %d layers, %d containers", tests[i].name,
			 N_LAYERS, N_CONTAINERS);
		CU_add_test(s, strdup(title), tests[i].fn);
	}
	return CU_get_error();
}
