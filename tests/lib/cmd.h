/*
 * Programs run as a user runs them (the daxlease command, perftest, make,
 * mandoc, man): fork and exec with stdin from /dev/null, stdout and stderr
 * captured, optionally as another user, waited for with a bound.
 */
#ifndef DAXLEASE_CMD_H
#define DAXLEASE_CMD_H

#include <stdbool.h>
#include <sys/types.h>

/* Bound of cmd_run(), in milliseconds. */
#define CMD_TIMEOUT_MS	60000

/* Run as we are (for cmd_start()'s @uid). */
#define CMD_SAME_USER	((uid_t)-1)

/* A struct cmd that was never started: cmd_free() accepts it. */
#define CMD_INIT	{ .pid = -1, .out_fd = -1, .err_fd = -1, .status = -1 }

struct cmd {
	pid_t pid;		/* the process; -1 if the start failed */
	bool running;		/* started and not yet reaped */
	int out_fd, err_fd;	/* memfds the output goes to */
	int status;		/* exit code; CHILD_DIED if killed or lost */
	char *out, *err;	/* the output, after cmd_wait() */
};

/*
 * Start @argv (argv[0] looked up in PATH) with every fd above stderr
 * closed, as @uid/@uid (gid = uid, no supplementary groups) unless
 * CMD_SAME_USER. 0, or -1 with a diag (c->pid is then -1).
 */
int cmd_start(struct cmd *c, uid_t uid, char *const argv[]);

/*
 * Wait up to @ms for @c to exit (then SIGKILL it), fill c->status,
 * c->out and c->err. 0 if it exited by itself in time, -1 with a diag.
 */
int cmd_wait(struct cmd *c, unsigned int ms);

/* cmd_start() and cmd_wait(CMD_TIMEOUT_MS); the command line as a diag. */
int cmd_run(struct cmd *c, uid_t uid, char *const argv[]);

/* Has @c's process exited? It stays a zombie for cmd_wait(). */
bool cmd_exited(const struct cmd *c);

/* Kill (if running) and reap @c, free its output. */
void cmd_free(struct cmd *c);

/* A diag with @c's exit status, stdout and stderr, line by line. */
void cmd_diag(const struct cmd *c);

/*
 * True if @c exited with @status and printed @out and @err exactly (NULL:
 * not checked); else cmd_diag() and what differed.
 */
bool cmd_is(const struct cmd *c, int status, const char *out,
	    const char *err);

/*
 * "<repo>/@rel" of the checkout the running test binary belongs to
 * (tests/bin/<name> or tests/remote/bin/<name>); bails out if that cannot
 * be found. Free it.
 */
char *repo_path(const char *rel);

#endif
