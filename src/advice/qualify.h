/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_QUALIFY_H
#define STT_QUALIFY_H

#include <stddef.h>

struct json_object;

/*
 * The verdict line of one backend of a results document (an element of "backends"): what
 * ran where, the headline figures, and what the facts rule out (loop-lvm is for testing
 * only; figures from an emulated VM show function, not this host's speed).
 */
void stt_qualify_verdict(struct json_object *backend, char *line, size_t len);

/*
 * The emulation held to the real engine: from the results of the same backends measured
 * emulated (@emulated, a results document) and through the real engine (@real), per backend
 * and phase the p50 of both and their ratio, storage's share of the real start ((emulated
 * start + first-read) / real start, p50s), and per phase whether the two modes rank the
 * backends the same (by p50, among the backends that ran in both). *@out:
 *   { "mode", "backends_compared", "backends": [ { "backend", "phases": { PHASE:
 *       { "emulated_p50_ns", "real_p50_ns", "real_over_emulated" } },
 *       "storage_share_of_start" } ],
 *     "ranking": { PHASE: { "emulated": [names], "real": [names], "agree" } },
 *     "rankings_agree", "disagree_phases": [ ... ], "follow": "real",
 *     "real": [ @real's backend entries ] }
 * When the rankings disagree, the verdict and `recommend` follow the real engine.
 */
__attribute__((warn_unused_result)) int stt_qualify_engine_check(struct json_object *emulated,
								struct json_object *real,
								struct json_object **out);

/* One line on the engine check of a results document ("" when it has none). */
void stt_qualify_engine_line(struct json_object *doc, char *line, size_t len);

#endif
