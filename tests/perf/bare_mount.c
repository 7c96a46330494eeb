// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reference for stortune's harness overhead per container start: the same kernel
 * operations as overlay's start and stop -- mkdir merged, mount("overlay") with the same
 * kind of lowerdir/upperdir/workdir options, umount2(MNT_DETACH), rmdir -- in a bare loop,
 * with nothing around them (no journal, no bookkeeping, no threads).
 *
 *   bare_mount DIR N LAYERS     (DIR: an empty directory on the filesystem to test)
 *
 * Prints "start_p50_ns=... stop_p50_ns=... start_mean_ns=... stop_mean_ns=...".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char path[4096], opts[8192], merged[4096];
	uint64_t *ts, *tp, sum_s = 0, sum_p = 0;
	int n, layers;

	if (argc != 4) {
		fprintf(stderr, "usage: bare_mount DIR N LAYERS\n");
		return 2;
	}
	n = atoi(argv[2]);
	layers = atoi(argv[3]);
	ts = calloc((size_t)n, sizeof(*ts));
	tp = calloc((size_t)n, sizeof(*tp));
	if (!ts || !tp || n < 1 || layers < 1)
		return 2;
	for (int l = 0; l < layers; l++) {
		snprintf(path, sizeof(path), "%s/lower%d", argv[1], l);
		mkdir(path, 0755);
	}
	for (int i = 0; i < n; i++) {
		size_t k = 0;

		snprintf(path, sizeof(path), "%s/c%d", argv[1], i);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/c%d/diff", argv[1], i);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/c%d/work", argv[1], i);
		mkdir(path, 0700);
		k += (size_t)snprintf(opts + k, sizeof(opts) - k, "index=off,lowerdir=");
		for (int l = layers; l-- > 0;)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, "%s%s/lower%d",
					      l == layers - 1 ? "" : ":", argv[1], l);
		snprintf(opts + k, sizeof(opts) - k, ",upperdir=%s/c%d/diff,workdir=%s/c%d/work",
			 argv[1], i, argv[1], i);
		snprintf(merged, sizeof(merged), "%s/c%d/merged", argv[1], i);

		uint64_t t0 = now_ns();
		if (mkdir(merged, 0700) || mount("overlay", merged, "overlay", 0, opts)) {
			fprintf(stderr, "bare_mount: %s: %s\n", merged, strerror(errno));
			return 1;
		}
		uint64_t t1 = now_ns();
		if (umount2(merged, MNT_DETACH) || rmdir(merged)) {
			fprintf(stderr, "bare_mount: %s: %s\n", merged, strerror(errno));
			return 1;
		}
		uint64_t t2 = now_ns();
		ts[i] = t1 - t0;
		tp[i] = t2 - t1;
		sum_s += ts[i];
		sum_p += tp[i];
	}
	qsort(ts, (size_t)n, sizeof(*ts), cmp);
	qsort(tp, (size_t)n, sizeof(*tp), cmp);
	printf("start_p50_ns=%llu stop_p50_ns=%llu start_mean_ns=%llu stop_mean_ns=%llu\n",
	       (unsigned long long)ts[n / 2], (unsigned long long)tp[n / 2],
	       (unsigned long long)(sum_s / (uint64_t)n), (unsigned long long)(sum_p / (uint64_t)n));
	return 0;
}
