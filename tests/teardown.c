/*
 * Teardown, daxlease loaded (design README, "Lifetime": exit or SIGKILL of
 * every holder releases everything, counts return exactly to zero, the
 * next truncate succeeds, nothing deadlocks on any fd close order; the
 * module cannot be unloaded while a lease or pin exists). One filesystem
 * (XFS, else ext4): the teardown paths are not per filesystem.
 *
 * Every case ends a process that holds an unbreakable lease (48) on a fresh
 * 2 MiB fsdax file and, mostly, a 2 MiB MR of it, and then checks: the
 * process is reaped within REAP_MS (no wait is unbounded: keepers and
 * truncating children are reaped with time limits, their own calls run
 * under SIGALRM guards), /proc/daxlease has no line left for the file, and
 * truncate(2) of the file by another process succeeds.
 *
 * - exit and SIGKILL, with the lease fd and the uverbs fd (the ibv_context's
 *   cmd_fd, moved with dup2) at 10 and 15 in both orders, with the file
 *   still mapped or already unmapped (then only the fd holds the lease's
 *   file, so the fd order decides which file is released first): 8 cases.
 * - SCM_RIGHTS: S passes its uverbs fd to R and is SIGKILLed. R still shows
 *   the pins, S's lease is orphaned and still refuses truncate, the module
 *   cannot be unloaded; R exits and everything goes.
 * - fork: P holds lease and MR, its fork child C inherits the fds and the
 *   mapping. C exits first (nothing changes), or P is SIGKILLed first (the
 *   lease stays live as C still has its file; /proc/daxlease shows its
 *   holder as '-', never the dead P's pid, which may be reused);
 *   then the other one goes.
 * - A process dying between F_SETLEASE and ibv_reg_mr.
 * - mm-owned pins: P holds 48 and a 2 MiB io_uring fixed buffer of the
 *   file, its fork child C inherits the ring. P is SIGKILLed: its lease is
 *   orphaned with the pages still charged to P's mm (the ring lives on in
 *   C) and truncate is refused; C exits, the ring goes and so does all.
 * - At the end, with every holder gone, delete_module must succeed: no case
 *   leaked a lease, orphan or owner (each holds a module reference). The
 *   module is then loaded again if it was loaded at the start.
 *
 * Grandchildren (C) are reparented to this process (PR_SET_CHILD_SUBREAPER)
 * so that they too are reaped with a time limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "uring.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define CUT_SIZE	(1UL << 20)
#define FILE_PAGES	512UL
#define LOW_FD		10
#define HIGH_FD		15
#define N_ORDER		8

/* Point names, the same whether the point runs or is skipped. */
#define T_LOADED	"daxlease module loaded"
#define K_NAME		"%s: %s, lease fd %d, uverbs fd %d, file %s: "
#define T_K_SETUP	K_NAME "child holds 48 and a 2 MiB MR; /proc/daxlease and its file_pins show them"
#define T_K_REAP	K_NAME "the child ends and is reaped within 10 s"
#define T_K_GONE	K_NAME "no /proc/daxlease entry for the file"
#define T_K_TRUNC	K_NAME "truncate(2) by another process succeeds"
#define T_S_SETUP	"%s: SCM_RIGHTS: S holds 48 and a 2 MiB MR, passes its uverbs fd to R, R received it"
#define T_S_KILL	"%s: SCM_RIGHTS: S is SIGKILLed and reaped within 10 s"
#define T_S_R_PINS	"%s: SCM_RIGHTS: R's /proc/<pid>/file_pins shows the pinned file under the received fd"
#define T_S_GV		"%s: SCM_RIGHTS: /proc/daxlease: S's lease orphaned with 512 pages, charged to the uverbs file, holder '-' (S is dead)"
#define T_S_TRUNC	"%s: SCM_RIGHTS: truncate(2) by another process fails with ETXTBSY"
#define T_S_RMMOD	"%s: SCM_RIGHTS: delete_module fails (EWOULDBLOCK or EBUSY) with the orphan and pins alive; module stays loaded"
#define T_S_R_EXIT	"%s: SCM_RIGHTS: R exits and is reaped within 10 s"
#define T_S_GONE	"%s: SCM_RIGHTS: no /proc/daxlease entry for the file"
#define T_S_TRUNC2	"%s: SCM_RIGHTS: truncate(2) by another process succeeds"
#define F_NAME		"%s: fork, %s first: "
#define T_F_SETUP	F_NAME "P holds 48 and a 2 MiB MR; its fork child C shows the same file_pins block"
#define T_F_FIRST	F_NAME "%s ends and is gone within 10 s"
#define T_F_STILL	F_NAME "/proc/daxlease: P's lease live, 512 pages (once P is dead: holder and fd '-', not P's pid), truncate(2) by another process fails with ETXTBSY"
#define T_F_SECOND	F_NAME "%s exits and is reaped within 10 s"
#define T_F_GONE	F_NAME "no /proc/daxlease entry for the file"
#define T_F_TRUNC	F_NAME "truncate(2) by another process succeeds"
#define T_D_SETUP	"%s: a child takes 48 and maps the file, not registered yet; /proc/daxlease shows its lease with 0 pages"
#define T_D_KILL	"%s: the child is SIGKILLed before ibv_reg_mr and reaped within 10 s"
#define T_D_GONE	"%s: no /proc/daxlease entry for the file"
#define T_D_TRUNC	"%s: truncate(2) by another process succeeds"
#define T_U_SETUP	"%s: io_uring: P holds 48 and a 2 MiB fixed buffer: its lease live with 'mm 512', the file on an mm line of its file_pins; C (inherited ring) shows nothing"
#define T_U_KILL	"%s: io_uring: P is SIGKILLed and reaped within 10 s"
#define T_U_ORPHAN	"%s: io_uring: P's lease orphaned (holder '-': P is dead), 512 pages still charged to 'mm'; truncate(2) fails with ETXTBSY"
#define T_U_C_EXIT	"%s: io_uring: C exits and is reaped within 10 s"
#define T_U_GONE	"%s: io_uring: no /proc/daxlease entry for the file"
#define T_U_TRUNC	"%s: io_uring: truncate(2) by another process succeeds"
#define T_UNLOAD	"every holder gone: delete_module succeeds (no lease, orphan or owner reference leaked)"
#define T_RESTORED	"daxlease module state restored (%s)"

/* What a holder reports back (shared memory). */
struct report {
	int lease_fd;
	int uverbs_fd;
	pid_t child;		/* fork cases: C */
	int recv_fd;		/* SCM_RIGHTS: R's fd of the uverbs file */
};

struct hold {
	const char *path;
	int lease_fd;		/* move the lease fd here (-1: leave it) */
	int uverbs_fd;		/* move the uverbs fd here (-1: leave it) */
	bool unmap;		/* munmap the file after registering */
	bool reg;		/* register an MR at all */
	int sock;		/* send the uverbs fd over it (-1: no) */
	bool fork_child;	/* fork C after registering */
	struct report *rep;
};

/*
 * Keeper: open the rxe device and the file, move the fds, take 48, map,
 * register, then whatever @arg asks. Keeps it all.
 */
static int hold(void *arg)
{
	struct hold *h = arg;
	struct ibv_mr *mr;
	struct verbs cv;
	void *map;
	pid_t pid;
	int fd;

	if (verbs_open(&cv, env_rxe()))
		return CHILD_SETUP_ERR;
	fd = open(h->path, O_RDWR);
	if (fd < 0) {
		diag("holder: open: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (h->lease_fd >= 0) {
		if (fd_move(fd, h->lease_fd))
			return CHILD_SETUP_ERR;
		fd = h->lease_fd;
	}
	if (h->uverbs_fd >= 0) {
		if (fd_move(cv.ctx->cmd_fd, h->uverbs_fd))
			return CHILD_SETUP_ERR;
		cv.ctx->cmd_fd = h->uverbs_fd;
	}
	h->rep->lease_fd = fd;
	h->rep->uverbs_fd = cv.ctx->cmd_fd;
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("holder: F_SETLEASE 48: %s", errno_name(errno));
		return errno;
	}
	map = file_map(fd, FILE_SIZE);
	if (!map)
		return CHILD_SETUP_ERR;
	if (!h->reg)
		return 0;
	mr = mr_reg(cv.pd, map, FILE_SIZE);
	if (!mr)
		return errno ? errno : CHILD_SETUP_ERR;
	if (h->unmap && munmap(map, FILE_SIZE)) {
		diag("holder: munmap: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (h->sock >= 0 && fd_send(h->sock, cv.ctx->cmd_fd)) {
		diag("holder: sendmsg SCM_RIGHTS: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (h->fork_child) {
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			diag("holder: fork: %s", errno_name(errno));
			return CHILD_SETUP_ERR;
		}
		if (!pid) {
			/* C: keeps the inherited fds, mapping and MR */
			keeper_wait_release();
			_exit(0);
		}
		h->rep->child = pid;
	}
	return 0;
}

struct recv_arg {
	int sock;
	struct report *rep;
};

static int receive(void *arg)
{
	struct recv_arg *r = arg;
	int fd = fd_recv(r->sock);

	if (fd < 0) {
		diag("receiver: recvmsg: %s", errno_name(errno));
		return errno ? errno : CHILD_SETUP_ERR;
	}
	r->rep->recv_fd = fd;
	return 0;
}

/* A fresh file for a case: its path and escaped path; false + diag. */
static bool new_file(const char *dir, uint64_t seed, char *path, char *esc)
{
	int fd = fs_file_create(dir, FILE_SIZE, seed, path, PATH_MAX);
	bool good;

	if (fd < 0) {
		path[0] = '\0';
		return false;
	}
	good = !fd_path(0, fd, esc, PATH_MAX);
	close(fd);
	return good;
}

static void drop_file(const char *path)
{
	if (path[0] && unlink(path))
		diag("unlink %s: %s", path, errno_name(errno));
}

/* Expected view: one lease of @pid at @fd, @pages charged to @owner. */
static char *one_lease(pid_t pid, int fd, bool orphaned, unsigned long pages,
		       const char *esc, const char *owner)
{
	return cat_free(2, gv_lease(pid, fd, true, orphaned, pages, esc),
			pages ? gv_owner(pages, owner) : NULL);
}

static bool view_is(const char *esc, char *want)
{
	bool same = gview_is(esc, want);

	free(want);
	return same;
}

/* The holder's view and file_pins after setup. */
static bool holder_shown(pid_t pid, const struct report *rep,
			 const char *esc, unsigned long pages)
{
	char upath[PATH_MAX], *want;
	bool same;

	if (fd_path(pid, rep->uverbs_fd, upath, sizeof(upath)))
		return false;
	same = view_is(esc, one_lease(pid, rep->lease_fd, false, pages, esc,
				      upath));
	want = pages ? strf("%d: %s\n\t%s\n", rep->uverbs_fd, upath, esc) :
		       strf("%s", "");
	same = fpins_is(pid, want) && same;
	free(want);
	return same;
}

static void kill_order_case(const char *n, const char *dir, uint64_t seed,
			    int variant, struct report *rep)
{
	bool kill = variant & 1, lease_low = !(variant & 2),
	     unmap = variant & 4;
	const char *how = kill ? "SIGKILL" : "exit";
	const char *mapping = unmap ? "unmapped" : "mapped";
	int lfd = lease_low ? LOW_FD : HIGH_FD;
	int ufd = lease_low ? HIGH_FD : LOW_FD;
	char path[PATH_MAX], esc[PATH_MAX];
	struct chain c = CHAIN_INIT;
	struct keeper k = { -1 };
	struct hold h = {
		.path = path, .lease_fd = lfd, .uverbs_fd = ufd,
		.unmap = unmap, .reg = true, .sock = -1, .rep = rep,
	};
	int r = -1;

	if (new_file(dir, seed, path, esc)) {
		r = keeper_start(&k, hold, &h, true, -1);
		if (r)
			diag("holder: %s", child_result_name(r));
	}
	STEP(&c, !r && holder_shown(k.pid, rep, esc, FILE_PAGES),
	     T_K_SETUP, n, how, lfd, ufd, mapping);
	STEP(&c, !(kill ? keeper_kill(&k) : keeper_exit(&k)),
	     T_K_REAP, n, how, lfd, ufd, mapping);
	CHECK(&c, gview_becomes(esc, "", SETTLE_MS),
	      T_K_GONE, n, how, lfd, ufd, mapping);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, 0), T_K_TRUNC, n, how,
	      lfd, ufd, mapping);
	keeper_kill(&k);
	drop_file(path);
}

static void scm_case(const char *n, const char *dir, uint64_t seed,
		     struct report *rep)
{
	char path[PATH_MAX], esc[PATH_MAX], upath[PATH_MAX], *want;
	struct keeper s = { -1 }, r = { -1 };
	struct chain c = CHAIN_INIT;
	struct recv_arg ra;
	struct hold h = {
		.path = path, .lease_fd = -1, .uverbs_fd = -1, .reg = true,
		.rep = rep,
	};
	int sv[2] = { -1, -1 }, res = -1;
	pid_t spid = -1;

	if (!new_file(dir, seed, path, esc)) {
		;
	} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", errno_name(errno));
	} else {
		h.sock = sv[0];
		res = keeper_start(&s, hold, &h, true, sv[0]);
		if (res)
			diag("S: %s", child_result_name(res));
		spid = s.pid;
		ra.sock = sv[1];
		ra.rep = rep;
		if (!res) {
			res = keeper_start(&r, receive, &ra, true, sv[1]);
			if (res)
				diag("R: %s", child_result_name(res));
		}
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	STEP(&c, !res && !fd_path(r.pid, rep->recv_fd, upath, sizeof(upath)),
	     T_S_SETUP, n);
	if (c.ok)
		diag("S %d, R %d holds the uverbs file (%s) at fd %d",
		     (int)spid, (int)r.pid, upath, rep->recv_fd);
	STEP(&c, !keeper_kill(&s), T_S_KILL, n);

	want = c.ok ? strf("%d: %s\n\t%s\n", rep->recv_fd, upath, esc) : NULL;
	CHECK(&c, fpins_is(r.pid, want), T_S_R_PINS, n);
	free(want);
	/* S is dead: its lease names no holder (its pid may be reused) */
	CHECK(&c, view_is(esc, one_lease(-1, rep->lease_fd, true,
					 FILE_PAGES, esc, upath)), T_S_GV, n);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, ETXTBSY), T_S_TRUNC, n);
	CHECK(&c, module_unload_refused(), T_S_RMMOD, n);
	STEP(&c, !keeper_exit(&r), T_S_R_EXIT, n);
	CHECK(&c, gview_becomes(esc, "", SETTLE_MS), T_S_GONE, n);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, 0), T_S_TRUNC2, n);
	keeper_kill(&s);
	keeper_kill(&r);
	drop_file(path);
}

/* End C, P's fork child: it is ours only once P is gone. */
static int end_c(pid_t c, bool p_alive)
{
	int status;

	if (c <= 0)
		return -1;
	if (kill(c, SIGUSR1)) {
		diag("kill C %d: %s", (int)c, errno_name(errno));
		return -1;
	}
	if (p_alive)
		return wait_exited(c, REAP_MS);
	if (wait_bounded(c, &status, REAP_MS))
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		diag("C %d ended with status %#x", (int)c, status);
		return -1;
	}
	return 0;
}

/*
 * P runs @fn with @h on a fresh file at @path (h->path points to it):
 * keeper_start()'s result, or -1.
 */
static int start_p(struct keeper *p, int (*fn)(void *arg), struct hold *h,
		   const char *dir, uint64_t seed, char *path, char *esc)
{
	int r = -1;

	h->rep->child = -1;
	if (new_file(dir, seed, path, esc)) {
		r = keeper_start(p, fn, h, true, -1);
		if (r)
			diag("P: %s", child_result_name(r));
	}
	return r;
}

/* Whatever is left: P, then C (ours once P is gone) or its zombie; the file. */
static void end_p_c(struct keeper *p, const struct report *rep,
		    const char *path)
{
	int status;

	keeper_kill(p);
	if (rep->child > 0) {
		kill(rep->child, SIGKILL);
		if (waitpid(rep->child, &status, WNOHANG) == 0)
			wait_bounded(rep->child, &status, REAP_MS);
	}
	drop_file(path);
}

static void fork_case(const char *n, const char *dir, uint64_t seed,
		      bool child_first, struct report *rep)
{
	const char *first = child_first ? "child C" : "parent P";
	const char *second = child_first ? "parent P" : "child C";
	char path[PATH_MAX], esc[PATH_MAX], upath[PATH_MAX], *want;
	struct chain c = CHAIN_INIT;
	struct keeper p = { -1 };
	struct hold h = {
		.path = path, .lease_fd = -1, .uverbs_fd = -1, .reg = true,
		.sock = -1, .fork_child = true, .rep = rep,
	};
	int r = start_p(&p, hold, &h, dir, seed, path, esc);
	pid_t ppid = p.pid;

	want = NULL;
	if (!r && !fd_path(ppid, rep->uverbs_fd, upath, sizeof(upath))) {
		diag("P %d, C %d", (int)ppid, (int)rep->child);
		want = strf("%d: %s\n\t%s\n", rep->uverbs_fd, upath, esc);
	}
	STEP(&c, want && rep->child > 0 &&
	     holder_shown(ppid, rep, esc, FILE_PAGES) &
	     fpins_is(rep->child, want), T_F_SETUP, n, first);
	free(want);

	if (child_first)
		STEP(&c, !end_c(rep->child, true), T_F_FIRST, n, first, first);
	else
		STEP(&c, !keeper_kill(&p), T_F_FIRST, n, first, first);
	/* once P is dead, its lease names no pid (it may be reused) nor fd */
	CHECK(&c, view_is(esc, one_lease(child_first ? ppid : -1,
					 child_first ? rep->lease_fd : -1,
					 false, FILE_PAGES, esc, upath)) &
	      truncate_other_is(path, CUT_SIZE, ETXTBSY), T_F_STILL, n, first);
	if (child_first)
		STEP(&c, !keeper_exit(&p), T_F_SECOND, n, first, second);
	else
		STEP(&c, !end_c(rep->child, false), T_F_SECOND, n, first,
		     second);
	CHECK(&c, gview_becomes(esc, "", SETTLE_MS), T_F_GONE, n, first);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, 0), T_F_TRUNC, n, first);

	end_p_c(&p, rep, path);
}

/* Keeper P: lease, map, register a ring buffer, fork C holding the ring. */
static int hold_ring(void *arg)
{
	struct hold *h = arg;
	int fd, ring, err, ready[2];
	void *map;
	pid_t pid;
	char byte;

	fd = open(h->path, O_RDWR);
	if (fd < 0) {
		diag("P: open: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("P: F_SETLEASE 48: %s", errno_name(errno));
		return errno;
	}
	h->rep->lease_fd = fd;
	map = file_map(fd, FILE_SIZE);
	ring = uring_new();
	if (!map || ring < 0)
		return CHILD_SETUP_ERR;
	err = uring_register(ring, map, FILE_SIZE);
	if (err) {
		diag("P: IORING_REGISTER_BUFFERS: %s", errno_name(err));
		return err;
	}
	if (pipe(ready)) {
		diag("P: pipe: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		diag("P: fork: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (!pid) {
		/* C keeps only the ring: P's exit is the last close */
		munmap(map, FILE_SIZE);
		close(fd);
		close(ready[0]);
		close(ready[1]);
		keeper_wait_release();
		_exit(0);
	}
	/* C's copies of the fd and the mapping are gone when it closed its
	 * end of the pipe: read() returns 0 only then.
	 */
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 0) {
		diag("P: C did not drop the file");
		return CHILD_SETUP_ERR;
	}
	close(ready[0]);
	h->rep->child = pid;
	return 0;
}

static void uring_case(const char *n, const char *dir, uint64_t seed,
		       struct report *rep)
{
	char path[PATH_MAX], esc[PATH_MAX], *want;
	struct chain c = CHAIN_INIT;
	struct keeper p = { -1 };
	struct hold h = { .path = path, .rep = rep };
	int r = start_p(&p, hold_ring, &h, dir, seed, path, esc);
	pid_t ppid = p.pid;

	want = !r ? strf("%s\n", esc) : NULL;
	STEP(&c, want && rep->child > 0 &&
	     view_is(esc, cat_free(2, gv_lease(ppid, rep->lease_fd, true,
					       false, FILE_PAGES, esc),
				   strf("\tmm %lu\n", FILE_PAGES))) &
	     fpins_is(ppid, want) & fpins_is(rep->child, ""),
	     T_U_SETUP, n);
	free(want);
	STEP(&c, !keeper_kill(&p), T_U_KILL, n);
	/* P is dead: holder '-' */
	CHECK(&c, view_is(esc, cat_free(2, gv_lease(-1, rep->lease_fd, true,
						    true, FILE_PAGES, esc),
					strf("\tmm %lu\n", FILE_PAGES))) &
	      truncate_other_is(path, CUT_SIZE, ETXTBSY), T_U_ORPHAN, n);
	STEP(&c, !end_c(rep->child, false), T_U_C_EXIT, n);
	CHECK(&c, gview_becomes(esc, "", SETTLE_MS), T_U_GONE, n);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, 0), T_U_TRUNC, n);

	end_p_c(&p, rep, path);
}

static void die_before_reg(const char *n, const char *dir, uint64_t seed,
			   struct report *rep)
{
	char path[PATH_MAX], esc[PATH_MAX];
	struct chain c = CHAIN_INIT;
	struct keeper k = { -1 };
	struct hold h = {
		.path = path, .lease_fd = -1, .uverbs_fd = -1, .reg = false,
		.sock = -1, .rep = rep,
	};
	int r = -1;

	if (new_file(dir, seed, path, esc)) {
		r = keeper_start(&k, hold, &h, true, -1);
		if (r)
			diag("holder: %s", child_result_name(r));
	}
	STEP(&c, !r && holder_shown(k.pid, rep, esc, 0), T_D_SETUP, n);
	STEP(&c, !keeper_kill(&k), T_D_KILL, n);
	CHECK(&c, gview_becomes(esc, "", SETTLE_MS), T_D_GONE, n);
	CHECK(&c, truncate_other_is(path, CUT_SIZE, 0), T_D_TRUNC, n);
	keeper_kill(&k);
	drop_file(path);
}

int main(void)
{
	const struct dax_fs *fs, *use = NULL;
	struct report *rep;
	bool was_loaded, unloaded;
	const char *n, *dir;
	uint64_t seed;
	int i;

	plan(1 + N_ORDER * 4 + 9 + 2 * 6 + 4 + 6 + 2);
	seed = pattern_seed();

	if (!ok(!module_need(DAXLEASE_MODULE_NAME, env_module(), &was_loaded),
		T_LOADED))
		bail_out("cannot load the daxlease module");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		diag("PR_SET_CHILD_SUBREAPER: %s", errno_name(errno));
	rep = shared_alloc(sizeof(*rep));
	if (!rep)
		bail_out("no shared memory");

	for_each_dax_fs(fs)
		if (!use && fs->path)
			use = fs;
	n = use ? use->name : "xfs";
	dir = use ? use->path : NULL;
	if (use)
		diag("files on %s (%s)", n, dir);

	for (i = 0; i < N_ORDER; i++)
		kill_order_case(n, dir, seed, i, rep);
	scm_case(n, dir, seed, rep);
	fork_case(n, dir, seed, true, rep);
	fork_case(n, dir, seed, false, rep);
	die_before_reg(n, dir, seed, rep);
	uring_case(n, dir, seed, rep);

	/* stray zombies of reparented grandchildren */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	unloaded = !module_unload(DAXLEASE_MODULE_NAME);
	if (!unloaded)
		diag("delete_module: %s", errno_name(errno));
	unloaded = unloaded && !module_loaded(DAXLEASE_MODULE_NAME);
	ok(unloaded, T_UNLOAD);
	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   T_RESTORED, was_loaded ? "loaded again" : "left unloaded");
	return done_testing();
}
