// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command table, global options, exit codes and the final check of stdout.
 *
 * Adding a command: write cmd/<verb>.c exporting a struct cmd_entry, declare it in cmd.h,
 * add one row to cmd_table below, and describe it in README.md.
 */
#include "cmd.h"

#include "base/fmt.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct cmd_entry *const cmd_table[] = {
	&cmd_probe_entry,
	&cmd_backends_entry,
	&cmd_selftest_entry,
	&cmd_cleanup_entry,
	&cmd_bench_entry,
	&cmd_qualify_entry,
	&cmd_tune_entry,
	&cmd_io_entry,
	&cmd_fio_check_entry,
	&cmd_compare_entry,
	&cmd_recommend_entry,
	&cmd_report_entry,
	&cmd_trace_entry,
	&cmd_help_entry,
	NULL,
};

static const char global_synopsis[] =
	"usage: stortune [--json] [--quiet] COMMAND [ARGS]\n"
	"       stortune --help | --version | help COMMAND\n";

const struct cmd_entry *cmd_lookup(const char *name)
{
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		if (!strcmp((*e)->name, name))
			return *e;
	return NULL;
}

void cmd_print_help(const struct cmd_entry *e)
{
	if (!e) {
		fputs("stortune measures container-startup storage I/O across Docker's storage\n"
		      "backends and emits the daemon and thin-pool settings the figures support.\n\n",
		      stdout);
		fputs(global_synopsis, stdout);
		fputs("\ncommands:\n", stdout);
		for (const struct cmd_entry *const *c = cmd_table; *c; c++)
			printf("  %-12s %s\n", (*c)->name, (*c)->summary);
		fputs("\nglobal options (also accepted after the command):\n"
		      "  --json       machine-readable output on stdout, diagnostics on stderr\n"
		      "  -q, --quiet  no progress or notes on stderr\n"
		      "  -h, --help   this text; 'stortune help COMMAND' for one command\n"
		      "  --version    print the version\n"
		      "\nexit codes: 0 ok, 1 failure, 2 usage error or bad input (nothing changed)\n",
		      stdout);
		return;
	}
	printf("usage: stortune %s\n\n%s\n", e->synopsis, e->summary);
	if (e->help)
		printf("\n%s", e->help);
	fputs("\ncommon options:\n"
	      "  --json       machine-readable output on stdout\n"
	      "  -q, --quiet  no progress or notes on stderr\n"
	      "  -h, --help   this text\n",
	      stdout);
}

int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;

		fprintf(stderr, "stortune%s%s: ", e ? " " : "", e ? e->name : "");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (e)
		fprintf(stderr, "usage: stortune %s\n(see 'stortune help %s')\n", e->synopsis,
			e->name);
	else
		fprintf(stderr, "%s(see 'stortune --help')\n", global_synopsis);
	return CMD_EXIT_USAGE;
}

int cmd_fail(const struct cmd_entry *e, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stortune%s%s: ", e ? " " : "", e ? e->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cmd_parse_u64(const char *s, uint64_t *v)
{
	return stt_fmt_parse_u64(s, 10, v) ? -EINVAL : 0;
}

int cmd_parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *v)
{
	uint64_t x;

	if (cmd_parse_u64(s, &x) || x < min || x > max)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

void cmd_note(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int cmd_common_opt(const struct cmd_entry *e, struct cmd_ctx *ctx, int c)
{
	switch (c) {
	case 'h':
		cmd_print_help(e);
		return CMD_EXIT_OK;
	case 'j':
		ctx->json = true;
		return CMD_CONTINUE;
	case 'q':
		ctx->quiet = true;
		return CMD_CONTINUE;
	default: /* getopt already named the option */
		return cmd_usage_error(e, NULL);
	}
}

void cmd_print_json(struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
}

/* git's run_builtin: output that did not reach stdout is a failure. */
static int check_stdout(int code)
{
	if (fflush(stdout) || ferror(stdout)) {
		int err = errno ? errno : EIO;

		fprintf(stderr, "stortune: write error on standard output: %s\n", strerror(err));
		return CMD_EXIT_FAILURE;
	}
	return code;
}

enum { OPT_VERSION = 256 };

int cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_ctx ctx = { 0 };
	const struct cmd_entry *e;
	int c, r;

	optind = 0; /* full reset, so that cmd_main can be called more than once (tests) */
	opterr = 1;
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION:
			printf("stortune %s\n", STT_VERSION);
			return check_stdout(CMD_EXIT_OK);
		case 'h':
			cmd_print_help(NULL);
			return check_stdout(CMD_EXIT_OK);
		case 'j':
		case 'q':
			cmd_common_opt(NULL, &ctx, c);
			break;
		default:
			return cmd_usage_error(NULL, NULL);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(NULL, "no command given");

	e = cmd_lookup(argv[optind]);
	if (!e)
		return cmd_usage_error(NULL, "'%s' is not a stortune command", argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0;
	r = e->run(e, &ctx, argc, argv);
	return check_stdout(r);
}
