// SPDX-License-Identifier: GPL-2.0-or-later
/* Engine generations: parsing, the generation of each Docker version, containerd's drop-in. */
#include "unit.h"

#include "advice/engine_gen.h"
#include "advice/recommend.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_parse(void)
{
	static const struct {
		const char *in;
		enum stt_engine_gen gen;
		int major, minor;
	} ok[] = {
	    {"20.10.24+dfsg1", STT_ENGINE_DOCKER_DM, 20, 10},
	    {"docker 24.0.7", STT_ENGINE_DOCKER_DM, 24, 0},
	    {"docker:25.0", STT_ENGINE_DOCKER_GRAPH, 25, 0},
	    {"28.5.2", STT_ENGINE_DOCKER_GRAPH, 28, 5},
	    {"Docker 29.0.0", STT_ENGINE_DOCKER_CTRD, 29, 0},
	    {"docker-30.1", STT_ENGINE_DOCKER_CTRD, 30, 1},
	    {"containerd 1.6.20", STT_ENGINE_CONTAINERD, 1, 6},
	    {"containerd:1.7", STT_ENGINE_CONTAINERD, 1, 7},
	    {"containerd/2.0.1", STT_ENGINE_CONTAINERD, 2, 0},
	};
	static const char *const bad[] = {
	    "", "docker", "containerd", "podman 5.0", "containerd 1.4.3", "latest", "docker x"};
	struct stt_engine e;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(stt_engine_gen_parse(ok[i].in, &e), 0);
		CU_ASSERT_EQUAL(e.gen, ok[i].gen);
		CU_ASSERT_TRUE(e.v.known);
		CU_ASSERT_EQUAL(e.v.major, ok[i].major);
		CU_ASSERT_EQUAL(e.v.minor, ok[i].minor);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(stt_engine_gen_parse(bad[i], &e), -EINVAL);
	CU_ASSERT_EQUAL(stt_engine_gen_parse(NULL, &e), -EINVAL);
}

/* Docker's boundaries: 24.x has devicemapper, 25.0 .. 28.x graph drivers, 29.0 containerd. */
static void test_docker_generations(void)
{
	struct stt_docker_version v = {0};
	struct stt_engine e;

	stt_engine_gen_docker(&v, &e); /* unknown: the newest rules */
	CU_ASSERT_EQUAL(e.gen, STT_ENGINE_DOCKER_CTRD);
	CU_ASSERT_EQUAL(stt_docker_version_parse("24.0.9", &v), 0);
	stt_engine_gen_docker(&v, &e);
	CU_ASSERT_EQUAL(e.gen, STT_ENGINE_DOCKER_DM);
	CU_ASSERT_EQUAL(stt_docker_version_parse("25.0.0", &v), 0);
	stt_engine_gen_docker(&v, &e);
	CU_ASSERT_EQUAL(e.gen, STT_ENGINE_DOCKER_GRAPH);
	CU_ASSERT_EQUAL(stt_docker_version_parse("28.99.1", &v), 0);
	stt_engine_gen_docker(&v, &e);
	CU_ASSERT_EQUAL(e.gen, STT_ENGINE_DOCKER_GRAPH);
	CU_ASSERT_EQUAL(stt_docker_version_parse("29.0.0", &v), 0);
	stt_engine_gen_docker(&v, &e);
	CU_ASSERT_EQUAL(e.gen, STT_ENGINE_DOCKER_CTRD);
	CU_ASSERT_STRING_EQUAL(stt_engine_gen_name(STT_ENGINE_DOCKER_GRAPH), "docker-25-28");
}

/* What each generation's section of RECOMMENDATION.md says. */
static void test_markdown(void)
{
	struct stt_engine e;
	char *md = NULL;

	CU_ASSERT_EQUAL(stt_engine_gen_parse("24.0.7", &e), 0);
	CU_ASSERT_EQUAL(stt_engine_gen_markdown(&e, "overlayfs", "/d", false, &md), 0);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "devicemapper (deprecated since 18.09)") : NULL);
	CU_ASSERT_PTR_NULL(md ? strstr(md, "containerd-snapshotter") : "x");
	free(md);

	CU_ASSERT_EQUAL(stt_engine_gen_parse("27.3.1", &e), 0);
	CU_ASSERT_EQUAL(stt_engine_gen_markdown(&e, "overlayfs", "/d", false, &md), 0);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "removed in 25.0") : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "devicemapper is not offered") : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "\"containerd-snapshotter\": true") : NULL);
	free(md);

	CU_ASSERT_EQUAL(stt_engine_gen_parse("29.1.0", &e), 0);
	CU_ASSERT_EQUAL(stt_engine_gen_markdown(&e, "overlayfs", "/d", false, &md), 0);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "fresh installations") : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "{\"containerd-snapshotter\": false}") : NULL);
	free(md);

	CU_ASSERT_EQUAL(stt_engine_gen_parse("containerd 1.7.2", &e), 0);
	CU_ASSERT_EQUAL(
	    stt_engine_gen_markdown(&e, "devmapper", "/etc/containerd/conf.d", false, &md), 0);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "has no `imports` line") : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "imports = [\"/etc/containerd/conf.d/*.toml\"]")
				  : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "snapshotter = \"devmapper\"") : NULL);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "config dump") : NULL);
	free(md);
	CU_ASSERT_EQUAL(stt_engine_gen_markdown(&e, "overlayfs", "/x", true, &md), 0);
	CU_ASSERT_PTR_NOT_NULL(md ? strstr(md, "already has an `imports` line") : NULL);
	free(md);
}

/* The drop-in: version 2, devmapper's keys from the recommendation, nothing of CRI. */
static void test_dropin(void)
{
	struct stt_rec *r = calloc(1, sizeof(*r));
	char *t = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	r->basesize_bytes = 10ull << 30;
	strcpy(r->fs, "xfs");
	r->blkdiscard = true;
	r->deferred_deletion = false;
	strcpy(r->sources, "a.json");
	CU_ASSERT_EQUAL(stt_engine_gen_dropin(r, "devmapper", "pool0", &t), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\nversion = 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "[plugins.\"io.containerd.snapshotter.v1.devmapper\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "pool_name = \"pool0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "base_image_size = \"10GiB\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "discard_blocks = true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "fs_type = \"xfs\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "async_remove = false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "root_path = "));
	CU_ASSERT_PTR_NULL(strstr(t, "grpc.v1.cri"));
	free(t);
	r->blkdiscard = false;
	r->deferred_deletion = true;
	strcpy(r->fs, "ext4");
	r->basesize_bytes = 512ull << 20;
	CU_ASSERT_EQUAL(stt_engine_gen_dropin(r, "devmapper", "p", &t), 0);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "discard_blocks = false") : NULL);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "async_remove = true") : NULL);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "fs_type = \"ext4\"") : NULL);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "base_image_size = \"512MiB\"") : NULL);
	free(t);
	CU_ASSERT_EQUAL(stt_engine_gen_dropin(r, "overlayfs", "p", &t), 0);
	CU_ASSERT_PTR_NULL(t ? strstr(t, "[plugins") : "x");
	free(t);
	CU_ASSERT_EQUAL(stt_engine_gen_dropin(r, "btrfs", "p", &t), -EINVAL);
	CU_ASSERT_PTR_NULL(t);
	free(r);
}

int unit_register_engine_gen(void)
{
	CU_pSuite s = CU_add_suite("engine_gen", NULL, NULL);

	if (!s)
		return CU_get_error();
	CU_add_test(s, "engine versions parsed", test_parse);
	CU_add_test(s, "Docker generations: 24, 25-28, 29+", test_docker_generations);
	CU_add_test(s, "RECOMMENDATION.md per generation", test_markdown);
	CU_add_test(s, "containerd drop-in", test_dropin);
	return CU_get_error();
}
