/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef STT_TEST_PRIV_H
#define STT_TEST_PRIV_H

#include <CUnit/CUnit.h>
#include <stdbool.h>

/*
 * Root tests on real kernel objects (loop devices, mounts). The runner exits 77 when it
 * cannot run (not root, no loop devices). Each suite cleans up what it made; the runner
 * checks at the end that no loop device or mount of the tests is left.
 */
int priv_register_probe(void);
int priv_register_backends(void);
int priv_register_interrupt(void);
int priv_register_bench(void);
int priv_register_image(void);
int priv_register_docker(void);
int priv_register_engine(void);
int priv_register_report(void);
int priv_register_containerd(void);
int priv_register_apikill(void);
int priv_register_faults(void);
int priv_register_trace(void);
int priv_register_ctrkill(void);
int priv_register_socklen(void);

/* The scratch directory of this run (under /var/tmp), made by the runner. */
const char *priv_dir(void);
/* Path of the stortune binary under test (STORTUNE or ./stortune). */
const char *priv_stortune(void);
/* scripts/dockerd-test.sh, or $STT_DOCKERD_TEST. */
const char *priv_dockerd_script(void);
/* Stops the test dockerd of @ddir when *@running, and clears it; the script's exit status. */
int priv_dockerd_stop(const char *ddir, bool *running);

/*
 * Runs @cmd (sh -c) with its stderr read here; at the first line that starts with @prefix,
 * waits a random time below @max_delay_us (rand_r(@seed)) and sends @sig (*@sent). Reads its
 * stderr to the end and returns its exit status (128 + a signal), or -1 when it could not run.
 */
int priv_kill_at_line(const char *cmd, const char *prefix, int sig, unsigned int max_delay_us,
		      unsigned int *seed, bool *sent);
/*
 * After a killed run and `stortune cleanup`: true when nothing of the run in @work is left --
 * no process naming it, no mount or loop device on it, no file in it nor in the journal
 * directory @jdir; each leftover is named on stderr after @what.
 */
bool priv_run_left_nothing(const char *work, const char *jdir, const char *what);
/* Runs a shell command line; returns its exit status (-1 when it could not run). */
__attribute__((format(printf, 1, 2))) int priv_sh(const char *fmt, ...);
/*
 * Runs a command line, capturing stdout into a malloc'd string (*out); returns the exit
 * status.
 */
__attribute__((format(printf, 2, 3))) int priv_capture(char **out, const char *fmt, ...);

#endif
