// SPDX-License-Identifier: GPL-2.0-or-later
/* The safety verdict, from findings alone, and the probe of a path's kind. */
#include "unit.h"

#include "base/err.h"
#include "sys/probe.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static struct stt_probe_dev *fresh(void)
{
	static struct stt_probe_dev d;

	memset(&d, 0, sizeof(d));
	snprintf(d.path, sizeof(d.path), "/dev/nvme1n1");
	d.excl_ok = true;
	return &d;
}

static void add_sig(struct stt_probe_dev *d, const char *type, const char *usage)
{
	snprintf(d->sigs[d->nsigs].type, sizeof(d->sigs[0].type), "%s", type);
	snprintf(d->sigs[d->nsigs].usage, sizeof(d->sigs[0].usage), "%s", usage);
	d->nsigs++;
}

static void test_free(void)
{
	struct stt_probe_dev *d = fresh();

	stt_probe_verdict(d);
	CU_ASSERT_TRUE(d->free_to_use);
	CU_ASSERT_STRING_EQUAL(d->verdict, "free to use with --destroy-data /dev/nvme1n1");
}

static void test_signatures(void)
{
	struct stt_probe_dev *d = fresh();

	add_sig(d, "xfs", "filesystem");
	stt_probe_verdict(d);
	CU_ASSERT_FALSE(d->free_to_use);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: has an xfs filesystem");

	d = fresh();
	add_sig(d, "btrfs", "filesystem");
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: has a btrfs filesystem");

	d = fresh();
	add_sig(d, "LVM2_member", "raid");
	stt_probe_verdict(d);
	CU_ASSERT_FALSE(d->free_to_use);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: is an LVM physical volume (LVM2_member)");

	/* GPT: blkid reports the table once per copy (primary and backup): said once. */
	d = fresh();
	add_sig(d, "gpt", "partition table");
	add_sig(d, "gpt", "partition table");
	add_sig(d, "PMBR", "partition table");
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict,
			       "in use: has a gpt partition table; has a PMBR partition table");

	d = fresh();
	add_sig(d, "crypto_LUKS", "crypto");
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: has a crypto_LUKS signature (crypto)");
}

static void test_users(void)
{
	struct stt_probe_dev *d = fresh();

	d->nmounts = 1;
	snprintf(d->mounts, sizeof(d->mounts), "/var/lib/docker");
	stt_probe_verdict(d);
	CU_ASSERT_FALSE(d->free_to_use);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: mounted on /var/lib/docker");

	d = fresh();
	d->nholders = 1;
	snprintf(d->holders, sizeof(d->holders), "dm-0");
	d->excl_ok = false;
	d->excl_errno = EBUSY;
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: held by dm-0; cannot be opened exclusively "
					   "(Device or resource busy)");

	d = fresh();
	d->swap = true;
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: in use as swap");

	d = fresh();
	d->npartitions = 2;
	snprintf(d->partitions, sizeof(d->partitions), "nvme1n1p1, nvme1n1p2");
	stt_probe_verdict(d);
	CU_ASSERT_STRING_EQUAL(d->verdict, "in use: has partitions (nvme1n1p1, nvme1n1p2)");

	/* Only the exclusive open failed: still in use. */
	d = fresh();
	d->excl_ok = false;
	d->excl_errno = EBUSY;
	stt_probe_verdict(d);
	CU_ASSERT_FALSE(d->free_to_use);
}

static void test_path_kinds(void)
{
	struct stt_probe_target t;
	struct json_object *o;

	CU_ASSERT_EQUAL(stt_probe_path("/nonexistent/x", &t), -ENOENT);
	CU_ASSERT_STRING_EQUAL(stt_err_msg(), "/nonexistent/x: does not exist");
	CU_ASSERT_EQUAL(stt_probe_path("/etc/hostname/x", &t), -ENOENT);
	CU_ASSERT_EQUAL(stt_probe_path("/dev/null", &t), -EINVAL);
	CU_ASSERT_STRING_EQUAL(stt_err_msg(),
			       "/dev/null: is neither a directory nor a block device");

	CU_ASSERT_EQUAL_FATAL(stt_probe_path("/proc", &t), 0);
	CU_ASSERT_EQUAL(t.kind, STT_PROBE_DIR);
	CU_ASSERT_STRING_EQUAL(t.dir.fstype, "proc");
	CU_ASSERT_EQUAL_FATAL(stt_probe_to_json(&t, &o), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "kind")),
			       "directory");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "fstype")),
			       "proc");
	json_object_put(o);
}

int unit_register_probe(void)
{
	CU_pSuite s = CU_add_suite("probe", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "free device", test_free);
	CU_add_test(s, "signatures make a device in use", test_signatures);
	CU_add_test(s, "mounts, holders, swap, partitions, O_EXCL", test_users);
	CU_add_test(s, "path kinds and messages", test_path_kinds);
	return CU_get_error();
}
