// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/loop.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

bool stt_loop_available(void)
{
	return access("/dev/loop-control", F_OK) == 0;
}

static int configure(int lfd, int ffd, const char *file, unsigned int flags)
{
	struct loop_config cfg;
	struct loop_info64 info;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = ffd;
	if (flags & STT_LOOP_DIRECT_IO)
		cfg.info.lo_flags |= LO_FLAGS_DIRECT_IO;
	if (flags & STT_LOOP_AUTOCLEAR)
		cfg.info.lo_flags |= LO_FLAGS_AUTOCLEAR;
	if (flags & STT_LOOP_READ_ONLY)
		cfg.info.lo_flags |= LO_FLAGS_READ_ONLY;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;

	/* Kernels before 5.8: LOOP_SET_FD, then the status. */
	if (ioctl(lfd, LOOP_SET_FD, ffd))
		return -errno;
	memset(&info, 0, sizeof(info));
	info.lo_flags = cfg.info.lo_flags & ~LO_FLAGS_DIRECT_IO;
	memcpy(info.lo_file_name, cfg.info.lo_file_name, sizeof(info.lo_file_name));
	if (ioctl(lfd, LOOP_SET_STATUS64, &info) ||
	    ((flags & STT_LOOP_DIRECT_IO) && ioctl(lfd, LOOP_SET_DIRECT_IO, 1UL))) {
		int r = -errno;

		ioctl(lfd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

int stt_loop_attach(const char *file, unsigned int flags, char *dev, size_t len)
{
	int ctl = -1, ffd = -1, lfd = -1, r, mode;

	mode = (flags & STT_LOOP_READ_ONLY) ? O_RDONLY : O_RDWR;
	ffd = open(file, mode | O_CLOEXEC);
	if (ffd < 0)
		return stt_err(-errno, "%s: cannot open: %s", file, strerror(errno));
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = stt_err(-errno, "/dev/loop-control: cannot open: %s", strerror(errno));
		goto out;
	}
	/* Another process may take the free device between GET_FREE and CONFIGURE: retry. */
	for (int tries = 0; tries < 16; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0) {
			/*
			 * GET_FREE adds a device when none is free; it fails when the kernel
			 * can add none (every minor number taken, or no memory).
			 */
			r = stt_err(-errno,
				    "no free loop device, and the kernel could add none "
				    "(LOOP_CTL_GET_FREE: %s): every loop device is in use "
				    "(losetup -a lists them); detach unused ones",
				    strerror(errno));
			goto out;
		}
		snprintf(dev, len, "/dev/loop%d", n);
		lfd = open(dev, mode | O_CLOEXEC);
		if (lfd < 0) {
			r = stt_err(-errno, "%s: cannot open: %s", dev, strerror(errno));
			goto out;
		}
		r = configure(lfd, ffd, file, flags);
		if (r == 0)
			goto out;
		close(lfd);
		lfd = -1;
		if (r != -EBUSY) {
			stt_err(r, "%s: cannot attach %s: %s", dev, file, strerror(-r));
			goto out;
		}
	}
	r = stt_err(-EBUSY, "%s: no loop device could be attached (all busy)", file);
out:
	if (ctl >= 0)
		close(ctl);
	if (ffd >= 0)
		close(ffd);
	return r ? r : lfd;
}

int stt_loop_detach(const char *dev)
{
	int fd, r = 0;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot open: %s", dev, strerror(errno));
	if (ioctl(fd, LOOP_CLR_FD, 0))
		r = stt_err(-errno, "%s: cannot detach: %s", dev, strerror(errno));
	close(fd);
	return r;
}
