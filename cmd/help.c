// SPDX-License-Identifier: GPL-2.0-or-later
#include "cmd.h"

#include <stdio.h>

static int cmd_help(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { CMD_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	const struct cmd_entry *e = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1)
		if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
			return r;
	if (argc - optind > 1)
		return cmd_usage_error(self, "takes at most one command name");
	if (optind < argc) {
		e = cmd_lookup(argv[optind]);
		if (!e)
			return cmd_usage_error(self, "'%s' is not a stortune command",
					       argv[optind]);
	}
	cmd_print_help(e);
	return CMD_EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.summary = "show the usage of stortune or of one command",
	.synopsis = "help [COMMAND]",
	.help = NULL,
	.run = cmd_help,
};
