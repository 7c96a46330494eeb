// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stortune-replay: a traced start's reads replayed inside a container of the real engine,
 * exactly as the emulation replays them (src/workload/replay.h). Built static (it runs in any
 * image) and bind-mounted read-only beside busybox at /.stortune; links nothing of stortune.
 *
 *   stortune-replay LIST
 *
 * LIST holds one range a line, in order: "KIND OFFSET LENGTH PATH_BYTES PATH\n" (KIND r or f;
 * PATH relative to the working directory, PATH_BYTES long, any bytes). A file stays open (and
 * mapped) while its ranges follow one another. Exit 0, or 1 with a message on stderr.
 */
#include "workload/replay.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_BYTES (256u << 10)

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (*len == cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		if (!n)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct stt_replay_map map = {0};
	char *list, *p, *end, *buf, cur[4096] = "";
	size_t len;
	int fd = -1, r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: stortune-replay LIST\n");
		return 2;
	}
	list = slurp(argv[1], &len);
	buf = malloc(BUF_BYTES);
	if (!list || !buf) {
		fprintf(stderr, "stortune-replay: %s: cannot read\n", argv[1]);
		return 1;
	}
	for (p = list, end = list + len; p < end && !r;) {
		unsigned long long off, n, plen;
		char kind, path[4096];
		int used = 0;

		if (sscanf(p, "%c %llu %llu %llu %n", &kind, &off, &n, &plen, &used) != 4 ||
		    !used || plen >= sizeof(path) || p + used + plen >= end ||
		    p[used + plen] != '\n') {
			fprintf(stderr, "stortune-replay: %s: bad line at byte %zu\n", argv[1],
				(size_t)(p - list));
			return 1;
		}
		memcpy(path, p + used, plen);
		path[plen] = '\0';
		p += used + plen + 1;
		if (fd < 0 || strcmp(path, cur)) {
			stt_replay_unmap(&map);
			if (fd >= 0)
				close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				perror(path);
				return 1;
			}
			snprintf(cur, sizeof(cur), "%s", path);
		}
		if ((r = stt_replay_range(fd, kind, off, n, buf, BUF_BYTES, &map)))
			fprintf(stderr, "stortune-replay: %s: %c %llu+%llu: %s\n", path, kind, off,
				n, strerror(-r));
	}
	stt_replay_unmap(&map);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(list);
	return r ? 1 : 0;
}
