/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CMD_RECOMMEND_ENGINE_H
#define CMD_RECOMMEND_ENGINE_H

#include "advice/engine_gen.h"

#include <stdbool.h>
#include <stddef.h>

struct cmd_entry;
struct cmd_rec_opts;

struct cmd_rec_engine {
	bool given; /* --engine-version */
	struct stt_engine eng;
	const char *snapshotter; /* containerd: "overlayfs" (default) or "devmapper" */
	bool has_imports;	 /* the --containerd-config has an imports line */
};

/*
 * Before anything is written: parses --engine-version; for containerd checks that it is
 * installed and that its parser accepts --containerd-config. CMD_CONTINUE, or the exit code
 * (2: bad input, with the message).
 */
int cmd_engine_check(const struct cmd_entry *self, const struct cmd_rec_opts *o,
		     struct cmd_rec_engine *e);

/*
 * After the drop-in @dropin was written: containerd's parser on the main config importing it
 * (and for devmapper, the pool in the dump). 0 and a sentence in @msg, or -errno.
 */
int cmd_engine_verify(const struct cmd_rec_opts *o, const struct cmd_rec_engine *e, const char *dropin,
		      const char *pool_name, char *msg, size_t len);

#endif
