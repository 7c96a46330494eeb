// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The storage under a backend, as the phase runner sees it: its thin pool's status in the
 * results, the provisioning test of a fresh thin device, and the faults a full pool or a full
 * workdir cause, named with where they struck (and recorded, for recommend to cite).
 */
#include "measure/bench_run.h"

#include "base/err.h"
#include "measure/engine.h"
#include "sys/sysfs.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
int stt_bench_pool_json(struct stt_backend *b, struct json_object *o, const char *key,
			struct stt_pool_status *out)
{
	struct stt_pool_status st;
	struct json_object *j;
	int r;

	if (!b || !b->ops->pool_status)
		return 0;
	r = stt_backend_pool_status(b, &st);
	if (r)
		return r;
	if (out)
		*out = st;
	j = json_object_new_object();
	json_object_object_add(j, "transaction_id", json_object_new_int64((int64_t)st.transaction_id));
	json_object_object_add(j, "data_used_blocks",
			       json_object_new_int64((int64_t)st.data_used_blocks));
	json_object_object_add(j, "data_total_blocks",
			       json_object_new_int64((int64_t)st.data_total_blocks));
	json_object_object_add(j, "meta_used_blocks",
			       json_object_new_int64((int64_t)st.meta_used_blocks));
	json_object_object_add(j, "meta_total_blocks",
			       json_object_new_int64((int64_t)st.meta_total_blocks));
	json_object_object_add(j, "data_block_bytes", json_object_new_int64(st.data_block_bytes));
	json_object_object_add(o, key, j);
	if (st.out_of_data_space)
		return stt_err(-ENOSPC, "thin pool out of data space");
	return 0;
}

/*
 * Thin pools: what provisioning costs. A fresh thin device written sequentially in 4 KiB
 * writes, twice over the same 16 MiB: the first pass allocates a pool block at each block
 * boundary (and zeroes it with --zeroing), the second overwrites blocks that exist.
 */
int stt_bench_provisioning(struct stt_backend *b, struct json_object *res)
{
	struct json_object *o, *pass[2] = { NULL, NULL };
	struct stt_engine_result er;
	struct stt_engine_job job;
	char path[256];
	uint64_t bytes;
	int r;

	if (!b->ops->scratch_open)
		return 0;
	r = b->ops->scratch_open(b, path, sizeof(path), &bytes);
	if (r)
		return r;
	for (int i = 0; i < 2 && !r; i++) {
		stt_engine_job_init(&job);
		job.path = path;
		job.destroy_data = path;
		job.rw = STT_ENGINE_WRITE;
		job.bs_bytes = 4096;
		job.iodepth = 1;
		job.size_bytes = bytes < (16ull << 20) ? (int64_t)bytes : (int64_t)(16ull << 20);
		r = stt_engine_run(&job, &er);
		if (!r) {
			r = stt_engine_result_to_json(&er, &pass[i]);
			stt_engine_result_release(&er);
		}
	}
	if (!r) {
		double p50[2], mean[2];

		for (int i = 0; i < 2; i++) {
			struct json_object *clat = json_object_object_get(
				json_object_object_get(pass[i], "write"), "clat_ns");

			p50[i] = json_object_get_double(json_object_object_get(
				json_object_object_get(clat, "percentile"), "50.000000"));
			mean[i] = json_object_get_double(json_object_object_get(clat, "mean"));
		}
		o = json_object_new_object();
		json_object_object_add(o, "bs_bytes", json_object_new_int(4096));
		json_object_object_add(o, "size_bytes", json_object_new_int64(job.size_bytes));
		json_object_object_add(o, "first_write", pass[0]);
		json_object_object_add(o, "overwrite", pass[1]);
		json_object_object_add(o, "clat_mean_ratio",
				       json_object_new_double(mean[1] > 0 ? mean[0] / mean[1] : 0));
		json_object_object_add(o, "clat_p50_ratio",
				       json_object_new_double(p50[1] > 0 ? p50[0] / p50[1] : 0));
		json_object_object_add(res, "provisioning", o);
		pass[0] = pass[1] = NULL;
	}
	json_object_put(pass[0]);
	json_object_put(pass[1]);
	if (!r)
		return b->ops->scratch_close(b);
	(void)b->ops->scratch_close(b);
	return r;
}

/*
 * Below this much free space the workdir's filesystem counts as full: the sparse files of
 * the backend (overlay's backing.img, dm-loop's data and metadata) grow as they are written,
 * and a write the loop device cannot place fails under the filesystem or pool on top, which
 * then reports an I/O error, a shut-down filesystem or "structure needs cleaning" -- not the
 * cause. The cause is named here.
 */
#define FULL_BELOW_BYTES (8ull << 20)

/*
 * After a sync or a failure: when the target lives in sparse files under the workdir and
 * that filesystem is full, -ENOSPC with a message naming it (and @e's message, if any);
 * else @e unchanged.
 */
int stt_bench_workdir_space(const struct stt_backend_opts *o, const char *when, int e)
{
	char prev[768];
	struct statvfs sv;
	uint64_t free_bytes;

	if (o->device || !o->workdir || statvfs(o->workdir, &sv))
		return e;
	free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
	if (free_bytes >= FULL_BELOW_BYTES)
		return e;
	snprintf(prev, sizeof(prev), "%s", e ? stt_err_msg() : "");
	return stt_err(-ENOSPC,
		       "%s: no space left on device (ENOSPC) %s: the workdir's filesystem has "
		       "%llu KiB free, so the backend's sparse files under it cannot grow%s%s "
		       "(give --workdir a filesystem with room for the image and the containers' "
		       "writes)",
		       o->workdir, when, (unsigned long long)(free_bytes >> 10), *prev ? "; " : "",
		       prev);
}

/* The fault named by pool_fault(), for the results ("fault" of the failed backend). */
static void fault_record(struct run *r, const char *what, const char *when,
			 const struct stt_pool_status *st)
{
	struct json_object *f = json_object_new_object(), *pool = json_object_new_object();
	uint64_t nst;

	if (!f || !pool || r->fault) {
		json_object_put(f);
		json_object_put(pool);
		return;
	}
	json_object_object_add(f, "kind", json_object_new_string("thin-pool"));
	json_object_object_add(f, "what", json_object_new_string(what));
	json_object_object_add(f, "phase", json_object_new_string(r->at_phase ?: "?"));
	json_object_object_add(f, "where", json_object_new_string(when));
	json_object_object_add(f, "containers_done", json_object_new_int64((int64_t)r->at_done));
	json_object_object_add(f, "containers", json_object_new_int64(r->p->containers));
	/* from the start of the phase to the give-up: what the full pool cost */
	json_object_object_add(f, "seconds_to_give_up",
			       json_object_new_double((double)(stt_bench_now_ns() - r->at_t0) / 1e9));
	json_object_object_add(pool, "data_used_blocks",
			       json_object_new_int64((int64_t)st->data_used_blocks));
	json_object_object_add(pool, "data_total_blocks",
			       json_object_new_int64((int64_t)st->data_total_blocks));
	json_object_object_add(pool, "meta_used_blocks",
			       json_object_new_int64((int64_t)st->meta_used_blocks));
	json_object_object_add(pool, "meta_total_blocks",
			       json_object_new_int64((int64_t)st->meta_total_blocks));
	json_object_object_add(f, "pool", pool);
	json_object_object_add(f, "error_if_no_space",
			       json_object_new_boolean(st->error_if_no_space));
	/* how long dm-thin queues the writes of a full pool before it fails them (0: forever) */
	if (!stt_sysfs_read_u64("/sys/module/dm_thin_pool/parameters/no_space_timeout", &nst))
		json_object_object_add(f, "no_space_timeout_s",
				       json_object_new_int64((int64_t)nst));
	r->fault = f;
}

/*
 * Thin pools: when the pool is out of data or metadata space, read-only or failed, an error
 * naming that, where (@when) and how full it is (with @e's message, if any); else @e.
 * A full pool queues or fails the writes under the filesystems on its thin devices, which
 * then report only an I/O error: the cause is named here.
 */
static int pool_fault(struct run *r, const char *when, int e)
{
	struct stt_backend *b = r->b;
	struct stt_pool_status st;
	const char *what = NULL;
	uint64_t reserve;
	char prev[768];

	if (!b || !b->ops->pool_status)
		return e;
	snprintf(prev, sizeof(prev), "%s", e ? stt_err_msg() : "");
	if (stt_backend_pool_status(b, &st)) {
		if (!e)
			return 0;
		/* a pool whose status cannot be read has failed: the first error says why */
		return stt_err(e, "%s (%s; the thin pool's status cannot be read)", prev, when);
	}
	/*
	 * dm-thin keeps a metadata reserve of a tenth of the metadata (4096 blocks at most,
	 * __set_metadata_reserve()); a pool whose free metadata fell into it goes read-only
	 * (PM_OUT_OF_METADATA_SPACE), and its status can show a few blocks free.
	 */
	reserve = st.meta_total_blocks / 10 < 4096 ? st.meta_total_blocks / 10 : 4096;
	if (st.out_of_data_space || st.data_used_blocks >= st.data_total_blocks)
		what = "out of data space";
	else if (st.meta_used_blocks >= st.meta_total_blocks ||
		 (st.read_only && st.meta_total_blocks - st.meta_used_blocks <= reserve))
		what = "out of metadata space";
	else if (st.read_only)
		what = "read-only (its metadata ran out or failed)";
	else if (st.needs_check)
		what = "marked needs_check";
	if (!what)
		return e;
	fault_record(r, what, when, &st);
	return stt_err(-ENOSPC,
		       "thin pool %s %s: data %llu/%llu blocks, metadata %llu/%llu blocks used%s%s "
		       "(use a larger --data-size/--meta-size or fewer containers)",
		       what, when, (unsigned long long)st.data_used_blocks,
		       (unsigned long long)st.data_total_blocks,
		       (unsigned long long)st.meta_used_blocks,
		       (unsigned long long)st.meta_total_blocks, *prev ? "; " : "", prev);
}

int stt_bench_name_fault(struct run *r, const char *when, int e)
{
	return r->b ? stt_bench_workdir_space(r->o, when, pool_fault(r, when, e)) : e;
}

