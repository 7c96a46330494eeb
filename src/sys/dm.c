// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/dm.h"

#include "base/err.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_ERR_LEVEL 3 /* libdevmapper's _LOG_ERR */

/*
 * libdevmapper keeps global state (its list of pending node operations, the log): one call
 * at a time. Docker's devmapper driver holds one lock over its device operations too.
 */
static pthread_mutex_t dm_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/*
 * libdevmapper's messages go to this thread's buffer instead of stderr; run_task() puts the
 * last one into the error message of a failed task. Kept apart from the error message itself,
 * so that a dm operation that succeeds (an undo on the error path, a status read) leaves the
 * cause of an earlier failure alone.
 */
static __thread char dm_msg[512];

__attribute__((format(printf, 5, 6))) static void dm_log(int level, const char *file, int line,
							 int dm_errno_or_class, const char *f, ...)
{
	char msg[512];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	if ((level & 7) > LOG_ERR_LEVEL)
		return;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	snprintf(dm_msg, sizeof(dm_msg), "device-mapper: %s", msg);
}

static void dm_quiet(void)
{
	static bool done;

	if (done)
		return;
	/*
	 * Without udev (containers, an initramfs) libdevmapper must make the /dev/mapper nodes
	 * itself, which it does only when told udev is not there.
	 */
	if (access("/run/udev/control", F_OK))
		setenv("DM_DISABLE_UDEV", "1", 0);
	dm_log_with_errno_init(dm_log);
	dm_udev_set_sync_support(0);
	done = true;
}

static bool misc_has_dm(void)
{
	char *text = NULL;
	bool r;

	if (stt_sysfs_slurp("/proc/misc", &text))
		return false;
	r = stt_sysfs_misc_minor(text, "device-mapper") >= 0;
	free(text);
	return r;
}

static void find_target(struct stt_dm_info *info)
{
	struct dm_versions *t, *last;
	struct dm_task *dmt;

	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (!dmt)
		return;
	if (!dm_task_run(dmt))
		goto out;
	t = dm_task_get_versions(dmt);
	if (!t)
		goto out;
	do {
		last = t;
		if (!strcmp(t->name, "thin-pool")) {
			info->thin_pool = true;
			snprintf(info->thin_pool_version, sizeof(info->thin_pool_version),
				 "%u.%u.%u", t->version[0], t->version[1], t->version[2]);
		}
		t = (struct dm_versions *)((char *)t + t->next);
	} while (last != t);
out:
	dm_task_destroy(dmt);
}

static void locked_dm_probe(struct stt_dm_info *info)
{
	char v[64];

	memset(info, 0, sizeof(*info));
	info->control_node = access("/dev/mapper/control", F_OK) == 0;
	if (!misc_has_dm()) {
		/* A stale node may exist (made by a tool or image) on a kernel without dm. */
		int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			close(fd);
		} else {
			snprintf(info->reason, sizeof(info->reason),
				 info->control_node
				     ? "kernel has no device-mapper (/dev/mapper/control: %s)"
				     : "kernel has no device-mapper (no /dev/mapper/control)",
				 strerror(errno));
			return;
		}
	}
	dm_quiet();
	dm_msg[0] = '\0';
	if (!dm_driver_version(v, sizeof(v))) {
		snprintf(info->reason, sizeof(info->reason), "%s",
			 *dm_msg ? dm_msg : "device-mapper: cannot read the driver version");
		return;
	}
	info->present = true;
	info->control_node = access("/dev/mapper/control", F_OK) == 0;
	snprintf(info->driver_version, sizeof(info->driver_version), "%s", v);
	find_target(info);
	if (!info->thin_pool)
		snprintf(info->reason, sizeof(info->reason),
			 "thin-pool target not loaded (modprobe dm-thin-pool)");
}

/* Device operations */

static bool dm_kernel_present(void)
{
	int fd;

	if (misc_has_dm())
		return true;
	fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Runs @dmt; 0 or -errno with "NAME: WHAT: cause". Destroys @dmt. */
static int run_task(struct dm_task *dmt, const char *name, const char *what)
{
	int r = 0;

	dm_msg[0] = '\0';
	if (!dm_task_run(dmt)) {
		int e = dm_task_get_errno(dmt);

		r = e > 0 ? -e : -EIO;
		if (*dm_msg)
			stt_err_set("%s: %s: %s (%s)", name, what, strerror(-r), dm_msg);
		else
			stt_err_set("%s: %s: %s", name, what, strerror(-r));
	}
	dm_task_update_nodes();
	dm_task_destroy(dmt);
	return r;
}

static struct dm_task *task_new(int type, const char *name)
{
	struct dm_task *dmt;

	dm_quiet();
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static int load_table(int type, const char *name, const char *ttype, uint64_t sectors,
		      const char *params, const char *what)
{
	struct dm_task *dmt = task_new(type, name);

	if (!dmt)
		return stt_err(-ENOMEM, "%s: %s: out of memory", name, what);
	if (!dm_task_add_target(dmt, 0, sectors, ttype, params) ||
	    (type == DM_DEVICE_CREATE && !dm_task_set_add_node(dmt, DM_ADD_NODE_ON_CREATE))) {
		dm_task_destroy(dmt);
		return stt_err(-ENOMEM, "%s: %s: out of memory", name, what);
	}
	return run_task(dmt, name, what);
}

static int locked_dm_create(const char *name, const char *type, uint64_t sectors,
			    const char *params)
{
	int r;

	/* DM_DEVICE_CREATE with a table loads it and resumes in one go. */
	r = load_table(DM_DEVICE_CREATE, name, type, sectors, params, "create");
	if (r)
		return r;
	return 0;
}

static int locked_dm_reload(const char *name, const char *type, uint64_t sectors,
			    const char *params)
{
	int r = load_table(DM_DEVICE_RELOAD, name, type, sectors, params, "reload");

	return r ? r : stt_dm_resume(name);
}

static int simple(int type, const char *name, const char *what)
{
	struct dm_task *dmt = task_new(type, name);

	if (!dmt)
		return stt_err(-ENOMEM, "%s: %s: out of memory", name, what);
	return run_task(dmt, name, what);
}

static int locked_dm_exists(const char *name)
{
	struct dm_task *dmt;
	struct dm_info info;
	int r = 0;

	if (!dm_kernel_present())
		return 0;
	dmt = task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info))
		r = -EIO;
	else
		r = info.exists ? 1 : 0;
	dm_task_destroy(dmt);
	return r;
}

static int remove_dev(const char *name, bool deferred)
{
	struct dm_task *dmt;
	int r;

	r = stt_dm_exists(name);
	if (r <= 0)
		return r;
	dmt = task_new(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return stt_err(-ENOMEM, "%s: remove: out of memory", name);
	/* udev-less hosts still get short-lived openers (blkid): retry like dmsetup does. */
	dm_task_retry_remove(dmt);
	if (deferred)
		dm_task_deferred_remove(dmt);
	return run_task(dmt, name, "remove");
}

static int locked_dm_remove(const char *name)
{
	return remove_dev(name, false);
}

static int locked_dm_remove_deferred(const char *name)
{
	return remove_dev(name, true);
}

static int locked_dm_suspend(const char *name)
{
	return simple(DM_DEVICE_SUSPEND, name, "suspend");
}

static int locked_dm_resume(const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_RESUME, name);

	if (!dmt)
		return stt_err(-ENOMEM, "%s: resume: out of memory", name);
	dm_task_set_add_node(dmt, DM_ADD_NODE_ON_RESUME);
	return run_task(dmt, name, "resume");
}

static int locked_dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TARGET_MSG, name);
	char what[128];

	if (!dmt)
		return stt_err(-ENOMEM, "%s: message: out of memory", name);
	snprintf(what, sizeof(what), "message \"%s\"", msg);
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg)) {
		dm_task_destroy(dmt);
		return stt_err(-ENOMEM, "%s: %s: out of memory", name, what);
	}
	return run_task(dmt, name, what);
}

static int locked_dm_status(const char *name, char *params, size_t len)
{
	char *type = NULL, *p = NULL;
	uint64_t start, length;
	struct dm_task *dmt;
	int r = 0;

	dmt = task_new(DM_DEVICE_STATUS, name);
	if (!dmt)
		return stt_err(-ENOMEM, "%s: status: out of memory", name);
	dm_msg[0] = '\0';
	if (!dm_task_run(dmt)) {
		int e = dm_task_get_errno(dmt);

		r = stt_err(e > 0 ? -e : -EIO, "%s: status: %s", name, strerror(e > 0 ? e : EIO));
		goto out;
	}
	dm_get_next_target(dmt, NULL, &start, &length, &type, &p);
	/* Copied before the task (which owns the string) is destroyed. */
	snprintf(params, len, "%s", p ? p : "");
out:
	dm_task_destroy(dmt);
	return r;
}

static int locked_dm_thin_delete(const char *pool, unsigned int id)
{
	char msg[64];
	int r;

	r = stt_dm_exists(pool);
	if (r <= 0)
		return r;
	snprintf(msg, sizeof(msg), "delete %u", id);
	r = stt_dm_message(pool, msg);
	/* The kernel answers ENODATA for an id the pool does not hold: nothing to undo. */
	if (r == -ENODATA)
		return 0;
	/*
	 * A pool that failed (an I/O error on its metadata or data) or went read-only refuses
	 * every message until it is reloaded; its ids go with the pool, whose own record (the
	 * pool device, the VG) comes later in the undo. Not an error then.
	 */
	if (r == -EOPNOTSUPP) {
		char status[512], why[1024];

		snprintf(why, sizeof(why), "%s", stt_err_msg());
		if (!locked_dm_status(pool, status, sizeof(status)) &&
		    (strstr(status, "Fail") || strstr(status, " ro ")))
			return 0;
		stt_err(r, "%s", why);
	}
	return r;
}

static int locked_dm_list(char *out, size_t len)
{
	struct dm_names *names;
	struct dm_task *dmt;
	unsigned int next = 0;
	int n = 0;

	if (len)
		out[0] = '\0';
	if (!dm_kernel_present())
		return 0;
	dmt = task_new(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			size_t used;

			names = (struct dm_names *)((char *)names + next);
			used = strlen(out);
			snprintf(out + used, len - used, "%s%s", n ? ", " : "", names->name);
			n++;
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	return n;
}

/* The type and parameters of @name's (first) table line; 0 or -errno. */
static int table_of(const char *name, char *type, size_t tlen, char *params, size_t plen)
{
	char *t = NULL, *p = NULL;
	uint64_t start, length;
	struct dm_task *dmt = task_new(DM_DEVICE_TABLE, name);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		r = -EIO;
	} else {
		dm_get_next_target(dmt, NULL, &start, &length, &t, &p);
		snprintf(type, tlen, "%s", t ? t : "");
		snprintf(params, plen, "%s", p ? p : "");
	}
	dm_task_destroy(dmt);
	return r;
}

static int locked_dm_remove_thin_users(const char *pool)
{
	char prefix[32], type[32], params[256], (*users)[128] = NULL;
	struct dm_names *names;
	struct dm_task *dmt;
	struct dm_info info;
	unsigned int next = 0;
	size_t n = 0;
	int r = 0;

	if (!dm_kernel_present() || (r = locked_dm_exists(pool)) <= 0)
		return r ? stt_err(r, "%s: cannot tell whether it exists", pool) : 0;
	r = 0;
	dmt = task_new(DM_DEVICE_INFO, pool);
	if (!dmt)
		return stt_err(-ENOMEM, "%s: out of memory", pool);
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) || !info.exists) {
		dm_task_destroy(dmt);
		return 0;
	}
	dm_task_destroy(dmt);
	/* A thin target's table begins with its pool's device number: "253:2 7". */
	snprintf(prefix, sizeof(prefix), "%u:%u ", info.major, info.minor);
	dmt = task_new(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return stt_err(-ENOMEM, "%s: out of memory", pool);
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return stt_err(-EIO, "%s: cannot list the dm devices", pool);
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			next = names->next;
			if (table_of(names->name, type, sizeof(type), params, sizeof(params)) ||
			    strcmp(type, "thin") || strncmp(params, prefix, strlen(prefix)))
				continue;
			if (!(n & 15)) {
				void *nu = realloc(users, (n + 16) * sizeof(*users));

				if (!nu) {
					r = -ENOMEM;
					break;
				}
				users = nu;
			}
			snprintf(users[n++], sizeof(users[0]), "%s", names->name);
		} while (next);
	}
	dm_task_destroy(dmt);
	if (r)
		stt_err(r, "%s: out of memory", pool);
	for (size_t i = 0; !r && i < n; i++)
		r = remove_dev(users[i], false);
	free(users);
	return r;
}

/* The public entry points: each under the lock. */

void stt_dm_probe(struct stt_dm_info *info)
{
	pthread_mutex_lock(&dm_lock);
	locked_dm_probe(info);
	pthread_mutex_unlock(&dm_lock);
}

int stt_dm_create(const char *name, const char *type, uint64_t sectors, const char *params)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_create(name, type, sectors, params);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_reload(const char *name, const char *type, uint64_t sectors, const char *params)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_reload(name, type, sectors, params);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_exists(const char *name)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_exists(name);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_remove(const char *name)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_remove(name);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_remove_deferred(const char *name)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_remove_deferred(name);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_suspend(const char *name)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_suspend(name);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_resume(const char *name)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_resume(name);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_message(const char *name, const char *msg)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_message(name, msg);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_status(const char *name, char *params, size_t len)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_status(name, params, len);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_thin_delete(const char *pool, unsigned int id)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_thin_delete(pool, id);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_list(char *out, size_t len)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_list(out, len);
	pthread_mutex_unlock(&dm_lock);
	return r;
}

int stt_dm_remove_thin_users(const char *pool)
{
	int r;

	pthread_mutex_lock(&dm_lock);
	r = locked_dm_remove_thin_users(pool);
	pthread_mutex_unlock(&dm_lock);
	return r;
}
