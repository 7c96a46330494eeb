// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the real engines share (bench_int.h): the in-container reader -- a static busybox and
 * its script, bind-mounted read-only from outside the measured filesystem -- the run's label,
 * the engine's directory, and samples of times summarised into the "engine" member.
 */
#include "measure/bench_int.h"

#include "base/array.h"
#include "base/err.h"
#include "base/fmt.h"
#include "base/stats.h"
#include "sys/fsutil.h"
#include "workload/image.h"
#include "workload/trace.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

void stt_bench_label(char *out, size_t n)
{
	struct timespec ts;
	unsigned int seed;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (unsigned int)getpid() ^ (unsigned int)ts.tv_nsec ^ (unsigned int)ts.tv_sec * 7919u;
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(unsigned int)rand_r(&seed) % 36];
	out[n - 1] = '\0';
}

/* @s as an absolute path in single quotes for sh, after a space. */
static void quoted(FILE *f, const char *s)
{
	fputc(' ', f);
	stt_fmt_sh_word(f, "/", s);
}

static int write_script(const char *path, const struct stt_bench_workload *wl, bool ready,
			bool replayer)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	fputs("# stortune's in-container reader: one letter a phase on stdin, one answer line.\n"
	      "trap 'exit 0' TERM\n"
	      "cd /\n",
	      f);
	if (ready)
		fputs("echo S\n", f);
	fputs("while read -r c; do\n"
	      "case \"$c\" in\n"
	      "r) if true",
	      f);
	if (wl->n_stat) {
		fputs(" && stat -c ''", f);
		for (size_t i = 0; i < wl->n_stat; i++)
			quoted(f, wl->stat_paths[i]);
		fputs(" >/dev/null", f);
	}
	if (wl->n_readdir) {
		fputs(" && ls -a", f);
		for (size_t i = 0; i < wl->n_readdir; i++)
			quoted(f, wl->readdir_paths[i]);
		fputs(" >/dev/null", f);
	}
	if (wl->n_read) {
		fputs(" && cat", f);
		for (size_t i = 0; i < wl->n_read; i++)
			quoted(f, wl->read_paths[i]);
		fputs(" >/dev/null", f);
	}
	/*
	 * A traced start's reads: by the static replayer as the emulation replays them, or,
	 * without it, each range with dd (pages; faults are read the same way).
	 */
	if (wl->trace && replayer)
		fputs(" && " STT_READER_MOUNT "/replay " STT_READER_MOUNT "/trace.list", f);
	for (size_t i = 0; wl->trace && !replayer && i < wl->trace->n_files; i++) {
		const struct stt_trace_file *tf = &wl->trace->files[i];

		for (size_t k = 0; k < tf->n_ranges; k++) {
			const struct stt_trace_range *g = &tf->ranges[k];

			if (g->kind != STT_TRACE_READ && g->kind != STT_TRACE_FAULT)
				continue;
			fputs(" && dd if=", f);
			stt_fmt_sh_word(f, "/", tf->path);
			fprintf(f, " of=/dev/null bs=4096 skip=%llu count=%llu 2>/dev/null",
				(unsigned long long)(g->off_bytes / 4096),
				(unsigned long long)((g->off_bytes % 4096 + g->len_bytes + 4095) / 4096));
		}
	}
	fputs("; then echo R; else echo E; fi ;;\n"
	      "w) if true",
	      f);
	for (unsigned int k = 0; k < wl->write_files; k++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "stortune-new-%u", k);
		fprintf(f, " && head -c %llu /dev/zero >",
			(unsigned long long)wl->write_file_bytes);
		quoted(f, rel);
		if (wl->fsync_writes) {
			fputs(" && sync", f);
			quoted(f, rel);
		}
	}
	for (size_t k = 0; k < wl->n_rewrite; k++) {
		/* Rewritten whole, in place, at its own size. */
		fputs(" && head -c \"$(stat -c %s", f);
		quoted(f, wl->rewrite_paths[k]);
		fputs(")\" /dev/zero >", f);
		quoted(f, wl->rewrite_paths[k]);
		if (wl->fsync_writes) {
			fputs(" && sync", f);
			quoted(f, wl->rewrite_paths[k]);
		}
	}
	fputs("; then echo W; else echo E; fi ;;\n", f);
	if (wl->mid_path) {
		fprintf(f, "c) if printf STT! | dd bs=1 count=4 seek=%llu conv=notrunc of=",
			(unsigned long long)(wl->mid_file_bytes / 2));
		stt_fmt_sh_word(f, "/", wl->mid_path);
		fputs(" 2>/dev/null; then echo C; else echo E; fi ;;\n", f);
	}
	/* A round trip with no work (echo is the shell's own): what the answer path costs. */
	fputs("n) echo N ;;\n*) echo E unknown command ;;\nesac\ndone\n", f);
	if (fclose(f))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int copy_file(const char *from, const char *to, unsigned int mode)
{
	char buf[65536];
	int in = -1, out = -1, r = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return stt_err(-errno, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		r = stt_err(-errno, "%s: %s", to, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			r = stt_err(-EIO, "%s: cannot write", to);
			goto out;
		}
	if (n < 0)
		r = stt_err(-errno, "%s: %s", from, strerror(errno));
out:
	if (out >= 0 && close(out) && !r)
		r = stt_err(-errno, "%s: %s", to, strerror(errno));
	close(in);
	return r;
}

/* Whether @path is an ELF program without an interpreter (static): 1, 0, or -errno. */
static int elf_static(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 1;

	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		return -ENOEXEC;
	}
	for (unsigned int i = 0; i < eh.e_phnum && r == 1; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			r = -ENOEXEC;
		else if (ph.p_type == PT_INTERP)
			r = 0;
	}
	close(fd);
	return r;
}

/*
 * The static replayer of traced starts (tools/replay.c): $STT_REPLAY, else build/ beside the
 * executable (a source tree), else beside it, else the installed one.
 */
static bool find_replayer(char *out, size_t len)
{
	const char *env = getenv("STT_REPLAY");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return elf_static(out) == 1;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(out, len, "%s/build/stortune-replay", exe);
		if (elf_static(out) == 1)
			return true;
		snprintf(out, len, "%s/stortune-replay", exe);
		if (elf_static(out) == 1)
			return true;
	}
	snprintf(out, len, "%s/stortune-replay", STT_DATADIR);
	return elf_static(out) == 1;
}

/* The replayer and the trace's ranges for it ("KIND OFFSET LENGTH PATH_BYTES PATH\n"). */
static int make_replayer(const char *dir, const struct stt_trace *t, bool *replayer)
{
	char bin[PATH_MAX], path[PATH_MAX + 32];
	FILE *f;
	int r;

	if (!find_replayer(bin, sizeof(bin)))
		return 0; /* dd in the script instead */
	snprintf(path, sizeof(path), "%s/reader/replay", dir);
	if ((r = copy_file(bin, path, 0755)))
		return r;
	snprintf(path, sizeof(path), "%s/reader/trace.list", dir);
	f = fopen(path, "we");
	if (!f)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < t->n_files; i++)
		for (size_t k = 0; k < t->files[i].n_ranges; k++) {
			const struct stt_trace_range *g = &t->files[i].ranges[k];

			if (g->kind == STT_TRACE_READ || g->kind == STT_TRACE_FAULT)
				fprintf(f, "%c %llu %llu %zu %s\n", g->kind,
					(unsigned long long)g->off_bytes,
					(unsigned long long)g->len_bytes, strlen(t->files[i].path),
					t->files[i].path);
		}
	if (fclose(f))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	*replayer = true;
	return 0;
}

int stt_bench_reader_make(const char *dir, const struct stt_bench_workload *wl, bool ready,
			  bool *replayer)
{
	char path[PATH_MAX + 32];
	int r;

	*replayer = false;
	r = elf_static(BUSYBOX);
	if (r < 0)
		return stt_err(-ENOENT,
			       "%s: %s; the in-container reader is a static busybox (Debian: "
			       "apt-get install busybox-static)",
			       BUSYBOX, r == -ENOEXEC ? "not a 64-bit ELF program" : strerror(-r));
	if (!r)
		return stt_err(-ENOEXEC,
			       "%s: dynamically linked; the in-container reader must be static "
			       "(Debian: apt-get install busybox-static)",
			       BUSYBOX);
	snprintf(path, sizeof(path), "%s/reader", dir);
	if (mkdir(path, 0755))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/reader/busybox", dir);
	if ((r = copy_file(BUSYBOX, path, 0755)))
		return r;
	if (wl->trace && (r = make_replayer(dir, wl->trace, replayer)))
		return r;
	snprintf(path, sizeof(path), "%s/reader/startup.sh", dir);
	return write_script(path, wl, ready, *replayer);
}

void stt_bench_reader_info(struct json_object *info, const struct stt_bench_workload *wl,
			   bool replayer)
{
	if (wl->trace)
		json_object_object_add(
		    info, "trace_replay",
		    json_object_new_string(replayer ? "stortune-replay (static): pread and mapped "
						      "pages, as the emulation"
						    : "busybox dd, one process per range "
						      "(stortune-replay not found)"));
}

int stt_bench_image_tar(const struct stt_bench_engine_opts *eo, const char *dir, const char *label,
			char *tar, size_t len, bool *own)
{
	char tag[64], tmp[PATH_MAX + 8];
	int r;

	*own = false;
	if (eo->image_tar) {
		snprintf(tar, len, "%s", eo->image_tar);
		return 0;
	}
	snprintf(tar, len, "%s/image.tar", dir);
	snprintf(tmp, sizeof(tmp), "%s/export", dir);
	snprintf(tag, sizeof(tag), "stortune-bench:%s", label);
	if ((r = stt_fs_mkdir_p(tmp, 0755)))
		return stt_err(r, "%s: cannot create: %s", tmp, strerror(-r));
	if ((r = stt_image_write_docker_save(eo->img, tar, tag, tmp)))
		return r;
	rmdir(tmp);
	*own = true;
	return 0;
}

int stt_bench_engine_dir(struct stt_backend *b, char *dir, size_t len, char *root, size_t rlen)
{
	char *slash;
	int r;

	if (!b->ops->root_dir)
		return stt_err(-EOPNOTSUPP, "%s: the real engine does not run on it (not built)",
			       b->ops->name);
	if ((r = b->ops->root_dir(b, root, rlen)))
		return r;
	snprintf(dir, len, "%s", root);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if ((size_t)snprintf(dir + strlen(dir), len - strlen(dir), "/engine") >= len - strlen(dir))
		return stt_err(-ENAMETOOLONG, "%s/engine: too long", dir);
	return 0;
}

void stt_bench_samples_init(struct stt_bench_samples *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
}

void stt_bench_samples_release(struct stt_bench_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
	pthread_mutex_destroy(&s->lock);
}

int stt_bench_samples_add(struct stt_bench_samples *s, double ns)
{
	pthread_mutex_lock(&s->lock);
	if (stt_array_reserve(&s->v, &s->cap, s->n, sizeof(*s->v), 64)) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	s->v[s->n++] = ns;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void stt_bench_samples_json(struct stt_bench_samples *s, struct json_object *o, const char *key)
{
	struct stt_summary sm;
	struct json_object *x, *ci;

	if (!o || !s->n || stt_stats_summarize(s->v, s->n, &sm, NULL))
		return;
	x = json_object_new_object();
	ci = json_object_new_array();
	json_object_object_add(x, "unit", json_object_new_string("ns"));
	json_object_object_add(x, "n", json_object_new_int64((int64_t)sm.n));
	json_object_object_add(x, "median", json_object_new_double(sm.median));
	json_object_array_add(ci, json_object_new_double(sm.ci_lo));
	json_object_array_add(ci, json_object_new_double(sm.ci_hi));
	json_object_object_add(x, "ci95", ci);
	json_object_object_add(x, "mean", json_object_new_double(sm.mean));
	json_object_object_add(o, key, x);
}
