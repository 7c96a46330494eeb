// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The target options every command that builds backends shares (selftest, bench,
 * qualify): where to work, which device may be written, and the backend settings.
 */
#include "cmd.h"

#include "backend/backend.h"
#include "base/err.h"
#include "base/fmt.h"
#include "sys/journal.h"
#include "sys/fsutil.h"
#include "sys/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void cmd_target_init(struct cmd_target *t)
{
	stt_backend_opts_init(&t->o);
	t->journal_dir = STT_JOURNAL_DIR;
	t->lock_fd = -1;
}

static int size_opt(const struct cmd_entry *e, const char *opt, const char *arg, uint64_t *v)
{
	int r = stt_fmt_parse_size(arg, v);

	if (r || *v == 0)
		return cmd_usage_error(e, "--%s %s: not a size (e.g. 64K, 2G)", opt, arg);
	return CMD_CONTINUE;
}

static int bool_opt(const struct cmd_entry *e, const char *opt, const char *arg, bool *v)
{
	if (!arg || !strcmp(arg, "1") || !strcmp(arg, "yes") || !strcmp(arg, "on"))
		*v = true;
	else if (!strcmp(arg, "0") || !strcmp(arg, "no") || !strcmp(arg, "off"))
		*v = false;
	else
		return cmd_usage_error(e, "--%s=%s: must be 0 or 1", opt, arg);
	return CMD_CONTINUE;
}

int cmd_target_opt(const struct cmd_entry *e, struct cmd_target *t, int c, const char *arg)
{
	struct stt_backend_opts *o = &t->o;
	uint64_t v;
	bool b;
	int r;

	switch (c) {
	case CMD_OPT_WORKDIR:
		if (!*arg)
			return cmd_usage_error(e, "--workdir: empty path");
		o->workdir = arg;
		return CMD_CONTINUE;
	case CMD_OPT_JOURNAL_DIR:
		t->journal_dir = arg;
		return CMD_CONTINUE;
	case CMD_OPT_DEVICE:
		o->device = arg;
		return CMD_CONTINUE;
	case CMD_OPT_DESTROY_DATA:
		o->destroy_data = arg;
		return CMD_CONTINUE;
	case CMD_OPT_FS:
		if (strcmp(arg, "xfs") && strcmp(arg, "ext4"))
			return cmd_usage_error(e, "--fs %s: must be xfs or ext4", arg);
		o->fs = arg;
		o->fs_given = true;
		return CMD_CONTINUE;
	case CMD_OPT_SCRATCH_SIZE:
		return size_opt(e, "scratch-size", arg, &o->scratch_bytes);
	case CMD_OPT_DATA_SIZE:
		return size_opt(e, "data-size", arg, &o->data_bytes);
	case CMD_OPT_META_SIZE:
		return size_opt(e, "meta-size", arg, &o->meta_bytes);
	case CMD_OPT_BASE_SIZE:
		return size_opt(e, "base-size", arg, &o->base_bytes);
	case CMD_OPT_CHUNK_SIZE:
		r = size_opt(e, "chunk-size", arg, &v);
		if (r != CMD_CONTINUE)
			return r;
		if (v < (64u << 10) || v > (1u << 30) || v % (64u << 10))
			return cmd_usage_error(e, "--chunk-size %s: must be a multiple of 64K "
						  "from 64K to 1G",
					       arg);
		o->chunk_bytes = (uint32_t)v;
		return CMD_CONTINUE;
	case CMD_OPT_ZEROING:
		return bool_opt(e, "zeroing", arg, &o->zeroing);
	case CMD_OPT_LOOP_DIO:
		return bool_opt(e, "loop-dio", arg, &o->loop_direct_io);
	case CMD_OPT_DEFERRED_REMOVAL:
		return bool_opt(e, "deferred-removal", arg, &o->deferred_removal);
	case CMD_OPT_DEFERRED_DELETION:
		return bool_opt(e, "deferred-deletion", arg, &o->deferred_deletion);
	case CMD_OPT_BLKDISCARD:
		r = bool_opt(e, "blkdiscard", arg, &b);
		o->blkdiscard = b;
		return r;
	default:
		return cmd_usage_error(e, NULL);
	}
}

int cmd_target_check(const struct cmd_entry *e, const struct cmd_target *t)
{
	const struct stt_backend_opts *o = &t->o;

	if (o->destroy_data && !o->device)
		return cmd_usage_error(e, "--destroy-data %s: only with --device %s",
				       o->destroy_data, o->destroy_data);
	if (o->device && stt_probe_check_destroy(o->device, o->destroy_data))
		return cmd_fail(e, CMD_EXIT_USAGE, "%s", stt_err_msg());
	return CMD_CONTINUE;
}

static int refuse(const struct cmd_entry *e, int r)
{
	return cmd_fail(e,
			r == -ELOOP || r == -ENOTDIR || r == -EPERM || r == -EBUSY
			    ? CMD_EXIT_USAGE
			    : CMD_EXIT_FAILURE,
			"%s", stt_err_msg());
}

/* The scratch directory this process made (it did not exist before), to go when it ends. */
static char made_workdir[PATH_MAX];

/*
 * At exit: the scratch directory this process made is removed when it is empty (each run
 * removes what it made inside), under its lock, so that never a directory another run holds.
 */
static void remove_made_workdir(void)
{
	int fd = open(made_workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		(void)rmdir(made_workdir);
	close(fd);
}

int cmd_target_lock(const struct cmd_entry *e, struct cmd_target *t)
{
	struct stat st;
	bool existed;
	int r;

	if (t->lock_fd >= 0)
		return CMD_CONTINUE;
	/* the journal directory first: a refusal there leaves the scratch directory unmade */
	if ((r = stt_fs_check_own_dir(t->journal_dir)))
		return refuse(e, r);
	existed = !lstat(t->o.workdir, &st);
	if ((r = stt_fs_own_dir(t->o.workdir, 0700)) ||
	    (r = stt_fs_lock_dir(t->o.workdir, &t->lock_fd)))
		return refuse(e, r);
	if (!existed && !made_workdir[0] &&
	    strlen(t->o.workdir) < sizeof(made_workdir) && !atexit(remove_made_workdir))
		snprintf(made_workdir, sizeof(made_workdir), "%s", t->o.workdir);
	return CMD_CONTINUE;
}

void cmd_target_unlock(struct cmd_target *t)
{
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	t->lock_fd = -1;
}

int cmd_target_begin(const struct cmd_entry *e, struct cmd_target *t, struct stt_journal **j)
{
	int r;

	*j = NULL;
	if ((r = cmd_target_lock(e, t)) != CMD_CONTINUE)
		return r;
	if ((r = stt_journal_open(t->journal_dir, j))) {
		cmd_target_unlock(t);
		return refuse(e, r);
	}
	return CMD_CONTINUE;
}

void cmd_report_undo(enum stt_jkind kind, const char *a, const char *b, int result, void *arg)
{
	const struct cmd_ctx *ctx = arg;

	if (result)
		fprintf(stderr, "  could not undo %s %s%s%s: %s\n", stt_journal_kind_name(kind), a,
			*b ? " " : "", b, stt_err_msg());
	else if (ctx && !ctx->quiet)
		fprintf(stderr, "  undid %s %s%s%s\n", stt_journal_kind_name(kind), a, *b ? " " : "",
			b);
}

void cmd_journal_finish(const struct cmd_entry *self, const struct cmd_ctx *ctx,
			struct cmd_target *t, struct stt_journal *j)
{
	if (stt_journal_pending(j))
		stt_journal_undo_all(j, cmd_report_undo, (void *)ctx);
	if (stt_journal_pending(j))
		fprintf(stderr,
			"stortune %s: some objects could not be undone; run 'stortune cleanup' "
			"(journal %s)\n",
			self->name, stt_journal_path(j));
	stt_journal_close(j);
	cmd_target_unlock(t);
}
