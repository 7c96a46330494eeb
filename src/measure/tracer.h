/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TRACER_H
#define STT_TRACER_H

/*
 * `stortune trace`: a command of an image run under the real engine, and what it reads of the
 * image in its first seconds recorded (src/workload/trace.h).
 *
 * The engine is the benchmark's: a private dockerd (src/sys/dockerd.h) on the overlay backend's
 * scratch filesystem (an xfs of its own on a loop device), the image loaded with POST
 * /images/load and the command run in a container (no network) through the API. That
 * filesystem holds nothing but that dockerd's data root, so its device number singles out
 * the container's reads: the page-cache tracepoints (src/sys/tracefs.h) filtered by it record
 * each read() and page fault with the inode and pages, and the inodes are named by walking the
 * container's layer directories (overlay2 reads go to the layer files' own inodes). The caches
 * are dropped before the start, so "cached_bytes" is what a cold start brings from storage.
 */

#include "backend/backend.h"

struct stt_image;
struct stt_trace;

struct stt_tracer_opts {
	const char *image_tar;		       /* a docker save tar */
	struct stt_image *img;		       /* that tar, opened (for its digest) */
	const char *const *argv;	       /* the command, NULL-terminated */
	unsigned int seconds;		       /* how long to record */
	unsigned int dockerd_timeout_ms;       /* 0: the default */
	const struct stt_backend_opts *target; /* workdir, fs, scratch size, the journal */
};

/*
 * Runs it. 0 and the trace into *@out; -ENOEXEC with a message when the engine could not start
 * the command (not in the image, not executable); -ENOENT when the kernel lacks the tracepoints
 * or dockerd is not installed; another -errno. Whatever it made is undone before it returns
 * (the journal holds it meanwhile).
 */
__attribute__((warn_unused_result)) int stt_tracer_run(const struct stt_tracer_opts *o,
						       struct stt_trace **out);

#endif
