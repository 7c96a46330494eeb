// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The benchmark's phases through the real engine: dockerd (a private one on the backend's
 * filesystem, or the daemon of --docker-host) driven through its API, one HTTP connection per
 * container, each phase timed at the API call.
 *
 * The reader. Each container runs a small static program, busybox (Debian's busybox-static),
 * bind-mounted read-only with its script at /.stortune from outside the measured filesystem:
 * the image stays the profile's image, and the reader's own pages are not read from the
 * storage under test. The script waits on stdin; over the attach connection (opened untimed
 * before the start) the benchmark sends one letter per phase and the container answers one
 * line when it is done:
 *
 *   r  first-read:  stat the stat set, list the readdir set, cat the read set   -> "R"
 *   w  first-write: the new files and the whole-file rewrites (sync each with fsync_writes) -> "W"
 *   c  cow-write:   4 bytes into the middle of the largest lower file (dd)        -> "C"
 *
 * (-> "E" and the applet's message on a failure). So first-read is the time from the request
 * to the answer through dockerd's attach stream: the reads inside the container, plus one
 * round trip through dockerd and containerd's shim that the emulation does not have. SIGTERM
 * ends the script (a trap), so stop is Docker's own stop: the signal, the exit, the unmount.
 */
#include "measure/bench.h"

#include "base/err.h"
#include "base/fmt.h"
#include "base/stats.h"
#include "measure/docker.h"
#include "sys/dockerd.h"
#include "sys/fsutil.h"
#include "sys/http.h"
#include "sys/journal.h"
#include "workload/image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX		  "/bin/busybox"
#define READER_MOUNT	  "/.stortune"
#define ANSWER_TIMEOUT_MS 300000
#define STOP_TIMEOUT_S	  10

struct ctr {
	char id[65];
	struct stt_http *api; /* REST calls, kept alive across phases */
	struct stt_http *att; /* the attach stream while it runs */
	struct stt_docker_stream st;
};

struct stt_bench_docker {
	struct stt_journal *j;
	struct stt_dockerd *dockerd; /* a private one, or NULL with --docker-host */
	struct stt_http *h;
	char address[PATH_MAX];
	char dir[PATH_MAX]; /* the reader, the image tar */
	unsigned int dir_rec;
	char bind[PATH_MAX + 32];
	char tar[PATH_MAX]; /* the image to load */
	bool own_tar;	    /* written by us */
	char image[256];    /* its name once loaded */
	bool loaded;
	char label[16]; /* stortune.run=<label> on its containers */
	struct ctr *c;
	unsigned int n;
	struct json_object *info; /* the "engine" member (res holds it) */
	double *rtt_ns;		  /* attach round trips with no work, one per container start */
	size_t n_rtt, cap_rtt;
	pthread_mutex_t lock;
};

static void random_label(char *out, size_t n)
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

static int write_script(const char *path, const struct stt_bench_workload *wl)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	fputs("# stortune's in-container reader: one letter a phase on stdin, one answer line.\n"
	      "trap 'exit 0' TERM\n"
	      "cd /\n"
	      "while read -r c; do\n"
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

/* The reader: a static busybox and its script in @dir/reader, bind-mounted at READER_MOUNT. */
static int make_reader(struct stt_bench_docker *d, const struct stt_bench_workload *wl)
{
	char path[PATH_MAX + 32];
	int r;

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
	snprintf(path, sizeof(path), "%s/reader", d->dir);
	if (mkdir(path, 0755))
		return stt_err(-errno, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/reader/busybox", d->dir);
	if ((r = copy_file(BUSYBOX, path, 0755)))
		return r;
	snprintf(path, sizeof(path), "%s/reader/startup.sh", d->dir);
	if ((r = write_script(path, wl)))
		return r;
	snprintf(d->bind, sizeof(d->bind), "%s/reader:%s:ro", d->dir, READER_MOUNT);
	return 0;
}

int stt_bench_docker_setup(const struct stt_bench_engine_opts *eo, struct stt_backend *b,
			   const struct stt_bench_workload *wl, unsigned int containers,
			   struct stt_journal *j, struct json_object *res,
			   struct stt_bench_docker **out)
{
	struct stt_bench_docker *d = calloc(1, sizeof(*d));
	struct json_object *info = NULL, *opts;
	char root[PATH_MAX], ddir[PATH_MAX + 16];
	int r;

	if (!d)
		return -ENOMEM;
	d->j = j;
	d->dir_rec = STT_JOURNAL_NONE;
	pthread_mutex_init(&d->lock, NULL);
	d->n = containers;
	random_label(d->label, sizeof(d->label));
	d->c = calloc(containers, sizeof(*d->c));
	if (!d->c) {
		r = -ENOMEM;
		goto fail;
	}
	/* Where the reader and the image tar go: beside the backend's filesystem, not on it. */
	if (b) {
		char *slash;

		if (!b->ops->root_dir) {
			r = stt_err(-EOPNOTSUPP, "%s: the real engine runs on overlay only so far",
				    b->ops->name);
			goto fail;
		}
		if ((r = b->ops->root_dir(b, root, sizeof(root))))
			goto fail;
		snprintf(d->dir, sizeof(d->dir), "%s", root);
		slash = strrchr(d->dir, '/');
		if (slash && slash != d->dir)
			*slash = '\0';
		snprintf(d->dir + strlen(d->dir), sizeof(d->dir) - strlen(d->dir), "/engine");
	} else {
		snprintf(d->dir, sizeof(d->dir), "%s/stortune-engine-%s", "/var/tmp", d->label);
	}
	if ((r = stt_journal_add(j, STT_J_DIR, d->dir, NULL, &d->dir_rec)))
		goto fail;
	if ((r = stt_fs_mkdir_p(d->dir, 0755))) {
		r = stt_err(r, "%s: cannot create: %s", d->dir, strerror(-r));
		goto fail;
	}
	if ((r = make_reader(d, wl)))
		goto fail;

	if (eo->image_tar) {
		snprintf(d->tar, sizeof(d->tar), "%s", eo->image_tar);
	} else {
		char tag[64], tmp[PATH_MAX + 8];

		snprintf(d->tar, sizeof(d->tar), "%s/image.tar", d->dir);
		snprintf(tmp, sizeof(tmp), "%s/export", d->dir);
		snprintf(tag, sizeof(tag), "stortune-bench:%s", d->label);
		if ((r = stt_fs_mkdir_p(tmp, 0755))) {
			r = stt_err(r, "%s: cannot create: %s", tmp, strerror(-r));
			goto fail;
		}
		if ((r = stt_image_write_docker_save(eo->img, d->tar, tag, tmp)))
			goto fail;
		rmdir(tmp);
		d->own_tar = true;
	}

	if (eo->docker_host) {
		snprintf(d->address, sizeof(d->address), "%s", eo->docker_host);
	} else {
		struct stt_dockerd_opts o = {0};

		snprintf(ddir, sizeof(ddir), "%s/dockerd", root);
		o.dir = ddir;
		o.storage_driver = "overlay2";
		o.timeout_ms = eo->dockerd_timeout_ms;
		o.journal = j;
		if ((r = stt_dockerd_start(&o, &d->dockerd)))
			goto fail;
		snprintf(d->address, sizeof(d->address), "%s", d->dockerd->address);
	}
	if ((r = stt_http_open(d->address, &d->h)))
		goto fail;
	if ((r = stt_docker_ping(d->h, 10000))) {
		if (eo->docker_host)
			r = stt_err(-EHOSTUNREACH, "--docker-host %s: no Docker daemon answers: %s",
				    eo->docker_host, stt_err_msg());
		goto fail;
	}
	if ((r = stt_docker_info(d->h, &info)))
		goto fail;
	opts = json_object_new_array();
	json_object_object_add(info, "options", opts);
	json_object_object_add(info, "address", json_object_new_string(d->address));
	json_object_object_add(info, "private", json_object_new_boolean(!eo->docker_host));
	json_object_object_add(
	    info, "reader",
	    json_object_new_string("busybox (static) at " READER_MOUNT ", bind-mounted read-only"));
	json_object_object_add(info, "http_client",
			       json_object_new_string(stt_http_library_version()));
	json_object_object_add(res, "engine", info);
	d->info = info;
	/* One connection per container, connected before anything is timed. */
	for (unsigned int i = 0; i < d->n; i++)
		if ((r = stt_http_open(d->address, &d->c[i].api)) ||
		    (r = stt_docker_ping(d->c[i].api, 10000)))
			goto fail;
	*out = d;
	return 0;
fail:
	stt_bench_docker_abandon(d);
	return r;
}

int stt_bench_docker_load(struct stt_bench_docker *d)
{
	char *before = NULL, id[160] = "", line[170];
	int r;

	/* An image the daemon had already (--docker-host) is not ours to remove at the end. */
	if ((r = stt_docker_image_ids(d->h, &before)))
		return r;
	r = stt_docker_load(d->h, d->tar, d->image, sizeof(d->image));
	if (!r)
		r = stt_docker_image_id(d->h, d->image, id, sizeof(id));
	snprintf(line, sizeof(line), "%s\n", id);
	if (!r && !strstr(before, line))
		d->loaded = true;
	free(before);
	if (!r && d->own_tar && unlink(d->tar))
		r = stt_err(-errno, "%s: %s", d->tar, strerror(errno));
	return r;
}

static int ask(struct ctr *c, const char *cmd, const char *want)
{
	char line[1024], err[1024] = "";
	int r;

	if ((r = stt_http_send(c->att, cmd, strlen(cmd))))
		return r;
	for (;;) {
		if ((r = stt_docker_attach_line(c->att, &c->st, line, sizeof(line),
						ANSWER_TIMEOUT_MS)))
			return stt_err(r, "container %.12s: %s%s%s", c->id, stt_err_msg(),
				       *err ? ": " : "", err);
		if (!strcmp(line, want))
			return 0;
		if (line[0] == 'E' && (!line[1] || line[1] == ' '))
			return stt_err(-EIO, "container %.12s: the reader failed: %s", c->id,
				       *err ? err : line);
		/* An applet's message before the answer. */
		snprintf(err, sizeof(err), "%s", line);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One round trip with no work through the attach stream, recorded (before first-read). */
static int round_trip(struct stt_bench_docker *d, struct ctr *c)
{
	uint64_t t0 = now_ns();
	int r = ask(c, "n\n", "N");
	double dt = (double)(now_ns() - t0);

	if (r)
		return r;
	pthread_mutex_lock(&d->lock);
	if (d->n_rtt == d->cap_rtt) {
		size_t cap = d->cap_rtt ? 2 * d->cap_rtt : 64;
		double *nv = realloc(d->rtt_ns, cap * sizeof(*nv));

		if (!nv) {
			pthread_mutex_unlock(&d->lock);
			return -ENOMEM;
		}
		d->rtt_ns = nv;
		d->cap_rtt = cap;
	}
	d->rtt_ns[d->n_rtt++] = dt;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int stt_bench_docker_pre(struct stt_bench_docker *d, enum stt_bench_phase p, unsigned int i)
{
	struct ctr *c = &d->c[i];
	int r;

	switch (p) {
	case STT_PHASE_START:
		/* Attached before the start, so that no output is lost. */
		memset(&c->st, 0, sizeof(c->st));
		if ((r = stt_http_open(d->address, &c->att)))
			return r;
		return stt_docker_attach(c->att, c->id);
	case STT_PHASE_READ:
		return round_trip(d, c);
	case STT_PHASE_REMOVE:
		stt_http_close(c->att);
		c->att = NULL;
		return 0;
	default:
		return 0;
	}
}

int stt_bench_docker_op(struct stt_bench_docker *d, enum stt_bench_phase p, unsigned int i)
{
	static const char *const argv[] = {READER_MOUNT "/busybox", "sh",
					   READER_MOUNT "/startup.sh", NULL};
	const char *binds[] = {d->bind, NULL};
	struct ctr *c = &d->c[i];
	int r;

	switch (p) {
	case STT_PHASE_CREATE:
		return stt_docker_create(c->api, d->image, argv, binds, d->label, c->id);
	case STT_PHASE_START:
		return stt_docker_start(c->api, c->id);
	case STT_PHASE_READ:
		return ask(c, "r\n", "R");
	case STT_PHASE_WRITE:
		return ask(c, "w\n", "W");
	case STT_PHASE_COW:
		return ask(c, "c\n", "C");
	case STT_PHASE_STOP:
		return stt_docker_stop(c->api, c->id, STOP_TIMEOUT_S);
	case STT_PHASE_REMOVE:
		r = stt_docker_remove(c->api, c->id, false);
		if (!r)
			c->id[0] = '\0';
		return r;
	default:
		return -EINVAL;
	}
}

static void free_ctrs(struct stt_bench_docker *d)
{
	for (unsigned int i = 0; d->c && i < d->n; i++) {
		stt_http_close(d->c[i].att);
		stt_http_close(d->c[i].api);
	}
	free(d->c);
	d->c = NULL;
}

/* On a daemon that is not ours: its containers and its image, whatever state they are in. */
static int remove_ours(struct stt_bench_docker *d)
{
	char(*ids)[65] = NULL;
	size_t n = 0;
	int r, first = 0;

	if (!d->h)
		return 0;
	ids = calloc(4096, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	r = stt_docker_list(d->h, d->label, ids, 4096, &n);
	for (size_t i = 0; !r && i < n && i < 4096; i++)
		if ((r = stt_docker_remove(d->h, ids[i], true)) && !first)
			first = r;
	free(ids);
	if (r && !first)
		first = r;
	if (d->loaded && (r = stt_docker_image_remove(d->h, d->image)) && !first)
		first = r;
	d->loaded = false;
	return first;
}

/*
 * The round trips as a summary in the engine member: what first-read, first-write and
 * cow-write hold besides the work in the container.
 */
static void rtt_json(struct stt_bench_docker *d)
{
	struct stt_summary sm;
	struct json_object *o;

	if (!d->info || !d->n_rtt || stt_stats_summarize(d->rtt_ns, d->n_rtt, &sm, NULL))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "unit", json_object_new_string("ns"));
	json_object_object_add(o, "n", json_object_new_int64((int64_t)sm.n));
	json_object_object_add(o, "median", json_object_new_double(sm.median));
	json_object_object_add(o, "ci95", json_object_new_array());
	json_object_array_add(json_object_object_get(o, "ci95"), json_object_new_double(sm.ci_lo));
	json_object_array_add(json_object_object_get(o, "ci95"), json_object_new_double(sm.ci_hi));
	json_object_object_add(o, "mean", json_object_new_double(sm.mean));
	json_object_object_add(d->info, "attach_round_trip_ns", o);
}

int stt_bench_docker_teardown(struct stt_bench_docker *d)
{
	int r = 0, e;

	rtt_json(d);
	free_ctrs(d);
	if (!d->dockerd)
		r = remove_ours(d);
	stt_http_close(d->h);
	d->h = NULL;
	if (d->dockerd && (e = stt_dockerd_stop(d->dockerd, d->j)) && !r)
		r = e;
	d->dockerd = NULL;
	if ((e = stt_journal_undo_one(d->j, d->dir_rec)) && !r)
		r = e;
	pthread_mutex_destroy(&d->lock);
	free(d->rtt_ns);
	free(d);
	return r;
}

void stt_bench_docker_abandon(struct stt_bench_docker *d)
{
	char msg[2048];

	if (!d)
		return;
	snprintf(msg, sizeof(msg), "%s", stt_err_msg());
	free_ctrs(d);
	if (!d->dockerd)
		(void)remove_ours(d);
	stt_http_close(d->h);
	/* A private dockerd and the directories: the run's journal undoes them. */
	free(d->dockerd);
	pthread_mutex_destroy(&d->lock);
	free(d->rtt_ns);
	free(d);
	stt_err_set("%s", msg);
}
