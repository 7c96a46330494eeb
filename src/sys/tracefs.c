// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/tracefs.h"

#include "base/err.h"
#include "sys/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_BYTES 4096u

static const char *const event_names[STT_TRACEFS_NKINDS] = {
    [STT_TRACEFS_READ] = "mm_filemap_get_pages",
    [STT_TRACEFS_FAULT] = "mm_filemap_fault",
    [STT_TRACEFS_MAP] = "mm_filemap_map_pages",
    [STT_TRACEFS_ADD] = "mm_filemap_add_to_page_cache",
};

struct stt_tracefs {
	struct stt_journal *j;
	char mnt[PATH_MAX];
	char inst[PATH_MAX + 64];
	unsigned int rec_dir, rec_mount, rec_inst;
	int pipe_fd;
	char line[4096]; /* a line not yet ended */
	size_t line_len;
};

/* ---- the text of trace_pipe ---- */

static int parse_payload(enum stt_tracefs_kind k, const char *p, struct stt_tracefs_event *ev)
{
	unsigned long long ino, a = 0, b = 0, pfn;
	unsigned int order;

	switch (k) {
	case STT_TRACEFS_READ:
	case STT_TRACEFS_MAP:
		if (sscanf(p, " dev=%u:%u ino=%llx ofs=%llu-%llu", &ev->major, &ev->minor, &ino, &a,
			   &b) != 5 ||
		    b < a)
			return -EINVAL;
		ev->first_page = a / PAGE_BYTES;
		ev->last_page = b / PAGE_BYTES;
		break;
	case STT_TRACEFS_FAULT:
		if (sscanf(p, " dev=%u:%u ino=%llx ofs=%llu", &ev->major, &ev->minor, &ino, &a) !=
		    4)
			return -EINVAL;
		ev->first_page = ev->last_page = a / PAGE_BYTES;
		break;
	case STT_TRACEFS_ADD:
		if (sscanf(p, " dev %u:%u ino %llx pfn=0x%llx ofs=%llu order=%u", &ev->major,
			   &ev->minor, &ino, &pfn, &a, &order) != 6 ||
		    order > 20)
			return -EINVAL;
		ev->first_page = a / PAGE_BYTES;
		ev->last_page = ev->first_page + (1ull << order) - 1;
		break;
	default:
		return -EINVAL;
	}
	ev->ino = ino;
	return 0;
}

int stt_tracefs_parse_line(const char *line, struct stt_tracefs_event *ev)
{
	const char *name = NULL, *lb, *rb, *dash, *p;
	size_t n;
	int k = -1;

	memset(ev, 0, sizeof(*ev));
	if (line[0] == '#')
		return -ENOENT;
	for (int i = 0; i < STT_TRACEFS_NKINDS && !name; i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), ": %s:", event_names[i]);
		if ((name = strstr(line, pat)))
			k = i;
	}
	if (!name)
		return -ENOENT;
	ev->kind = (enum stt_tracefs_kind)k;
	/* "COMM-PID [CPU] FLAGS TS": the last '[' before the event, COMM-PID before it. */
	for (lb = NULL, p = line; p < name; p++)
		if (*p == '[')
			lb = p;
	if (!lb || !(rb = memchr(lb, ']', (size_t)(name - lb))))
		return -EINVAL;
	p = lb;
	while (p > line && p[-1] == ' ')
		p--;
	for (dash = p; dash > line && dash[-1] != '-'; dash--)
		;
	if (dash == line)
		return -EINVAL;
	ev->pid = (pid_t)strtol(dash, NULL, 10);
	dash--;
	while (line < dash && *line == ' ')
		line++;
	n = (size_t)(dash - line);
	if (n >= sizeof(ev->comm))
		n = sizeof(ev->comm) - 1;
	memcpy(ev->comm, line, n);
	ev->comm[n] = '\0';
	/* The timestamp: the last token before the event's name. */
	for (p = name; p > rb && p[-1] != ' '; p--)
		;
	ev->ts_s = strtod(p, NULL);
	return parse_payload(ev->kind, name + strlen(event_names[k]) + 3, ev);
}

/* ---- the instance ---- */

static int write_str(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX + 128];
	int fd, r = 0;
	size_t n = strlen(s);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	if (write(fd, s, n) != (ssize_t)n)
		r = stt_err(-errno, "%s: cannot write '%s': %s", path, s, strerror(errno));
	close(fd);
	return r;
}

static void undo_rec(struct stt_tracefs *t, unsigned int *rec, int *first)
{
	int e = stt_journal_undo_one(t->j, *rec);

	if (e && first && !*first)
		*first = e;
	*rec = STT_JOURNAL_NONE;
}

int stt_tracefs_close(struct stt_tracefs *t)
{
	int r = 0;

	if (!t)
		return 0;
	if (t->pipe_fd >= 0)
		close(t->pipe_fd);
	undo_rec(t, &t->rec_inst, &r);
	undo_rec(t, &t->rec_mount, &r);
	undo_rec(t, &t->rec_dir, &r);
	free(t);
	return r;
}

int stt_tracefs_open(const char *mnt, unsigned int major, unsigned int minor,
		     unsigned int buffer_kb, struct stt_journal *j, struct stt_tracefs **out)
{
	struct stt_tracefs *t = calloc(1, sizeof(*t));
	char path[PATH_MAX + 160], val[64];
	int r;

	if (!t)
		return -ENOMEM;
	t->j = j;
	t->pipe_fd = -1;
	t->rec_dir = t->rec_mount = t->rec_inst = STT_JOURNAL_NONE;
	snprintf(t->mnt, sizeof(t->mnt), "%s", mnt);
	if ((r = stt_journal_add(j, STT_J_DIR, mnt, NULL, &t->rec_dir)))
		goto fail;
	if (mkdir(mnt, 0700)) {
		r = stt_err(-errno, "%s: %s", mnt, strerror(errno));
		goto fail;
	}
	if ((r = stt_journal_add(j, STT_J_MOUNT, mnt, NULL, &t->rec_mount)))
		goto fail;
	if (mount("nodev", mnt, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		r = stt_err(errno == ENODEV ? -ENOENT : -errno,
			    "tracefs: cannot mount at %s: %s (a kernel with CONFIG_TRACING and "
			    "tracefs is needed)",
			    mnt, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < STT_TRACEFS_NKINDS; i++) {
		snprintf(path, sizeof(path), "%s/events/filemap/%s/filter", mnt, event_names[i]);
		if (access(path, W_OK)) {
			r = stt_err(-ENOENT,
				    "tracefs: no event filemap:%s in this kernel (%s); trace needs "
				    "the page-cache tracepoints (filemap: get_pages, fault, "
				    "map_pages, add_to_page_cache) of a recent kernel",
				    event_names[i], strerror(errno));
			goto fail;
		}
	}
	snprintf(t->inst, sizeof(t->inst), "%s/instances/stortune-%d", mnt, (int)getpid());
	if ((r = stt_journal_add(j, STT_J_TRACEFS, t->inst, NULL, &t->rec_inst)))
		goto fail;
	if (mkdir(t->inst, 0700)) {
		r = stt_err(-errno, "%s: %s", t->inst, strerror(errno));
		goto fail;
	}
	if ((r = write_str(t->inst, "tracing_on", "0")))
		goto fail;
	snprintf(val, sizeof(val), "%u", buffer_kb);
	if ((r = write_str(t->inst, "buffer_size_kb", val)))
		goto fail;
	/* The kernel's dev_t: major << 20 | minor (the format's print shows the split). */
	snprintf(val, sizeof(val), "s_dev == %u", major << 20 | minor);
	for (int i = 0; i < STT_TRACEFS_NKINDS; i++) {
		snprintf(path, sizeof(path), "events/filemap/%s/filter", event_names[i]);
		if ((r = write_str(t->inst, path, val)))
			goto fail;
	}
	*out = t;
	return 0;
fail:
	stt_tracefs_close(t);
	return r;
}

int stt_tracefs_start(struct stt_tracefs *t)
{
	char path[PATH_MAX + 160];
	int r;

	for (int i = 0; i < STT_TRACEFS_NKINDS; i++) {
		snprintf(path, sizeof(path), "events/filemap/%s/enable", event_names[i]);
		if ((r = write_str(t->inst, path, "1")))
			return r;
	}
	snprintf(path, sizeof(path), "%s/trace_pipe", t->inst);
	if (t->pipe_fd < 0) {
		t->pipe_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (t->pipe_fd < 0)
			return stt_err(-errno, "%s: %s", path, strerror(errno));
	}
	return write_str(t->inst, "tracing_on", "1");
}

int stt_tracefs_stop(struct stt_tracefs *t)
{
	return write_str(t->inst, "tracing_on", "0");
}

static int take_line(struct stt_tracefs *t, stt_tracefs_event_fn fn, void *arg)
{
	struct stt_tracefs_event ev;
	int r;

	t->line[t->line_len] = '\0';
	t->line_len = 0;
	r = stt_tracefs_parse_line(t->line, &ev);
	if (r == -ENOENT)
		return 0;
	if (r)
		return stt_err(r, "tracefs: cannot read the line '%.200s'", t->line);
	return fn(&ev, arg);
}

int stt_tracefs_read(struct stt_tracefs *t, long timeout_ms, stt_tracefs_event_fn fn, void *arg)
{
	struct pollfd pfd = {.fd = t->pipe_fd, .events = POLLIN};
	char buf[65536];
	int r;

	if (t->pipe_fd < 0)
		return 0;
	if (poll(&pfd, 1, (int)timeout_ms) < 0 && errno != EINTR)
		return stt_err(-errno, "%s/trace_pipe: poll: %s", t->inst, strerror(errno));
	for (;;) {
		ssize_t n = read(t->pipe_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return stt_err(-errno, "%s/trace_pipe: %s", t->inst, strerror(errno));
		if (!n)
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if ((r = take_line(t, fn, arg)))
					return r;
			} else if (t->line_len + 1 < sizeof(t->line)) {
				t->line[t->line_len++] = buf[i];
			}
		}
	}
}

uint64_t stt_tracefs_lost(struct stt_tracefs *t)
{
	char path[PATH_MAX + 160], buf[4096];
	uint64_t lost = 0;

	for (int cpu = 0; cpu < 4096; cpu++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", t->inst, cpu);
		f = fopen(path, "re");
		if (!f)
			break;
		while (fgets(buf, sizeof(buf), f)) {
			unsigned long long v;

			if (sscanf(buf, "overrun: %llu", &v) == 1 ||
			    sscanf(buf, "dropped events: %llu", &v) == 1)
				lost += v;
		}
		fclose(f);
	}
	return lost;
}
