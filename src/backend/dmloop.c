// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dm-loop ("loop-lvm"): Docker's devicemapper default before direct-lvm. Sparse "data"
 * (100G) and "metadata" (2G) files attached to loop devices, and a thin pool on them:
 * "0 <sectors> thin-pool <meta> <data> 128 32768 1 skip_block_zeroing" (64K blocks, low
 * water mark 32768). Thin devices as src/backend/thinpool.c drives them.
 */
#include "backend/backend.h"
#include "backend/thinpool.h"

#include "sys/dm.h"
#include "base/err.h"
#include "sys/exec.h"
#include "sys/fsutil.h"
#include "sys/journal.h"
#include "sys/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DMLOOP_CHUNK_BYTES (64u << 10) /* Docker's dm.blocksize */
#define DMLOOP_LOW_WATER 32768u

struct dmloop {
	struct stt_thinpool tp; /* first: the shared thin-pool ops cast priv to it */
	char rundir[PATH_MAX];
	struct stt_thinpool_loop lp; /* its data and metadata files, loop devices and pool */
	unsigned int rec_dir;
	bool tp_ready;
};

static uint32_t chunk_of(const struct stt_backend_opts *o)
{
	return o->chunk_bytes ? o->chunk_bytes : DMLOOP_CHUNK_BYTES;
}

static int dmloop_available(const struct stt_backend_opts *o, char *reason, size_t len)
{
	return stt_thinpool_loop_available(o, chunk_of(o), reason, len);
}

static int dmloop_teardown(struct stt_backend *b);

static int dmloop_prepare(struct stt_backend *b)
{
	const struct stt_backend_opts *o = &b->opts;
	struct stt_journal *j = o->journal;
	char suffix[12], dir[PATH_MAX + 20], why[1024];
	uint32_t chunk = chunk_of(o);
	struct dmloop *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->rec_dir = p->lp.rec_data = p->lp.rec_meta = p->lp.rec_pool = STT_JOURNAL_NONE;
	stt_backend_random_name(suffix, 8, "abcdefghijklmnopqrstuvwxyz0123456789");
	if ((r = stt_fs_own_dir(o->workdir, 0700)))
		goto fail;
	snprintf(p->rundir, sizeof(p->rundir), "%s/dmloop-%s", o->workdir, suffix);
	if ((r = stt_journal_add(j, STT_J_DIR, p->rundir, NULL, &p->rec_dir)))
		goto fail;
	snprintf(dir, sizeof(dir), "%s/devicemapper", p->rundir);
	if (mkdir(p->rundir, 0700) || mkdir(dir, 0700)) {
		r = stt_err(-errno, "%s: cannot create: %s", p->rundir, strerror(errno));
		goto fail;
	}
	snprintf(p->lp.data, sizeof(p->lp.data), "%s/data", dir);
	snprintf(p->lp.meta, sizeof(p->lp.meta), "%s/metadata", dir);
	snprintf(p->tp.pool, sizeof(p->tp.pool), "stortune-%s-pool", suffix);
	if ((r = stt_thinpool_loop_open(o, p->tp.pool, chunk, DMLOOP_LOW_WATER, &p->lp)))
		goto fail;

	snprintf(p->tp.prefix, sizeof(p->tp.prefix), "stortune-%s", suffix);
	/* BLKDISCARD before delete: on for loop, as Docker */
	if ((r = stt_thinpool_init(&p->tp, o, p->rundir, true)))
		goto fail;
	p->tp_ready = true;
	return 0;
fail:
	/* the undo runs dm operations, which set messages of their own: keep the cause */
	snprintf(why, sizeof(why), "%s", stt_err_msg());
	(void)dmloop_teardown(b);
	return stt_err(r, "%s", why);
}

static int dmloop_teardown(struct stt_backend *b)
{
	struct dmloop *p = b->priv;
	int r = 0;

	if (!p)
		return 0;
	if (p->tp_ready)
		r = stt_thinpool_release(&p->tp);
	if (!r) {
		const unsigned int recs[] = { p->rec_dir, p->lp.rec_data, p->lp.rec_meta,
					      p->lp.rec_pool };

		r = stt_backend_undo(b->opts.journal, recs, sizeof(recs) / sizeof(recs[0]));
	}
	free(p);
	b->priv = NULL;
	return r;
}

static int dmloop_pool_status(struct stt_backend *b, struct stt_pool_status *st)
{
	int r = stt_thinpool_status(b->priv, st); /* priv starts with the pool */

	if (!r)
		st->data_block_bytes = chunk_of(&b->opts);
	return r;
}

static int dmloop_device_name(struct stt_backend *b, char *name, size_t len)
{
	const char *dev = ((struct dmloop *)b->priv)->lp.datadev;

	snprintf(name, len, "%s", strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	return 0;
}

static int dmloop_engine_config(struct stt_backend *b, struct stt_backend_engine *e)
{
	struct dmloop *p = b->priv;

	stt_thinpool_engine_config(&p->tp, p->rundir, e);
	return 0;
}

const struct stt_backend_ops stt_backend_dmloop = {
	.version = STT_BACKEND_OPS_VERSION,
	.name = "dm-loop",
	.summary = "devicemapper thin pool on loop devices over sparse files (loop-lvm)",
	.available = dmloop_available,
	.prepare = dmloop_prepare,
	.layer_create = stt_thinpool_op_layer_create,
	.layer_remove = stt_thinpool_op_layer_remove,
	.container_start = stt_thinpool_op_container_start,
	.container_stop = stt_thinpool_op_container_stop,
	.teardown = dmloop_teardown,
	.pool_status = dmloop_pool_status,
	.scratch_open = stt_thinpool_op_scratch_open,
	.scratch_close = stt_thinpool_op_scratch_close,
	.device_name = dmloop_device_name,
	.engine_config = dmloop_engine_config,
};
