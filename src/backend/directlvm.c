// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * direct-lvm: Docker's production devicemapper setup on a block device, with Docker's own
 * commands (through liblvm2cmd): pvcreate, vgcreate, lvcreate thinpool 95%VG and
 * thinpoolmeta 1%VG, lvconvert --zero n -c 512K --thinpool, the autoextend profile and
 * lvchange --metadataprofile. The pool is then driven as dm-loop's (src/backend/thinpool.c).
 *
 * The disk is --device DEV, written only with --destroy-data naming the same device and
 * only when probing finds it free; without --device a loop device over a sparse file in
 * the workdir stands in for it. The VG is "stt<random>", never Docker's "docker".
 */
#include "backend/backend.h"
#include "backend/thinpool.h"

#include "sys/dm.h"
#include "base/err.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"
#include "sys/lvm.h"
#include "sys/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DIRECTLVM_CHUNK_BYTES (512u << 10) /* Docker's lvconvert -c 512K */
#define PROFILE_DIR "/etc/lvm/profile"

struct directlvm {
	struct stt_thinpool tp; /* first: the shared thin-pool ops cast priv to it */
	char rundir[PATH_MAX], img[PATH_MAX + 20], disk[PATH_MAX], vg[32], profile[PATH_MAX];
	unsigned int rec_dir, rec_loop, rec_pv, rec_vg, rec_profile;
	bool tp_ready;
};

static uint32_t chunk_of(const struct stt_backend_opts *o)
{
	return o->chunk_bytes ? o->chunk_bytes : DIRECTLVM_CHUNK_BYTES;
}

static int directlvm_available(const struct stt_backend_opts *o, char *reason, size_t len)
{
	int r = stt_thinpool_available(reason, len);

	if (r)
		return r;
	if (!stt_lvm_available()) {
		snprintf(reason, len, "no LVM tools (liblvm2cmd cannot run lvm)");
		return -ENOENT;
	}
	if (o->device) {
		r = stt_probe_check_destroy(o->device, o->destroy_data);
		if (r) {
			snprintf(reason, len, "%s", stt_err_msg());
			return r;
		}
	} else if (!stt_loop_available()) {
		snprintf(reason, len, "needs --device DEV --destroy-data DEV (no loop devices)");
		return -ENODEV;
	}
	return stt_thinpool_opts_check(o, chunk_of(o), reason, len);
}

static int lvm(const char *fmt, const char *a, const char *b, const char *c)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b, c);
	return stt_lvm_run(cmd);
}

static int write_profile(const char *path)
{
	static const char text[] = "activation {\n"
				   "\tthin_pool_autoextend_threshold=80\n"
				   "\tthin_pool_autoextend_percent=20\n"
				   "}\n";
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return stt_err(-errno, "%s: cannot create: %s", path, strerror(errno));
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1 || fsync(fd))
		r = stt_err(-EIO, "%s: cannot write", path);
	close(fd);
	return r;
}

/* LVM shows the pool as "<vg>-thinpool-tpool" when it adds a layer above it, else by name. */
static int find_pool(struct directlvm *p)
{
	char name[128];

	snprintf(name, sizeof(name), "%s-thinpool-tpool", p->vg);
	if (stt_dm_exists(name) == 1) {
		snprintf(p->tp.pool, sizeof(p->tp.pool), "%s", name);
		return 0;
	}
	snprintf(name, sizeof(name), "%s-thinpool", p->vg);
	if (stt_dm_exists(name) == 1) {
		snprintf(p->tp.pool, sizeof(p->tp.pool), "%s", name);
		return 0;
	}
	return stt_err(-ENODEV, "%s/thinpool: no active thin-pool device after lvconvert", p->vg);
}

static int directlvm_teardown(struct stt_backend *b);

static int directlvm_prepare(struct stt_backend *b)
{
	const struct stt_backend_opts *o = &b->opts;
	struct stt_journal *j = o->journal;
	char suffix[12], chunk[32], why[1024];
	struct directlvm *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->rec_dir = p->rec_loop = p->rec_pv = p->rec_vg = p->rec_profile = STT_JOURNAL_NONE;
	stt_backend_random_name(suffix, 8, "abcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(p->vg, sizeof(p->vg), "stt%s", suffix);
	if ((r = stt_fs_own_dir(o->workdir, 0700)))
		goto fail;
	snprintf(p->rundir, sizeof(p->rundir), "%s/directlvm-%s", o->workdir, suffix);
	if ((r = stt_journal_add(j, STT_J_DIR, p->rundir, NULL, &p->rec_dir)))
		goto fail;
	if (mkdir(p->rundir, 0700)) {
		r = stt_err(-errno, "%s: cannot create: %s", p->rundir, strerror(errno));
		goto fail;
	}
	if (o->device) {
		snprintf(p->disk, sizeof(p->disk), "%s", o->device);
	} else {
		snprintf(p->img, sizeof(p->img), "%s/disk.img", p->rundir);
		if ((r = stt_backend_sparse_file(p->img, o->scratch_bytes)) ||
		    (r = stt_backend_attach_loop(j, p->img, o->loop_direct_io, p->disk,
						 sizeof(p->disk), &p->rec_loop)))
			goto fail;
	}

	if ((r = stt_journal_add(j, STT_J_PV, p->disk, NULL, &p->rec_pv)) ||
	    (r = lvm("pvcreate -y %s", p->disk, NULL, NULL)))
		goto fail;
	if ((r = stt_journal_add(j, STT_J_VG, p->vg, p->disk, &p->rec_vg)) ||
	    (r = lvm("vgcreate %s %s", p->vg, p->disk, NULL)) ||
	    (r = lvm("lvcreate --wipesignatures y -y -n thinpool %s -l 95%%VG", p->vg, NULL,
		     NULL)) ||
	    (r = lvm("lvcreate --wipesignatures y -y -n thinpoolmeta %s -l 1%%VG", p->vg, NULL,
		     NULL)))
		goto fail;
	snprintf(chunk, sizeof(chunk), "%uK", chunk_of(o) >> 10);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd),
			 "lvconvert -y --zero %s -c %s --thinpool %s/thinpool --poolmetadata "
			 "%s/thinpoolmeta",
			 o->zeroing ? "y" : "n", chunk, p->vg, p->vg);
		if ((r = stt_lvm_run(cmd)))
			goto fail;
	}
	if ((r = stt_fs_mkdir_p(PROFILE_DIR, 0755))) {
		r = stt_err(r, "%s: cannot create: %s", PROFILE_DIR, strerror(-r));
		goto fail;
	}
	snprintf(p->profile, sizeof(p->profile), PROFILE_DIR "/%s-thinpool.profile", p->vg);
	if ((r = stt_journal_add(j, STT_J_FILE, p->profile, NULL, &p->rec_profile)) ||
	    (r = write_profile(p->profile)))
		goto fail;
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "lvchange --metadataprofile %s-thinpool %s/thinpool",
			 p->vg, p->vg);
		if ((r = stt_lvm_run(cmd)))
			goto fail;
	}
	if ((r = find_pool(p)))
		goto fail;

	snprintf(p->tp.prefix, sizeof(p->tp.prefix), "%s-thin", p->vg);
	/* BLKDISCARD before delete: off on a real device */
	if ((r = stt_thinpool_init(&p->tp, o, p->rundir, false)))
		goto fail;
	p->tp_ready = true;
	return 0;
fail:
	/* the undo runs dm and LVM operations, which set messages of their own: keep the cause */
	snprintf(why, sizeof(why), "%s", stt_err_msg());
	(void)directlvm_teardown(b);
	return stt_err(r, "%s", why);
}

static int directlvm_teardown(struct stt_backend *b)
{
	struct directlvm *p = b->priv;
	int r = 0;

	if (!p)
		return 0;
	if (p->tp_ready)
		r = stt_thinpool_release(&p->tp);
	if (!r) {
		const unsigned int recs[] = { p->rec_dir, p->rec_loop, p->rec_pv, p->rec_vg,
					      p->rec_profile };

		r = stt_backend_undo(b->opts.journal, recs, sizeof(recs) / sizeof(recs[0]));
	}
	free(p);
	b->priv = NULL;
	return r;
}

static int directlvm_pool_status(struct stt_backend *b, struct stt_pool_status *st)
{
	int r = stt_thinpool_status(b->priv, st); /* priv starts with the pool */

	if (!r)
		st->data_block_bytes = chunk_of(&b->opts);
	return r;
}

static int directlvm_device_name(struct stt_backend *b, char *name, size_t len)
{
	char real[PATH_MAX], sys[64], link[PATH_MAX];
	const char *dev = ((struct directlvm *)b->priv)->disk, *base;
	struct stat st;
	ssize_t n;

	/*
	 * The kernel's name, as /sys/class/block knows it: from the device number, since a
	 * /dev/mapper/NAME made without udev is a node of its own, not a link to dm-N.
	 */
	if (!stat(dev, &st) && S_ISBLK(st.st_mode)) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		n = readlink(sys, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			base = strrchr(link, '/');
			snprintf(name, len, "%s", base ? base + 1 : link);
			return 0;
		}
	}
	if (realpath(dev, real))
		dev = real;
	snprintf(name, len, "%s", strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	return 0;
}

static int directlvm_engine_config(struct stt_backend *b, struct stt_backend_engine *e)
{
	struct directlvm *p = b->priv;

	stt_thinpool_engine_config(&p->tp, p->rundir, e);
	return 0;
}

const struct stt_backend_ops stt_backend_directlvm = {
	.version = STT_BACKEND_OPS_VERSION,
	.name = "direct-lvm",
	.summary = "devicemapper thin pool on an LVM volume of a block device",
	.available = directlvm_available,
	.prepare = directlvm_prepare,
	.layer_create = stt_thinpool_op_layer_create,
	.layer_remove = stt_thinpool_op_layer_remove,
	.container_start = stt_thinpool_op_container_start,
	.container_stop = stt_thinpool_op_container_stop,
	.teardown = directlvm_teardown,
	.pool_status = directlvm_pool_status,
	.scratch_open = stt_thinpool_op_scratch_open,
	.scratch_close = stt_thinpool_op_scratch_close,
	.device_name = directlvm_device_name,
	.engine_config = directlvm_engine_config,
};
