/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DAEMONJSON_H
#define STT_DAEMONJSON_H

/*
 * Merging the recommended settings into an existing /etc/docker/daemon.json: every key of the
 * existing file is kept with its value; only "storage-driver", "storage-opts" and "data-root"
 * change, and each change is shown as a diff. The file is replaced atomically (a temporary
 * file in the same directory, fsync, rename, fsync of the directory) after a backup of the old
 * one, so that a crash at any point leaves either the old file or the new one.
 */

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* The keys a merge may change. */
extern const char *const stt_daemonjson_keys[];

/*
 * Reads a daemon.json (strict JSON, an object at the top). -ENOENT when it does not exist;
 * -EINVAL with a message "PATH: not valid JSON: <json-c's tokener error> at line L, column C
 * (byte B)" or "PATH: not a JSON object".
 */
__attribute__((warn_unused_result)) int stt_daemonjson_load(const char *path,
							    struct json_object **out);
/* The same, of a text in memory (@name names it in the message). */
__attribute__((warn_unused_result)) int
stt_daemonjson_parse(const char *text, size_t len, const char *name, struct json_object **out);

/*
 * *@merged = a copy of @base (NULL: an empty object) with the merge keys of @ours: a key @ours
 * has replaces @base's in place (its position kept); "storage-opts", which belongs to the
 * driver, is removed from @base when @ours has none. *@diff (malloc'd, "" when nothing
 * changes) shows each changed key as "-" and "+" lines in the file's format; *@changed counts
 * them. 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int
stt_daemonjson_merge(struct json_object *base, struct json_object *ours, const char *name,
		     struct json_object **merged, char **diff, int *changed);

/* The text daemon.json files are written with (pretty, '/' not escaped, UTF-8 as is). */
const char *stt_daemonjson_text(struct json_object *o);

/*
 * Replaces @path with @text atomically: with @backup, the existing file is first copied to
 * "@path.bak-YYYYmmddTHHMMSSZ" (fsync'd; its name into @backup, "" when there was no file);
 * the mode and owner of the old file are kept (0644 for a new one). The environment variable
 * STT_TEST_DIE_BEFORE_RENAME=1 kills the process with SIGKILL between the fsync of the
 * temporary file and the rename (for the interrupted-write test). 0 or -errno with a message.
 */
__attribute__((warn_unused_result)) int stt_daemonjson_write(const char *path, const char *text,
							     char *backup, size_t backup_len);

#endif
