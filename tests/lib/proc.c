/* Other processes: see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "proc.h"
#include "tap.h"

static void on_alarm(int sig)
{
	(void)sig;
}

void timeout_arm(unsigned int seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

void timeout_disarm(void)
{
	alarm(0);
}

long long clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void close_inherited(int a, int b)
{
	int keep[2] = { a < b ? a : b, a < b ? b : a };
	unsigned int lo = 3;
	int i;

	for (i = 0; i < 2; i++) {
		if (keep[i] < (int)lo)
			continue;
		if (keep[i] > (int)lo)
			close_range(lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

/* The exit code of a reaped child, or CHILD_DIED if a signal killed it. */
static int child_result(pid_t pid, int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	diag("child %d killed by signal %d (%s)", pid, WTERMSIG(status),
	     strsignal(WTERMSIG(status)));
	return CHILD_DIED;
}

static int child_wait(pid_t pid)
{
	pid_t got;
	int status;

	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		diag("waitpid %d: %s", pid, errno_name(errno));
		return CHILD_DIED;
	}
	return child_result(pid, status);
}

int child_run(int (*fn)(void *arg), void *arg)
{
	return child_run_timeout(fn, arg, CHILD_TIMEOUT_S);
}

int child_run_timeout(int (*fn)(void *arg), void *arg, unsigned int seconds)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		diag("fork: %s", errno_name(errno));
		return CHILD_DIED;
	}
	if (!pid) {
		close_inherited(-1, -1);
		timeout_arm(seconds);
		_exit(fn(arg) & 0xff);
	}
	/* the alarm cannot end a child stuck in the kernel: bound the wait */
	if (wait_bounded(pid, &status, (seconds + 5) * 1000)) {
		kill_reap(pid);
		return CHILD_DIED;
	}
	return child_result(pid, status);
}

const char *child_result_name(int result)
{
	if (result == 0)
		return "success";
	if (result == CHILD_SETUP_ERR)
		return "setup error";
	if (result < 0)
		return "child died";
	return errno_name(result);
}

int helper_start(struct helper *h, int (*fn)(void *arg), void *arg)
{
	int res[2], go[2], val = CHILD_DIED;
	ssize_t n;
	char c;

	h->pid = -1;
	h->go = -1;
	if (pipe2(res, O_CLOEXEC)) {
		diag("pipe: %s", errno_name(errno));
		return CHILD_DIED;
	}
	if (pipe2(go, O_CLOEXEC)) {
		diag("pipe: %s", errno_name(errno));
		close(res[0]);
		close(res[1]);
		return CHILD_DIED;
	}
	fflush(NULL);
	h->pid = fork();
	if (!h->pid) {
		close_inherited(res[1], go[0]);
		timeout_arm(CHILD_TIMEOUT_S);
		val = fn(arg);
		timeout_disarm();
		if (write(res[1], &val, sizeof(val)) != sizeof(val))
			_exit(1);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(res[1]);
	close(go[0]);
	if (h->pid < 0) {
		diag("fork: %s", errno_name(errno));
		close(res[0]);
		close(go[1]);
		return CHILD_DIED;
	}
	h->go = go[1];
	do
		n = read(res[0], &val, sizeof(val));
	while (n < 0 && errno == EINTR);
	close(res[0]);
	if (n != sizeof(val)) {
		diag("helper %d exited before reporting", h->pid);
		helper_stop(h);
		return CHILD_DIED;
	}
	return val;
}

int helper_stop(struct helper *h)
{
	int ret = 0;

	if (h->go >= 0)
		close(h->go);
	h->go = -1;
	if (h->pid > 0 && child_wait(h->pid))
		ret = -1;
	h->pid = -1;
	return ret;
}
