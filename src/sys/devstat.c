// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/devstat.h"

#include "base/err.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int stt_devstat_parse(const char *line, struct stt_devstat *s)
{
	uint64_t f[17] = { 0 };
	int n;

	/*
	 * Documentation/block/stat.rst: read I/Os, merges, sectors, ticks; write I/Os, merges,
	 * sectors, ticks; in flight, io ticks, queue time; discard I/Os, merges, sectors, ticks
	 * (4.18+); flush I/Os, ticks (5.5+).
	 */
	n = sscanf(line,
		   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64,
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10],
		   &f[11], &f[12], &f[13], &f[14]);
	if (n < 11)
		return stt_err(-EINVAL, "block stat \"%.60s\": not understood", line);
	memset(s, 0, sizeof(*s));
	s->read_ios = f[0];
	s->read_bytes = f[2] * 512;
	s->write_ios = f[4];
	s->write_bytes = f[6] * 512;
	if (n >= 15) {
		s->discard_ios = f[11];
		s->discard_bytes = f[13] * 512;
	}
	return 0;
}

int stt_devstat_read(const char *name, struct stt_devstat *s)
{
	char path[256], line[512];
	int r;

	snprintf(path, sizeof(path), "/sys/class/block/%s/stat", name);
	r = stt_sysfs_read(path, line, sizeof(line));
	if (r)
		return stt_err(r, "%s: %s", path, strerror(-r));
	return stt_devstat_parse(line, s);
}

void stt_devstat_delta(const struct stt_devstat *a, const struct stt_devstat *b,
		       struct stt_devstat *d)
{
	d->read_ios = b->read_ios - a->read_ios;
	d->read_bytes = b->read_bytes - a->read_bytes;
	d->write_ios = b->write_ios - a->write_ios;
	d->write_bytes = b->write_bytes - a->write_bytes;
	d->discard_ios = b->discard_ios - a->discard_ios;
	d->discard_bytes = b->discard_bytes - a->discard_bytes;
}

int stt_meminfo_field(const char *meminfo, const char *key, uint64_t *value)
{
	size_t n = strlen(key);
	const char *p = meminfo;

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == ':' && sscanf(p + n + 1, " %" SCNu64, value) == 1)
			return 0;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int stt_devstat_parse_cached(const char *meminfo, uint64_t *bytes)
{
	uint64_t kb;

	if (stt_meminfo_field(meminfo, "Cached", &kb))
		return stt_err(-EINVAL, "/proc/meminfo: no Cached: line");
	*bytes = kb * 1024;
	return 0;
}

int stt_devstat_page_cache(uint64_t *bytes)
{
	char *text = NULL;
	int r;

	r = stt_sysfs_slurp("/proc/meminfo", &text);
	if (r)
		return stt_err(r, "/proc/meminfo: %s", strerror(-r));
	r = stt_devstat_parse_cached(text, bytes);
	free(text);
	return r;
}

int stt_devstat_drop_caches(void)
{
	int fd, r = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "/proc/sys/vm/drop_caches: %s", strerror(errno));
	if (write(fd, "3", 1) != 1)
		r = stt_err(-errno, "/proc/sys/vm/drop_caches: %s", strerror(errno));
	close(fd);
	return r;
}
