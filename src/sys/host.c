// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/host.h"

#include "base/err.h"
#include "sys/exec.h"
#include "sys/loop.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

const char *stt_tristate_str(enum stt_tristate t)
{
	return t == STT_YES ? "yes" : t == STT_NO ? "no" : "unknown";
}

/* Whether the running kernel ships module @name (e.g. "overlay") in modules.dep. */
static bool module_installed(const char *release, const char *name)
{
	char path[512], *text = NULL, needle[96];
	bool found;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
	if (stt_sysfs_slurp(path, &text))
		return false;
	snprintf(needle, sizeof(needle), "/%s.ko", name);
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

static void probe_tool(struct stt_tool *t, const char *prog, const char *arg)
{
	const char *argv[] = { prog, arg, NULL };
	char out[1024];
	int st;

	memset(t, 0, sizeof(*t));
	if (stt_exec_capture(argv, out, sizeof(out), &st))
		return;
	t->installed = true;
	if (stt_sysfs_parse_version(out, t->version, sizeof(t->version)))
		snprintf(t->version, sizeof(t->version), "unknown");
}

/* lvm prints "  LVM version:     2.03.16(2) (2022-05-18)" first. */
static void probe_lvm(struct stt_tool *t)
{
	const char *argv[] = { "lvm", "version", NULL };
	char out[2048], *p;
	int st;

	memset(t, 0, sizeof(*t));
	if (stt_exec_capture(argv, out, sizeof(out), &st))
		return;
	t->installed = true;
	p = strstr(out, "LVM version:");
	if (!p || stt_sysfs_parse_version(p + strlen("LVM version:"), t->version,
					  sizeof(t->version)))
		snprintf(t->version, sizeof(t->version), "unknown");
}

static bool io_uring_works(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/* mkfs.xfs on a sparse file, attach, mount -o pquota, and undo all of it. */
static void xfs_pquota_test(struct stt_host *h, const char *dir)
{
	char img[4096], mnt[4096], dev[64], out[2048];
	int fd = -1, lfd = -1, st, r;
	bool mounted = false, have_mnt = false;
	sigset_t hold, old;

	h->xfs_pquota = STT_UNKNOWN;
	if (geteuid() != 0) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "not tested (needs root)");
		return;
	}
	if (!h->mkfs_xfs.installed || !h->loop) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "not tested (needs mkfs.xfs and loop devices)");
		return;
	}
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigprocmask(SIG_BLOCK, &hold, &old);

	snprintf(img, sizeof(img), "%s/pquota-test-XXXXXX", dir);
	snprintf(mnt, sizeof(mnt), "%s/pquota-mnt-XXXXXX", dir);
	fd = mkstemp(img);
	if (fd < 0) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "not tested (%s: %s)", dir, strerror(errno));
		goto out;
	}
	if (ftruncate(fd, 512ull << 20)) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "not tested (%s: %s)", img, strerror(errno));
		goto out;
	}
	{
		const char *argv[] = { "mkfs.xfs", "-q", "-f", img, NULL };

		if (stt_exec_capture(argv, out, sizeof(out), &st) || st) {
			snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
				 "not tested (mkfs.xfs failed)");
			goto out;
		}
	}
	lfd = stt_loop_attach(img, STT_LOOP_AUTOCLEAR, dev, sizeof(dev));
	if (lfd < 0) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail), "not tested (%s)",
			 stt_err_msg());
		goto out;
	}
	if (!mkdtemp(mnt)) {
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "not tested (%s: %s)", dir, strerror(errno));
		goto out;
	}
	have_mnt = true;
	r = mount(dev, mnt, "xfs", 0, "pquota");
	if (r == 0) {
		mounted = true;
		h->xfs_pquota = STT_YES;
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "mount -o pquota works");
	} else {
		h->xfs_pquota = STT_NO;
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail),
			 "mount -o pquota fails: %s (kernel without CONFIG_XFS_QUOTA?)",
			 strerror(errno));
	}
out:
	if (mounted)
		umount2(mnt, 0);
	if (have_mnt)
		rmdir(mnt);
	if (lfd >= 0)
		close(lfd); /* autoclear: detaches with the last reference */
	if (fd >= 0) {
		close(fd);
		unlink(img);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void stt_host_probe(struct stt_host *h, const char *scratch_dir)
{
	struct utsname u;
	char *fs = NULL;
	int64_t dis;
	uint64_t v;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0) {
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", u.release);
		snprintf(h->kernel_version, sizeof(h->kernel_version), "%s", u.version);
		snprintf(h->machine, sizeof(h->machine), "%s", u.machine);
	}
	if (stt_sysfs_slurp("/proc/filesystems", &fs) == 0) {
		h->overlay = stt_sysfs_has_filesystem(fs, "overlay");
		h->xfs = stt_sysfs_has_filesystem(fs, "xfs");
		h->ext4 = stt_sysfs_has_filesystem(fs, "ext4");
		h->btrfs = stt_sysfs_has_filesystem(fs, "btrfs");
		free(fs);
	}
	h->overlay = h->overlay || module_installed(h->kernel_release, "overlay");
	h->xfs = h->xfs || module_installed(h->kernel_release, "xfs");
	h->ext4 = h->ext4 || module_installed(h->kernel_release, "ext4");
	h->btrfs = h->btrfs || module_installed(h->kernel_release, "btrfs");
	h->loop = stt_loop_available();
	stt_dm_probe(&h->dm);

	if (stt_sysfs_read_u64("/proc/sys/fs/aio-max-nr", &v) == 0)
		h->aio_max_nr = v;
	if (stt_sysfs_read_u64("/proc/sys/fs/aio-nr", &v) == 0)
		h->aio_nr = v;
	h->io_uring = io_uring_works();
	dis = -1;
	if (stt_sysfs_read_u64("/proc/sys/kernel/io_uring_disabled", &v) == 0)
		dis = (int64_t)v;
	h->io_uring_disabled = (int)dis;

	probe_tool(&h->dockerd, "dockerd", "--version");
	probe_tool(&h->containerd, "containerd", "--version");
	probe_tool(&h->fio, "fio", "--version");
	probe_lvm(&h->lvm);
	probe_tool(&h->mkfs_xfs, "mkfs.xfs", "-V");
	probe_tool(&h->mkfs_ext4, "mkfs.ext4", "-V");

	if (scratch_dir)
		xfs_pquota_test(h, scratch_dir);
	else
		snprintf(h->xfs_pquota_detail, sizeof(h->xfs_pquota_detail), "not tested");
	if (scratch_dir && h->xfs_pquota == STT_UNKNOWN && !h->xfs)
		h->xfs_pquota = STT_NO;
}

static struct json_object *jstr_or_null(bool present, const char *s)
{
	return present ? json_object_new_string(s) : NULL;
}

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	return json_object_object_add(o, key, v) ? -ENOMEM : 0;
}

static struct json_object *tool_json(const struct stt_tool *t)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add(o, "installed", json_object_new_boolean(t->installed)) ||
	    add(o, "version", jstr_or_null(t->installed, t->version))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int stt_host_to_json(const struct stt_host *h, struct json_object **out)
{
	struct json_object *o, *k, *dm, *fs, *aio, *sw;
	int r = -ENOMEM;

	o = json_object_new_object();
	k = json_object_new_object();
	dm = json_object_new_object();
	fs = json_object_new_object();
	aio = json_object_new_object();
	sw = json_object_new_object();
	if (!o || !k || !dm || !fs || !aio || !sw)
		goto fail;

	if (add(k, "release", json_object_new_string(h->kernel_release)) ||
	    add(k, "version", json_object_new_string(h->kernel_version)) ||
	    add(k, "machine", json_object_new_string(h->machine)) ||
	    add(k, "overlayfs", json_object_new_boolean(h->overlay)) ||
	    add(k, "loop", json_object_new_boolean(h->loop)))
		goto fail;

	if (add(dm, "present", json_object_new_boolean(h->dm.present)) ||
	    add(dm, "control_node", json_object_new_boolean(h->dm.control_node)) ||
	    add(dm, "driver_version", jstr_or_null(h->dm.present, h->dm.driver_version)) ||
	    add(dm, "thin_pool", json_object_new_boolean(h->dm.thin_pool)) ||
	    add(dm, "thin_pool_version", jstr_or_null(h->dm.thin_pool, h->dm.thin_pool_version)) ||
	    add(dm, "reason", jstr_or_null(h->dm.reason[0], h->dm.reason)))
		goto fail;
	if (add(k, "device_mapper", dm))
		goto fail;
	dm = NULL;

	if (add(fs, "xfs", json_object_new_boolean(h->xfs)) ||
	    add(fs, "ext4", json_object_new_boolean(h->ext4)) ||
	    add(fs, "btrfs", json_object_new_boolean(h->btrfs)))
		goto fail;
	if (add(k, "filesystems", fs))
		goto fail;
	fs = NULL;
	if (add(k, "xfs_pquota", json_object_new_string(stt_tristate_str(h->xfs_pquota))) ||
	    add(k, "xfs_pquota_detail", json_object_new_string(h->xfs_pquota_detail)))
		goto fail;

	if (add(aio, "aio_max_nr", json_object_new_int64((int64_t)h->aio_max_nr)) ||
	    add(aio, "aio_nr", json_object_new_int64((int64_t)h->aio_nr)) ||
	    add(aio, "io_uring", json_object_new_boolean(h->io_uring)) ||
	    add(aio, "io_uring_disabled",
		h->io_uring_disabled < 0 ? NULL : json_object_new_int(h->io_uring_disabled)))
		goto fail;
	if (add(k, "async_io", aio))
		goto fail;
	aio = NULL;

	if (add(sw, "dockerd", tool_json(&h->dockerd)) ||
	    add(sw, "containerd", tool_json(&h->containerd)) ||
	    add(sw, "fio", tool_json(&h->fio)) || add(sw, "lvm", tool_json(&h->lvm)) ||
	    add(sw, "mkfs.xfs", tool_json(&h->mkfs_xfs)) ||
	    add(sw, "mkfs.ext4", tool_json(&h->mkfs_ext4)))
		goto fail;

	if (add(o, "kernel", k))
		goto fail;
	k = NULL;
	if (add(o, "software", sw))
		goto fail;
	*out = o;
	return 0;
fail:
	json_object_put(sw);
	json_object_put(aio);
	json_object_put(fs);
	json_object_put(dm);
	json_object_put(k);
	json_object_put(o);
	return r;
}
