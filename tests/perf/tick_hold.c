// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Keeps the scheduler tick of every CPU running while a benchmark measures CPU time, as
 * booting with nohz=off would: one child per CPU this process may run on, pinned there,
 * sleeping PERIOD_US on absolute deadlines. A CPU with a timer due within one tick does not
 * stop its tick when it goes idle (tick_nohz_next_event), so nothing has to restart it on
 * the way out of idle.
 *
 *   tick_hold [PERIOD_US]      (default 1000; at most one tick, 1000 us at HZ=1000)
 *
 * Why a CPU-time comparison needs it on a tickless kernel without IRQ_TIME_ACCOUNTING:
 * when an I/O completion wakes a task on an idle CPU, the wakeup asks for a resched and
 * skips the next run-queue clock update, so the task's runtime starts at the wakeup and
 * includes the idle exit -- on a virtual machine mostly the reprogramming of the stopped
 * tick. At queue depth 1 that is charged once per I/O, and how often it happens depends on
 * what else has timers on that CPU (fio's parent polls every 10 ms), not on the engine.
 *
 * Runs until SIGTERM or SIGINT; the children die with it (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void hold(int cpu, long period_ns)
{
	cpu_set_t one;
	struct timespec t;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() == 1)
		_exit(0);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		fprintf(stderr, "tick_hold: cpu %d: %s\n", cpu, strerror(errno));
		_exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		t.tv_nsec += period_ns;
		while (t.tv_nsec >= 1000000000L) {
			t.tv_nsec -= 1000000000L;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
}

int main(int argc, char **argv)
{
	long period_us = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	static pid_t child[CPU_SETSIZE];
	cpu_set_t allowed;
	sigset_t stop;
	int sig, n = 0;

	if (period_us < 10 || period_us > 1000000) {
		fprintf(stderr, "tick_hold: PERIOD_US must be 10..1000000\n");
		return 2;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		fprintf(stderr, "tick_hold: sched_getaffinity: %s\n", strerror(errno));
		return 1;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		pid_t p;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		p = fork();
		if (p < 0) {
			fprintf(stderr, "tick_hold: fork: %s\n", strerror(errno));
			break;
		}
		if (!p) {
			sigprocmask(SIG_UNBLOCK, &stop, NULL);
			hold(cpu, period_us * 1000);
		}
		child[n++] = p;
	}
	if (n == CPU_COUNT(&allowed))
		sigwait(&stop, &sig);
	for (int i = 0; i < n; i++)
		kill(child[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return n == CPU_COUNT(&allowed) ? 0 : 1;
}
