// SPDX-License-Identifier: GPL-2.0-or-later
/* stortune cleanup: undo what killed runs left, from their journals. */
#include "cmd.h"

#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/journal.h"

#include <json-c/json.h>
#include <stdio.h>

enum { OPT_JOURNAL_DIR = 256 };

struct report {
	struct cmd_ctx *ctx;
	struct json_object *arr;
};

static void report(enum stt_jkind kind, const char *a, const char *b, int result, void *arg)
{
	struct report *rep = arg;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(stt_journal_kind_name(kind)));
	json_object_object_add(o, "object", json_object_new_string(a));
	if (*b)
		json_object_object_add(o, "detail", json_object_new_string(b));
	json_object_object_add(o, "undone", json_object_new_boolean(result == 0));
	if (result)
		json_object_object_add(o, "error", json_object_new_string(stt_err_msg()));
	json_object_array_add(rep->arr, o);
	if (rep->ctx->json)
		return;
	if (result)
		fprintf(stderr, "could not remove %s %s%s%s: %s\n", stt_journal_kind_name(kind), a,
			*b ? " " : "", b, stt_err_msg());
	else
		printf("removed %s %s%s%s\n", stt_journal_kind_name(kind), a, *b ? " " : "", b);
}

static int cmd_cleanup(const struct cmd_entry *self, struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTIONS,
		{ "journal-dir", required_argument, NULL, OPT_JOURNAL_DIR },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = STT_JOURNAL_DIR;
	struct report rep = { .ctx = ctx };
	unsigned int nj, no;
	int c, r;

	while ((c = getopt_long(argc, argv, CMD_COMMON_SHORT, opts, NULL)) != -1) {
		if (c == OPT_JOURNAL_DIR)
			dir = optarg;
		else if ((r = cmd_common_opt(self, ctx, c)) != CMD_CONTINUE)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	/* a journal says what to remove: only from a directory of this user */
	if (stt_fs_check_own_dir(dir))
		return cmd_fail(self, CMD_EXIT_USAGE, "--journal-dir %s; nothing replayed",
				stt_err_msg());
	rep.arr = json_object_new_array();
	r = stt_journal_replay_dir(dir, report, &rep, &nj, &no);
	if (ctx->json) {
		struct json_object *root = json_object_new_object();

		json_object_object_add(root, "journals", json_object_new_int((int)nj));
		json_object_object_add(root, "removed", json_object_new_int((int)no));
		json_object_object_add(root, "objects", rep.arr);
		cmd_print_json(root);
		json_object_put(root);
	} else {
		printf("%u journal%s replayed, %u object%s removed\n", nj, nj == 1 ? "" : "s", no,
		       no == 1 ? "" : "s");
		json_object_put(rep.arr);
	}
	if (r)
		return cmd_fail(self, CMD_EXIT_FAILURE, "some objects remain: %s", stt_err_msg());
	return CMD_EXIT_OK;
}

const struct cmd_entry cmd_cleanup_entry = {
	.name = "cleanup",
	.summary = "undo what killed runs left behind (mounts, loop and dm devices, LVs)",
	.synopsis = "cleanup [--journal-dir DIR]",
	.help = "Every run records each object before it makes it, in a journal under\n"
		"/run/stortune. A run that ends normally or by SIGINT/SIGTERM undoes its objects\n"
		"itself; one killed outright (SIGKILL, power loss of the process) leaves its\n"
		"journal. cleanup replays the journals of runs no longer alive, newest object\n"
		"first, and says what it removed. Journals of live runs are left alone, and so\n"
		"are a journal directory that is a symbolic link or another user's, and journal\n"
		"files that are symbolic links or another user's (refused, exit 2; reported).\n"
		"\noptions:\n"
		"  --journal-dir DIR   where the journals are (default /run/stortune)\n",
	.run = cmd_cleanup,
};
