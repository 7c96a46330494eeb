/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_CMD_H
#define STT_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes of every command. */
enum {
	CMD_EXIT_OK = 0,
	CMD_EXIT_FAILURE = 1,
	CMD_EXIT_USAGE = 2, /* usage error or bad input: nothing was changed */
};

/* Options every command takes, before or after its name. */
struct cmd_ctx {
	bool json;  /* machine output on stdout, diagnostics on stderr */
	bool quiet; /* no progress, no notes */
};

struct cmd_entry {
	const char *name;
	const char *summary;  /* one line, for the command list */
	const char *synopsis; /* "probe [PATH|DEVICE ...]" */
	const char *help;     /* the options and what the command does */
	int (*run)(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv);
};

/* One row per command, in cmd/stortune.c; NULL-terminated. */
extern const struct cmd_entry *const cmd_table[];

extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_probe_entry;
extern const struct cmd_entry cmd_backends_entry;
extern const struct cmd_entry cmd_selftest_entry;
extern const struct cmd_entry cmd_cleanup_entry;
extern const struct cmd_entry cmd_bench_entry;
extern const struct cmd_entry cmd_qualify_entry;
extern const struct cmd_entry cmd_io_entry;
extern const struct cmd_entry cmd_fio_check_entry;
extern const struct cmd_entry cmd_compare_entry;
extern const struct cmd_entry cmd_recommend_entry;
extern const struct cmd_entry cmd_tune_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_trace_entry;

const struct cmd_entry *cmd_lookup(const char *name);
int cmd_main(int argc, char **argv);

/* Full usage of one command, on stdout (--help) or of the program when @e is NULL. */
void cmd_print_help(const struct cmd_entry *e);

/*
 * A usage error: "stortune CMD: <message>" and the short usage on stderr; returns
 * CMD_EXIT_USAGE. @fmt may be NULL when getopt has already said what was wrong.
 */
__attribute__((format(printf, 2, 3))) int cmd_usage_error(const struct cmd_entry *e,
							    const char *fmt, ...);

/* "stortune CMD: <message>" on stderr; returns @code. */
__attribute__((format(printf, 3, 4))) int cmd_fail(const struct cmd_entry *e, int code,
						   const char *fmt, ...);

/*
 * A whole decimal number, digits only (no sign, space or suffix), that fits 64 bits: 0 and
 * *@v, else -EINVAL. cmd_parse_uint() also needs @min <= value <= @max.
 */
int cmd_parse_u64(const char *s, uint64_t *v);
int cmd_parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *v);

/* A note for people on stderr, silent under --quiet. */
__attribute__((format(printf, 2, 3))) void cmd_note(const struct cmd_ctx *ctx, const char *fmt,
						    ...);

/*
 * The options every command shares. Put CMD_COMMON_OPTIONS in the command's long options,
 * CMD_COMMON_SHORT in its short options, and send getopt results it does not know to
 * cmd_common_opt(), which returns CMD_CONTINUE when it took the option, else the exit code.
 */
#define CMD_CONTINUE (-1)
#define CMD_COMMON_SHORT "+hjq"
#define CMD_COMMON_OPTIONS                                                                         \
	{ "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, 'j' },                    \
	{                                                                                          \
		"quiet", no_argument, NULL, 'q'                                                    \
	}
int cmd_common_opt(const struct cmd_entry *e, struct cmd_ctx *ctx, int c);

/*
 * Target options shared by the commands that build backends (cmd/target.c). Put
 * CMD_TARGET_OPTIONS in the long options and send their codes to cmd_target_opt(), which
 * returns CMD_CONTINUE or an exit code; cmd_target_check() then applies the device rule
 * (--destroy-data must name --device, which must probe free) before anything is made.
 */
#include "backend/backend.h"

enum {
	CMD_OPT_WORKDIR = 300,
	CMD_OPT_JOURNAL_DIR,
	CMD_OPT_DEVICE,
	CMD_OPT_DESTROY_DATA,
	CMD_OPT_FS,
	CMD_OPT_SCRATCH_SIZE,
	CMD_OPT_DATA_SIZE,
	CMD_OPT_META_SIZE,
	CMD_OPT_BASE_SIZE,
	CMD_OPT_CHUNK_SIZE,
	CMD_OPT_ZEROING,
	CMD_OPT_LOOP_DIO,
	CMD_OPT_DEFERRED_REMOVAL,
	CMD_OPT_DEFERRED_DELETION,
	CMD_OPT_BLKDISCARD,
	CMD_OPT_TARGET_END,
};

#define CMD_TARGET_OPTIONS                                                                         \
	{ "workdir", required_argument, NULL, CMD_OPT_WORKDIR },                                   \
	{ "journal-dir", required_argument, NULL, CMD_OPT_JOURNAL_DIR },                           \
	{ "device", required_argument, NULL, CMD_OPT_DEVICE },                                     \
	{ "destroy-data", required_argument, NULL, CMD_OPT_DESTROY_DATA },                         \
	{ "fs", required_argument, NULL, CMD_OPT_FS },                                             \
	{ "scratch-size", required_argument, NULL, CMD_OPT_SCRATCH_SIZE },                         \
	{ "data-size", required_argument, NULL, CMD_OPT_DATA_SIZE },                               \
	{ "meta-size", required_argument, NULL, CMD_OPT_META_SIZE },                               \
	{ "base-size", required_argument, NULL, CMD_OPT_BASE_SIZE },                               \
	{ "chunk-size", required_argument, NULL, CMD_OPT_CHUNK_SIZE },                             \
	{ "zeroing", optional_argument, NULL, CMD_OPT_ZEROING },                                   \
	{ "loop-dio", optional_argument, NULL, CMD_OPT_LOOP_DIO },                                 \
	{ "deferred-removal", optional_argument, NULL, CMD_OPT_DEFERRED_REMOVAL },                 \
	{ "deferred-deletion", optional_argument, NULL, CMD_OPT_DEFERRED_DELETION },               \
	{                                                                                          \
		"blkdiscard", required_argument, NULL, CMD_OPT_BLKDISCARD                          \
	}

#define CMD_TARGET_HELP                                                                            \
	"target options:\n"                                                                        \
	"  --workdir DIR          scratch directory (default /var/tmp/stortune)\n"                 \
	"  --device DEV           a block device for direct-lvm (else a loop device stands in)\n"  \
	"  --destroy-data DEV     consent to overwrite DEV; must name --device\n"                  \
	"  --fs xfs|ext4          filesystem of overlay's root and of thin devices (xfs;\n"        \
	"                         containerd-devmapper: ext4, containerd's fs_type default)\n"    \
	"  --scratch-size SIZE    sparse file for overlay / direct-lvm's stand-in (20G)\n"         \
	"  --data-size SIZE       dm-loop data file (100G, sparse)\n"                              \
	"  --meta-size SIZE       dm-loop metadata file (2G, sparse)\n"                            \
	"  --base-size SIZE       thin device size, dm.basesize (10G)\n"                           \
	"  --chunk-size SIZE      thin-pool block size (dm-loop 64K, direct-lvm 512K)\n"           \
	"  --zeroing[=0|1]        zero new thin-pool blocks (off, as Docker)\n"                    \
	"  --loop-dio[=0|1]       loop devices with direct I/O (off, as Docker)\n"                 \
	"  --deferred-removal[=0|1], --deferred-deletion[=0|1]   dm.use_deferred_*\n"              \
	"  --blkdiscard 0|1       discard thin devices before delete (on for dm-loop)\n"           \
	"  --journal-dir DIR      where the undo journal lives (default /run/stortune)\n"

struct cmd_target {
	struct stt_backend_opts o;
	const char *journal_dir;
	int lock_fd; /* the scratch directory's lock while a run holds it, else -1 */
};

void cmd_target_init(struct cmd_target *t);
int cmd_target_opt(const struct cmd_entry *e, struct cmd_target *t, int c, const char *arg);
int cmd_target_check(const struct cmd_entry *e, const struct cmd_target *t);
/*
 * Before a run makes anything: the scratch and journal directories must be directories of
 * this user (not symlinks), the scratch directory's lock is taken (a second run on it is
 * refused), and the journal is opened. CMD_CONTINUE, or the exit code (2: refused, nothing
 * changed) after the message.
 */
struct stt_journal;
/* The checks and the lock of cmd_target_begin() alone (a no-op when @t holds the lock). */
int cmd_target_lock(const struct cmd_entry *e, struct cmd_target *t);
void cmd_target_unlock(struct cmd_target *t);
int cmd_target_begin(const struct cmd_entry *e, struct cmd_target *t, struct stt_journal **j);

/* The benchmark options and state shared by bench and qualify (cmd/bench.c). */
struct stt_profile;
struct stt_image;
struct stt_trace;
struct stt_host;

#include "measure/bench.h"

enum {
	CMD_OPT_BACKEND = CMD_OPT_TARGET_END + 1,
	CMD_OPT_PROFILE,
	CMD_OPT_IMAGE,
	CMD_OPT_CONTAINERS,
	CMD_OPT_CONCURRENCY,
	CMD_OPT_REPETITIONS,
	CMD_OPT_OUTPUT,
	CMD_OPT_ENV_LABEL,
	CMD_OPT_ENGINE, /* bench and qualify only (CMD_ENGINE_OPTIONS) */
	CMD_OPT_DOCKER_HOST,
	CMD_OPT_DOCKERD_TIMEOUT,
	CMD_OPT_BENCH_END,
};

#define CMD_BENCH_OPTIONS                                                                          \
	{ "backend", required_argument, NULL, CMD_OPT_BACKEND },                                   \
	{ "profile", required_argument, NULL, CMD_OPT_PROFILE },                                   \
	{ "image", required_argument, NULL, CMD_OPT_IMAGE },                                       \
	{ "containers", required_argument, NULL, CMD_OPT_CONTAINERS },                             \
	{ "concurrency", required_argument, NULL, CMD_OPT_CONCURRENCY },                           \
	{ "repetitions", required_argument, NULL, CMD_OPT_REPETITIONS },                           \
	{                                                                                          \
		"env-label", required_argument, NULL, CMD_OPT_ENV_LABEL                            \
	}

#define CMD_ENGINE_OPTIONS                                                                         \
	{ "engine", required_argument, NULL, CMD_OPT_ENGINE },                                     \
	{ "docker-host", required_argument, NULL, CMD_OPT_DOCKER_HOST },                           \
	{                                                                                          \
		"dockerd-timeout", required_argument, NULL, CMD_OPT_DOCKERD_TIMEOUT                \
	}

#define CMD_ENGINE_HELP                                                                            \
	"  --engine emulated|docker|containerd   the emulation (default: stortune performs the\n" \
	"                        storage operations itself) or the real engine: its own dockerd\n" \
	"                        (Debian's docker.io) on the backend's target, through its API,\n" \
	"                        for Docker's backends; its own containerd (Debian's containerd)\n" \
	"                        there, through ctr, for the containerd-* backends\n"              \
	"  --docker-host URL     with --engine docker: that daemon instead (unix:///PATH or\n"     \
	"                        tcp://HOST:PORT); only its own image and containers are touched\n" \
	"  --dockerd-timeout S   seconds for the private dockerd to answer (default 60)\n"

enum cmd_engine { CMD_ENGINE_EMULATED, CMD_ENGINE_DOCKER, CMD_ENGINE_CONTAINERD, CMD_ENGINE_BOTH };

struct cmd_bench;
struct cmd_entry;

struct cmd_bench {
	struct cmd_target t;
	enum cmd_engine engine;
	const char *docker_host;
	unsigned int dockerd_timeout_s;
	struct stt_bench_engine_opts eng;
	/* Why containerd cannot run a backend (its snapshotter), by stt_backends index; "": it can */
	char probe_failed[8][512];
	const char *backends, *profile_name, *image_tar, *env_label;
	bool profile_given;
	unsigned int containers, concurrency, repetitions; /* 0: the profile's */
	struct stt_bench_params params;
	struct stt_profile *profile;
	struct stt_image *img;
	struct stt_trace *trace; /* the profile's [startup] trace, or NULL */
	struct stt_host *host;
};

void cmd_bench_init(struct cmd_bench *cb);
/* Takes target and bench options (codes CMD_OPT_WORKDIR .. CMD_OPT_BENCH_END). */
int cmd_bench_opt(const struct cmd_entry *self, struct cmd_bench *cb, int c, const char *arg);
/* Checks the target, loads profile and image, probes the host: CMD_CONTINUE or exit code. */
int cmd_bench_setup(const struct cmd_entry *self, struct cmd_ctx *ctx, struct cmd_bench *cb);
int cmd_bench_engine_check(const struct cmd_entry *self, struct cmd_bench *cb);
/* Runs the benchmark on the chosen backends; *@out is the results document. */
int cmd_bench_run(const struct cmd_entry *self, struct cmd_ctx *ctx, struct cmd_bench *cb,
		  struct json_object **out);
void cmd_bench_release(struct cmd_bench *cb);
/* The workload of @img for stt_bench_run; @args holds one pointer per layer. */
void cmd_bench_workload(struct stt_image *img, struct stt_bench_workload *wl, void **args);
/* The "options" member of a results document: what the run was given. */
struct json_object *cmd_bench_options_json(const struct cmd_bench *cb);

#include "sys/journal.h"

/*
 * The end of a run's journal (cmd/target.c): undoes what is still recorded, each failure on
 * stderr (and each undone object too when @ctx is given and not quiet), says so when objects
 * remain (run 'stortune cleanup'), and closes it; then releases @t's scratch lock.
 */
void cmd_journal_finish(const struct cmd_entry *self, const struct cmd_ctx *ctx,
			struct cmd_target *t, struct stt_journal *j);
/* The report of stt_journal_undo_all() used by cmd_journal_finish(); @arg as its @ctx. */
void cmd_report_undo(enum stt_jkind kind, const char *a, const char *b, int result, void *arg);

/* The summary table of a results document (cmd/summary.c). */
#include <stdio.h>
#include <time.h>
void cmd_print_summary(struct json_object *doc, FILE *f);
/* The "median" of a summary object, NAN when it has none. */
double cmd_median(struct json_object *summary);
/* ns as ms ("-" for NAN); bytes as "12K" / "3.4M" ("-" for NAN). */
void cmd_fmt_ms(char *buf, size_t len, double ns);
void cmd_fmt_bytes(char *buf, size_t len, double b);
/* Seconds since @t0 (CLOCK_MONOTONIC), for progress lines. */
double cmd_since(const struct timespec *t0);

/*
 * The recommendation of results documents (cmd/recommend.c), shared by recommend and qualify:
 * decides, writes the files into @outdir (when set), merges into @merge (when set), and prints
 * the summary (or --json), or with @json_out returns the JSON instead of printing anything.
 * Returns an exit code.
 */
struct cmd_rec_opts {
	const char *outdir, *docker_version, *merge, *device, *data_root;
	const char *engine_version, *containerd_config, *snapshotter; /* recommend_engine.c */
};
int cmd_recommend_outputs(const struct cmd_entry *self, struct cmd_ctx *ctx,
			  struct json_object *const *docs, const char *const *names, size_t n,
			  const struct cmd_rec_opts *o, struct json_object **json_out);

/*
 * The report of results files (cmd/report.c), shared by report and qualify: the page into
 * @out (when set), the aggregate on stdout under --json; with @cmp_base and @cmp_cand, their
 * comparison too. Returns an exit code.
 */
int cmd_report_files(const struct cmd_entry *self, struct cmd_ctx *ctx, const char *const *files,
		     size_t n, const char *cmp_base, const char *cmp_cand, const char *out);

/* Prints a json-c object on stdout, pretty, with a final newline. */
struct json_object;
void cmd_print_json(struct json_object *obj);

#endif
