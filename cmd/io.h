/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_CMD_IO_H
#define STT_CMD_IO_H

/*
 * The job options of the engine, shared by `stortune io` and `stortune fio-check`
 * (cmd/io.c). A command puts CMD_IO_JOB_OPTIONS in its long options (values from
 * CMD_IO_OPT_FIRST up) and CMD_IO_JOB_HELP in its help, and gives getopt's results to
 * cmd_io_parse_job_opt(): 1 taken, 0 not a job option, -EINVAL with one line in @err.
 */

#include "measure/engine.h"

#include <stdio.h>

struct json_object;

enum {
	CMD_IO_OPT_FIRST = 0x1000,
	CMD_IO_OPT_RW = CMD_IO_OPT_FIRST,
	CMD_IO_OPT_BS,
	CMD_IO_OPT_IODEPTH,
	CMD_IO_OPT_JOBS,
	CMD_IO_OPT_RUNTIME,
	CMD_IO_OPT_SIZE,
	CMD_IO_OPT_RAMP,
	CMD_IO_OPT_RWMIX_READ,
	CMD_IO_OPT_DIRECT,
	CMD_IO_OPT_OFFSET,
	CMD_IO_OPT_DESTROY_DATA,
	CMD_IO_OPT_TIME_BASED,
	CMD_IO_OPT_SEED,
	CMD_IO_OPT_VERIFY,
	CMD_IO_OPT_SUBMIT_BATCH,
	CMD_IO_OPT_REAP_MAX,
	CMD_IO_OPT_IOMEM,
	CMD_IO_OPT_LAST = CMD_IO_OPT_IOMEM,
};

/* clang-format off */
#define CMD_IO_JOB_OPTIONS                                                                         \
	{ "rw", required_argument, NULL, CMD_IO_OPT_RW },                                          \
	{ "bs", required_argument, NULL, CMD_IO_OPT_BS },                                          \
	{ "iodepth", required_argument, NULL, CMD_IO_OPT_IODEPTH },                                \
	{ "jobs", required_argument, NULL, CMD_IO_OPT_JOBS },                                      \
	{ "runtime", required_argument, NULL, CMD_IO_OPT_RUNTIME },                                \
	{ "size", required_argument, NULL, CMD_IO_OPT_SIZE },                                      \
	{ "ramp", required_argument, NULL, CMD_IO_OPT_RAMP },                                      \
	{ "rwmix-read", required_argument, NULL, CMD_IO_OPT_RWMIX_READ },                          \
	{ "direct", required_argument, NULL, CMD_IO_OPT_DIRECT },                                  \
	{ "offset", required_argument, NULL, CMD_IO_OPT_OFFSET },                                  \
	{ "destroy-data", required_argument, NULL, CMD_IO_OPT_DESTROY_DATA },                      \
	{ "time-based", no_argument, NULL, CMD_IO_OPT_TIME_BASED },                                \
	{ "seed", required_argument, NULL, CMD_IO_OPT_SEED },                                      \
	{ "verify", no_argument, NULL, CMD_IO_OPT_VERIFY },                                        \
	{ "submit-batch", required_argument, NULL, CMD_IO_OPT_SUBMIT_BATCH },                      \
	{ "reap-max", required_argument, NULL, CMD_IO_OPT_REAP_MAX },                              \
	{ "iomem", required_argument, NULL, CMD_IO_OPT_IOMEM }
/* clang-format on */

#define CMD_IO_JOB_HELP                                                                          \
	"  --rw R            read, write, randread, randwrite or randrw (default read)\n"        \
	"  --bs N            block size (default 4k)\n"                                          \
	"  --iodepth N       I/Os in flight per job (default 1)\n"                               \
	"  --jobs N          threads, each with its own file descriptor and queue (default 1)\n" \
	"  --runtime T       measure for T; with --size, stop at whichever comes first\n"        \
	"  --size N          bytes per job, and the length of the range (default: to the end)\n" \
	"  --time-based      with --runtime and --size: run the whole runtime over the range\n"  \
	"  --ramp T          run T before measuring; excluded from all figures\n"                \
	"  --rwmix-read P    percent of reads with --rw randrw (default 50)\n"                   \
	"  --direct 0|1      O_DIRECT (default 1)\n"                                             \
	"  --offset N        start of the range (default 0)\n"                                   \
	"  --destroy-data DEV  allow writing to the block device DEV (must be the target)\n"     \
	"  --seed N          seed of offsets, mix and data (default fixed)\n"                    \
	"  --verify          writes carry a pattern of (offset, seed); reads check it\n"         \
	"  --submit-batch N  I/Os per io_submit (default 1, as fio); 0 = all free slots\n"       \
	"  --reap-max N      most I/Os per io_getevents (default 1, as fio); 0 = iodepth\n"      \
	"  --iomem M         I/O buffers: malloc (default, as fio) or mmaphuge (huge pages,\n"   \
	"                    reserved first with sysctl vm.nr_hugepages=N)\n"                    \
	"\n"                                                                                     \
	"  Sizes take k, m, g, t suffixes (powers of 1024); times ms, s, m, h (bare: seconds).\n"

/* Applies getopt's @c with @arg to @job: 1 taken, 0 not a job option, -EINVAL (@err). */
int cmd_io_parse_job_opt(struct stt_engine_job *job, int c, const char *arg, char *err,
			 size_t err_len);
/*
 * After the options: takes the one TARGET from @argv[optind..], requires a runtime or a size,
 * and checks the job with the engine (nothing written). CMD_CONTINUE or an exit code (2).
 */
int cmd_io_finish_job(const struct cmd_entry *self, struct stt_engine_job *job, int argc,
		      char **argv);
/* The job echoed as {"target", "rw", "bs_bytes", ...}. 0 or -ENOMEM. */
int cmd_io_job_to_json(const struct stt_engine_job *job, struct json_object **out);
/* Per direction IOPS, BW, slat/clat/lat and clat percentiles in usec as fio prints them. */
void cmd_io_print_result(FILE *f, const struct stt_engine_result *res);

#endif
