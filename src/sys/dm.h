/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_DM_H
#define STT_DM_H

/*
 * device-mapper through libdevmapper. The only file of the project that includes
 * <libdevmapper.h>; it turns libdevmapper's 1/0 into 0/-errno and its log into stt_err().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * Device operations. Udev sync is off and libdevmapper makes and removes the /dev/mapper
 * nodes itself, so they work without udev (a container, an initramfs). All return 0 or
 * -errno (from dm_task_get_errno) with a message naming the device.
 */

/* Creates @name with one target line "0 @sectors @type @params", and activates it. */
__attribute__((warn_unused_result)) int stt_dm_create(const char *name, const char *type,
						     uint64_t sectors, const char *params);
/* Loads a new table into @name and resumes it (resize). */
__attribute__((warn_unused_result)) int stt_dm_reload(const char *name, const char *type,
						     uint64_t sectors, const char *params);
/* Removes @name; 0 when it does not exist. Retries while it is briefly busy. */
__attribute__((warn_unused_result)) int stt_dm_remove(const char *name);
/* Removes @name, or marks it for removal on last close (dm.use_deferred_removal). */
__attribute__((warn_unused_result)) int stt_dm_remove_deferred(const char *name);
__attribute__((warn_unused_result)) int stt_dm_suspend(const char *name);
__attribute__((warn_unused_result)) int stt_dm_resume(const char *name);
/* Sends a target message ("create_thin 1", "set_transaction_id 3 4", ...) to sector 0. */
__attribute__((warn_unused_result)) int stt_dm_message(const char *name, const char *msg);
/* The status line of @name's (single) target, e.g. a thin-pool's. */
__attribute__((warn_unused_result)) int stt_dm_status(const char *name, char *params,
						     size_t len);
/* Whether @name exists: 1, 0, or -errno. */
int stt_dm_exists(const char *name);
/* "delete @id" to @pool; 0 when the pool or the id does not exist. */
__attribute__((warn_unused_result)) int stt_dm_thin_delete(const char *pool, unsigned int id);
/*
 * Removes every active thin device on the thin pool @pool (a "thin" table naming the pool's
 * device number), whoever made them: what a real engine left when it was killed. 0 when there
 * are none or the pool does not exist; -errno (with a message) when one cannot be removed.
 */
__attribute__((warn_unused_result)) int stt_dm_remove_thin_users(const char *pool);
/* Names of all dm devices, ", "-separated, into @out. Count or -errno. */
int stt_dm_list(char *out, size_t len);

#endif
