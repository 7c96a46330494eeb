// SPDX-License-Identifier: GPL-2.0-or-later
#include "dm.h"

#include "err.h"
#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_ERR_LEVEL 3 /* libdevmapper's _LOG_ERR */

/* libdevmapper's messages become the thread's error message instead of going to stderr. */
__attribute__((format(printf, 5, 6))) static void dm_log(int level, const char *file, int line,
							  int dm_errno_or_class, const char *f,
							  ...)
{
	char msg[512];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if ((level & 7) > LOG_ERR_LEVEL)
		return;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	stt_err_set("device-mapper: %s", msg);
}

static void dm_quiet(void)
{
	static bool done;

	if (done)
		return;
	dm_log_with_errno_init(dm_log);
	dm_udev_set_sync_support(0);
	done = true;
}

static bool misc_has_dm(void)
{
	char *text = NULL;
	bool r;

	if (stt_sysfs_slurp("/proc/misc", &text))
		return false;
	r = stt_sysfs_misc_minor(text, "device-mapper") >= 0;
	free(text);
	return r;
}

static void find_target(struct stt_dm_info *info)
{
	struct dm_versions *t, *last;
	struct dm_task *dmt;

	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (!dmt)
		return;
	if (!dm_task_run(dmt))
		goto out;
	t = dm_task_get_versions(dmt);
	if (!t)
		goto out;
	do {
		last = t;
		if (!strcmp(t->name, "thin-pool")) {
			info->thin_pool = true;
			snprintf(info->thin_pool_version, sizeof(info->thin_pool_version),
				 "%u.%u.%u", t->version[0], t->version[1], t->version[2]);
		}
		t = (struct dm_versions *)((char *)t + t->next);
	} while (last != t);
out:
	dm_task_destroy(dmt);
}

void stt_dm_probe(struct stt_dm_info *info)
{
	char v[64];

	memset(info, 0, sizeof(*info));
	info->control_node = access("/dev/mapper/control", F_OK) == 0;
	if (!misc_has_dm()) {
		/* A stale node may exist (made by a tool or image) on a kernel without dm. */
		int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			close(fd);
		} else {
			snprintf(info->reason, sizeof(info->reason),
				 info->control_node
					 ? "kernel has no device-mapper (/dev/mapper/control: %s)"
					 : "kernel has no device-mapper (no /dev/mapper/control)",
				 strerror(errno));
			return;
		}
	}
	dm_quiet();
	if (!dm_driver_version(v, sizeof(v))) {
		snprintf(info->reason, sizeof(info->reason), "%s",
			 *stt_err_msg() ? stt_err_msg()
					: "device-mapper: cannot read the driver version");
		return;
	}
	info->present = true;
	info->control_node = access("/dev/mapper/control", F_OK) == 0;
	snprintf(info->driver_version, sizeof(info->driver_version), "%s", v);
	find_target(info);
	if (!info->thin_pool)
		snprintf(info->reason, sizeof(info->reason),
			 "thin-pool target not loaded (modprobe dm-thin-pool)");
}
