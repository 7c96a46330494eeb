// SPDX-License-Identifier: GPL-2.0-or-later
/* stortune backends: which storage backends can run here, and why not. */
#include "cmd.h"

#include "backend/backend.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static int cmd_backends(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { CMD_COMMON_OPTIONS, CMD_TARGET_OPTIONS,
					      { NULL, 0, NULL, 0 } };
	struct json_object *arr = json_object_new_array();
	struct cmd_target t;
	int c, r;

	cmd_target_init(&t);
	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1) {
		if (c >= CMD_OPT_WORKDIR && c < CMD_OPT_TARGET_END)
			r = cmd_target_opt(self, &t, c, optarg);
		else
			r = cmd_common_opt(self, ctx, c);
		if (r != CMD_CONTINUE) {
			json_object_put(arr);
			return r;
		}
	}
	if (optind < argc) {
		json_object_put(arr);
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	}
	if ((r = cmd_target_check(self, &t)) != CMD_CONTINUE) {
		json_object_put(arr);
		return r;
	}
	for (const struct stt_backend_ops *const *b = stt_backends; *b; b++) {
		struct json_object *o = json_object_new_object();
		char reason[256] = "";
		bool ok = (*b)->available(&t.o, reason, sizeof(reason)) == 0;

		json_object_object_add(o, "backend", json_object_new_string((*b)->name));
		json_object_object_add(o, "available", json_object_new_boolean(ok));
		json_object_object_add(o, "reason", ok ? NULL : json_object_new_string(reason));
		json_object_object_add(o, "summary", json_object_new_string((*b)->summary));
		json_object_array_add(arr, o);
		if (!ctx->json)
			printf("%-20s %s%s\n", (*b)->name, ok ? "available" : "unavailable: ",
			       ok ? "" : reason);
	}
	if (ctx->json)
		cmd_print_json(arr);
	json_object_put(arr);
	return CMD_EXIT_OK;
}

const struct cmd_entry cmd_backends_entry = {
	.name = "backends",
	.summary = "list the storage backends and whether each can run here",
	.synopsis = "backends [target options]",
	.help = "For each backend (overlay, dm-loop, direct-lvm, containerd-overlayfs,\n"
		"containerd-devmapper): \"available\" or\n"
		"\"unavailable: <reason>\", e.g. \"kernel has no device-mapper\". A --device is\n"
		"checked as any command that would write it checks it: --destroy-data must name\n"
		"it and it must probe free, else exit 2.\n\n"
		CMD_TARGET_HELP "\nexample:\n  stortune backends --json\n",
	.run = cmd_backends,
};
