/*
 * Processes that hold things (leases, MRs, fds) for the pin accounting and
 * teardown tests, and bounded waits for them. Unlike helper_start() in
 * proc.h, a keeper may keep the fds it inherited (fork semantics are what
 * some tests are about), can be told to exit or be SIGKILLed, and is reaped
 * with a time limit: nothing a test waits for can hang it.
 */
#ifndef DAXLEASE_KEEPER_H
#define DAXLEASE_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reaping a process that was told to go: at most this long. */
#define REAP_MS		10000
/* A keeper nobody releases exits by itself after this long. */
#define KEEPER_LIFE_S	120

struct keeper {
	pid_t pid;
};

/*
 * Fork a keeper. It blocks SIGUSR1 (so do the processes it forks), dies
 * with us (PR_SET_PDEATHSIG), closes every inherited fd above stderr but
 * @keep_fd if @close_fds, runs @fn(@arg) under a CHILD_TIMEOUT_S SIGALRM
 * guard and reports the result; then keeps everything until
 * keeper_exit()/keeper_kill() or KEEPER_LIFE_S. Returns @fn's result (0,
 * an errno value, CHILD_SETUP_ERR) or CHILD_DIED. Whatever it returns,
 * k->pid is the process to end (-1 if there is none).
 */
int keeper_start(struct keeper *k, int (*fn)(void *arg), void *arg,
		 bool close_fds, int keep_fd);

/*
 * In a keeper or a process it forked (SIGUSR1 blocked): wait for SIGUSR1,
 * at most KEEPER_LIFE_S.
 */
void keeper_wait_release(void);

/*
 * End a keeper: keeper_exit() sends SIGUSR1 (it calls _exit(0)),
 * keeper_kill() SIGKILL; both reap it within REAP_MS. 0 if it ended that
 * way in time, -1 with a diag otherwise (it is then SIGKILLed and reaped if
 * at all possible). No-op returning 0 if k->pid is -1.
 */
int keeper_exit(struct keeper *k);
int keeper_kill(struct keeper *k);

/* waitpid(@pid) for at most @ms: 0 and *@status, or -1 with a diag. */
int wait_bounded(pid_t pid, int *status, unsigned int ms);

/* SIGKILL @pid and reap it (bounded). */
void kill_reap(pid_t pid);

/*
 * Wait at most @ms until @pid, not necessarily our child, has exited
 * (zombie, or gone): by then its files and mm are released. 0 or -1.
 */
int wait_exited(pid_t pid, unsigned int ms);

/*
 * truncate(2) of @path to @size by a new process that holds nothing:
 * 0, an errno value or CHILD_DIED (child_result_name() names it).
 */
int truncate_other(const char *path, off_t size);

/*
 * truncate_other() of @path to @size gives @want (0 or an errno); a diag
 * naming what it gave otherwise.
 */
bool truncate_other_is(const char *path, off_t size, int want);

/* setgroups(0), setresgid(@gid x3), setresuid(@uid x3): 0 or an errno. */
int drop_ids(uid_t uid, gid_t gid);

/* SCM_RIGHTS: send @fd over @sock (0, or -1 with errno); receive one. */
int fd_send(int sock, int fd);
int fd_recv(int sock);

/* @size bytes of MAP_SHARED anonymous memory, zeroed; NULL with a diag. */
void *shared_alloc(size_t size);

/* dup2(@from, @to) and close(@from): 0, or -1 with a diag. */
int fd_move(int from, int to);

#endif
