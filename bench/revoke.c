/*
 * Cost of a recall, two ways in, against the normal deregistration of the
 * same MR by its holder, for 4 KiB, 1 MiB, 64 MiB and 1 GiB on XFS (ext4 up
 * to 64 MiB). Needs the daxlease module loaded.
 *
 * First, 100 verbs contexts with a PD, a CQ and an MR each come and go
 * (rxe_warm()). Each repetition forks holders H: one opens the rxe device (context, PD,
 * CQ), takes a breakable layout lease (16) on the file, maps and writes the
 * first SIZE bytes and registers them. Then, alternating:
 *
 * - dereg: H times ibv_dereg_mr(); objects: that and ibv_destroy_cq and
 *   ibv_dealloc_pd, the objects a revocation of the whole context would
 *   destroy (all but the async event file, which only ibv_close_device()
 *   can close); teardown: that and the rest of a cooperative teardown
 *   (ibv_close_device, F_UNLCK);
 * - revoke: an administrator's recall (`daxlease revoke FILE`): we time the
 *   write of "revoke FD" (FD: an O_PATH fd of the file) to /proc/daxlease;
 *   it returns once H's lease is gone and its pages are unpinned
 *   (module/revoke.c: SIGIO to H, the MR destroyed alone, wait for the
 *   pins to go). H is stopped (SIGSTOP) meanwhile: the revocation needs
 *   nothing of it, and on one vCPU the SIGIO would otherwise let H run
 *   inside the timed write. Continued, H checks that its MR was revoked
 *   alone (a command on it fails with EIO, no IBV_EVENT_DEVICE_FATAL) and
 *   that ibv_dereg_mr() of it returns 0.
 * - lease: the same revoke of a holder that registered nothing (context,
 *   PD and CQ open, the file leased and mapped): what recalling the lease
 *   costs (the write, F_UNLCK, SIGIO) without revoking an MR.
 * - trunc: the other way in, a layout change that must revoke: H registers
 *   (through a second open file of the same inode, which stays mapped),
 *   then closes its leased file, so that the lease is orphaned with its
 *   pins (as when its break times out); we time an ftruncate(2) of the
 *   file one page up, a size change that frees nothing, from the call to
 *   its return: the revocation, in the truncate's own context, is inside.
 *   plain: the same truncate with H mapping, writing and touching the file
 *   the same way (GUP, as registration does: gup_touch()) but without
 *   lease or MR, so that trunc - plain is what revoking costs the
 *   truncate, from the moment it may proceed. coop: H registers, then
 *   gives the pins back as a cooperative holder does after SIGIO
 *   (ibv_dereg_mr, timed: the deregistration to set trunc - plain
 *   against, of the same MR of the same file) and unlocks, before the same
 *   truncate (coop - plain: what the pins' history costs it, expected
 *   none). All three on a file of SIZE (at least 2 MiB) made for them:
 *   the truncate's scan for busy pages grows with the file; and the MR of
 *   that file may differ from the other file's (its pages order-0 folios
 *   where the other's are in a 2 MiB one: 24.7 against 4.5 thousand
 *   instructions to deregister 1 MiB on 7.x).
 *
 * Appends to revoke.csv:
 *
 *   size,kind,dereg_ns,teardown_ns,revoke_ns,reps,dereg_min_ns,dereg_max_ns,revoke_min_ns,revoke_max_ns,lease_ns,objects_ns,trunc_ns,plain_ns,coop_ns,coop_dereg_ns
 *
 * Then many MRs (many_sweep()): a holder with n = 1, 10, ... MAXMRS MRs of
 * one page each on one XFS file, deregistered by it or revoked by a recall
 * (each MR alone, the revocation walking the owner's pin contexts): does
 * the cost per MR stay flat? Appends to revoke_many.csv:
 *
 *   mrs,dereg_ns,revoke_ns,reps
 *
 *   revoke MAXSIZE [MAXMRS]	(e.g. 1G 10000)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "lease.h"
#include "tap.h"
#include "verbs.h"

#define HUGE		(2 * MiB)
#define EXT4_MAX	(64 * MiB)
#define MAX_REPS	11

enum kind { XFS, EXT4, NR_KINDS };

/* What a repetition measures (see the top of the file). */
enum what { DEREG, REVOKE, LEASE, TRUNC, PLAIN, COOP };

static const char *const kind_name[NR_KINDS] = { "xfs", "ext4" };

/* What H reports when it is done. */
struct report {
	int ok;			/* 1 if every step worked */
	uint64_t dereg_ns;	/* dereg, coop: ibv_dereg_mr */
	uint64_t objects_ns;	/* dereg: MR, CQ, PD */
	uint64_t teardown_ns;	/* dereg: MR, CQ, PD, context, F_UNLCK */
	int rereg_err;		/* revoke: a command on the MR, errno */
	bool fatal;		/* revoke: got IBV_EVENT_DEVICE_FATAL */
};

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static int reps_for(size_t size)
{
	if (size <= MiB)
		return MAX_REPS;
	if (size <= 64 * MiB)
		return 5;
	return 3;
}

/* A @len file in @dir allocated 2 MiB at a time and written once. */
static int file_make(const char *dir, size_t len, char *path)
{
	size_t off;
	char *map;
	int fd;

	snprintf(path, 4096, "%s/revoke.XXXXXX", dir ? dir : ".");
	fd = mkstemp(path);
	if (fd < 0) {
		diag("mkstemp %s: %s", path, errno_name(errno));
		return -1;
	}
	for (off = 0; off < len; off += HUGE) {
		if (fallocate(fd, 0, off, len - off < HUGE ? len - off : HUGE)) {
			diag("fallocate %s: %s", path, errno_name(errno));
			return -1;
		}
	}
	/* unwritten extents become written here, not in a timed run */
	map = file_map(fd, len);
	if (!map)
		return -1;
	for (off = 0; off < len; off += 4 * KiB)
		map[off] = 0x5a;
	munmap(map, len);
	return fd;
}

/*
 * Touch @len bytes at @map through GUP, as ibv_reg_mr() does (the slow
 * path: a read of /proc/self/mem; the test kernels have no
 * process_vm_readv): GUP marks each folio accessed, and on 7.x what the
 * truncate's unmap then costs depends on how often a DAX folio was marked.
 * 0, or -1 with a diag.
 */
static int gup_touch(char *map, size_t len)
{
	static char buf[64 * KiB];
	size_t off, n;
	int fd = open("/proc/self/mem", O_RDONLY);

	if (fd < 0) {
		diag("open /proc/self/mem: %s", errno_name(errno));
		return -1;
	}
	for (off = 0; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (pread(fd, buf, n, (off_t)(uintptr_t)(map + off)) != (ssize_t)n) {
			diag("read /proc/self/mem: %s", errno_name(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* H: set up, say 'r' on @st, then do what @cmd says; report on @st. */
static void holder(const char *path, size_t size, enum what what, int st,
		   int cmd)
{
	/* SA_RESTART: the SIGIO comes while H waits for its command */
	struct sigaction sa = { .sa_handler = on_sigio, .sa_flags = SA_RESTART };
	struct report rep = { 0 };
	struct verbs v = { 0 };
	struct ibv_mr *mr = NULL;
	uint64_t t0;
	size_t off;
	char *map, c;
	int fd, mfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	fd = open(path, O_RDWR);
	if (fd < 0 || (what != PLAIN && lease_set(fd, F_LAYOUT)) ||
	    verbs_open(&v, env_rxe())) {
		diag("holder: open, lease or rxe: %s", errno_name(errno));
		_exit(1);
	}
	/*
	 * TRUNC maps a second open file, so that closing the leased one
	 * orphans the lease while the file stays mapped: a truncate waits for
	 * busy DAX pages only in a mapped file (dax_layout_busy_page()).
	 */
	mfd = what == TRUNC || what == PLAIN || what == COOP ?
	      open(path, O_RDWR) : fd;
	map = mfd < 0 ? NULL : file_map(mfd, size);
	if (!map)
		_exit(1);
	for (off = 0; off < size; off += 4 * KiB)
		map[off] = 0x5a;
	if (what != LEASE && what != PLAIN) {
		mr = mr_reg(v.pd, map, size);
		if (!mr)
			_exit(1);
	} else if (what == PLAIN && gup_touch(map, size)) {
		_exit(1);
	}
	if (what == TRUNC)
		close(fd);	/* last close: the lease is orphaned, pinned */
	/* a holder that gave everything back in time, as after a SIGIO */
	if (what == COOP) {
		t0 = now_ns();
		if (ibv_dereg_mr(mr))
			_exit(1);
		rep.dereg_ns = now_ns() - t0;
		if (lease_set(fd, F_UNLCK))
			_exit(1);
	}
	if (write(st, "r", 1) != 1 || read(cmd, &c, 1) != 1)
		_exit(1);
	if (what == LEASE) {
		rep.ok = sigio_count > 0;
		verbs_close(&v);
	} else if (what == PLAIN || what == COOP) {
		rep.ok = 1;
		verbs_close(&v);
	} else if (what == DEREG) {
		t0 = now_ns();
		rep.ok = !ibv_dereg_mr(mr);
		rep.dereg_ns = now_ns() - t0;
		rep.ok &= !ibv_destroy_cq(v.cq) && !ibv_dealloc_pd(v.pd);
		rep.objects_ns = now_ns() - t0;
		v.cq = NULL;
		v.pd = NULL;
		rep.ok &= !verbs_close(&v) && !lease_set(fd, F_UNLCK);
		rep.teardown_ns = now_ns() - t0;
	} else {
		/* the write returned once the pins were gone: no wait */
		rep.rereg_err = verbs_cmd_rereg_access(mr, MR_ACCESS);
		rep.fatal = verbs_got_event(v.ctx, IBV_EVENT_DEVICE_FATAL);
		rep.ok = rep.rereg_err == EIO && !rep.fatal &&
			 !ibv_dereg_mr(mr);
		verbs_close(&v);
	}
	if (write(st, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(rep.ok ? 0 : 1);
}

/* The times one repetition fills in, in ns. */
struct times {
	double dereg, objects, teardown, revoke, trunc;
};

/*
 * The timed truncate of TRUNC and PLAIN: one page beyond @fsize, a size
 * change that frees nothing (both file systems wait for busy DAX pages, and
 * daxlease revokes, on any), then back, untimed.
 */
static int truncate_timed(int fd, size_t fsize, double *ns)
{
	static char page[4 * KiB] __attribute__((aligned(4096)));
	uint64_t t0;

	/*
	 * On 7.x the truncate's unmap marks each DAX folio accessed, which
	 * for a folio off the LRU walks this CPU's LRU batch: empty it
	 * (mlock drains it), or what other processes left there decides
	 * the cost (up to 40 thousand instructions for 256 pages).
	 */
	if (mlock(page, sizeof(page)) || munlock(page, sizeof(page))) {
		diag("mlock: %s", errno_name(errno));
		return -1;
	}
	t0 = now_ns();

	if (ftruncate(fd, fsize + 4 * KiB)) {
		diag("ftruncate: %s", errno_name(errno));
		return -1;
	}
	*ns = now_ns() - t0;
	if (ftruncate(fd, fsize)) {
		diag("ftruncate back: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

/* A forked holder H and the pipes to it. */
struct holder_run {
	pid_t pid;
	int st[2], cmd[2];	/* H says on st, we on cmd */
};

/*
 * Fork H running @fn (set up, say 'r' on st, act on what comes on cmd,
 * report, exit) and wait for its 'r'. 0, or -1; holder_end() either way.
 */
static int holder_start(struct holder_run *h,
			void (*fn)(const char *path, size_t size,
				   enum what what, int st, int cmd),
			const char *path, size_t size, enum what what)
{
	char c;

	h->pid = -1;
	h->st[0] = -1;
	h->cmd[1] = -1;
	if (pipe(h->st))
		return -1;
	if (pipe(h->cmd)) {
		close(h->st[1]);
		return -1;
	}
	fflush(NULL);
	h->pid = fork();
	if (!h->pid) {
		close(h->st[0]);
		close(h->cmd[1]);
		fn(path, size, what, h->st[1], h->cmd[0]);
	}
	close(h->st[1]);
	close(h->cmd[0]);
	if (h->pid > 0 && read(h->st[0], &c, 1) == 1 && c == 'r')
		return 0;
	diag("holder did not get ready (%s %zu)", path, size);
	return -1;
}

/* Close our ends and reap H: @err, or -1 if H did not exit 0. */
static int holder_end(struct holder_run *h, int err)
{
	int status;

	if (h->st[0] >= 0)
		close(h->st[0]);
	if (h->cmd[1] >= 0)
		close(h->cmd[1]);
	if (h->pid < 0 || waitpid(h->pid, &status, 0) != h->pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return err;
}

/*
 * An administrator's recall of @path (the write of "revoke FD" to
 * /proc/daxlease), timed into *@ns. H is stopped meanwhile: the revocation
 * needs nothing of it, and on one vCPU its SIGIO handler would otherwise
 * run inside the timed write. 0, or -1 with a diag.
 */
static int recall_timed(const char *path, pid_t pid, int proc_fd, double *ns)
{
	int pfd = open(path, O_PATH), status, len, err = -1;
	char line[32];
	uint64_t t0;

	len = snprintf(line, sizeof(line), "revoke %d\n", pfd);
	if (pfd < 0 || kill(pid, SIGSTOP) ||
	    waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		diag("open %s, SIGSTOP the holder: %s", path, errno_name(errno));
		goto out;
	}
	t0 = now_ns();
	if (write(proc_fd, line, len) == len) {
		*ns = now_ns() - t0;
		err = 0;
	} else {
		diag("revoke %s: %s", path, errno_name(errno));
	}
	if (kill(pid, SIGCONT))
		err = -1;
out:
	if (pfd >= 0)
		close(pfd);
	return err;
}

/*
 * One repetition on @path (@fd, @fsize bytes) measuring @what into @t:
 * dereg, objects and teardown (DEREG), revoke (REVOKE, LEASE), trunc
 * (TRUNC, PLAIN, COOP) and dereg (COOP). 0, or -1 with a diag.
 */
static int one(const char *path, int fd, size_t fsize, size_t size,
	       enum what what, int proc_fd, struct times *t)
{
	struct report rep = { 0 };
	struct holder_run h;

	if (holder_start(&h, holder, path, size, what))
		return holder_end(&h, -1);
	if (what == REVOKE || what == LEASE) {
		if (recall_timed(path, h.pid, proc_fd, &t->revoke) ||
		    write(h.cmd[1], "x", 1) != 1)
			return holder_end(&h, -1);
	} else if (what == TRUNC || what == PLAIN || what == COOP) {
		/* H waits in read(2): nothing wakes it during the truncate */
		if (truncate_timed(fd, fsize, &t->trunc) ||
		    write(h.cmd[1], "x", 1) != 1)
			return holder_end(&h, -1);
	} else if (write(h.cmd[1], "d", 1) != 1) {
		return holder_end(&h, -1);
	}
	if (read(h.st[0], &rep, sizeof(rep)) != sizeof(rep) || !rep.ok) {
		diag("holder: %s failed (a command on the MR: %s; device fatal: %d)",
		     what == DEREG ? "dereg" : "revoke",
		     errno_name(rep.rereg_err), rep.fatal);
		return holder_end(&h, -1);
	}
	if (what == COOP)
		t->dereg = rep.dereg_ns;
	if (what == DEREG) {
		t->dereg = rep.dereg_ns;
		t->objects = rep.objects_ns;
		t->teardown = rep.teardown_ns;
	}
	return holder_end(&h, 0);
}

/*
 * Many MRs: H registers @n MRs of one page each (page i of a file of @n
 * pages, under one breakable lease), says 'r', and then deregisters them
 * all (timed, DEREG) or, revoked by an administrator's recall meanwhile
 * (REVOKE), checks that its last MR went alone (EIO, no
 * IBV_EVENT_DEVICE_FATAL) and deregisters the revoked MRs.
 */
static void many_holder(const char *path, size_t n, enum what what, int st,
			int cmd)
{
	bool revoke = what == REVOKE;
	struct sigaction sa = { .sa_handler = on_sigio, .sa_flags = SA_RESTART };
	struct report rep = { .ok = 1 };
	struct verbs v = { 0 };
	struct ibv_mr **mr;
	uint64_t t0;
	char *map, c;
	size_t i;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	mr = calloc(n, sizeof(*mr));
	fd = open(path, O_RDWR);
	if (!mr || fd < 0 || lease_set(fd, F_LAYOUT) ||
	    verbs_open(&v, env_rxe())) {
		diag("holder of MRs: open, lease or rxe: %s", errno_name(errno));
		_exit(1);
	}
	map = file_map(fd, n * 4 * KiB);
	if (!map)
		_exit(1);
	for (i = 0; i < n; i++) {
		map[i * 4 * KiB] = 0x5a;
		mr[i] = mr_reg(v.pd, map + i * 4 * KiB, 4 * KiB);
		if (!mr[i])
			_exit(1);
	}
	if (write(st, "r", 1) != 1 || read(cmd, &c, 1) != 1)
		_exit(1);
	if (revoke) {
		rep.rereg_err = verbs_cmd_rereg_access(mr[n - 1], MR_ACCESS);
		rep.fatal = verbs_got_event(v.ctx, IBV_EVENT_DEVICE_FATAL);
		rep.ok = rep.rereg_err == EIO && !rep.fatal;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		rep.ok &= !ibv_dereg_mr(mr[i]);
	rep.dereg_ns = now_ns() - t0;
	if (!revoke)
		rep.ok &= !lease_set(fd, F_UNLCK);
	verbs_close(&v);
	if (write(st, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(rep.ok ? 0 : 1);
}

/*
 * One repetition of many_holder() on @path: the deregistration of its @n
 * MRs, or the recall that revokes them, into *@ns.
 */
static int many(const char *path, long n, bool revoke, int proc_fd,
		double *ns)
{
	struct report rep = { 0 };
	struct holder_run h;

	if (holder_start(&h, many_holder, path, n, revoke ? REVOKE : DEREG) ||
	    (revoke && recall_timed(path, h.pid, proc_fd, ns)))
		return holder_end(&h, -1);
	if (write(h.cmd[1], "x", 1) != 1 ||
	    read(h.st[0], &rep, sizeof(rep)) != sizeof(rep) || !rep.ok) {
		diag("holder of %ld MRs: %s failed (a command on the last: %s; device fatal: %d)",
		     n, revoke ? "revoke" : "dereg", errno_name(rep.rereg_err),
		     rep.fatal);
		return holder_end(&h, -1);
	}
	if (!revoke)
		*ns = rep.dereg_ns;
	return holder_end(&h, 0);
}

/*
 * 1 to @max MRs of one holder on one XFS file, each count alternating
 * dereg and revoke MANY_REPS times: revoke_many.csv, total times (median).
 */
#define MANY_REPS	3

static int many_sweep(long max, int proc_fd)
{
	double d[MANY_REPS], rv[MANY_REPS];
	char path[4096];
	FILE *csv;
	long n;
	int r, fd;

	csv = csv_open("revoke_many.csv", "mrs,dereg_ns,revoke_ns,reps");
	if (!csv)
		return -1;
	for (n = 1; n <= max; n *= 10) {
		fd = file_make(env_get("DAXLEASE_XFS"), n * 4 * KiB, path);
		if (fd < 0)
			return -1;
		for (r = 0; r < MANY_REPS; r++) {
			if (many(path, n, r & 1, proc_fd, r & 1 ? &rv[r] : &d[r]) ||
			    many(path, n, !(r & 1), proc_fd, r & 1 ? &d[r] : &rv[r]))
				return -1;
		}
		close(fd);
		unlink(path);
		fprintf(csv, "%ld,%.0f,%.0f,%d\n", n, median(d, MANY_REPS),
			median(rv, MANY_REPS), MANY_REPS);
		fflush(csv);
	}
	fclose(csv);
	return 0;
}

/*
 * In a fresh boot the first holders' objects are destroyed cheaper (a
 * 4 KiB revoke 8.1 thousand instructions, after some 60 holders 9.5; a
 * dereg 4.7, later 4.35), so the results depended on how many holders ran
 * before; likely because rxe's pools and restrack number contexts, PDs,
 * CQs and MRs cyclically in xarrays, a level deeper past index 63.
 * Measure as on a machine that has run a while: WARM contexts with a PD,
 * a CQ and an MR each come and go first.
 */
#define WARM	100

static int rxe_warm(void)
{
	static char buf[4 * KiB] __attribute__((aligned(4096)));
	struct ibv_mr *mr;
	struct verbs v;
	int i;

	for (i = 0; i < WARM; i++) {
		if (verbs_open(&v, env_rxe()))
			return -1;
		mr = mr_reg(v.pd, buf, sizeof(buf));
		if (!mr || ibv_dereg_mr(mr) || verbs_close(&v)) {
			diag("rxe warm-up %d failed", i);
			return -1;
		}
	}
	return 0;
}

/* Column @off (a double) of @t[0..@n) into @out; returns @out. */
static double *column(const struct times *t, int n, size_t off, double *out)
{
	int i;

	for (i = 0; i < n; i++)
		out[i] = *(const double *)((const char *)&t[i] + off);
	return out;
}

#define MED(t, n, field, buf) median(column(t, n, offsetof(struct times, field), buf), n)

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 4 * KiB, MiB, 64 * MiB, GiB };
	static const char *const dirs[NR_KINDS] = {
		"DAXLEASE_XFS", "DAXLEASE_EXT4"
	};
	struct times t[MAX_REPS], lease[MAX_REPS], plain[MAX_REPS], coop[MAX_REPS];
	double col[MAX_REPS], d[MAX_REPS], rv[MAX_REPS];
	char path[NR_KINDS][4096], tpath[4096];
	size_t max, fmax[NR_KINDS], si, tsize;
	int fd[NR_KINDS], k, r, reps, proc_fd, tfd;
	enum what first, second;
	long max_mrs;
	FILE *csv;

	max = argc >= 2 && argc <= 3 ? size_parse(argv[1]) : 0;
	max_mrs = argc == 3 ? atol(argv[2]) : 10000;
	if (!max || max_mrs < 1) {
		diag("usage: revoke MAXSIZE (4K..1G) [MAXMRS (default 10000)]");
		return 2;
	}
	csv = csv_open("revoke.csv",
		       "size,kind,dereg_ns,teardown_ns,revoke_ns,reps,dereg_min_ns,dereg_max_ns,revoke_min_ns,revoke_max_ns,lease_ns,objects_ns,trunc_ns,plain_ns,coop_ns,coop_dereg_ns");
	proc_fd = open("/proc/daxlease", O_WRONLY);
	if (!csv || proc_fd < 0) {
		diag("open /proc/daxlease for writing: %s", errno_name(errno));
		return 1;
	}
	if (rxe_warm())
		return 1;
	for (k = 0; k < NR_KINDS; k++) {
		fmax[k] = k == EXT4 && max > EXT4_MAX ? EXT4_MAX : max;
		fd[k] = file_make(env_get(dirs[k]), fmax[k], path[k]);
		if (fd[k] < 0)
			return 1;
	}
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t size = sizes[si];

		reps = reps_for(size);
		for (k = 0; k < NR_KINDS; k++) {
			if (size > fmax[k])
				continue;
			/*
			 * The truncates wait for busy pages in a scan of the
			 * whole file (4.1 million instructions for 1 GiB, which
			 * drowned a 4 KiB revocation): a file just big enough,
			 * which nothing else touches (every touch of a DAX
			 * folio changes what the next unmap of it costs).
			 */
			tsize = size < HUGE ? HUGE : size;
			tfd = fd[k];
			strcpy(tpath, path[k]);
			if (tsize != fmax[k])
				tfd = file_make(env_get(dirs[k]), tsize, tpath);
			if (tfd < 0)
				return 1;
			memset(t, 0, sizeof(t));
			/* the pairs alternate, which goes first too */
			for (r = 0; r < reps; r++) {
				first = r & 1 ? REVOKE : DEREG;
				second = r & 1 ? DEREG : REVOKE;
				if (one(path[k], fd[k], fmax[k], size, first,
					proc_fd, &t[r]) ||
				    one(path[k], fd[k], fmax[k], size, second,
					proc_fd, &t[r]) ||
				    one(path[k], fd[k], fmax[k], size, LEASE,
					proc_fd, &lease[r]) ||
				    one(tpath, tfd, tsize, size,
					r & 1 ? TRUNC : PLAIN, proc_fd,
					r & 1 ? &t[r] : &plain[r]) ||
				    one(tpath, tfd, tsize, size,
					r & 1 ? PLAIN : TRUNC, proc_fd,
					r & 1 ? &plain[r] : &t[r]) ||
				    one(tpath, tfd, tsize, size, COOP, proc_fd,
					&coop[r]))
					return 1;
			}
			if (tfd != fd[k]) {
				close(tfd);
				unlink(tpath);
			}
			column(t, reps, offsetof(struct times, dereg), d);
			column(t, reps, offsetof(struct times, revoke), rv);
			fprintf(csv, "%zu,%s,%.0f,%.0f,%.0f,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n",
				size, kind_name[k], median(d, reps),
				MED(t, reps, teardown, col), median(rv, reps),
				reps, min_of(d, reps), max_of(d, reps),
				min_of(rv, reps), max_of(rv, reps),
				MED(lease, reps, revoke, col),
				MED(t, reps, objects, col),
				MED(t, reps, trunc, col),
				MED(plain, reps, trunc, col),
				MED(coop, reps, trunc, col),
				MED(coop, reps, dereg, col));
			fflush(csv);
		}
	}
	fclose(csv);
	for (k = 0; k < NR_KINDS; k++) {
		close(fd[k]);
		unlink(path[k]);
	}
	if (many_sweep(max_mrs, proc_fd))
		return 1;
	close(proc_fd);
	return 0;
}
