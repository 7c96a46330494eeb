/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_RESULTS_H
#define STT_RESULTS_H

/*
 * The results document: one JSON file per run, what recommend, compare and the report read.
 *
 *   { "schema": "stortune-results", "schema_version": 1,
 *     "tool": { "name", "version", "git_revision" },
 *     "created": "2026-11-26T16:40:00Z",
 *     "environment": { "label": "native" | "vm-tcg", "kernel", "cpu": { "model", "cores" },
 *                      "memory_bytes", "host": <probe host>, "target": <probe target> },
 *     "profile": <profile>, "options": { ... }, "command": "...",
 *     "backends": [ <bench result> | { "backend", "status": "skipped"|"failed", "reason" } ],
 *     "raw_device": { ... }, "warnings": [ ... ],
 *     "incomplete": false | true, "incomplete_reason": "..." (when true) }
 *
 * See README "The results file" for every field.
 */

#include <stdbool.h>
#include <stddef.h>

#define STT_RESULTS_SCHEMA "stortune-results"
#define STT_RESULTS_VERSION 1

struct json_object;
struct stt_host;

/* A new document with tool, created time and the environment (labelled @env_label). */
__attribute__((warn_unused_result)) int stt_results_new(const struct stt_host *host,
						       const char *env_label,
						       struct json_object **out);

/* Writes @doc to @path atomically (temporary file, fsync, rename). */
__attribute__((warn_unused_result)) int stt_results_write(struct json_object *doc,
							 const char *path);

/*
 * Reads and checks a results file: JSON, the schema name and version, "backends" an array.
 * -EINVAL with a message naming the file and what is wrong; -ENOENT when it is missing.
 */
__attribute__((warn_unused_result)) int stt_results_load(const char *path,
							struct json_object **out);
/* The same checks of @len bytes of text (up to a NUL); @name names it in the messages. */
__attribute__((warn_unused_result)) int stt_results_parse(const char *text, size_t len,
							 const char *name,
							 struct json_object **out);


/*
 * Marks @doc incomplete: "incomplete": true and "incomplete_reason": @reason (the first
 * reason stays when called again). A run that failed, was interrupted or hit a fault writes
 * what it has, so marked; a complete document has "incomplete": false.
 */
void stt_results_mark_incomplete(struct json_object *doc, const char *reason);

/* True when @doc says "incomplete": true. */
bool stt_results_incomplete(struct json_object *doc);

/* The "environment.label" of a results document ("native" when absent). */
const char *stt_results_env_label(struct json_object *doc);

/* The member of "backends" named @name whose status is "ok", or NULL (borrowed). */
struct json_object *stt_results_backend_ok(struct json_object *doc, const char *name);

#endif
