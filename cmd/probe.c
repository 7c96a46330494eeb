// SPDX-License-Identifier: GPL-2.0-or-later
/* stortune probe: what the host and each target offer, and whether a device is free. */
#include "cmd.h"

#include "base/err.h"
#include "base/fmt.h"
#include "sys/fsutil.h"
#include "sys/host.h"
#include "sys/probe.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_WORKDIR "/var/tmp/stortune"

enum { OPT_WORKDIR = 256, OPT_NO_MOUNT_TEST };

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_host(const struct stt_host *h)
{
	printf("host\n");
	printf("  %-19s %s (%s)\n", "kernel", h->kernel_release, h->machine);
	printf("  %-19s %s\n", "overlayfs", yes_no(h->overlay));
	if (h->dm.present)
		printf("  %-19s yes, driver %s\n", "device-mapper", h->dm.driver_version);
	else
		printf("  %-19s no: %s\n", "device-mapper", h->dm.reason);
	if (h->dm.thin_pool)
		printf("  %-19s yes, %s\n", "thin-pool target", h->dm.thin_pool_version);
	else
		printf("  %-19s no\n", "thin-pool target");
	printf("  %-19s %s\n", "loop devices", yes_no(h->loop));
	printf("  %-19s xfs %s, ext4 %s, btrfs %s\n", "filesystems", yes_no(h->xfs), yes_no(h->ext4),
	       yes_no(h->btrfs));
	printf("  %-19s %s (%s)\n", "xfs project quota", stt_tristate_str(h->xfs_pquota),
	       h->xfs_pquota_detail);
	printf("  %-19s aio-max-nr %llu (in use %llu), io_uring %s\n", "async I/O",
	       (unsigned long long)h->aio_max_nr, (unsigned long long)h->aio_nr,
	       h->io_uring ? "yes" : "no");

	printf("\nsoftware\n");
	const struct {
		const char *name;
		const struct stt_tool *t;
	} tools[] = {
		{ "dockerd", &h->dockerd },   { "containerd", &h->containerd },
		{ "fio", &h->fio },	      { "lvm", &h->lvm },
		{ "mkfs.xfs", &h->mkfs_xfs }, { "mkfs.ext4", &h->mkfs_ext4 },
	};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		printf("  %-19s %s\n", tools[i].name,
		       tools[i].t->installed ? tools[i].t->version : "not installed");
}

static void print_dir(const struct stt_probe_dir *p)
{
	char a[32], b[32];

	printf("\n%s (directory)\n", p->path);
	printf("  %-19s %s on %s, mounted on %s\n", "filesystem", p->fstype, or_dash(p->source),
	       or_dash(p->mountpoint));
	printf("  %-19s %s of %s, %llu inodes\n", "free", stt_fmt_bytes(p->free_bytes, a, sizeof(a)),
	       stt_fmt_bytes(p->size_bytes, b, sizeof(b)), (unsigned long long)p->free_inodes);
	printf("  %-19s %s (%s)\n", "d_type", stt_tristate_str(p->d_type), or_dash(p->d_type_detail));
	if (!strcmp(p->fstype, "xfs"))
		printf("  %-19s %s\n", "xfs ftype", stt_tristate_str(p->xfs_ftype));
	if (p->d_type == STT_NO)
		printf("  %-19s overlay2 refuses this filesystem (no d_type)\n", "note");
}

static void print_dev(const struct stt_probe_dev *d)
{
	char a[32], sigs[1024] = "";

	printf("\n%s (block device)\n", d->path);
	printf("  %-19s %s\n", "model", or_dash(d->model));
	if (!strcmp(d->transport, "loop"))
		printf("  %-19s loop, backing file %s, direct I/O %s\n", "transport",
		       or_dash(d->loop_backing_file),
		       d->loop_direct_io < 0 ? "unknown" : yes_no(d->loop_direct_io));
	else
		printf("  %-19s %s%s\n", "transport", d->transport,
		       d->partition ? " (partition)" : "");
	printf("  %-19s %s (%llu bytes)\n", "size", stt_fmt_bytes(d->size_bytes, a, sizeof(a)),
	       (unsigned long long)d->size_bytes);
	printf("  %-19s logical %u, physical %u\n", "block size", d->logical_block_size,
	       d->physical_block_size);
	printf("  %-19s minimum %llu, optimal %llu, alignment offset %llu\n", "I/O size",
	       (unsigned long long)d->minimum_io_size, (unsigned long long)d->optimal_io_size,
	       (unsigned long long)d->alignment_offset);
	printf("  %-19s scheduler %s, nr_requests %llu, read-ahead %llu KiB, rotational %s\n",
	       "queue", or_dash(d->scheduler), (unsigned long long)d->nr_requests,
	       (unsigned long long)d->read_ahead_kb, yes_no(d->rotational));
	printf("  %-19s granularity %llu, max %llu bytes\n", "discard",
	       (unsigned long long)d->discard_granularity,
	       (unsigned long long)d->discard_max_bytes);
	for (int i = 0; i < d->nsigs; i++) {
		size_t n = strlen(sigs);

		snprintf(sigs + n, sizeof(sigs) - n, "%s%s (%s) at %llu", i ? ", " : "",
			 d->sigs[i].type, d->sigs[i].usage,
			 (unsigned long long)d->sigs[i].offset_bytes);
	}
	printf("  %-19s %s\n", "signatures", d->nsigs ? sigs : "none");
	printf("  %-19s %s\n", "partitions", d->npartitions ? d->partitions : "none");
	printf("  %-19s %s\n", "mounted", d->nmounts ? d->mounts : "no");
	printf("  %-19s %s\n", "holders", d->nholders ? d->holders : "none");
	printf("  %-19s %s\n", "exclusive open",
	       d->excl_ok ? "yes" : strerror(d->excl_errno ? d->excl_errno : EBUSY));
	printf("  %-19s %s\n", "verdict", d->verdict);
}

static int emit_json(const struct stt_host *h, const struct stt_probe_target *t, int n)
{
	struct json_object *root = json_object_new_object(), *host = NULL, *arr, *o;

	if (!root || stt_host_to_json(h, &host))
		goto fail;
	json_object_object_add(root, "schema", json_object_new_string("stortune-probe"));
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "tool_version", json_object_new_string(STT_VERSION));
	json_object_object_add(root, "host", host);
	arr = json_object_new_array();
	if (!arr)
		goto fail;
	json_object_object_add(root, "targets", arr);
	for (int i = 0; i < n; i++) {
		if (stt_probe_to_json(&t[i], &o))
			goto fail;
		json_object_array_add(arr, o);
	}
	cmd_print_json(root);
	json_object_put(root);
	return 0;
fail:
	json_object_put(root);
	return -ENOMEM;
}

static int cmd_probe(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ "no-mount-test", no_argument, NULL, OPT_NO_MOUNT_TEST },
		{ NULL, 0, NULL, 0 },
	};
	const char *workdir = DEFAULT_WORKDIR, *def[1];
	struct stt_probe_target *t = NULL;
	bool mount_test = true;
	struct stt_host host;
	char **paths;
	int c, r, n;

	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1) {
		switch (c) {
		case OPT_WORKDIR:
			workdir = optarg;
			break;
		case OPT_NO_MOUNT_TEST:
			mount_test = false;
			break;
		default:
			if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
				return r;
		}
	}
	if (!*workdir)
		return cmd_usage_error(self, "--workdir: empty path");

	n = argc - optind;
	paths = argv + optind;
	if (n == 0) {
		/* The embedded default: the scratch directory stortune works in. */
		r = stt_fs_mkdir_p(workdir, 0700);
		if (r)
			return cmd_fail(self, CMD_EXIT_FAILURE, "%s: cannot create: %s", workdir,
					strerror(-r));
		def[0] = workdir;
		paths = (char **)def;
		n = 1;
	}
	t = calloc(n, sizeof(*t));
	if (!t)
		return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");

	/* Every path is checked before anything is made (the quota test writes). */
	for (int i = 0; i < n; i++) {
		r = stt_probe_path(paths[i], &t[i]);
		if (r) {
			free(t);
			return cmd_fail(self, r == -ENOENT || r == -EINVAL ? CMD_EXIT_USAGE
									   : CMD_EXIT_FAILURE,
					"%s", stt_err_msg());
		}
	}

	if (mount_test && stt_fs_mkdir_p(workdir, 0700) == 0)
		cmd_note(ctx, "probing the host (xfs quota test in %s)...\n", workdir);
	else
		mount_test = false;
	stt_host_probe(&host, mount_test ? workdir : NULL);

	if (ctx->json) {
		r = emit_json(&host, t, n);
		free(t);
		if (r)
			return cmd_fail(self, CMD_EXIT_FAILURE, "out of memory");
		return CMD_EXIT_OK;
	}
	printf("stortune %s probe\n\n", STT_VERSION);
	print_host(&host);
	for (int i = 0; i < n; i++) {
		if (t[i].kind == STT_PROBE_BLOCK)
			print_dev(&t[i].dev);
		else
			print_dir(&t[i].dir);
	}
	free(t);
	return CMD_EXIT_OK;
}

const struct cmd_entry cmd_probe_entry = {
	.name = "probe",
	.summary = "report what the host and each target offer the storage backends",
	.synopsis = "probe [--workdir DIR] [--no-mount-test] [PATH|DEVICE ...]",
	.help = "Reports the kernel's storage features (overlayfs, device-mapper and its thin-pool\n"
		"target, loop devices, xfs/ext4/btrfs, xfs project quota, async I/O limits), the\n"
		"installed Docker, containerd, fio and LVM versions, and for each target:\n"
		"  a block device: model, size, block and I/O sizes, queue settings, discard,\n"
		"    signatures found by libblkid, partitions, mounts, holders, exclusive open,\n"
		"    and the verdict: \"free to use with --destroy-data DEV\" or \"in use: <why>\";\n"
		"  a directory: the filesystem under it, free space, d_type, xfs ftype.\n"
		"Without a target it probes the scratch directory (--workdir).\n"
		"Probing writes nothing to a target; the xfs quota test makes (and removes) a\n"
		"sparse file, a loop device and a mount under --workdir.\n"
		"\noptions:\n"
		"  --workdir DIR      scratch directory (default " DEFAULT_WORKDIR ")\n"
		"  --no-mount-test    skip the xfs project quota test\n"
		"\nexamples:\n"
		"  stortune probe\n"
		"  stortune probe --json / /dev/nvme1n1\n",
	.run = cmd_probe,
};
