/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_JOURNAL_H
#define STT_JOURNAL_H

/*
 * The undo journal: the one mechanism that makes a failed, interrupted or killed run leave
 * nothing behind.
 *
 * Every kernel or filesystem object a run makes (a directory tree, a file, a mount, a loop
 * device, a dm device, a thin id, an LVM VG or PV) is recorded -- appended and fsync'd --
 * *before* it is made. When the run takes it down normally it marks the record done. On an
 * error, SIGINT or SIGTERM the run undoes every record not done, newest first; the journal
 * of a run killed outright stays in /run/stortune/ and `stortune cleanup` replays it.
 * Undoing an object that was never made (the run died between record and make) is a no-op.
 *
 * File format, one record a line, fields separated by tabs (names may not hold tabs or
 * newlines):  "stortune-journal 1\t<pid>\t<start unix s>"  then  "<seq>\t<kind>\t<a>\t<b>"
 * and "<seq>\tdone".
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define STT_JOURNAL_DIR "/run/stortune"
/* A record id that names no record: undoing it is a no-op. */
#define STT_JOURNAL_NONE UINT_MAX

enum stt_jkind {
	STT_J_DIR,   /* a: a directory tree the run created; undo: remove it (not across mounts) */
	STT_J_FILE,  /* a: a file; undo: unlink */
	STT_J_MOUNT, /* a: mount point; undo: lazy unmount if still mounted */
	STT_J_LOOP,  /* a: backing file; undo: detach every loop device backed by it */
	STT_J_DM,    /* a: dm device name; undo: remove it */
	STT_J_THIN,  /* a: pool dm name, b: thin id; undo: "delete <id>" message to the pool */
	STT_J_VG,    /* a: VG name, b: its PV (or ""); undo: vgremove -f */
	STT_J_PV,    /* a: device; undo: pvremove -ff */
	/*
	 * a: a directory D, b: a pid file (may be empty); undo: the process of the pid file gets
	 * SIGTERM and up to 30 s to end, then every process whose command line names D or a path
	 * below it (a daemon started with its roots in D, its children) gets SIGKILL.
	 */
	STT_J_PROCS,
	STT_J_MOUNTS,	/* a: a directory; undo: lazy unmount of every mount at or below it */
	STT_J_CGROUP,	/* a: a cgroup name; undo: kill its processes, remove it (every hierarchy) */
	STT_J_EMPTYDIRS, /* a: a directory; undo: remove its empty directories, never a file */
	STT_J_TRACEFS,	 /* a: a tracefs instance directory; undo: remove it (rmdir) */
	/*
	 * a: a thin pool's dm name; undo: remove the active thin devices on it, whoever made them
	 * (a real engine's, left when it was killed), so that the pool itself can go.
	 */
	STT_J_THINUSERS,
	STT_J_NKINDS
};

const char *stt_journal_kind_name(enum stt_jkind k);

struct stt_journal;

/* Called for each object undone (or that could not be), for the report. */
typedef void (*stt_journal_report_fn)(enum stt_jkind kind, const char *a, const char *b,
				      int result, void *arg);

/* Creates a journal for this run in @dir (NULL: STT_JOURNAL_DIR). */
__attribute__((warn_unused_result)) int stt_journal_open(const char *dir,
							struct stt_journal **out);
/* Path of the journal file. */
const char *stt_journal_path(const struct stt_journal *j);

/* Records an object about to be made; *@id names the record for stt_journal_done(). */
__attribute__((warn_unused_result)) int stt_journal_add(struct stt_journal *j,
						       enum stt_jkind kind, const char *a,
						       const char *b, unsigned int *id);
/* The object of record @id is gone (taken down normally). No-op for STT_JOURNAL_NONE. */
__attribute__((warn_unused_result)) int stt_journal_done(struct stt_journal *j, unsigned int id);

/* Undoes the object of record @id now and marks it done (no-op for STT_JOURNAL_NONE). */
__attribute__((warn_unused_result)) int stt_journal_undo_one(struct stt_journal *j,
							    unsigned int id);

/*
 * Undoes every record not done, newest first; returns the first failure (-errno) but tries
 * them all. @fn may be NULL.
 */
int stt_journal_undo_all(struct stt_journal *j, stt_journal_report_fn fn, void *arg);

/*
 * Closes the journal. When every record is done, the file is removed; otherwise it stays
 * for `stortune cleanup`.
 */
void stt_journal_close(struct stt_journal *j);

/* Number of records not done. */
size_t stt_journal_pending(const struct stt_journal *j);

/*
 * Replays every journal in @dir (NULL: STT_JOURNAL_DIR) whose run is no longer alive:
 * undoes its pending records newest first and removes the file when all succeeded.
 * *@n_journals and *@n_objects count what was replayed. 0, or the first failure.
 */
int stt_journal_replay_dir(const char *dir, stt_journal_report_fn fn, void *arg,
			   unsigned int *n_journals, unsigned int *n_objects);

/*
 * What replaying journal @text (@len bytes, up to a NUL; @name names it in messages) would
 * undo, without undoing anything: @fn (may be NULL) is called with result 0 for each record
 * not done, newest first, and *@pending counts them. 0, -EINVAL (not a journal) or -ENOMEM.
 */
__attribute__((warn_unused_result)) int stt_journal_parse(const char *text, size_t len,
							 const char *name,
							 stt_journal_report_fn fn, void *arg,
							 unsigned int *pending);

/*
 * Interruption: after stt_journal_catch_signals(), SIGINT, SIGTERM and SIGHUP set a flag
 * instead of killing the process; long work polls stt_journal_interrupted() between steps
 * and unwinds with -EINTR, undoing through the journal.
 */
void stt_journal_catch_signals(void);
bool stt_journal_interrupted(void);
int stt_journal_signal(void); /* the signal that arrived, 0 if none */

#endif
