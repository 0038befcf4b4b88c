/* Keeper processes and bounded waits: see keeper.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "proc.h"
#include "tap.h"

int wait_bounded(pid_t pid, int *status, unsigned int ms)
{
	long long t0 = clock_ms();
	pid_t got;

	for (;;) {
		got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR) {
			diag("waitpid %d: %s", (int)pid, errno_name(errno));
			return -1;
		}
		if (clock_ms() - t0 >= ms) {
			diag("process %d not reaped after %u ms", (int)pid, ms);
			return -1;
		}
		sleep_ms(2);
	}
}

/* State letter of /proc/<pid>/stat, 0 if the process is gone. */
static char proc_state(pid_t pid)
{
	char name[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "/proc/%d/stat", (int)pid);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

int wait_exited(pid_t pid, unsigned int ms)
{
	long long t0 = clock_ms();
	char st;

	for (;;) {
		st = proc_state(pid);
		if (!st || st == 'Z' || st == 'X')
			return 0;
		if (clock_ms() - t0 >= ms) {
			diag("process %d still running (state %c) after %u ms",
			     (int)pid, st, ms);
			return -1;
		}
		sleep_ms(2);
	}
}

static void block_sigusr1(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void keeper_wait_release(void)
{
	struct timespec ts = { KEEPER_LIFE_S, 0 };
	long long t0 = clock_ms(), left;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (sigtimedwait(&set, NULL, &ts) == SIGUSR1)
			return;
		if (errno != EINTR)
			return;
		left = KEEPER_LIFE_S * 1000LL - (clock_ms() - t0);
		if (left <= 0)
			return;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
	}
}

/* SIGKILL and reap @pid as a last resort. */
void kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	wait_bounded(pid, &status, REAP_MS);
}

int keeper_start(struct keeper *k, int (*fn)(void *arg), void *arg,
		 bool close_fds, int keep_fd)
{
	struct pollfd pfd;
	int res[2], val = CHILD_DIED, r;
	pid_t parent = getpid();
	ssize_t n;

	k->pid = -1;
	if (pipe2(res, O_CLOEXEC)) {
		diag("pipe: %s", errno_name(errno));
		return CHILD_DIED;
	}
	fflush(NULL);
	k->pid = fork();
	if (!k->pid) {
		block_sigusr1();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(res[0]);
		if (close_fds) {
			if (keep_fd == res[1] || keep_fd < 0) {
				close_inherited(res[1], -1);
			} else {
				/* keep both: move the pipe below @keep_fd */
				int lo = keep_fd < res[1] ? keep_fd : res[1];
				int hi = keep_fd < res[1] ? res[1] : keep_fd;

				if (lo > 3)
					close_range(3, lo - 1, 0);
				if (hi > lo + 1)
					close_range(lo + 1, hi - 1, 0);
				close_range(hi + 1, ~0U, 0);
			}
		}
		timeout_arm(CHILD_TIMEOUT_S);
		val = fn(arg);
		timeout_disarm();
		if (write(res[1], &val, sizeof(val)) != sizeof(val))
			_exit(1);
		close(res[1]);
		keeper_wait_release();
		_exit(0);
	}
	close(res[1]);
	if (k->pid < 0) {
		diag("fork: %s", errno_name(errno));
		close(res[0]);
		return CHILD_DIED;
	}
	pfd.fd = res[0];
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, (CHILD_TIMEOUT_S + 5) * 1000);
	while (r < 0 && errno == EINTR);
	n = r > 0 ? read(res[0], &val, sizeof(val)) : -1;
	close(res[0]);
	if (n != sizeof(val)) {
		diag("keeper %d %s before reporting", (int)k->pid,
		     r == 0 ? "timed out" : "died");
		kill_reap(k->pid);
		k->pid = -1;
		return CHILD_DIED;
	}
	return val;
}

static int keeper_end(struct keeper *k, int sig)
{
	int status, ret = -1;

	if (k->pid <= 0)
		return 0;
	if (kill(k->pid, sig)) {
		diag("kill %d: %s", (int)k->pid, errno_name(errno));
	} else if (!wait_bounded(k->pid, &status, REAP_MS)) {
		if (sig == SIGKILL && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL)
			ret = 0;
		else if (sig != SIGKILL && WIFEXITED(status) &&
			 !WEXITSTATUS(status))
			ret = 0;
		else if (WIFSIGNALED(status))
			diag("keeper %d killed by signal %d", (int)k->pid,
			     WTERMSIG(status));
		else
			diag("keeper %d exited with status %d", (int)k->pid,
			     WEXITSTATUS(status));
		k->pid = -1;
		return ret;
	}
	kill_reap(k->pid);
	k->pid = -1;
	return -1;
}

int keeper_exit(struct keeper *k)
{
	return keeper_end(k, SIGUSR1);
}

int keeper_kill(struct keeper *k)
{
	return keeper_end(k, SIGKILL);
}

struct trunc_arg {
	const char *path;
	off_t size;
};

static int do_truncate(void *arg)
{
	struct trunc_arg *t = arg;

	return truncate(t->path, t->size) ? errno : 0;
}

int truncate_other(const char *path, off_t size)
{
	struct trunc_arg t = { path, size };

	return child_run(do_truncate, &t);
}

bool truncate_other_is(const char *path, off_t size, int want)
{
	int r = truncate_other(path, size);

	if (r != want)
		diag("truncate by another process: %s, expected %s",
		     child_result_name(r), want ? errno_name(want) : "success");
	return r == want;
}

int drop_ids(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return errno;
	return 0;
}

int fd_send(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'f';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

int fd_recv(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	n = recvmsg(sock, &msg, 0);	/* EINTR: a SIGALRM guard */
	if (n != 1) {
		if (n >= 0)
			errno = EPROTO;
		return -1;
	}
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		return p;
	diag("mmap shared anonymous: %s", errno_name(errno));
	return NULL;
}

int fd_move(int from, int to)
{
	if (from == to)
		return 0;
	if (dup2(from, to) != to) {
		diag("dup2 %d -> %d: %s", from, to, errno_name(errno));
		return -1;
	}
	close(from);
	return 0;
}
