/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DM_H
#define STT_DM_H

/*
 * device-mapper through libdevmapper. The only file of the project that includes
 * <libdevmapper.h>; it turns libdevmapper's 1/0 into 0/-errno and its log into stt_err().
 */

#include <stdbool.h>
#include <stddef.h>

struct stt_dm_info {
	bool present;            /* the kernel has device-mapper and libdevmapper talks to it */
	bool control_node;       /* /dev/mapper/control exists */
	char driver_version[32]; /* "4.47.0" */
	bool thin_pool;          /* the thin-pool target is loaded */
	char thin_pool_version[32];
	char reason[160]; /* why not present, for people */
};

/* Fills @info; never fails (absence is a finding, not an error). */
void stt_dm_probe(struct stt_dm_info *info);

#endif
