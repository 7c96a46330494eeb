// SPDX-License-Identifier: GPL-2.0-or-later
/* The privileged test runner: root, real loop devices and mounts. Exit 77 = skipped. */
#include "priv.h"

#include "sys/proc.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

const char *priv_dir(void)
{
	return dir;
}

const char *priv_dockerd_script(void)
{
	const char *s = getenv("STT_DOCKERD_TEST");

	return s ? s : "scripts/dockerd-test.sh";
}

int priv_dockerd_stop(const char *ddir, bool *running)
{
	if (!*running)
		return 0;
	*running = false;
	return priv_sh("'%s' stop '%s'", priv_dockerd_script(), ddir);
}

const char *priv_stortune(void)
{
	const char *s = getenv("STORTUNE");

	return s ? s : "./stortune";
}

bool priv_run_left_nothing(const char *work, const char *jdir, const char *what)
{
	pid_t pids[16];
	size_t n = 0;
	bool ok = true;

	if (stt_proc_naming(work, pids, 16, &n) == 0 && n) {
		fprintf(stderr, "%s: %zu processes left (pid %d, ...)\n", what, n, (int)pids[0]);
		priv_sh("ps -o pid,args -p %d >&2", (int)pids[0]);
		ok = false;
	}
	if (priv_sh("grep -q ' %s' /proc/self/mountinfo", work) == 0) {
		fprintf(stderr, "%s: mounts left\n", what);
		priv_sh("grep ' %s' /proc/self/mountinfo >&2", work);
		ok = false;
	}
	if (priv_sh("losetup -a | grep -q '%s'", work) == 0) {
		fprintf(stderr, "%s: loop devices left\n", what);
		priv_sh("losetup -a | grep '%s' >&2", work);
		ok = false;
	}
	if (priv_sh("[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", work)) {
		fprintf(stderr, "%s: files left in %s\n", what, work);
		priv_sh("find '%s' -maxdepth 4 >&2", work);
		ok = false;
	}
	if (priv_sh("[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", jdir)) {
		fprintf(stderr, "%s: journal left in %s\n", what, jdir);
		ok = false;
	}
	/* bench's machine control (src/measure/bench.c); the priv tests run one at a time */
	if (priv_sh("! ls -d /dev/shm/stortune-control-* >/dev/null 2>&1")) {
		fprintf(stderr, "%s: the machine control's directory left in /dev/shm\n", what);
		ok = false;
	}
	return ok;
}

int priv_kill_at_line(const char *cmd, const char *prefix, int sig, unsigned int max_delay_us,
		      unsigned int *seed, bool *sent)
{
	char line[512];
	int pipefd[2], st;
	pid_t pid;
	FILE *err;

	*sent = false;
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	err = fdopen(pipefd[0], "r");
	while (fgets(line, sizeof(line), err))
		if (!strncmp(line, prefix, strlen(prefix))) {
			usleep(rand_r(seed) % (max_delay_us + 1));
			kill(pid, sig);
			*sent = true;
			break;
		}
	/* Drain, so that the child never blocks on a full pipe. */
	while (fgets(line, sizeof(line), err))
		;
	fclose(err);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int priv_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int priv_capture(char **out, const char *fmt, ...)
{
	size_t cap = 65536, len = 0, n;
	char cmd[8192], *buf;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	*out = NULL;
	buf = malloc(cap);
	if (!buf)
		return -1;
	p = popen(cmd, "r");
	if (!p) {
		free(buf);
		return -1;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Loop devices whose backing file is under our directory, and mounts under it. */
static int leftovers(void)
{
	int n = 0;

	n += priv_sh("losetup -a | grep -q '%s'", dir) == 0;
	n += priv_sh("grep -q ' %s' /proc/self/mountinfo", dir) == 0;
	return n;
}

static const struct {
	const char *name;
	int (*fn)(void);
} suites[] = {
	{ "probe", priv_register_probe },
	{ "backends", priv_register_backends },
	{ "interrupt", priv_register_interrupt },
	{ "bench", priv_register_bench },
	{ "image", priv_register_image },
	{ "docker", priv_register_docker },
	{ "engine", priv_register_engine },
	{ "report", priv_register_report },
	{ "containerd", priv_register_containerd },
	{ "apikill", priv_register_apikill },
	{ "faults", priv_register_faults },
	{ "trace", priv_register_trace },
	{ "ctrkill", priv_register_ctrkill },
	{ "socklen", priv_register_socklen },
};

/* Caught rather than ignored, so that the commands the tests run get the default back. */
static void on_sigpipe(int sig)
{
	(void)sig;
}

int main(void)
{
	struct sigaction pipe_sa = { .sa_handler = on_sigpipe };
	const char *only = getenv("STT_PRIV_ONLY");
	unsigned int failures;

	if (geteuid() != 0) {
		fprintf(stderr, "priv: skipped: needs root\n");
		return 77;
	}
	if (access("/dev/loop-control", F_OK)) {
		fprintf(stderr, "priv: skipped: no loop devices (/dev/loop-control)\n");
		return 77;
	}
	if (access(priv_stortune(), X_OK)) {
		fprintf(stderr, "priv: %s: not built (run make first)\n", priv_stortune());
		return 2;
	}
	/* a reader that goes away (priv-tests | head) must not kill the runner before the
	 * suites' cleanups have removed their loop devices, mounts and dockerd */
	sigaction(SIGPIPE, &pipe_sa, NULL);
	setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
	snprintf(dir, sizeof(dir), "/var/tmp/stortune-priv-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("priv: mkdtemp");
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	/* STT_PRIV_ONLY=backends,interrupt runs only those suites (the VM tier does). */
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if ((!only || strstr(only, suites[i].name)) && suites[i].fn() != CUE_SUCCESS) {
			fprintf(stderr, "priv: cannot register suite %zu\n", i);
			return 2;
		}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	if (CU_get_error() != CUE_SUCCESS)
		failures++;
	CU_cleanup_registry();

	if (leftovers()) {
		fprintf(stderr, "priv: FAILED: loop devices or mounts of %s left behind:\n", dir);
		priv_sh("losetup -a | grep '%s' >&2; grep ' %s' /proc/self/mountinfo >&2", dir,
			dir);
		failures++;
	} else {
		printf("priv: no loop device or mount left behind\n");
	}
	priv_sh("rm -rf '%s'", dir);
	return failures != 0;
}
