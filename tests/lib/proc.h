/*
 * Other processes for the tests: a short-lived child running one function
 * (process "O" of the contract: no lease), a long-lived helper that sets
 * something up (a lease, a pin) and keeps it until told to go, and a
 * SIGALRM guard so that a call that should fail at once but waits instead
 * fails the point with EINTR rather than hanging the test.
 */
#ifndef DAXLEASE_PROC_H
#define DAXLEASE_PROC_H

#include <sys/types.h>

/* Bound of every child function and helper set-up, in seconds. */
#define CHILD_TIMEOUT_S	10

/* Child results besides 0 and errno values. */
#define CHILD_SETUP_ERR	255	/* could not even try: a diag says why */
#define CHILD_DIED	(-1)	/* killed, or fork/wait failed */

/*
 * SIGALRM in @seconds, with a handler installed without SA_RESTART: a
 * system call blocked interruptibly by then fails with EINTR.
 */
void timeout_arm(unsigned int seconds);
void timeout_disarm(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long clock_ms(void);

/* Sleep @ms milliseconds (less if a signal interrupts it). */
void sleep_ms(unsigned int ms);

/*
 * Fork; the child closes every inherited fd above stderr, arms a
 * CHILD_TIMEOUT_S guard, and exits with @fn(@arg) & 0xff (0, an errno
 * value or CHILD_SETUP_ERR). Returns that exit status, or CHILD_DIED.
 */
int child_run(int (*fn)(void *arg), void *arg);

/* child_run() with a guard of @seconds instead of CHILD_TIMEOUT_S. */
int child_run_timeout(int (*fn)(void *arg), void *arg, unsigned int seconds);

/* Close every fd above stderr but @a and @b (-1: none). */
void close_inherited(int a, int b);

/* "success", "setup error", "child died", or the errno name. */
const char *child_result_name(int result);

struct helper {
	pid_t pid;
	int go;		/* closing it lets the helper exit */
};

/*
 * Fork a helper that closes its inherited fds above stderr, runs @fn(@arg)
 * (bounded by CHILD_TIMEOUT_S), reports its result and then keeps
 * everything it set up until helper_stop() (or our exit). Returns @fn's
 * result, or CHILD_DIED. Call helper_stop() in every case. Stop helpers in
 * the reverse order of their start.
 */
int helper_start(struct helper *h, int (*fn)(void *arg), void *arg);

/* Let the helper exit and reap it: 0 if it exited with status 0. */
int helper_stop(struct helper *h);

#endif
