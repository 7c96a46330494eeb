// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/lvm.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <lvm2cmd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lvm2_run is not thread-safe: one command at a time. */
static pthread_mutex_t lvm_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512];

static void log_fn(int level, const char *file, int line, int dm_errno, const char *msg)
{
	(void)file;
	(void)line;
	(void)dm_errno;
	/* Levels as syslog: 3 and below are errors. */
	if (level <= 3 && msg && *msg)
		snprintf(last_error, sizeof(last_error), "%s", msg);
}

static int run_locked(const char *cmdline, bool quiet_missing)
{
	char buf[1024];
	void *h;
	int rc;

	(void)quiet_missing;
	snprintf(buf, sizeof(buf), "%s", cmdline);
	last_error[0] = '\0';
	/* Without udev, LVM (through libdevmapper) must make its device nodes itself. */
	if (access("/run/udev/control", F_OK))
		setenv("DM_DISABLE_UDEV", "1", 0);
	lvm2_log_fn(log_fn);
	h = lvm2_init();
	if (!h)
		return stt_err(-ENOMEM, "lvm: cannot initialise liblvm2cmd");
	lvm2_log_level(h, 3);
	rc = lvm2_run(h, buf);
	lvm2_exit(h);
	if (rc == LVM2_COMMAND_SUCCEEDED)
		return 0;
	return stt_err(rc == LVM2_NO_SUCH_COMMAND || rc == LVM2_INVALID_PARAMETERS ? -EINVAL
										  : -EIO,
		       "lvm %s: failed%s%s", cmdline, last_error[0] ? ": " : "", last_error);
}

int stt_lvm_run(const char *cmdline)
{
	int r;

	pthread_mutex_lock(&lvm_lock);
	r = run_locked(cmdline, false);
	pthread_mutex_unlock(&lvm_lock);
	return r;
}

bool stt_lvm_available(void)
{
	return stt_lvm_run("version") == 0;
}

/*
 * 0 when the first 4 KiB of @dev can be read from the device itself (O_DIRECT); else
 * -errno. LVM reports a device it cannot read as no PV at all, so "not a PV" is believed
 * only of a device that reads.
 */
static int readable(const char *dev)
{
	void *buf = NULL;
	int fd, r = 0;

	fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (posix_memalign(&buf, 4096, 4096)) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, 4096, 0) != 4096)
		r = errno ? -errno : -EIO;
	free(buf);
	close(fd);
	return r;
}

int stt_lvm_vgremove(const char *vg, const char *pv)
{
	char cmd[256], why[512];
	int r;

	/*
	 * vgremove itself, and "not found" believed from it alone: `vgs VG` also fails for a
	 * VG it cannot read (a PV failing its reads, a failed thin pool in it), and such a
	 * VG must stay in the journal for cleanup.
	 */
	snprintf(cmd, sizeof(cmd), "vgremove -f %s", vg);
	r = stt_lvm_run(cmd);
	if (!r || strstr(stt_err_msg(), "not found"))
		return 0; /* no such VG */
	/*
	 * lvm 2.03 ends with "Cannot process volume group" both for a VG that does not exist
	 * (vgcreate failed after the journal took it) and for one it cannot read. With its PV
	 * known and reading, LVM sees all of the VG: then `vgs VG` failing means it is gone.
	 */
	snprintf(why, sizeof(why), "%s", stt_err_msg());
	if (pv && *pv && !access(pv, F_OK) && !readable(pv)) {
		snprintf(cmd, sizeof(cmd), "vgs %s", vg);
		if (stt_lvm_run(cmd))
			return 0;
	}
	return stt_err(r, "%s", why);
}

int stt_lvm_pvremove(const char *dev)
{
	char cmd[256];
	int r;

	if (access(dev, F_OK))
		return 0;
	snprintf(cmd, sizeof(cmd), "pvs --noheadings %s", dev);
	if (stt_lvm_run(cmd)) {
		/* not a PV -- or a device that fails its reads, whose label is still there */
		errno = 0;
		if ((r = readable(dev)))
			return stt_err(r, "%s: cannot read it to remove the PV label: %s (run "
					  "stortune cleanup when it reads again)",
				       dev, strerror(-r));
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "pvremove -ff -y %s", dev);
	return stt_lvm_run(cmd);
}
