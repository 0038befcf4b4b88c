/* Programs run as a user runs them: see cmd.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "keeper.h"
#include "proc.h"
#include "report.h"
#include "tap.h"

/* Everything written to @fd from its start; "" on error. */
static char *memfd_text(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *s = malloc(len > 0 ? len + 1 : 1);
	ssize_t n = 0;

	if (!s)
		bail_out("out of memory");
	if (len > 0)
		n = pread(fd, s, len, 0);
	s[n > 0 ? n : 0] = '\0';
	return s;
}

int cmd_start(struct cmd *c, uid_t uid, char *const argv[])
{
	int null, err;

	c->pid = -1;
	c->running = false;
	c->status = CHILD_DIED;
	c->out = NULL;
	c->err = NULL;
	c->out_fd = memfd_create("cmd-out", MFD_CLOEXEC);
	c->err_fd = memfd_create("cmd-err", MFD_CLOEXEC);
	if (c->out_fd < 0 || c->err_fd < 0) {
		diag("memfd_create: %s", errno_name(errno));
		return -1;
	}
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		diag("fork: %s", errno_name(errno));
		return -1;
	}
	if (c->pid) {
		c->running = true;
		return 0;
	}
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(c->out_fd, 1) < 0 ||
	    dup2(c->err_fd, 2) < 0)
		_exit(CHILD_SETUP_ERR);
	close_inherited(-1, -1);
	err = uid == CMD_SAME_USER ? 0 : drop_ids(uid, uid);
	if (err) {
		fprintf(stderr, "cmd: dropping to uid %d: %s\n", (int)uid,
			strerror(err));
		_exit(CHILD_SETUP_ERR);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "cmd: exec %s: %s\n", argv[0], strerror(errno));
	_exit(CHILD_SETUP_ERR);
}

int cmd_wait(struct cmd *c, unsigned int ms)
{
	int status, ret = 0;

	if (!c->running)
		return -1;
	c->running = false;
	if (wait_bounded(c->pid, &status, ms)) {
		kill_reap(c->pid);
		ret = -1;
	} else if (WIFEXITED(status)) {
		c->status = WEXITSTATUS(status);
	} else {
		diag("process %d killed by signal %d", (int)c->pid,
		     WTERMSIG(status));
		ret = -1;
	}
	c->out = memfd_text(c->out_fd);
	c->err = memfd_text(c->err_fd);
	return ret;
}

int cmd_run(struct cmd *c, uid_t uid, char *const argv[])
{
	char line[1024];
	size_t len = 0;
	int i;

	line[0] = '\0';
	for (i = 0; argv[i] && len < sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - len, "%s%s",
				i ? " " : "", argv[i]);
	if (uid != CMD_SAME_USER)
		diag("as uid %d: %s", (int)uid, line);
	else
		diag("$ %s", line);
	if (cmd_start(c, uid, argv))
		return -1;
	return cmd_wait(c, CMD_TIMEOUT_MS);
}

bool cmd_exited(const struct cmd *c)
{
	siginfo_t info = { 0 };

	return !waitid(P_PID, c->pid, &info, WEXITED | WNOHANG | WNOWAIT) &&
	       info.si_pid == c->pid;
}

void cmd_free(struct cmd *c)
{
	if (c->running)
		kill_reap(c->pid);
	c->running = false;
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->out_fd = -1;
	c->err_fd = -1;
	free(c->out);
	free(c->err);
	c->out = NULL;
	c->err = NULL;
}

void cmd_diag(const struct cmd *c)
{
	diag("exit status %d", c->status);
	diag_text("stdout", c->out ? c->out : "");
	diag_text("stderr", c->err ? c->err : "");
}

bool cmd_is(const struct cmd *c, int status, const char *out,
	    const char *err)
{
	bool same = c->status == status;

	if (!same)
		diag("exit status %d, want %d", c->status, status);
	if (out && !text_is("stdout", c->out ? c->out : "", out))
		same = false;
	if (err && !text_is("stderr", c->err ? c->err : "", err))
		same = false;
	if (!same && c->status != status)
		cmd_diag(c);
	return same;
}

/* Cut the last component off @dir, a directory of @exe's path. */
static void path_up(char *dir, const char *exe)
{
	char *slash = strrchr(dir, '/');

	if (!slash)
		bail_out("%s is not in <repo>/tests/bin or tests/remote/bin",
			 exe);
	*slash = '\0';
}

char *repo_path(const char *rel)
{
	char exe[PATH_MAX], dir[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		bail_out("readlink /proc/self/exe: %s", errno_name(errno));
	exe[n] = '\0';
	strcpy(dir, exe);
	/* <repo>/tests/bin/<name>, or <repo>/tests/remote/bin/<name> */
	path_up(dir, exe);
	path_up(dir, exe);
	slash = strrchr(dir, '/');
	if (slash && !strcmp(slash + 1, "remote"))
		path_up(dir, exe);
	path_up(dir, exe);
	return strf("%s/%s", dir, rel);
}
