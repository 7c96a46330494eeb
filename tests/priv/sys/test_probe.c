// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune probe against real loop devices: empty, ext4, xfs, an LVM PV, a GPT table, and
 * a mounted filesystem; and against this host (/).
 */
#include "priv.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

enum { IMG_EMPTY, IMG_EXT4, IMG_XFS, IMG_PV, IMG_GPT, IMG_MOUNTED, IMG_N };

static const char *const img_name[IMG_N] = { "empty", "ext4", "xfs", "pv", "gpt", "mounted" };
static char dev[IMG_N][64];
static char mnt[512];
static bool mounted;

static int attach(int i)
{
	char *out = NULL;
	int r;

	r = priv_capture(&out, "losetup --find --show '%s/%s.img'", priv_dir(), img_name[i]);
	if (r == 0 && out) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(dev[i], sizeof(dev[i]), "%s", out);
	}
	free(out);
	return r == 0 && dev[i][0] ? 0 : -1;
}

static int suite_init(void)
{
	const char *d = priv_dir();

	for (int i = 0; i < IMG_N; i++) {
		/* mkfs.xfs wants at least 300 MiB; the files are sparse. */
		if (priv_sh("truncate -s %s '%s/%s.img'", i == IMG_XFS ? "320M" : "64M", d,
			    img_name[i]))
			return -1;
	}
	if (priv_sh("mkfs.ext4 -q -F '%s/ext4.img'", d) ||
	    priv_sh("mkfs.xfs -q -f '%s/xfs.img'", d) ||
	    priv_sh("mkfs.ext4 -q -F '%s/mounted.img'", d) ||
	    priv_sh("printf 'label: gpt\\n,16M\\n' | sfdisk -q '%s/gpt.img'", d))
		return -1;
	for (int i = 0; i < IMG_N; i++)
		if (attach(i))
			return -1;
	if (priv_sh("pvcreate -q -y %s >/dev/null", dev[IMG_PV]))
		return -1;
	snprintf(mnt, sizeof(mnt), "%s/mnt", d);
	if (priv_sh("mkdir -p '%s' && mount %s '%s'", mnt, dev[IMG_MOUNTED], mnt))
		return -1;
	mounted = true;
	return 0;
}

static int suite_cleanup(void)
{
	int bad = 0;

	if (mounted && priv_sh("umount '%s'", mnt))
		bad = -1;
	for (int i = 0; i < IMG_N; i++) {
		if (!dev[i][0])
			continue;
		if (i == IMG_PV)
			priv_sh("pvremove -q -y %s >/dev/null 2>&1", dev[i]);
		if (priv_sh("losetup -d %s", dev[i]))
			bad = -1;
	}
	return bad;
}

/* Runs stortune with @args; returns the parsed JSON of stdout (or NULL) and the status. */
static struct json_object *probe_json(const char *args, int *status)
{
	struct json_object *o;
	char *out;

	*status = priv_capture(&out, "%s probe --json --quiet %s", priv_stortune(), args);
	o = out ? json_tokener_parse(out) : NULL;
	free(out);
	return o;
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		o = json_object_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

static bool has_sig(struct json_object *t, const char *type, const char *usage)
{
	struct json_object *sigs = get(t, "signatures");

	for (size_t i = 0; sigs && i < json_object_array_length(sigs); i++) {
		struct json_object *s = json_object_array_get_idx(sigs, i);

		if (!strcmp(json_object_get_string(get(s, "type")), type) &&
		    !strcmp(json_object_get_string(get(s, "usage")), usage))
			return true;
	}
	return false;
}

static const char *verdict(struct json_object *t)
{
	return json_object_get_string(get(t, "verdict"));
}

/* One run over all six devices, in order; each is checked against what was made. */
static void test_devices(void)
{
	char args[1024] = "--no-mount-test", want[256];
	struct json_object *o, *ts, *t;
	int st;

	for (int i = 0; i < IMG_N; i++) {
		strcat(args, " ");
		strcat(args, dev[i]);
	}
	o = probe_json(args, &st);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	ts = get(o, "targets");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(ts), IMG_N);
	for (int i = 0; i < IMG_N; i++) {
		t = json_object_array_get_idx(ts, i);
		CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "path")), dev[i]);
		CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "kind")), "block");
		CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "transport")), "loop");
		CU_ASSERT_EQUAL(json_object_get_int(get(t, "logical_block_size")), 512);
		CU_ASSERT_EQUAL(json_object_get_int64(get(t, "size_bytes")),
				i == IMG_XFS ? 320ll << 20 : 64ll << 20);
	}

	t = json_object_array_get_idx(ts, IMG_EMPTY);
	CU_ASSERT_EQUAL(json_object_array_length(get(t, "signatures")), 0);
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "exclusive_open")));
	snprintf(want, sizeof(want), "free to use with --destroy-data %s", dev[IMG_EMPTY]);
	CU_ASSERT_STRING_EQUAL(verdict(t), want);

	t = json_object_array_get_idx(ts, IMG_EXT4);
	CU_ASSERT_TRUE(has_sig(t, "ext4", "filesystem"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_STRING_EQUAL(verdict(t), "in use: has an ext4 filesystem");

	t = json_object_array_get_idx(ts, IMG_XFS);
	CU_ASSERT_TRUE(has_sig(t, "xfs", "filesystem"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_STRING_EQUAL(verdict(t), "in use: has an xfs filesystem");

	t = json_object_array_get_idx(ts, IMG_PV);
	CU_ASSERT_TRUE(has_sig(t, "LVM2_member", "raid"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_STRING_EQUAL(verdict(t), "in use: is an LVM physical volume (LVM2_member)");

	t = json_object_array_get_idx(ts, IMG_GPT);
	CU_ASSERT_TRUE(has_sig(t, "gpt", "partition table"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_PTR_NOT_NULL(strstr(verdict(t), "has a gpt partition table"));

	t = json_object_array_get_idx(ts, IMG_MOUNTED);
	CU_ASSERT_TRUE(has_sig(t, "ext4", "filesystem"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "free_to_use")));
	CU_ASSERT_FALSE(json_object_get_boolean(get(t, "exclusive_open")));
	CU_ASSERT_EQUAL(json_object_array_length(get(t, "mounts")), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(get(t, "mounts"),
										 0)),
			       mnt);
	snprintf(want, sizeof(want),
		 "in use: has an ext4 filesystem; mounted on %s; cannot be opened exclusively "
		 "(Device or resource busy)",
		 mnt);
	CU_ASSERT_STRING_EQUAL(verdict(t), want);
	json_object_put(o);
}

/* A directory on the mounted ext4: the filesystem and device under it. */
static void test_directory(void)
{
	struct json_object *o, *t;
	char args[600];
	int st;

	snprintf(args, sizeof(args), "--no-mount-test '%s'", mnt);
	o = probe_json(args, &st);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	t = json_object_array_get_idx(get(o, "targets"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "kind")), "directory");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "fstype")), "ext4");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "mountpoint")), mnt);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "source")), dev[IMG_MOUNTED]);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "block_device")),
			       dev[IMG_MOUNTED] + strlen("/dev/"));
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "d_type")));
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "writable")));
	/* 64 MiB ext4: the free space is real and below the size. */
	CU_ASSERT(json_object_get_int64(get(t, "free_bytes")) > 0);
	CU_ASSERT(json_object_get_int64(get(t, "free_bytes")) <
		  json_object_get_int64(get(t, "size_bytes")));
	CU_ASSERT(json_object_get_int64(get(t, "size_bytes")) <= 64ll << 20);
	/* The d_type check removed its temporary directory. */
	CU_ASSERT_EQUAL(priv_sh("ls -A '%s' | grep -q stortune-dtype", mnt), 1);
	json_object_put(o);
}

/* An xfs mount reports its ftype flag. */
static void test_xfs_ftype(void)
{
	char xm[600], args[700];
	struct json_object *o, *t;
	int st;

	snprintf(xm, sizeof(xm), "%s/xfsmnt", priv_dir());
	CU_ASSERT_EQUAL_FATAL(priv_sh("mkdir -p '%s' && mount %s '%s'", xm, dev[IMG_XFS], xm), 0);
	snprintf(args, sizeof(args), "--no-mount-test '%s'", xm);
	o = probe_json(args, &st);
	priv_sh("umount '%s'", xm);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	t = json_object_array_get_idx(get(o, "targets"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "fstype")), "xfs");
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "xfs_ftype")));
	CU_ASSERT_TRUE(json_object_get_boolean(get(t, "d_type")));
	json_object_put(o);
}

/* The host, with the quota test: facts as this kernel has them, and nothing left. */
static void test_host(void)
{
	bool want_dm, want_overlay;
	struct json_object *o, *k, *t;
	char args[600], *fstype = NULL;
	int st;

	want_dm = priv_sh("grep -qw device-mapper /proc/misc") == 0;
	want_overlay = priv_sh("grep -qw overlay /proc/filesystems") == 0 ||
		       priv_sh("grep -q '/overlay.ko' /lib/modules/$(uname -r)/modules.dep") == 0;
	CU_ASSERT_EQUAL(priv_capture(&fstype, "findmnt -n -o FSTYPE --target /"), 0);
	fstype[strcspn(fstype, "\n")] = '\0';

	snprintf(args, sizeof(args), "--workdir '%s/work' /", priv_dir());
	o = probe_json(args, &st);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "schema")), "stortune-probe");
	k = get(o, "host.kernel");
	CU_ASSERT_EQUAL(json_object_get_boolean(get(k, "device_mapper.present")), want_dm);
	CU_ASSERT_EQUAL(json_object_get_boolean(get(k, "overlayfs")), want_overlay);
	CU_ASSERT_TRUE(json_object_get_boolean(get(k, "loop")));
	if (!want_dm)
		CU_ASSERT_PTR_NOT_NULL(
			strstr(json_object_get_string(get(k, "device_mapper.reason")),
			       "kernel has no device-mapper"));
	/* The quota test ran (yes or no, not unknown) and left nothing in the workdir. */
	CU_ASSERT_PTR_NOT_NULL(get(k, "xfs_pquota"));
	CU_ASSERT_STRING_NOT_EQUAL(json_object_get_string(get(k, "xfs_pquota")), "unknown");
	CU_ASSERT_EQUAL(priv_sh("[ -z \"$(ls -A '%s/work')\" ]", priv_dir()), 0);
	CU_ASSERT(json_object_get_int64(get(k, "async_io.aio_max_nr")) > 0);

	t = json_object_array_get_idx(get(o, "targets"), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "path")), "/");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(t, "fstype")), fstype);
	free(fstype);
	json_object_put(o);
}

static void test_bad_input(void)
{
	char *out = NULL;

	CU_ASSERT_EQUAL(priv_capture(&out, "%s probe /nonexistent/dev 2>&1", priv_stortune()), 2);
	CU_ASSERT_STRING_EQUAL(out, "stortune probe: /nonexistent/dev: does not exist\n");
	free(out);
	CU_ASSERT_EQUAL(priv_capture(&out, "%s probe /dev/null 2>&1", priv_stortune()), 2);
	CU_ASSERT_STRING_EQUAL(out, "stortune probe: /dev/null: is neither a directory nor a "
				    "block device\n");
	free(out);
	/* A bad path among good ones: refused before anything, nothing on stdout. */
	CU_ASSERT_EQUAL(priv_capture(&out, "%s probe --json %s /nonexistent 2>/dev/null",
				     priv_stortune(), dev[IMG_EMPTY]),
			2);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT_EQUAL(priv_sh("%s probe --json --no-mount-test %s >/dev/full 2>/dev/null",
				priv_stortune(), dev[IMG_EMPTY]),
			1);
}

static int first_mib(const char *dev, char *buf)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, 1 << 20, 0);
	close(fd);
	return n == 1 << 20 ? 0 : -1;
}

/*
 * A device with a filesystem, an LVM PV, a partition table, a mounted one, and one not
 * named by --destroy-data: each refused with its reason, exit 2, its first MiB unchanged.
 */
static void test_refusals(void)
{
	static const struct {
		int img, consent; /* --destroy-data names dev[consent] */
		const char *why;
	} cases[] = {
		{ IMG_EXT4, IMG_EXT4, "has an ext4 filesystem; refusing" },
		{ IMG_XFS, IMG_XFS, "has an xfs filesystem; refusing" },
		{ IMG_PV, IMG_PV, "is an LVM physical volume (LVM2_member); refusing" },
		{ IMG_GPT, IMG_GPT, "has a gpt partition table" },
		{ IMG_MOUNTED, IMG_MOUNTED, "mounted on " },
		{ IMG_EMPTY, IMG_EXT4, "--destroy-data names " },
		{ IMG_EMPTY, -1, "refusing to write a device without --destroy-data" },
	};
	char *before = malloc(1 << 20), *after = malloc(1 << 20), *out = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *d = dev[cases[i].img];
		char consent[128] = "";
		char want[256];

		if (cases[i].consent >= 0)
			snprintf(consent, sizeof(consent), "--destroy-data %s",
				 dev[cases[i].consent]);
		CU_ASSERT_EQUAL_FATAL(first_mib(d, before), 0);
		/* selftest, backends: both apply the rule before anything is made. */
		CU_ASSERT_EQUAL(priv_capture(&out,
					     "%s selftest --backend direct-lvm --device %s %s "
					     "--workdir '%s/refuse' 2>&1",
					     priv_stortune(), d, consent, priv_dir()),
				2);
		snprintf(want, sizeof(want), "stortune selftest: %s: ", d);
		CU_ASSERT_EQUAL(strncmp(out, want, strlen(want)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, cases[i].why));
		/* One line. */
		CU_ASSERT_PTR_NOT_NULL(strchr(out, '\n'));
		CU_ASSERT_EQUAL(strchr(out, '\n')[1], '\0');
		if (!strstr(out, cases[i].why))
			fprintf(stderr, "got: %s", out);
		free(out);
		CU_ASSERT_EQUAL(priv_sh("%s backends --device %s %s >/dev/null 2>&1",
					priv_stortune(), d, consent),
				2);
		CU_ASSERT_EQUAL_FATAL(first_mib(d, after), 0);
		CU_ASSERT_EQUAL(memcmp(before, after, 1 << 20), 0);
	}
	/* Nothing was made: no workdir, no journal left behind. */
	CU_ASSERT_NOT_EQUAL(priv_sh("[ -e '%s/refuse' ]", priv_dir()), 0);
	free(before);
	free(after);
}

int priv_register_probe(void)
{
	CU_pSuite s = CU_add_suite("probe", suite_init, suite_cleanup);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "six loop devices: signatures and verdicts", test_devices);
	CU_add_test(s, "a directory on a mounted ext4", test_directory);
	CU_add_test(s, "xfs ftype", test_xfs_ftype);
	CU_add_test(s, "this host", test_host);
	CU_add_test(s, "bad input", test_bad_input);
	CU_add_test(s, "refusals: devices in use and without consent", test_refusals);
	return CU_get_error();
}
