// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rule table driven with synthetic results: each decision flips when its condition flips;
 * Docker 20.10, 24 and 25 give the right driver sets; missing measurements give labelled
 * defaults; the tuning sweep picks chunk size and zeroing. Then the emitters: daemon.json for
 * either driver, the profile, the setup script (sh -n), containerd's snippet, the report.
 */
#include "unit.h"

#include "advice/emit.h"
#include "base/json.h"
#include "advice/recommend.h"
#include "advice/qualify.h"
#include "advice/results.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1024.0 * 1024)
#define GiB (1024.0 * MiB)

/* ---- Synthetic results ------------------------------------------------------------------ */

/* Sets @v at @path ("a.b.c"), making the objects on the way. */
static void set(struct json_object *o, const char *path, struct json_object *v)
{
	char key[64];

	for (;;) {
		size_t n = strcspn(path, ".");
		struct json_object *next;

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!path[n]) {
			json_object_object_add(o, key, v);
			return;
		}
		if (!json_object_object_get_ex(o, key, &next)) {
			next = json_object_new_object();
			json_object_object_add(o, key, next);
		}
		o = next;
		path += n + 1;
	}
}

static void setd(struct json_object *o, const char *path, double v)
{
	set(o, path, json_object_new_double(v));
}

static void sets(struct json_object *o, const char *path, const char *v)
{
	set(o, path, v ? json_object_new_string(v) : NULL);
}

static void setb(struct json_object *o, const char *path, bool v)
{
	set(o, path, json_object_new_boolean(v));
}

static struct json_object *summary(double median)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "unit", json_object_new_string("ns"));
	json_object_object_add(s, "n", json_object_new_int(3));
	json_object_object_add(s, "median", json_object_new_double(median));
	return s;
}

/* A backend that ran: phase p50s in ms, storm in containers/s, 10 containers. */
static struct json_object *backend(struct json_object *doc, const char *name, const char *env,
				   double start_ms, double storm)
{
	struct json_object *b = json_object_new_object();
	static const char *const ph[] = {"create",    "start", "first-read", "first-write",
					 "cow-write", "stop",  "remove"};
	char path[128];

	sets(b, "backend", name);
	sets(b, "status", "ok");
	sets(b, "environment", env);
	for (size_t i = 0; i < sizeof(ph) / sizeof(ph[0]); i++) {
		snprintf(path, sizeof(path), "modes.cold.phases.%s.p50_ns", ph[i]);
		set(b, path, summary(start_ms * 1e6 * (i == 1 ? 1 : 0.8)));
	}
	set(b, "modes.cold.phases.first-write.device.write_bytes", summary(10 * 2 * MiB));
	set(b, "modes.cold.phases.cow-write.device.write_bytes", summary(10 * 0.5 * MiB));
	set(b, "modes.cold.storm.containers_per_s", summary(storm));
	setd(b, "modes.cold.storm.containers", 10);
	json_object_array_add(stt_json_get(doc, "backends"), b);
	return b;
}

/* Pool figures of a thin-pool backend: @per_ctr bytes of data per container. */
static void pool(struct json_object *b, double block, double total_bytes, double per_ctr,
		 double meta_share)
{
	double used0 = 200, used1 = used0 + per_ctr * 10 / block;

	setd(b, "pool.after_import.data_block_bytes", block);
	setd(b, "pool.after_import.data_total_blocks", total_bytes / block);
	setd(b, "pool.after_import.data_used_blocks", used0);
	setd(b, "pool.after_import.meta_used_blocks", 2000);
	setd(b, "pool.cold_after_writes.data_used_blocks", used1);
	setd(b, "pool.cold_after_writes.meta_used_blocks",
	     2000 + (used1 - used0) * block * meta_share / 4096);
	setd(b, "provisioning.clat_p50_ratio", 1.7);
}

static struct json_object *doc_new(const char *label)
{
	struct json_object *d = json_object_new_object();

	sets(d, "schema", "stortune-results");
	set(d, "schema_version", json_object_new_int(1));
	sets(d, "environment.label", label);
	sets(d, "environment.host.kernel.release", "6.1.0-13-amd64");
	setb(d, "environment.host.kernel.device_mapper.present", true);
	sets(d, "environment.host.kernel.device_mapper.driver_version", "4.47.0");
	setb(d, "environment.host.kernel.filesystems.xfs", true);
	sets(d, "environment.host.kernel.xfs_pquota", "no");
	sets(d, "environment.host.kernel.xfs_pquota_detail", "mount -o pquota fails");
	setb(d, "environment.host.software.mkfs.xfs.installed", true);
	set(d, "backends", json_object_new_array());
	sets(d, "options.fs", "xfs");
	sets(d, "options.device", NULL);
	sets(d, "options.workdir", "/var/tmp/stortune");
	setd(d, "options.containers", 10);
	setd(d, "image.size_bytes", 4 * MiB);
	sets(d, "profile.name", "ci");
	return d;
}

static void target_dir(struct json_object *d, const char *fstype, const char *mountpoint)
{
	sets(d, "environment.target.kind", "directory");
	sets(d, "environment.target.path", "/var/tmp/stortune");
	sets(d, "environment.target.fstype", fstype);
	sets(d, "environment.target.mountpoint", mountpoint);
	sets(d, "environment.target.source", "/dev/sda1");
	setb(d, "environment.target.d_type", true);
}

/*
 * The usual picture of this project's host: overlay native; dm-loop and direct-lvm in the VM
 * (its own document), with pool figures.
 */
struct fixture {
	struct json_object *docs[3];
	size_t n;
	struct json_object *nat, *vm, *ov, *dl, *lp;
	struct stt_rec_input in;
	struct stt_rec *r;
};

static void fixture(struct fixture *f, const char *docker)
{
	memset(f, 0, sizeof(*f));
	f->nat = doc_new("native");
	target_dir(f->nat, "ext4", "/");
	f->ov = backend(f->nat, "overlay", "native", 0.5, 27);
	f->vm = doc_new("vm-tcg");
	f->dl = backend(f->vm, "direct-lvm", "vm-tcg", 140, 2.7);
	pool(f->dl, 512 * 1024, 7.6 * GiB, 10 * MiB, 0.001);
	f->lp = backend(f->vm, "dm-loop", "vm-tcg", 128, 1.8);
	pool(f->lp, 64 * 1024, 100 * GiB, 5 * MiB, 0.004);
	setd(f->lp, "modes.cold.phases.remove.p50_ns.median", 490e6);
	setd(f->dl, "modes.cold.phases.remove.p50_ns.median", 15e6);
	f->docs[0] = f->nat;
	f->docs[1] = f->vm;
	f->n = 2;
	f->in.docs = f->docs;
	f->in.ndocs = f->n;
	if (docker)
		CU_ASSERT_EQUAL_FATAL(stt_docker_version_parse(docker, &f->in.docker), 0);
	f->in.docker_origin = "test";
}

static const struct stt_rec_decision *run(struct fixture *f, const char *key)
{
	stt_rec_free(f->r);
	f->r = NULL;
	f->in.ndocs = f->n;
	CU_ASSERT_EQUAL_FATAL(stt_recommend(&f->in, &f->r), 0);
	return key ? stt_rec_get(f->r, key) : NULL;
}

static void release(struct fixture *f)
{
	stt_rec_free(f->r);
	for (size_t i = 0; i < f->n; i++)
		json_object_put(f->docs[i]);
}

#define ASSERT_DECISION(d, src, rul, val)                                                       \
	do {                                                                                    \
		const struct stt_rec_decision *d_ = (d);                                        \
		CU_ASSERT_PTR_NOT_NULL_FATAL(d_);                                               \
		if (d_->source != (src) || strcmp(d_->rule, (rul)) || strcmp(d_->value, (val))) \
			fprintf(stderr, "\n%s: %s %s '%s': %s\n", d_->key,                      \
				stt_rec_source_name(d_->source), d_->rule, d_->value,           \
				d_->evidence);                                                  \
		CU_ASSERT_EQUAL(d_->source, (src));                                             \
		CU_ASSERT_STRING_EQUAL(d_->rule, (rul));                                        \
		CU_ASSERT_STRING_EQUAL(d_->value, (val));                                       \
	} while (0)

static bool has(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fprintf(stderr, "\nmissing \"%s\" in: %s\n", sub, s);
	return strstr(s, sub) != NULL;
}

/* ---- Docker versions -------------------------------------------------------------------- */

static void test_versions(void)
{
	static const struct {
		const char *in, *text;
		int major, minor, patch;
	} ok[] = {
	    {"20.10.24+dfsg1", "20.10.24+dfsg1", 20, 10, 24},
	    {"24.0.7", "24.0.7", 24, 0, 7},
	    {"25.0.0", "25.0.0", 25, 0, 0},
	    {"28.2.2", "28.2.2", 28, 2, 2},
	    {"Docker version 28.2.2, build e6534b4\n", "28.2.2", 28, 2, 2},
	    {"Docker version 20.10.24+dfsg1, build 5d6db84", "20.10.24+dfsg1", 20, 10, 24},
	    {"v25", "25", 25, 0, 0},
	};
	struct stt_docker_version v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(stt_docker_version_parse(ok[i].in, &v), 0);
		CU_ASSERT_TRUE(v.known);
		CU_ASSERT_EQUAL(v.major, ok[i].major);
		CU_ASSERT_EQUAL(v.minor, ok[i].minor);
		CU_ASSERT_EQUAL(v.patch, ok[i].patch);
		CU_ASSERT_STRING_EQUAL(v.text, ok[i].text);
	}
	CU_ASSERT_EQUAL(stt_docker_version_parse("", &v), -EINVAL);
	CU_ASSERT_EQUAL(stt_docker_version_parse("docker", &v), -EINVAL);
	CU_ASSERT_EQUAL(stt_docker_version_parse("123456.1", &v), -EINVAL);
	CU_ASSERT_FALSE(v.known);
}

static void test_driver_sets(void)
{
	struct stt_docker_version v;

	CU_ASSERT_EQUAL(stt_docker_version_parse("20.10.24+dfsg1", &v), 0);
	CU_ASSERT_EQUAL(stt_docker_drivers(&v), STT_DRIVER_OVERLAY2 | STT_DRIVER_DEVICEMAPPER);
	CU_ASSERT_TRUE(has(stt_docker_dm_status(&v), "deprecated"));
	CU_ASSERT_PTR_NULL(strstr(stt_docker_dm_status(&v), "explicit"));
	CU_ASSERT_EQUAL(stt_docker_version_parse("24.0.7", &v), 0);
	CU_ASSERT_EQUAL(stt_docker_drivers(&v), STT_DRIVER_OVERLAY2 | STT_DRIVER_DEVICEMAPPER);
	CU_ASSERT_TRUE(has(stt_docker_dm_status(&v), "explicitly"));
	CU_ASSERT_TRUE(has(stt_docker_dm_status(&v), "deprecated"));
	CU_ASSERT_EQUAL(stt_docker_version_parse("23.0.0", &v), 0);
	CU_ASSERT_TRUE(has(stt_docker_dm_status(&v), "explicitly"));
	CU_ASSERT_EQUAL(stt_docker_version_parse("25.0.0", &v), 0);
	CU_ASSERT_EQUAL(stt_docker_drivers(&v), STT_DRIVER_OVERLAY2);
	CU_ASSERT_TRUE(has(stt_docker_dm_status(&v), "removed"));
	CU_ASSERT_EQUAL(stt_docker_version_parse("28.2.2", &v), 0);
	CU_ASSERT_EQUAL(stt_docker_drivers(&v), STT_DRIVER_OVERLAY2);
	memset(&v, 0, sizeof(v)); /* unknown: the newest rules */
	CU_ASSERT_EQUAL(stt_docker_drivers(&v), STT_DRIVER_OVERLAY2);
}

/* ---- The driver ------------------------------------------------------------------------- */

static void test_driver(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	/* overlay native, direct-lvm only in the VM: overlay2, and why the VM cannot decide */
	fixture(&f, "20.10.24");
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.overlay2", "overlay2");
	CU_ASSERT_TRUE(has(d->evidence, "only in vm-tcg"));
	CU_ASSERT_STRING_EQUAL(f.r->driver, "overlay2");
	ASSERT_DECISION(stt_rec_get(f.r, "devicemapper"), STT_REC_MEASURED, "dm.alternative",
			"alternative (daemon-devicemapper.json)");

	/* even a VM figure far better than overlay's cannot make devicemapper the driver */
	setd(f.dl, "modes.cold.storm.containers_per_s.median", 1000);
	setd(f.dl, "modes.cold.phases.start.p50_ns.median", 1000);
	ASSERT_DECISION(run(&f, "storage-driver"), STT_REC_MEASURED, "driver.overlay2", "overlay2");

	/* direct-lvm native and clearly faster: devicemapper on 24, with the deprecation said */
	sets(f.dl, "environment", "native");
	f.in.docker.major = 24;
	f.in.docker.minor = 0;
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.dm-faster", "devicemapper");
	CU_ASSERT_TRUE(has(d->evidence, "explicitly"));
	CU_ASSERT_TRUE(has(d->evidence, "deprecated"));
	ASSERT_DECISION(stt_rec_get(f.r, "data-root"), STT_REC_DEFAULT, "data-root.dm", "");
	/* ... but not on 25 */
	f.in.docker.major = 25;
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.overlay2", "overlay2");
	CU_ASSERT_TRUE(has(d->evidence, "removed in Docker 25.0"));
	ASSERT_DECISION(stt_rec_get(f.r, "devicemapper"), STT_REC_REFUSED, "dm.removed", "");
	/* only 10% faster: not enough */
	f.in.docker.major = 24;
	setd(f.dl, "modes.cold.storm.containers_per_s.median", 27 * 1.1);
	ASSERT_DECISION(run(&f, "storage-driver"), STT_REC_MEASURED, "driver.overlay2", "overlay2");

	/* overlay failed here, direct-lvm native: devicemapper while Docker has it */
	json_object_array_del_idx(stt_json_get(f.nat, "backends"), 0, 1);
	{
		struct json_object *s = json_object_new_object();

		sets(s, "backend", "overlay");
		sets(s, "status", "failed");
		sets(s, "reason", "no d_type");
		json_object_array_add(stt_json_get(f.nat, "backends"), s);
	}
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.dm-only", "devicemapper");
	CU_ASSERT_TRUE(has(d->evidence, "no d_type"));
	f.in.docker.major = 25;
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_DEFAULT, "driver.default", "overlay2");
	CU_ASSERT_TRUE(f.r->nnot > 0);
	release(&f);
}

static void test_versions_in_rules(void)
{
	struct fixture f;
	struct json_object *dj;
	const char *text;

	/* 25: no devicemapper file at all, no override_kernel_check */
	fixture(&f, "25.0.0");
	run(&f, NULL);
	CU_ASSERT_FALSE(f.r->dm_allowed);
	CU_ASSERT_EQUAL(stt_emit_daemon_json(f.r, "devicemapper", &dj), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(stt_emit_daemon_json(f.r, "overlay2", &dj), 0);
	text = json_object_to_json_string(dj);
	CU_ASSERT_PTR_NULL(strstr(text, "override_kernel_check"));
	CU_ASSERT_PTR_NULL(strstr(text, "dm."));
	json_object_put(dj);
	ASSERT_DECISION(stt_rec_get(f.r, "overlay2.override_kernel_check"), STT_REC_REFUSED,
			"okc.removed", "");
	/* dm values still feed containerd, labelled not-applicable for Docker */
	CU_ASSERT_EQUAL(stt_rec_get(f.r, "dm.basesize")->source, STT_REC_NOT_APPLICABLE);
	CU_ASSERT_TRUE(has(stt_rec_get(f.r, "dm.basesize")->evidence, "containerd"));

	/* unknown version: the newest rules */
	memset(&f.in.docker, 0, sizeof(f.in.docker));
	run(&f, NULL);
	CU_ASSERT_FALSE(f.r->dm_allowed);
	ASSERT_DECISION(stt_rec_get(f.r, "overlay2.override_kernel_check"), STT_REC_REFUSED,
			"okc.removed", "");
	/* 24: removed already */
	CU_ASSERT_EQUAL(stt_docker_version_parse("24.0.7", &f.in.docker), 0);
	ASSERT_DECISION(run(&f, "overlay2.override_kernel_check"), STT_REC_REFUSED, "okc.removed",
			"");
	/* 20.10: ignored */
	CU_ASSERT_EQUAL(stt_docker_version_parse("20.10.24", &f.in.docker), 0);
	ASSERT_DECISION(run(&f, "overlay2.override_kernel_check"), STT_REC_NOT_APPLICABLE,
			"okc.ignored", "");
	CU_ASSERT_TRUE(f.r->dm_allowed);
	/* 19.03 on a 3.10 kernel where overlay ran: needed */
	CU_ASSERT_EQUAL(stt_docker_version_parse("19.03.5", &f.in.docker), 0);
	sets(f.nat, "environment.host.kernel.release", "3.10.0-1160.el7.x86_64");
	ASSERT_DECISION(run(&f, "overlay2.override_kernel_check"), STT_REC_MEASURED,
			"okc.old-kernel", "overlay2.override_kernel_check=true");
	sets(f.nat, "environment.host.kernel.release", "5.10.0");
	ASSERT_DECISION(run(&f, "overlay2.override_kernel_check"), STT_REC_NOT_APPLICABLE,
			"okc.not-needed", "");
	release(&f);
}

static void test_loop_lvm(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	fixture(&f, "24.0.7");
	d = run(&f, "loop-lvm");
	ASSERT_DECISION(d, STT_REC_REFUSED, "loop-lvm.never", "");
	CU_ASSERT_TRUE(has(d->evidence, "never production"));
	/* 1.8 vs 2.7 containers/s in the same environment: 1.5x slower */
	CU_ASSERT_TRUE(has(d->evidence, "1.5x slower"));
	json_object_array_del_idx(stt_json_get(f.vm, "backends"), 1, 1);
	d = run(&f, "loop-lvm");
	ASSERT_DECISION(d, STT_REC_REFUSED, "loop-lvm.never", "");
	CU_ASSERT_PTR_NULL(strstr(d->evidence, "slower"));
	release(&f);
}

/* ---- data-root and overlay2 ------------------------------------------------------------- */

static void test_data_root(void)
{
	struct fixture f;

	fixture(&f, "24.0.7");
	ASSERT_DECISION(run(&f, "data-root"), STT_REC_DEFAULT, "data-root.default", "");
	CU_ASSERT_STRING_EQUAL(f.r->data_root, "");
	sets(f.nat, "environment.target.mountpoint", "/srv/fast");
	ASSERT_DECISION(run(&f, "data-root"), STT_REC_MEASURED, "data-root.mount",
			"/srv/fast/docker");
	CU_ASSERT_STRING_EQUAL(f.r->data_root, "/srv/fast/docker");
	setb(f.nat, "environment.target.d_type", false);
	ASSERT_DECISION(run(&f, "data-root"), STT_REC_REFUSED, "data-root.no-dtype", "");
	sets(f.nat, "options.device", "/dev/nvme1n1");
	ASSERT_DECISION(run(&f, "data-root"), STT_REC_MEASURED, "data-root.device",
			"/var/lib/docker");
	CU_ASSERT_STRING_EQUAL(f.r->device, "/dev/nvme1n1");
	f.in.data_root = "/tmp/x/root";
	ASSERT_DECISION(run(&f, "data-root"), STT_REC_GIVEN, "data-root.given", "/tmp/x/root");
	CU_ASSERT_STRING_EQUAL(f.r->data_root, "/tmp/x/root");
	/* --device wins for the pool */
	f.in.device = "/dev/sdz";
	run(&f, NULL);
	CU_ASSERT_STRING_EQUAL(f.r->device, "/dev/sdz");
	release(&f);
}

static void test_overlay2_size(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	fixture(&f, "24.0.7");
	d = run(&f, "overlay2.size");
	ASSERT_DECISION(d, STT_REC_NOT_APPLICABLE, "overlay2.size.no-pquota", "");
	CU_ASSERT_TRUE(has(d->evidence, "pquota"));
	sets(f.nat, "environment.host.kernel.xfs_pquota", "yes");
	/* pquota works, but data-root's filesystem is ext4 */
	ASSERT_DECISION(run(&f, "overlay2.size"), STT_REC_NOT_APPLICABLE, "overlay2.size.no-pquota",
			"");
	sets(f.nat, "environment.target.fstype", "xfs");
	ASSERT_DECISION(run(&f, "overlay2.size"), STT_REC_MEASURED, "overlay2.size.pquota",
			"overlay2.size=10G");
	CU_ASSERT_STRING_EQUAL(f.r->overlay2_size, "10G");
	/* and a driver that is not overlay2 */
	sets(f.dl, "environment", "native");
	setd(f.dl, "modes.cold.storm.containers_per_s.median", 100);
	setd(f.dl, "modes.cold.phases.start.p50_ns.median", 1000);
	ASSERT_DECISION(run(&f, "overlay2.size"), STT_REC_NOT_APPLICABLE,
			"overlay2.size.other-driver", "");
	release(&f);
}

/* ---- devicemapper options ---------------------------------------------------------------- */

static void test_deferred(void)
{
	struct fixture f;

	fixture(&f, "24.0.7");
	ASSERT_DECISION(run(&f, "dm.use_deferred_removal"), STT_REC_MEASURED,
			"deferred-removal.supported", "dm.use_deferred_removal=true");
	ASSERT_DECISION(stt_rec_get(f.r, "dm.use_deferred_deletion"), STT_REC_MEASURED,
			"deferred-deletion.measured", "dm.use_deferred_deletion=true");
	CU_ASSERT_TRUE(f.r->deferred_removal && f.r->deferred_deletion);
	sets(f.nat, "environment.host.kernel.device_mapper.driver_version", "4.26.0");
	ASSERT_DECISION(run(&f, "dm.use_deferred_removal"), STT_REC_REFUSED,
			"deferred-removal.unsupported", "");
	ASSERT_DECISION(stt_rec_get(f.r, "dm.use_deferred_deletion"), STT_REC_REFUSED,
			"deferred-deletion.needs-removal", "");
	CU_ASSERT_FALSE(f.r->deferred_removal || f.r->deferred_deletion);
	/* no device-mapper facts anywhere: Docker's direct-lvm procedure, labelled default */
	json_object_object_del(stt_json_get(f.nat, "environment.host.kernel"), "device_mapper");
	json_object_object_del(stt_json_get(f.vm, "environment.host.kernel"), "device_mapper");
	ASSERT_DECISION(run(&f, "dm.use_deferred_removal"), STT_REC_DEFAULT,
			"deferred-removal.docker", "dm.use_deferred_removal=true");
	release(&f);
}

static void test_basesize(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	fixture(&f, "24.0.7");
	d = run(&f, "dm.basesize");
	ASSERT_DECISION(d, STT_REC_MEASURED, "basesize.image", "dm.basesize=10G");
	CU_ASSERT_TRUE(has(d->evidence, "4.0 MiB"));
	setd(f.nat, "image.size_bytes", 20 * GiB);
	/* 20 GiB + 2.5 MiB written, x1.5, up to whole GiB: 31G, never below what it needs */
	ASSERT_DECISION(run(&f, "dm.basesize"), STT_REC_MEASURED, "basesize.image",
			"dm.basesize=31G");
	CU_ASSERT(f.r->basesize_bytes >= 20 * GiB * 1.5);
	json_object_object_del(f.nat, "image");
	json_object_object_del(f.vm, "image");
	ASSERT_DECISION(run(&f, "dm.basesize"), STT_REC_DEFAULT, "basesize.docker",
			"dm.basesize=10G");
	release(&f);
}

static void test_pool_reserves(void)
{
	struct fixture f;

	fixture(&f, "24.0.7");
	/* 10 MiB a container, 10 a storm, a 7.6 GiB pool: Docker's values hold */
	ASSERT_DECISION(run(&f, "dm.min_free_space"), STT_REC_MEASURED, "min-free.measured",
			"dm.min_free_space=10%");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold"),
			STT_REC_MEASURED, "autoextend-threshold.measured", "80");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_percent"), STT_REC_MEASURED,
			"autoextend-percent.measured", "20");
	/* a qualified 2 GiB device: a storm of 100 MiB takes 5.1% of 95% of it */
	sets(f.nat, "environment.target.kind", "block");
	sets(f.nat, "environment.target.path", "/dev/sdq");
	setd(f.nat, "environment.target.size_bytes", 2 * GiB);
	ASSERT_DECISION(run(&f, "dm.min_free_space"), STT_REC_MEASURED, "min-free.measured",
			"dm.min_free_space=10%");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold"),
			STT_REC_MEASURED, "autoextend-threshold.measured", "80");
	/* 600 MiB a storm on it: 31%, so a larger reserve, earlier and bigger extensions */
	pool(f.dl, 512 * 1024, 7.6 * GiB, 60 * MiB, 0.001);
	ASSERT_DECISION(run(&f, "dm.min_free_space"), STT_REC_MEASURED, "min-free.measured",
			"dm.min_free_space=31%");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold"),
			STT_REC_MEASURED, "autoextend-threshold.measured", "50");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_percent"), STT_REC_MEASURED,
			"autoextend-percent.measured", "31");
	/* no pool figures: Docker's */
	json_object_object_del(f.dl, "pool");
	json_object_object_del(f.lp, "pool");
	ASSERT_DECISION(run(&f, "dm.min_free_space"), STT_REC_DEFAULT, "min-free.docker",
			"dm.min_free_space=10%");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold"), STT_REC_DEFAULT,
			"autoextend-threshold.docker", "80");
	ASSERT_DECISION(stt_rec_get(f.r, "profile.thin_pool_autoextend_percent"), STT_REC_DEFAULT,
			"autoextend-percent.docker", "20");
	ASSERT_DECISION(stt_rec_get(f.r, "pool.metadata_size"), STT_REC_DEFAULT, "metadata.docker",
			"1%VG");
	release(&f);
}

/* A failed thin-pool run whose pool was found full, as bench records it ("fault"). */
static void pool_full(struct json_object *doc, const char *what, const char *phase, double done,
		      double containers, double secs, double nst)
{
	struct json_object *b = json_object_new_object();

	sets(b, "backend", "dm-loop");
	sets(b, "status", "failed");
	sets(b, "reason", "thin pool full");
	sets(b, "fault.kind", "thin-pool");
	sets(b, "fault.what", what);
	sets(b, "fault.phase", phase);
	sets(b, "fault.where", "in cold ...");
	setd(b, "fault.containers_done", done);
	setd(b, "fault.containers", containers);
	setd(b, "fault.seconds_to_give_up", secs);
	setd(b, "fault.no_space_timeout_s", nst);
	setb(b, "fault.error_if_no_space", false);
	json_object_array_add(stt_json_get(doc, "backends"), b);
}

static void test_pool_full_cited(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	fixture(&f, "24.0.7");
	/* no full pool in the results: nothing about one */
	d = run(&f, "dm.min_free_space");
	CU_ASSERT_PTR_NULL(strstr(d->evidence, "Measured full"));
	/* the VM tier's faults: data space out in first-write, metadata out in create */
	f.docs[f.n++] = doc_new("vm-tcg");
	pool_full(f.docs[2], "out of data space", "first-write", 4, 4, 100.8, 60);
	pool_full(f.docs[2], "out of metadata space", "create", 142, 4000, 98.6, 60);
	d = run(&f, "dm.min_free_space");
	ASSERT_DECISION(d, STT_REC_MEASURED, "min-free.measured", "dm.min_free_space=10%");
	CU_ASSERT_TRUE(has(d->evidence, "Measured full (dm-loop, vm-tcg): the pool ran out of data "
					"space in first-write after 4 of 4 containers, dm-thin "
					"held their writes for its no_space_timeout of 60 s "
					"before failing them, and the run gave up 100.8 s into "
					"that phase."));
	CU_ASSERT_TRUE(has(d->evidence, "ran out of metadata space in create after 142 of 4000 "
					"containers, the pool turned read-only"));
	CU_ASSERT_TRUE(has(d->evidence, "gave up 98.6 s"));
	CU_ASSERT_TRUE(has(d->evidence, "containers are refused before the pool fills"));
	d = stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold");
	CU_ASSERT_TRUE(has(d->evidence, "no_space_timeout of 60 s"));
	/* and where Docker's defaults stand, too */
	json_object_object_del(f.dl, "pool");
	json_object_object_del(f.lp, "pool");
	d = run(&f, "dm.min_free_space");
	ASSERT_DECISION(d, STT_REC_DEFAULT, "min-free.docker", "dm.min_free_space=10%");
	CU_ASSERT_TRUE(has(d->evidence, "gave up 100.8 s"));
	CU_ASSERT_TRUE(has(stt_rec_get(f.r, "profile.thin_pool_autoextend_threshold")->evidence,
			   "gave up 98.6 s"));
	/* a record without its figures is not cited */
	json_object_object_del(
	    stt_json_get(json_object_array_get_idx(stt_json_get(f.docs[2], "backends"), 0),
			 "fault"),
	    "seconds_to_give_up");
	d = run(&f, "dm.min_free_space");
	CU_ASSERT_PTR_NULL(strstr(d->evidence, "ran out of data space"));
	release(&f);
}

static void test_metadata(void)
{
	struct fixture f;

	fixture(&f, "24.0.7");
	ASSERT_DECISION(run(&f, "pool.metadata_size"), STT_REC_MEASURED, "metadata.measured",
			"1%VG");
	ASSERT_DECISION(stt_rec_get(f.r, "pool.data_size"), STT_REC_DEFAULT, "data.docker",
			"95%VG");
	/* metadata growing 1% of the data: 2%VG, and the data LV leaves room for it */
	pool(f.dl, 512 * 1024, 7.6 * GiB, 10 * MiB, 0.01);
	ASSERT_DECISION(run(&f, "pool.metadata_size"), STT_REC_MEASURED, "metadata.measured",
			"2%VG");
	ASSERT_DECISION(stt_rec_get(f.r, "pool.data_size"), STT_REC_DEFAULT, "data.docker",
			"93%VG");
	CU_ASSERT_EQUAL(f.r->meta_pct, 2);
	release(&f);
}

static void test_fs_discard(void)
{
	struct fixture f;

	fixture(&f, "24.0.7");
	ASSERT_DECISION(run(&f, "dm.fs"), STT_REC_MEASURED, "fs.measured", "dm.fs=xfs");
	ASSERT_DECISION(stt_rec_get(f.r, "dm.xfs_nospace_max_retries"), STT_REC_DEFAULT,
			"nospace.xfs", "dm.xfs_nospace_max_retries=0");
	/* both dm backends in one environment: the discard's cost is measured */
	ASSERT_DECISION(stt_rec_get(f.r, "dm.blkdiscard"), STT_REC_MEASURED, "blkdiscard.compared",
			"dm.blkdiscard=false");
	sets(f.vm, "options.fs", "ext4");
	ASSERT_DECISION(run(&f, "dm.fs"), STT_REC_MEASURED, "fs.measured", "dm.fs=ext4");
	ASSERT_DECISION(stt_rec_get(f.r, "dm.xfs_nospace_max_retries"), STT_REC_NOT_APPLICABLE,
			"nospace.not-xfs", "");
	sets(f.vm, "options.fs", "xfs");
	setb(f.nat, "environment.host.kernel.filesystems.xfs", false);
	ASSERT_DECISION(run(&f, "dm.fs"), STT_REC_MEASURED, "fs.no-xfs", "dm.fs=ext4");
	setb(f.nat, "environment.host.kernel.filesystems.xfs", true);
	/* only direct-lvm: nothing to compare, Docker's default */
	json_object_array_del_idx(stt_json_get(f.vm, "backends"), 1, 1);
	ASSERT_DECISION(run(&f, "dm.blkdiscard"), STT_REC_DEFAULT, "blkdiscard.docker",
			"dm.blkdiscard=true");
	/* a qualified device without discard */
	sets(f.nat, "environment.target.kind", "block");
	setd(f.nat, "environment.target.discard_max_bytes", 0);
	ASSERT_DECISION(run(&f, "dm.blkdiscard"), STT_REC_MEASURED, "blkdiscard.no-discard",
			"dm.blkdiscard=false");
	release(&f);
}

/* ---- The tuning sweep ------------------------------------------------------------------- */

/* A sweep: 64K..2M, zeroing off and on; @zero_cost the first-write cost of zeroing. */
static void tune(struct json_object *doc, double zero_cost, double slow_64k)
{
	struct json_object *t = json_object_new_object(), *pts = json_object_new_array();

	sets(t, "backend", "dm-loop");
	sets(t, "profile", "ci");
	json_object_object_add(t, "points", pts);
	for (int z = 0; z < 2; z++)
		for (double c = 64 * 1024; c <= 2 * MiB; c *= 2) {
			struct json_object *p = json_object_new_object();
			double fw =
			    10e6 * (1 + (z ? zero_cost : 0)) * (c == 64 * 1024 ? slow_64k : 1);

			setd(p, "chunk_size_bytes", c);
			setb(p, "zeroing", z);
			sets(p, "status", "ok");
			set(p, "start_p50_ns",
			    summary(100e6 - c / 1024)); /* bigger: a bit faster */
			set(p, "first_write_p50_ns", summary(fw));
			setd(p, "pool_data_bytes_per_container", 4 * MiB + 20 * c);
			json_object_array_add(pts, p);
		}
	{
		struct json_object *p = json_object_new_object();

		setd(p, "chunk_size_bytes", 32 * 1024);
		setb(p, "zeroing", false);
		sets(p, "status", "failed");
		sets(p, "reason", "chunk below LVM's minimum");
		json_object_array_add(pts, p);
	}
	json_object_object_add(doc, "tune", t);
}

static void test_tune(void)
{
	struct fixture f;
	const struct stt_rec_decision *d;

	fixture(&f, "24.0.7");
	/* no sweep: Docker's 512K and no zeroing, labelled */
	ASSERT_DECISION(run(&f, "pool.chunk_size"), STT_REC_DEFAULT, "chunk.docker", "512K");
	ASSERT_DECISION(stt_rec_get(f.r, "pool.zeroing"), STT_REC_DEFAULT, "zeroing.docker", "n");
	CU_ASSERT_TRUE(has(f.r->not_measured[0], "stortune tune"));

	/* zeroing costs 2%: on; the smallest chunk within 10% of the best, least space */
	tune(f.vm, 0.02, 1.0);
	d = run(&f, "pool.chunk_size");
	ASSERT_DECISION(d, STT_REC_MEASURED, "chunk.tune", "64K");
	CU_ASSERT_TRUE(has(d->evidence, "vm-tcg"));
	CU_ASSERT_TRUE(has(d->evidence, "32K zeroing off failed (chunk below LVM's minimum)"));
	ASSERT_DECISION(stt_rec_get(f.r, "pool.zeroing"), STT_REC_MEASURED, "zeroing.tune", "y");
	CU_ASSERT_EQUAL(f.r->chunk_bytes, 64 * 1024);
	CU_ASSERT_TRUE(f.r->zeroing);

	/* zeroing costs 50%: off, with the security trade-off said */
	json_object_object_del(f.vm, "tune");
	tune(f.vm, 0.5, 1.0);
	ASSERT_DECISION(run(&f, "pool.zeroing"), STT_REC_MEASURED, "zeroing.tune", "n");
	CU_ASSERT_TRUE(has(stt_rec_get(f.r, "pool.zeroing")->evidence, "deleted thin device"));
	CU_ASSERT_FALSE(f.r->zeroing);

	/* 64K's first write 30% slower than the rest: the next size */
	json_object_object_del(f.vm, "tune");
	tune(f.vm, 0.5, 1.3);
	ASSERT_DECISION(run(&f, "pool.chunk_size"), STT_REC_MEASURED, "chunk.tune", "128K");

	/*
	 * No chunk within 10% of the best at both (small chunks start slowly, large ones write
	 * slowly): the least space among those within 10% of the best compromise. Scores (worse
	 * ratio to the best): 64K 1.4, 128K 1.25, 256K-1M 1.3, 2M 1.4; 128K and 256K-1M compete.
	 */
	json_object_object_del(f.vm, "tune");
	tune(f.vm, 0.5, 1.0);
	{
		struct json_object *pts = stt_json_get(f.vm, "tune.points");

		for (size_t i = 0; i < json_object_array_length(pts); i++) {
			struct json_object *p = json_object_array_get_idx(pts, i);
			double c = json_object_get_double(stt_json_get(p, "chunk_size_bytes"));
			double st = c <= 64 * 1024    ? 140e6
				    : c <= 128 * 1024 ? 125e6
				    : c < 2 * MiB     ? 120e6
						      : 100e6;
			double fw = c <= 64 * 1024    ? 10e6
				    : c <= 128 * 1024 ? 11.5e6
				    : c < 2 * MiB     ? 13e6
						      : 14e6;

			if (json_object_get_boolean(stt_json_get(p, "zeroing")) ||
			    !stt_json_get(p, "start_p50_ns"))
				continue;
			set(p, "start_p50_ns", summary(st));
			set(p, "first_write_p50_ns", summary(fw));
		}
	}
	d = run(&f, "pool.chunk_size");
	ASSERT_DECISION(d, STT_REC_MEASURED, "chunk.tune", "128K");
	CU_ASSERT_TRUE(has(d->evidence, "no chunk size was within 10%"));
	release(&f);
}

/* ---- Nothing measured -------------------------------------------------------------------- */

static void test_nothing_measured(void)
{
	struct json_object *doc = json_object_new_object();
	struct stt_rec_input in = {0};
	struct stt_rec *r;
	static const char *const defaults[] = {
	    "storage-driver",
	    "dm.thinpooldev",
	    "dm.basesize",
	    "dm.min_free_space",
	    "dm.fs",
	    "dm.blkdiscard",
	    "pool.chunk_size",
	    "pool.zeroing",
	    "pool.metadata_size",
	    "profile.thin_pool_autoextend_threshold",
	    "profile.thin_pool_autoextend_percent",
	    "data-root",
	};

	sets(doc, "schema", "stortune-results");
	set(doc, "backends", json_object_new_array());
	in.docs = &doc;
	in.ndocs = 1;
	CU_ASSERT_EQUAL_FATAL(stt_docker_version_parse("24.0.7", &in.docker), 0);
	CU_ASSERT_EQUAL_FATAL(stt_recommend(&in, &r), 0);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		const struct stt_rec_decision *d = stt_rec_get(r, defaults[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		if (d->source != STT_REC_DEFAULT)
			fprintf(stderr, "\n%s: %s\n", d->key, stt_rec_source_name(d->source));
		CU_ASSERT_EQUAL(d->source, STT_REC_DEFAULT);
		CU_ASSERT(strlen(d->evidence) > 10);
	}
	CU_ASSERT_STRING_EQUAL(stt_rec_get(r, "storage-driver")->value, "overlay2");
	CU_ASSERT_STRING_EQUAL(stt_rec_get(r, "dm.basesize")->value, "dm.basesize=10G");
	CU_ASSERT_STRING_EQUAL(stt_rec_get(r, "dm.min_free_space")->value, "dm.min_free_space=10%");
	CU_ASSERT_STRING_EQUAL(stt_rec_get(r, "pool.chunk_size")->value, "512K");
	/* the report says what no figure backs */
	CU_ASSERT(r->nnot >= 5);
	stt_rec_free(r);
	in.ndocs = 0;
	CU_ASSERT_EQUAL(stt_recommend(&in, &r), -EINVAL);
	json_object_put(doc);
}

/* ---- Emitters --------------------------------------------------------------------------- */

static int sh_syntax(const char *text)
{
	char path[] = "/tmp/stt-unit-setup-XXXXXX";
	int fd = mkstemp(path), st;
	pid_t pid;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	close(fd);
	pid = fork();
	if (!pid) {
		execlp("sh", "sh", "-n", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs @argv with stdout and stderr into @out; the exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t len)
{
	int p[2], st;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < len && (k = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A device path with spaces, quotes, '$', a backquote and a newline (from --device or a
 * results file): the setup script holds it as one literal word. `bash -n` and `sh -n` accept
 * the script; run, it dies at its block-device check naming the path exactly, and the command
 * substitutions in the path have not run.
 */
static void test_setup_script_quoting(void)
{
	static const char marker[] = "/tmp/stt-unit-quoting-marker";
	char dev[256], script[] = "/tmp/stt-unit-quoting-XXXXXX", out[4096], want[512];
	char *bash_n[] = { (char *)"bash", (char *)"-n", script, NULL };
	char *sh[] = { (char *)"sh", script, NULL };
	struct fixture f;
	char *t = NULL;
	int fd;

	snprintf(dev, sizeof(dev),
		 "/dev/disk/by-id/it's a \"disk\" $(touch %s) `touch %s` $HOME\necho INJECTED",
		 marker, marker);
	unlink(marker);
	fixture(&f, "24.0.7");
	f.in.device = dev;
	run(&f, NULL);
	CU_ASSERT_EQUAL_FATAL(stt_emit_setup_script(f.r, &t), 0);
	CU_ASSERT_TRUE(has(t, "$HOME?echo INJECTED)\n")); /* the comment does not end inside it */
	fd = mkstemp(script);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	CU_ASSERT_EQUAL(run_capture(bash_n, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(sh_syntax(t), 0);
	if (geteuid() == 0) { /* else it stops earlier, at "must run as root" */
		CU_ASSERT_EQUAL(run_capture(sh, out, sizeof(out)), 1);
		snprintf(want, sizeof(want), "setup-direct-lvm: %s: not a block device", dev);
		CU_ASSERT_TRUE(has(out, want));
		CU_ASSERT_PTR_NULL(strstr(out, "\nINJECTED"));
	}
	CU_ASSERT_EQUAL(access(marker, F_OK), -1);
	unlink(script);
	unlink(marker);
	free(t);
	release(&f);
}

static void test_emitters(void)
{
	struct fixture f;
	struct json_object *dj, *opts, *jr;
	char *t;

	fixture(&f, "24.0.7");
	f.in.data_root = "/srv/docker";
	f.in.device = "/dev/nvme9n1";
	tune(f.vm, 0.5, 1.3);
	run(&f, NULL);

	CU_ASSERT_EQUAL_FATAL(stt_emit_daemon_json(f.r, "overlay2", &dj), 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(dj, "storage-driver")),
			       "overlay2");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(dj, "data-root")),
			       "/srv/docker");
	CU_ASSERT_PTR_NULL(stt_json_get(dj, "storage-opts")); /* no pquota: no option */
	CU_ASSERT_EQUAL(json_object_object_length(dj), 2);
	json_object_put(dj);

	CU_ASSERT_EQUAL_FATAL(stt_emit_daemon_json(f.r, "devicemapper", &dj), 0);
	opts = stt_json_get(dj, "storage-opts");
	CU_ASSERT_FATAL(json_object_is_type(opts, json_type_array));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(opts, 0)),
			       "dm.thinpooldev=/dev/mapper/docker-thinpool");
	for (size_t i = 0; i < json_object_array_length(opts); i++)
		CU_ASSERT_EQUAL(
		    strncmp(json_object_get_string(json_object_array_get_idx(opts, i)), "dm.", 3),
		    0);
	CU_ASSERT_TRUE(has(json_object_to_json_string(dj), "dm.basesize=10G"));
	CU_ASSERT_TRUE(has(json_object_to_json_string(dj), "dm.min_free_space=10%"));
	json_object_put(dj);

	CU_ASSERT_EQUAL_FATAL(stt_emit_lvm_profile(f.r, &t), 0);
	CU_ASSERT_TRUE(has(t, "activation {\n\tthin_pool_autoextend_threshold=80\n"
			      "\tthin_pool_autoextend_percent=20\n}\n"));
	free(t);

	CU_ASSERT_EQUAL_FATAL(stt_emit_setup_script(f.r, &t), 0);
	CU_ASSERT_EQUAL(strncmp(t, "#!/bin/sh\n", 10), 0);
	CU_ASSERT_TRUE(has(t, "set -eu\n"));
	CU_ASSERT_TRUE(has(t, "DEVICE=${1:-}\n[ -n \"$DEVICE\" ] || DEVICE='/dev/nvme9n1'\n"));
	CU_ASSERT_TRUE(has(t, "CHUNK=128K\n")); /* the sweep's pick */
	CU_ASSERT_TRUE(has(t, "ZERO=n\n"));
	CU_ASSERT_TRUE(has(t, "VG=docker\nLV=thinpool\n"));
	CU_ASSERT_TRUE(has(t, "lvconvert -y --zero \"$ZERO\" -c \"$CHUNK\" --thinpool \"$VG/$LV\" "
			      "--poolmetadata \"$VG/${LV}meta\""));
	CU_ASSERT_TRUE(has(t, "\"$WIPEFS\" -n"));
	CU_ASSERT_TRUE(has(t, "lvchange --monitor y"));
	CU_ASSERT_TRUE(has(t, "thin_pool_autoextend_threshold=80"));
	CU_ASSERT_EQUAL(sh_syntax(t), 0);
	free(t);

	CU_ASSERT_EQUAL_FATAL(stt_emit_containerd(f.r, &t), 0);
	CU_ASSERT_TRUE(has(t, "[plugins.\"io.containerd.snapshotter.v1.devmapper\"]\n"));
	CU_ASSERT_TRUE(has(t, "pool_name = \"docker-thinpool\""));
	CU_ASSERT_TRUE(has(t, "root_path = "));
	CU_ASSERT_TRUE(has(t, "base_image_size = \"10GiB\""));
	CU_ASSERT_TRUE(has(t, "discard_blocks = false"));
	CU_ASSERT_TRUE(has(t, "fs_type = \"xfs\""));
	CU_ASSERT_TRUE(has(t, "async_remove = true"));
	free(t);

	{
		struct stt_emit_file files[] = {{"daemon.json", "/x/daemon.json", "the config"}};

		CU_ASSERT_EQUAL_FATAL(stt_emit_markdown(f.r, files, 1, NULL, &t), 0);
	}
	for (size_t i = 0; i < f.r->n; i++)
		CU_ASSERT_TRUE(has(t, f.r->d[i].key));
	CU_ASSERT_TRUE(has(t, "## Not measured"));
	CU_ASSERT_TRUE(has(t, "`daemon.json`: the config"));
	CU_ASSERT_TRUE(has(t, "128K"));
	free(t);

	CU_ASSERT_EQUAL_FATAL(stt_emit_json(f.r, &jr), 0);
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(jr, "decisions")), f.r->n);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(jr, "driver")), "overlay2");
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(jr, "docker.drivers")), 2);
	json_object_put(jr);
	release(&f);
}

/* ---- the engine check: emulated against real (qualify --engine both) -------------------- */

/*
 * Emulated: direct-lvm native and clearly faster than overlay (devicemapper on Docker 24).
 * The real engine ranks them the other way: the check says so, and recommend follows it.
 */
static void test_engine_disagree(void)
{
	struct json_object *real, *ec = NULL, *rdl;
	const struct stt_rec_decision *d;
	struct fixture f;
	char line[1024];

	fixture(&f, "24.0.7");
	/* both backends in one document, both native (as qualify --engine both makes it) */
	json_object_array_add(stt_json_get(f.nat, "backends"), json_object_get(f.dl));
	sets(f.dl, "environment", "native");
	setd(f.dl, "modes.cold.storm.containers_per_s.median", 100);
	setd(f.dl, "modes.cold.phases.start.p50_ns.median", 0.2e6);
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.dm-faster", "devicemapper");

	/* the real engine: overlay faster in every phase */
	real = doc_new("native");
	backend(real, "overlay", "native", 150, 4);
	rdl = backend(real, "direct-lvm", "native", 400, 1.5);
	(void)rdl;
	CU_ASSERT_EQUAL_FATAL(stt_qualify_engine_check(f.nat, real, &ec), 0);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(ec, "backends_compared")), 2);
	CU_ASSERT_FALSE(json_object_get_boolean(stt_json_get(ec, "rankings_agree")));
	CU_ASSERT_FALSE(json_object_get_boolean(stt_json_get(ec, "ranking.start.agree")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(
				       stt_json_get(ec, "ranking.start.real"), 0)),
			       "overlay");
	/* storage's share of the real start: (0.5*0.8 + 0.5) / 150 ms for overlay */
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(stt_json_get(
				       json_object_array_get_idx(stt_json_get(ec, "backends"), 0),
				       "storage_share_of_start")),
			       (0.4 + 0.5) / 150, 1e-9);
	json_object_object_add(f.nat, "engine_check", ec);
	stt_qualify_engine_line(f.nat, line, sizeof(line));
	CU_ASSERT_TRUE(has(line, "differently in"));
	CU_ASSERT_TRUE(has(line, "start"));
	CU_ASSERT_TRUE(has(line, "follow the real engine"));

	/* recommend follows the real engine and says why */
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.overlay2", "overlay2");
	CU_ASSERT_TRUE(has(d->evidence, "rank the backends differently in"));
	CU_ASSERT_TRUE(has(d->evidence, "real engine's"));

	/* when the real engine agrees with the emulation, the emulated figures stand */
	json_object_object_del(f.nat, "engine_check");
	json_object_put(real);
	real = doc_new("native");
	backend(real, "overlay", "native", 150, 4);
	rdl = backend(real, "direct-lvm", "native", 1000, 20);
	/* the emulation's order: direct-lvm starts faster, overlay wins the other phases */
	setd(rdl, "modes.cold.phases.start.p50_ns.median", 100e6);
	CU_ASSERT_EQUAL_FATAL(stt_qualify_engine_check(f.nat, real, &ec), 0);
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(ec, "rankings_agree")));
	json_object_object_add(f.nat, "engine_check", ec);
	d = run(&f, "storage-driver");
	ASSERT_DECISION(d, STT_REC_MEASURED, "driver.dm-faster", "devicemapper");
	CU_ASSERT_TRUE(has(d->evidence, "the same in every phase"));

	/* a tie in the real engine (one histogram bucket) orders nothing: no disagreement */
	json_object_object_del(f.nat, "engine_check");
	setd(rdl, "modes.cold.phases.first-write.p50_ns.median",
	     json_object_get_double(stt_json_get(
		     json_object_array_get_idx(stt_json_get(real, "backends"), 0),
		     "modes.cold.phases.first-write.p50_ns.median")));
	CU_ASSERT_EQUAL_FATAL(stt_qualify_engine_check(f.nat, real, &ec), 0);
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(ec, "ranking.first-write.agree")));
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(ec, "rankings_agree")));
	json_object_put(ec);
	json_object_put(real);
	release(&f);
}

/* ---- Inputs the fuzzer found (tests/unit/data/fuzz/results/) ----------------------------- */

static struct json_object *fuzz_doc(const char *name)
{
	struct json_object *doc = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/fuzz/results/%s", unit_data_dir(), name);
	CU_ASSERT_EQUAL(stt_results_load(path, &doc), 0);
	return doc;
}

/* Recommends from @doc and emits every file: none may fail. */
static struct stt_rec *recommend_all(struct json_object *doc)
{
	struct stt_rec_input in = { .docs = &doc, .ndocs = 1, .docker_origin = "test" };
	struct json_object *j = NULL;
	struct stt_rec *r = NULL;
	char *text = NULL;

	CU_ASSERT_EQUAL_FATAL(stt_recommend(&in, &r), 0);
	CU_ASSERT_EQUAL(stt_emit_daemon_json(r, r->driver, &j), 0);
	json_object_put(j);
	CU_ASSERT_EQUAL(stt_emit_setup_script(r, &text), 0);
	free(text);
	CU_ASSERT_EQUAL(stt_emit_markdown(r, NULL, 0, NULL, &text), 0);
	free(text);
	return r;
}

/* A tune point without a chunk size: was a NaN cast to an integer (undefined). */
/*
 * qualify --engine both with containerd's backends: they are ranked among themselves, not with
 * what dockerd ran, and ctr's own cost is subtracted where a phase is one ctr call.
 */
static void test_engine_check_containerd(void)
{
	struct json_object *emu = doc_new("native"), *real = doc_new("native"), *ec = NULL, *b;

	backend(emu, "overlay", "native", 1, 100);
	backend(emu, "containerd-overlayfs", "native", 2, 50);
	backend(real, "overlay", "native", 150, 4);
	sets(backend(real, "containerd-overlayfs", "native", 400, 1), "engine.name", "containerd");
	/* the containerd one's engine member: ctr version took 100 ms */
	b = stt_results_backend_ok(real, "containerd-overlayfs");
	set(b, "engine.cli_overhead_ns", summary(100e6));
	CU_ASSERT_EQUAL_FATAL(stt_qualify_engine_check(emu, real, &ec), 0);
	CU_ASSERT_EQUAL(json_object_get_int(stt_json_get(ec, "backends_compared")), 2);
	/* one backend per engine: each ranked alone, so they agree */
	CU_ASSERT_TRUE(json_object_get_boolean(stt_json_get(ec, "rankings_agree")));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(ec, "ranking.start.engine")),
			       "docker");
	CU_ASSERT_EQUAL(json_object_array_length(stt_json_get(ec, "ranking.start.real")), 1);
	CU_ASSERT_STRING_EQUAL(
		json_object_get_string(stt_json_get(ec, "ranking.start@containerd.engine")),
		"containerd");
	b = json_object_array_get_idx(stt_json_get(ec, "backends"), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(stt_json_get(b, "engine")), "containerd");
	CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(stt_json_get(b, "cli_overhead_p50_ns")),
			       100e6, 1);
	/* start: 400 ms real, less 100 ms of ctr; first-read is not a ctr call */
	CU_ASSERT_DOUBLE_EQUAL(
		json_object_get_double(stt_json_get(b, "phases.start.real_less_cli_p50_ns")), 300e6,
		1);
	CU_ASSERT_PTR_NULL(stt_json_get(b, "phases.first-read.real_less_cli_p50_ns"));
	/* (emulated start 2 + first-read 1.6) / (400 - 100) */
	CU_ASSERT_DOUBLE_EQUAL(
		json_object_get_double(stt_json_get(b, "storage_share_of_start_less_cli")),
		(2 + 1.6) / 300, 1e-9);
	/* each engine ran one backend: the line says there was nothing to rank */
	{
		char line[1024];

		json_object_object_add(emu, "engine_check", json_object_get(ec));
		stt_qualify_engine_line(emu, line, sizeof(line));
		CU_ASSERT_TRUE(has(line, "one backend per engine"));
	}
	/* the docker one has no CLI figure */
	b = json_object_array_get_idx(stt_json_get(ec, "backends"), 0);
	CU_ASSERT_PTR_NULL(stt_json_get(b, "cli_overhead_p50_ns"));
	json_object_put(ec);
	json_object_put(emu);
	json_object_put(real);
}

static void test_fuzz_tune_point(void)
{
	struct json_object *doc = fuzz_doc("tune-point-without-chunk.json");
	const struct stt_rec_decision *d;
	struct stt_rec *r;

	if (!doc)
		return;
	r = recommend_all(doc);
	d = stt_rec_get(r, "pool.chunk_size");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(has(d->evidence, "? zeroing on failed (no figures)"));
	CU_ASSERT(r->chunk_bytes >= 65536 && r->chunk_bytes % 65536 == 0);
	stt_rec_free(r);
	json_object_put(doc);
}

int unit_register_recommend(void)
{
	CU_pSuite s = CU_add_suite("recommend", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "Docker versions parsed", test_versions);
	CU_add_test(s, "driver sets of Docker 20.10, 24, 25", test_driver_sets);
	CU_add_test(s, "storage driver", test_driver);
	CU_add_test(s, "version rules: devicemapper, override_kernel_check",
		    test_versions_in_rules);
	CU_add_test(s, "loop-lvm never, with how much slower", test_loop_lvm);
	CU_add_test(s, "data-root", test_data_root);
	CU_add_test(s, "overlay2.size only on xfs with pquota", test_overlay2_size);
	CU_add_test(s, "deferred removal and deletion", test_deferred);
	CU_add_test(s, "dm.basesize from the image", test_basesize);
	CU_add_test(s, "min free space and autoextend", test_pool_reserves);
	CU_add_test(s, "a measured full pool is cited", test_pool_full_cited);
	CU_add_test(s, "metadata size", test_metadata);
	CU_add_test(s, "dm.fs, xfs retries, blkdiscard", test_fs_discard);
	CU_add_test(s, "tuning sweep: chunk size and zeroing", test_tune);
	CU_add_test(s, "nothing measured: labelled defaults", test_nothing_measured);
	CU_add_test(s, "emitters", test_emitters);
	CU_add_test(s, "engine check: a disagreement follows the real engine",
		    test_engine_disagree);
	CU_add_test(s, "setup script: a device path with spaces, quotes, $ and a newline",
		    test_setup_script_quoting);
	CU_add_test(s, "engine check: containerd's backends ranked among themselves, ctr's cost",
		    test_engine_check_containerd);
	CU_add_test(s, "fuzz: a tune point without a chunk size", test_fuzz_tune_point);
	return CU_get_error();
}
