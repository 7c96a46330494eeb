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

#endif
