/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_CMD_H
#define STT_CMD_H

#include <getopt.h>
#include <stdbool.h>

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

/* Prints a json-c object on stdout, pretty, with a final newline. */
struct json_object;
void cmd_print_json(struct json_object *obj);

#endif
