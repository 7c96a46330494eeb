// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Importing a real image: Debian's dockerd (docker.io) runs natively with its own data root
 * (scripts/dockerd-test.sh). A rootfs with directories, files, a setuid one, a file owned by a
 * user, symlinks, hard links, a sticky directory, a 3 MB file, a long name and a fifo is
 * `docker import`ed; two more layers are made with `docker run` + `docker commit`: they delete
 * files and directories, replace a directory's contents (an opaque directory), modify, chmod
 * and hard-link lower files, turn a directory into a file and a file into a directory, and
 * bring a deleted path back. Then `docker save` of that image, imported by stortune and filled
 * layer by layer into one directory, must be the same tree as `docker export` of a container
 * of it (paths, types, modes, owners, sizes, contents, symlink targets), as must an overlay
 * mount of the layers filled overlay's way (whiteouts as 0/0 character devices).
 *
 * The suite is registered only when dockerd starts (it says why not otherwise); it stops
 * dockerd at the end and fails when anything of it is left. A second suite, without Docker,
 * checks generated images the same way: overlay of the layers against one directory.
 */
#include "priv.h"

#include "base/err.h"
#include "workload/image.h"
#include "workload/profile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char ddir[PATH_MAX]; /* the dockerd's */
static char work[PATH_MAX];
static char docker[PATH_MAX + 64]; /* "docker -H unix://.../docker.sock" */
static bool running;
static struct stt_image *img;

/* What `docker export` adds to every container (the "-init" layer, /.dockerenv), and the fifo
 * the import skips. */
static const char *const ignore[] = { ".dockerenv",    "dev",	       "proc",	    "sys",
				      "etc/hostname", "etc/hosts",     "etc/mtab",
				      "etc/resolv.conf", "opt/fifo",   NULL };

static int dockerd_stop(void)
{
	return priv_dockerd_stop(ddir, &running);
}

static void stop_at_exit(void)
{
	dockerd_stop();
}

static int suite_clean(void)
{
	stt_image_free(img);
	img = NULL;
	dockerd_stop();
	priv_sh("umount '%s/merged' 2>/dev/null; rm -rf '%s'", work, work);
	return 0;
}

/* The rootfs, image A (imported), B and C (run + commit), c.tar (save), export.tar. */
static const char build[] =
	"set -e; cd '%1$s'; umask 022; R=rootfs\n"
	"mkdir -p $R/bin $R/etc $R/opt/rep/sub $R/opt/gone/deep $R/opt/d2 $R/tmp $R/usr/lib\n"
	"mkdir -p $R/home/user $R/var/private\n"
	"cp /bin/busybox $R/bin/busybox; ln -s busybox $R/bin/sh\n"
	"printf 'a\\n' > $R/etc/a; ln $R/etc/a $R/etc/a-hard; printf del > $R/etc/del-me\n"
	": > $R/etc/empty; printf run > $R/bin/tool; chmod 4755 $R/bin/tool\n"
	"printf x > $R/opt/rep/x; printf y > $R/opt/rep/sub/y; printf g > $R/opt/gone/deep/g\n"
	"printf f > $R/opt/d2/f; printf f2 > $R/opt/f2; mkfifo $R/opt/fifo\n"
	"printf l > $R/opt/$(printf 'n%%.0s' $(seq 1 150))\n"
	"chmod 1777 $R/tmp; printf s > $R/var/private/secret; chmod 600 $R/var/private/secret\n"
	"chmod 700 $R/var/private; head -c 3000000 /dev/urandom > $R/usr/lib/big.so\n"
	"printf u > $R/home/user/file; ln -s file $R/home/user/link\n"
	"chown -h 1000:1000 $R/home/user $R/home/user/file $R/home/user/link\n"
	"tar --numeric-owner -cf rootfs.tar -C $R .\n"
	"%2$s import rootfs.tar stt-test-a >/dev/null\n"
	"%2$s run --network none --name stt-test-b stt-test-a /bin/sh -c '"
	"rm /etc/del-me && rm -rf /opt/gone && "
	"rm -rf /opt/rep && mkdir -p /opt/rep/sub && echo new > /opt/rep/new && "
	"echo z > /opt/rep/sub/z && echo more >> /etc/a && ln -s /etc/a /etc/a-link && "
	"chmod 600 /usr/lib/big.so && ln /usr/lib/big.so /usr/lib/big-link.so && "
	"rm -rf /opt/d2 && echo now-a-file > /opt/d2 && "
	"rm /opt/f2 && mkdir /opt/f2 && echo in > /opt/f2/in && "
	"mkdir /opt/new-dir && chmod 750 /opt/new-dir'\n"
	"%2$s commit stt-test-b stt-test-b >/dev/null; %2$s rm stt-test-b >/dev/null\n"
	"%2$s run --network none --name stt-test-c stt-test-b /bin/sh -c '"
	"echo back > /etc/del-me && rm /opt/rep/new && mkdir -p /opt/gone && "
	"echo again > /opt/gone/g2'\n"
	"%2$s commit stt-test-c stt-test-c >/dev/null; %2$s rm stt-test-c >/dev/null\n"
	"%2$s save stt-test-c -o c.tar\n"
	"%2$s create --name stt-test-export stt-test-c /bin/true >/dev/null\n"
	"%2$s export stt-test-export -o export.tar; %2$s rm stt-test-export >/dev/null\n"
	"mkdir export; tar -C export --numeric-owner -xpf export.tar\n";

static void test_docker_images(void)
{
	char cmd[8192];

	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", work), 0);
	snprintf(cmd, sizeof(cmd), build, work, docker);
	CU_ASSERT_EQUAL_FATAL(priv_sh("%s", cmd), 0);
}

static void test_import(void)
{
	const struct stt_image_stats *s0, *s1, *s2;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/c.tar", work);
	if (stt_image_open_docker_save(path, &img)) {
		fprintf(stderr, "\n%s\n", stt_err_msg());
		CU_FAIL_FATAL("import of docker save");
	}
	CU_ASSERT_EQUAL_FATAL(stt_image_layer_count(img), 3);
	s0 = stt_image_layer_stats(img, 0);
	s1 = stt_image_layer_stats(img, 1);
	s2 = stt_image_layer_stats(img, 2);
	CU_ASSERT_EQUAL(s0->skipped, 1); /* the fifo */
	CU_ASSERT(s0->hardlinks >= 1);
	CU_ASSERT(s0->symlinks >= 2);
	CU_ASSERT(s0->files >= 10);
	/* etc/del-me, opt/gone, and what the opaque opt/rep hides: x, sub/y */
	CU_ASSERT(s1->deletes >= 4);
	CU_ASSERT(s1->opaque_dirs >= 1);
	CU_ASSERT(s1->hardlinks >= 1);
	CU_ASSERT(s2->deletes >= 1); /* opt/rep/new */
	CU_ASSERT(stt_image_startup_set(img)->n_read >= 1);
	CU_ASSERT(stt_image_totals(img)->bytes >= 3000000);
}

/* Lists @a and @b (ignoring what export adds) and compares; shows a diff when they differ. */
static void compare_trees(const char *a, const char *b, const char *what)
{
	char *la = NULL, *lb = NULL, fa[PATH_MAX], fb[PATH_MAX];
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(a, ignore, &la), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_tree_list(b, ignore, &lb), 0);
	CU_ASSERT(strlen(la) > 100);
	if (strcmp(la, lb)) {
		snprintf(fa, sizeof(fa), "%s/%s.list", work, what);
		snprintf(fb, sizeof(fb), "%s/export.list", work);
		if ((f = fopen(fa, "w"))) {
			fputs(la, f);
			fclose(f);
		}
		if ((f = fopen(fb, "w"))) {
			fputs(lb, f);
			fclose(f);
		}
		fprintf(stderr, "\n%s differs from docker export:\n", what);
		priv_sh("diff '%s' '%s' >&2", fa, fb);
	}
	CU_ASSERT_STRING_EQUAL(la, lb);
	free(la);
	free(lb);
}

/* The layers in order into one directory (deletions as removals): docker export's tree. */
static void test_same_tree(void)
{
	char ours[PATH_MAX], exported[PATH_MAX];
	struct stt_layer_writer w = { .root = ours, .whiteout_chardev = false };

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	snprintf(ours, sizeof(ours), "%s/ours", work);
	snprintf(exported, sizeof(exported), "%s/export", work);
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", ours), 0);
	for (unsigned int l = 0; l < stt_image_layer_count(img); l++) {
		if (stt_image_fill(&w, stt_image_layer_arg(img, l))) {
			fprintf(stderr, "\nlayer %u: %s\n", l + 1, stt_err_msg());
			CU_FAIL_FATAL("fill");
		}
	}
	compare_trees(ours, exported, "filled");
	/* what the export tree shows, spelled out for a few entries */
	CU_ASSERT_EQUAL(priv_sh("cd '%s' && [ \"$(cat etc/a)\" = \"$(printf 'a\\nmore')\" ] && "
				"[ \"$(cat etc/a-hard)\" = a ] && [ ! -e opt/rep/x ] && "
				"[ ! -e opt/rep/new ] && [ -f opt/rep/sub/z ] && "
				"[ ! -e opt/rep/sub/y ] && [ -f opt/d2 ] && [ -f opt/f2/in ] && "
				"[ -f opt/gone/g2 ] && "
				"[ ! -e opt/gone/deep ] && [ \"$(cat etc/del-me)\" = back ] && "
				"[ \"$(stat -c %%a:%%u bin/tool home/user/file)\" = \"$(printf "
				"'4755:0\\n644:1000')\" ]",
				ours),
			0);
}

/* Overlay's way: a directory per layer, whiteouts as 0/0 devices, mounted as overlay. */
static void test_overlay_tree(void)
{
	char opts[4 * PATH_MAX], layer[PATH_MAX], merged[PATH_MAX], exported[PATH_MAX];
	unsigned int n;
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	n = stt_image_layer_count(img);
	snprintf(opts, sizeof(opts), "lowerdir=");
	for (unsigned int l = n; l-- > 0;) {
		struct stt_layer_writer w = { .root = layer, .whiteout_chardev = true };

		snprintf(layer, sizeof(layer), "%s/layer%u", work, l);
		CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", layer), 0);
		if (stt_image_fill(&w, stt_image_layer_arg(img, l))) {
			fprintf(stderr, "\nlayer %u: %s\n", l + 1, stt_err_msg());
			CU_FAIL_FATAL("fill");
		}
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s",
			 l == n - 1 ? "" : ":", layer);
	}
	snprintf(merged, sizeof(merged), "%s/merged", work);
	snprintf(exported, sizeof(exported), "%s/export", work);
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", merged), 0);
	r = mount("overlay", merged, "overlay", MS_RDONLY, opts);
	if (r)
		fprintf(stderr, "\nmount overlay %s: %s\n", opts, strerror(errno));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	compare_trees(merged, exported, "overlay");
	CU_ASSERT_EQUAL(umount2(merged, 0), 0);
}

/*
 * A generated image filled overlay's way (a directory per layer, whiteouts as 0/0 devices) and
 * mounted as overlay shows the tree of the same image filled layer after layer into one
 * directory, byte for byte.
 */
static void check_generated(const char *profile)
{
	char opts[8192], layer[PATH_MAX], merged[PATH_MAX], plain[PATH_MAX], base[PATH_MAX];
	char *lp = NULL, *lm = NULL;
	struct stt_image *gen = NULL;
	struct stt_profile p;
	unsigned int n;
	int r;

	snprintf(base, sizeof(base), "%s/gen-%s", work, profile);
	snprintf(plain, sizeof(plain), "%s/plain", base);
	snprintf(merged, sizeof(merged), "%s/merged", base);
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s' '%s'", plain, merged), 0);
	CU_ASSERT_EQUAL_FATAL(stt_profile_load(profile, &p), 0);
	CU_ASSERT_EQUAL_FATAL(stt_image_generate(&p, &gen), 0);
	n = stt_image_layer_count(gen);
	snprintf(opts, sizeof(opts), "lowerdir=");
	for (unsigned int l = n; l-- > 0;) {
		struct stt_layer_writer ow = { .root = layer, .whiteout_chardev = true };

		snprintf(layer, sizeof(layer), "%s/layer%u", base, l);
		CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s'", layer), 0);
		CU_ASSERT_EQUAL_FATAL(stt_image_fill(&ow, stt_image_layer_arg(gen, l)), 0);
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s",
			 l == n - 1 ? "" : ":", layer);
	}
	for (unsigned int l = 0; l < n; l++) {
		struct stt_layer_writer pw = { .root = plain, .whiteout_chardev = false };

		CU_ASSERT_EQUAL_FATAL(stt_image_fill(&pw, stt_image_layer_arg(gen, l)), 0);
	}
	r = mount("overlay", merged, "overlay", MS_RDONLY, opts);
	if (r)
		fprintf(stderr, "\nmount overlay %s: %s\n", opts, strerror(errno));
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL(stt_image_tree_list(plain, NULL, &lp), 0);
	CU_ASSERT_EQUAL(stt_image_tree_list(merged, NULL, &lm), 0);
	CU_ASSERT(lp && lm && !strcmp(lp, lm));
	CU_ASSERT_EQUAL(priv_sh("diff -r '%s' '%s' >/dev/null", plain, merged), 0);
	CU_ASSERT_EQUAL(umount2(merged, 0), 0);
	priv_sh("rm -rf '%s'", base);
	free(lp);
	free(lm);
	stt_image_free(gen);
	stt_profile_release(&p);
}

static void test_generated_ci(void)
{
	check_generated("ci");
}

static void test_generated_python(void)
{
	check_generated("python-app");
}

static int gen_init(void)
{
	const char *d = getenv("STT_PROFILE_DIR");

	return setenv("STT_PROFILE_DIR", d && *d ? d : "profiles", 1);
}

static int gen_clean(void)
{
	priv_sh("umount '%s'/gen-*/merged 2>/dev/null; rm -rf '%s'", work, work);
	return 0;
}

/* dockerd stopped: no process, mount, directory or cgroup of it left. */
static void test_stop(void)
{
	CU_ASSERT_EQUAL(dockerd_stop(), 0);
	/* (awk's own command line holds the parts, never the joined path) */
	CU_ASSERT_NOT_EQUAL(priv_sh("ps -eo args | awk -v d='%s' 'index($0, d \"/exec/\") || "
				    "index($0, d \"/root \") { found = 1 } END { exit !found }'",
				    ddir),
			    0);
	CU_ASSERT_NOT_EQUAL(priv_sh("grep -qF ' %s' /proc/self/mountinfo", ddir), 0);
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s' ]", ddir), 0);
}

int priv_register_image(void)
{
	CU_pSuite s;
	int r;

	snprintf(ddir, sizeof(ddir), "%s/dockerd", priv_dir());
	snprintf(work, sizeof(work), "%s/image", priv_dir());
	snprintf(docker, sizeof(docker), "%s -H unix://%s/docker.sock",
		 access("/usr/bin/docker", X_OK) ? "docker" : "/usr/bin/docker", ddir);

	s = CU_add_suite("image (generated, overlay)", gen_init, gen_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "ci: overlay of the layers = the layers in one directory",
		    test_generated_ci);
	CU_add_test(s, "python-app: overlay of the layers = the layers in one directory",
		    test_generated_python);

	r = priv_sh("'%s' start '%s'", priv_dockerd_script(), ddir);
	if (r) {
		fprintf(stderr, "priv: image: skipped: dockerd cannot start (%s start: exit %d)\n",
			priv_dockerd_script(), r);
		return CUE_SUCCESS;
	}
	running = true;
	atexit(stop_at_exit);
	s = CU_add_suite("image (docker save vs docker export)", NULL, suite_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "docker import, run + commit twice, save, export", test_docker_images);
	CU_add_test(s, "import of the docker save tar", test_import);
	CU_add_test(s, "filled layer by layer: the tree of docker export", test_same_tree);
	CU_add_test(s, "overlay of the layers: the tree of docker export", test_overlay_tree);
	CU_add_test(s, "dockerd stopped, nothing left", test_stop);
	return CU_get_error();
}
