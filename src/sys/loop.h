/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_LOOP_H
#define STT_LOOP_H

#include <stdbool.h>
#include <stddef.h>

/* Loop devices, attached by ioctl as Docker does (no losetup). */

enum {
	STT_LOOP_DIRECT_IO = 1 << 0, /* LO_FLAGS_DIRECT_IO: bypass the page cache of the file */
	STT_LOOP_AUTOCLEAR = 1 << 1, /* detach on last close */
	STT_LOOP_READ_ONLY = 1 << 2,
};

/* Whether the kernel has loop devices (/dev/loop-control). */
bool stt_loop_available(void);

/*
 * Attaches @file to a free loop device; its path ("/dev/loopN") goes to @dev. Returns an
 * fd open on the device (the caller closes it; with STT_LOOP_AUTOCLEAR, closing the last
 * reference detaches), or -errno with a message.
 */
__attribute__((warn_unused_result)) int stt_loop_attach(const char *file, unsigned int flags,
						       char *dev, size_t len);
/* Detaches the loop device @dev. 0 or -errno. */
__attribute__((warn_unused_result)) int stt_loop_detach(const char *dev);

#endif
