// SPDX-License-Identifier: GPL-2.0-or-later
/* The parsers of /proc and /sys text, fed with samples captured on real hosts. */
#include "unit.h"

#include "sys/sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sample(const char *name)
{
	char path[512], *text = NULL;

	snprintf(path, sizeof(path), "%s/%s", unit_data_dir(), name);
	CU_ASSERT_FATAL(stt_sysfs_slurp(path, &text) == 0);
	return text;
}

static void test_locks(void)
{
	char *t = sample("locks.sample");

	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 0xfe, 0, 10969103), 24418);
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 0xfe, 0, 1237427), 23919);
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 0x103, 2, 1213975), 23630);
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 0xfe, 0, 10969104), -ENOENT); /* a waiter */
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 8, 1, 12), -ENOENT);	    /* no pid (OFD) */
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder(t, 0xfe, 1, 10969103), -ENOENT);
	CU_ASSERT_EQUAL(stt_sysfs_lock_holder("", 0, 0, 0), -ENOENT);
	free(t);
}

static void test_filesystems(void)
{
	char *t = sample("filesystems.host");

	CU_ASSERT_TRUE(stt_sysfs_has_filesystem(t, "overlay"));
	CU_ASSERT_TRUE(stt_sysfs_has_filesystem(t, "xfs"));
	CU_ASSERT_TRUE(stt_sysfs_has_filesystem(t, "ext4"));
	CU_ASSERT_TRUE(stt_sysfs_has_filesystem(t, "proc"));
	CU_ASSERT_FALSE(stt_sysfs_has_filesystem(t, "nodev"));
	CU_ASSERT_FALSE(stt_sysfs_has_filesystem(t, "ext"));
	CU_ASSERT_FALSE(stt_sysfs_has_filesystem(t, "zfs"));
	free(t);
	CU_ASSERT_TRUE(stt_sysfs_has_filesystem("nodev\tsysfs\n\text4\n", "ext4"));
	CU_ASSERT_FALSE(stt_sysfs_has_filesystem("", "ext4"));
}

static void test_misc(void)
{
	char *t = sample("misc.dm.sample"), *h = sample("misc.host");

	CU_ASSERT_EQUAL(stt_sysfs_misc_minor(t, "device-mapper"), 236);
	CU_ASSERT_EQUAL(stt_sysfs_misc_minor(t, "loop-control"), 237);
	CU_ASSERT_EQUAL(stt_sysfs_misc_minor(t, "vga_arbiter"), 60);
	/* This machine's kernel has no device-mapper. */
	CU_ASSERT_EQUAL(stt_sysfs_misc_minor(h, "device-mapper"), -ENOENT);
	CU_ASSERT_EQUAL(stt_sysfs_misc_minor(h, "loop-control"), 237);
	free(t);
	free(h);
}

static void test_scheduler(void)
{
	char s[32];

	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("[mq-deadline] kyber bfq none", s, sizeof(s)),
			0);
	CU_ASSERT_STRING_EQUAL(s, "mq-deadline");
	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("mq-deadline kyber [none]\n", s, sizeof(s)), 0);
	CU_ASSERT_STRING_EQUAL(s, "none");
	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("none", s, sizeof(s)), 0);
	CU_ASSERT_STRING_EQUAL(s, "none");
	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("", s, sizeof(s)), -EINVAL);
	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("a b", s, sizeof(s)), -EINVAL);
	CU_ASSERT_EQUAL(stt_sysfs_parse_scheduler("[]", s, sizeof(s)), -EINVAL);
}

static void test_mountinfo_line(void)
{
	char line[] = "88 26 7:3 / /mnt/with\\040space rw,relatime shared:44 - xfs /dev/loop3 "
		      "rw,attr2,noquota";
	char bad[] = "not a mountinfo line";
	char noopt[] = "22 21 0:21 / /proc rw,relatime - proc proc rw";
	struct stt_mountinfo m;

	CU_ASSERT_EQUAL_FATAL(stt_sysfs_parse_mountinfo(line, &m), 0);
	CU_ASSERT_EQUAL(m.major, 7);
	CU_ASSERT_EQUAL(m.minor, 3);
	CU_ASSERT_STRING_EQUAL(m.mountpoint, "/mnt/with space");
	CU_ASSERT_STRING_EQUAL(m.fstype, "xfs");
	CU_ASSERT_STRING_EQUAL(m.source, "/dev/loop3");
	CU_ASSERT_STRING_EQUAL(m.options, "rw,relatime");
	CU_ASSERT_STRING_EQUAL(m.super_opts, "rw,attr2,noquota");
	CU_ASSERT_EQUAL(stt_sysfs_parse_mountinfo(bad, &m), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(stt_sysfs_parse_mountinfo(noopt, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.fstype, "proc");
}

static void test_find_mount(void)
{
	char *t = sample("mountinfo.sample"), mp[256], fs[32], src[256];

	/* The longest matching mount point on the same device wins. */
	CU_ASSERT_EQUAL(stt_sysfs_find_mount(t, "/var/lib/docker/overlay2", 7, 3, mp, sizeof(mp),
					     fs, sizeof(fs), src, sizeof(src)),
			0);
	CU_ASSERT_STRING_EQUAL(mp, "/var/lib/docker");
	CU_ASSERT_STRING_EQUAL(fs, "xfs");
	CU_ASSERT_STRING_EQUAL(src, "/dev/loop3");
	/* A prefix in name only is not a parent ("/var/lib/dockerx"). */
	CU_ASSERT_EQUAL(stt_sysfs_find_mount(t, "/var/lib/dockerx", 7, 3, mp, sizeof(mp), fs,
					     sizeof(fs), src, sizeof(src)),
			-ENOENT);
	CU_ASSERT_EQUAL(stt_sysfs_find_mount(t, "/home/user", 259, 2, mp, sizeof(mp), fs,
					     sizeof(fs), src, sizeof(src)),
			0);
	CU_ASSERT_STRING_EQUAL(mp, "/");
	CU_ASSERT_STRING_EQUAL(fs, "ext4");
	CU_ASSERT_STRING_EQUAL(src, "/dev/nvme0n1p2");
	CU_ASSERT_EQUAL(stt_sysfs_find_mount(t, "/mnt/with space/x", 7, 3, mp, sizeof(mp), fs,
					     sizeof(fs), src, sizeof(src)),
			0);
	CU_ASSERT_STRING_EQUAL(mp, "/mnt/with space");
	free(t);

	t = sample("mountinfo.host");
	CU_ASSERT_EQUAL(stt_sysfs_find_mount(t, "/proc/self", 0, 21, mp, sizeof(mp), fs,
					     sizeof(fs), src, sizeof(src)),
			0);
	CU_ASSERT_STRING_EQUAL(fs, "proc");
	free(t);
}

static void test_mounts_of(void)
{
	char *t = sample("mountinfo.sample"), out[256];

	CU_ASSERT_EQUAL(stt_sysfs_mounts_of(t, 7, 3, out, sizeof(out)), 2);
	CU_ASSERT_STRING_EQUAL(out, "/mnt/with space, /var/lib/docker");
	CU_ASSERT_EQUAL(stt_sysfs_mounts_of(t, 253, 0, out, sizeof(out)), 1);
	CU_ASSERT_STRING_EQUAL(out, "/data");
	CU_ASSERT_EQUAL(stt_sysfs_mounts_of(t, 8, 16, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(t);
}

static void test_swaps(void)
{
	char *t = sample("swaps.sample");

	CU_ASSERT_TRUE(stt_sysfs_is_swap(t, "/dev/sda2"));
	CU_ASSERT_TRUE(stt_sysfs_is_swap(t, "/swap file"));
	CU_ASSERT_FALSE(stt_sysfs_is_swap(t, "/dev/sda"));
	CU_ASSERT_FALSE(stt_sysfs_is_swap(t, "Filename"));
	free(t);
}

static void test_version(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "Docker version 20.10.24+dfsg1, build 297e128", "20.10.24+dfsg1" },
		{ "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1",
		  "1.6.20~ds1" },
		{ "containerd containerd.io v1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da",
		  "1.7.27" },
		{ "fio-3.33\n", "3.33" },
		{ "  LVM version:     2.03.16(2) (2022-05-18)", "2.03.16" },
		{ "mkfs.xfs version 6.1.0", "6.1.0" },
		{ "mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0", "1.47.0" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(stt_sysfs_parse_version(cases[i].text, out, sizeof(out)), 0);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
	CU_ASSERT_EQUAL(stt_sysfs_parse_version("no version here", out, sizeof(out)), -ENOENT);
	CU_ASSERT_EQUAL(stt_sysfs_parse_version("build 42", out, sizeof(out)), -ENOENT);
}

static void test_read(void)
{
	char buf[8];
	uint64_t v;

	CU_ASSERT_EQUAL(stt_sysfs_read("/nonexistent/x", buf, sizeof(buf)), -ENOENT);
	CU_ASSERT_EQUAL(stt_sysfs_read_u64("/proc/sys/fs/aio-max-nr", &v), 0);
	CU_ASSERT(v > 0);
	/* Not a number. */
	CU_ASSERT_EQUAL(stt_sysfs_read_u64("/proc/sys/kernel/ostype", &v), -EINVAL);
	/* Truncated to the buffer, NUL-terminated. */
	CU_ASSERT_EQUAL(stt_sysfs_read("/proc/sys/kernel/ostype", buf, 4), 0);
	CU_ASSERT_STRING_EQUAL(buf, "Lin");
}

int unit_register_sysfs(void)
{
	CU_pSuite s = CU_add_suite("sysfs", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "/proc/filesystems", test_filesystems);
	CU_add_test(s, "/proc/misc", test_misc);
	CU_add_test(s, "queue/scheduler", test_scheduler);
	CU_add_test(s, "mountinfo line", test_mountinfo_line);
	CU_add_test(s, "mount of a path", test_find_mount);
	CU_add_test(s, "mounts of a device", test_mounts_of);
	CU_add_test(s, "/proc/swaps", test_swaps);
	CU_add_test(s, "/proc/locks", test_locks);
	CU_add_test(s, "--version text", test_version);
	CU_add_test(s, "reading small files", test_read);
	return CU_get_error();
}
