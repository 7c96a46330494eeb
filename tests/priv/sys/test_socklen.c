// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The longest directory a private containerd or dockerd can live in, for real: the socket
 * path containerd makes in it (D/containerd.sock.ttrpc; dockerd's containerd below dockerd's
 * exec root) is at most STT_CONTAINERD_SOCK_MAX bytes. At the limit the daemon starts and
 * stops; one byte over, stortune refuses with -ENAMETOOLONG before anything is made (without
 * the check the daemon exits while starting, and the run fails with only its log to say why).
 *
 * Registered only when the daemon is installed.
 */
#include "priv.h"

#include "base/err.h"
#include "sys/containerd.h"
#include "sys/dockerd.h"
#include "sys/journal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTRD_SUFFIX    "/containerd.sock.ttrpc"
#define DOCKERD_SUFFIX "/exec/containerd/containerd.sock.ttrpc"

static char base[PATH_MAX];
static struct stt_journal *jrnl; /* the suite's; every test leaves it with nothing pending */

/* A directory name below base whose socket path (with @suffix) is @total bytes long. */
static void dir_of(char *dir, size_t len, const char *suffix, size_t total)
{
	size_t n = (size_t)snprintf(dir, len, "%s/", base);

	while (n + strlen(suffix) < total && n + 1 < len)
		dir[n++] = 'd';
	dir[n] = '\0';
}

static int suite_init(void)
{
	char jdir[PATH_MAX + 16];

	snprintf(base, sizeof(base), "%s/socklen", priv_dir());
	snprintf(jdir, sizeof(jdir), "%s/journal", base);
	if (mkdir(base, 0755) || mkdir(jdir, 0700))
		return -1;
	return stt_journal_open(jdir, &jrnl) ? -1 : 0;
}

static int suite_clean(void)
{
	if (jrnl)
		stt_journal_close(jrnl);
	return priv_sh("rm -rf '%s'", base) ? -1 : 0;
}

static void test_containerd(void)
{
	struct stt_containerd_opts o = { .ns = "stt-socklen", .journal = jrnl };
	struct stt_containerd *c = NULL;
	char dir[PATH_MAX];
	int r;

	dir_of(dir, sizeof(dir), CTRD_SUFFIX, STT_CONTAINERD_SOCK_MAX + 1);
	o.dir = dir;
	r = stt_containerd_start(&o, &c);
	CU_ASSERT_EQUAL(r, -ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "too long"));
	CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);

	dir_of(dir, sizeof(dir), CTRD_SUFFIX, STT_CONTAINERD_SOCK_MAX);
	r = stt_containerd_start(&o, &c);
	if (r)
		fprintf(stderr, "containerd at the limit: %s\n", stt_err_msg());
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL(strlen(c->sock) + strlen(".ttrpc"), (size_t)STT_CONTAINERD_SOCK_MAX);
	CU_ASSERT_EQUAL(stt_containerd_stop(c, jrnl), 0);
	CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
	CU_ASSERT_EQUAL(stt_journal_pending(jrnl), 0);
}

static void test_dockerd(void)
{
	struct stt_dockerd_opts o = { .storage_driver = "overlay2", .journal = jrnl };
	struct stt_dockerd *d = NULL;
	char dir[PATH_MAX];
	int r;

	dir_of(dir, sizeof(dir), DOCKERD_SUFFIX, STT_CONTAINERD_SOCK_MAX + 1);
	o.dir = dir;
	r = stt_dockerd_start(&o, &d);
	CU_ASSERT_EQUAL(r, -ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(stt_err_msg(), "too long"));
	CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);

	dir_of(dir, sizeof(dir), DOCKERD_SUFFIX, STT_CONTAINERD_SOCK_MAX);
	r = stt_dockerd_start(&o, &d);
	if (r)
		fprintf(stderr, "dockerd at the limit: %s\n", stt_err_msg());
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_EQUAL(stt_dockerd_stop(d, jrnl), 0);
	CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
	CU_ASSERT_EQUAL(stt_journal_pending(jrnl), 0);
}

int priv_register_socklen(void)
{
	bool ctrd = !priv_sh("command -v containerd >/dev/null 2>&1");
	bool dockerd = !priv_sh("command -v dockerd >/dev/null 2>&1");
	CU_pSuite s;

	if (!ctrd || !dockerd)
		fprintf(stderr, "priv: socklen: %s skipped: not installed\n",
			!ctrd ? "containerd and dockerd" : "dockerd");
	if (!ctrd)
		return CUE_SUCCESS;
	s = CU_add_suite("socket paths: the longest directory a daemon can live in", suite_init,
			 suite_clean);
	if (!s)
		return CU_get_error();
	CU_add_test(s, "containerd: at the limit it runs, one byte over it is refused",
		    test_containerd);
	if (dockerd)
		CU_add_test(s, "dockerd: at the limit it runs, one byte over it is refused",
			    test_dockerd);
	return CU_get_error();
}
