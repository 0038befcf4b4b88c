/*
 * Hostile input for the layout-lease fcntl, daxlease loaded (issue 8,
 * point 4): a seeded fuzzer, bounded in time, over
 * - F_SETLEASE arguments: every value 0..127 (all combinations of F_RDLCK
 *   0, F_WRLCK 1, F_UNLCK 2 with the bits around F_LAYOUT 16 and
 *   F_EXCLUSIVE 32), negative and huge values (the kernel takes the int
 *   part of the unsigned long: 1 << 32 | 48 is 48), and F_GETLEASE;
 * - file types: regular fsdax files on XFS and ext4, regular non-DAX files
 *   on XFS and ext4 (the dax=never mounts), tmpfs, a directory, a fifo,
 *   the device-dax character device, a unix socket;
 * - open modes O_RDONLY, O_WRONLY, O_RDWR, O_PATH (those the type allows);
 * - orderings: random sequences of open, dup, close, lease, mmap,
 *   ibv_reg_mr, ibv_dereg_mr, munmap, the holder's truncate and a fork
 *   child's truncate, several fds and open files per case.
 *
 * Every outcome is compared with the one the errno table (module/README.md,
 * README.md) and the stock lease rules give for the state the test keeps:
 * per open file its lease (none, read, write, 16, 48), per unbreakable
 * lease its pinned pages, charged and uncharged the way the contract says
 * (the oldest live lease of the caller; a deregistration takes back exactly
 * what its registration charged, from that lease),
 * orphaned leases after the last close of a pinned one. A case ends by
 * releasing everything; then no lease or pin may be left in /proc/daxlease
 * and a regular file must still hold its size and pattern.
 *
 * Stock rules used (fs/locks.c): O_PATH fds get EBADF; F_UNLCK without a
 * lease on that open file EAGAIN; anything but F_RDLCK/F_WRLCK/F_UNLCK (and
 * the layout values) EINVAL; leases only on regular files (EINVAL); a read
 * lease fails with EAGAIN while the file is open for write anywhere, a
 * write lease while it is open by anybody else or another open file holds
 * any lease. Operations that would wait for a lease break (opening, or
 * truncating, a file with a read or write lease; a fork child truncating a
 * file with a breakable layout lease, also next to an unbreakable one) are
 * not generated: they wait by design. The fuzzer runs as root (owner or CAP_LEASE always; tests/
 * privilege.c covers the unprivileged caller).
 *
 * Every step runs under a CHILD_TIMEOUT_S alarm: a call that waits where
 * the table says it fails (a truncate of a pinned file, say) returns EINTR
 * and is reported instead of hanging the test.
 *
 * DAXLEASE_SEED sets the seed (printed), DAXLEASE_FUZZ_SECONDS (default 25)
 * the duration. Ends with "# summary:" lines: operations run and unexpected
 * outcomes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(64UL << 10)
#define FILE_PAGES	(FILE_SIZE / 4096)
#define DEFAULT_SECONDS	25
#define MAX_FILPS	4
#define MAX_FDS		6
#define MAX_MAPS	2
#define MAX_MRS		2
#define MAX_LEASES	16	/* unbreakable lease records per case */
#define MAX_STEPS	14
#define TRACE_LEN	2048

enum kind {
	K_DAX_XFS, K_DAX_EXT4, K_NODAX_XFS, K_NODAX_EXT4, K_TMPFS, K_DIR,
	K_FIFO, K_DEVDAX, K_SOCKET, N_KINDS
};

static const char *const kind_names[N_KINDS] = {
	"fsdax XFS file", "fsdax ext4 file", "non-DAX XFS file",
	"non-DAX ext4 file", "tmpfs file", "directory", "fifo",
	"device-dax", "unix socket",
};

enum mode { M_RDONLY, M_WRONLY, M_RDWR, M_PATH, N_MODES };

static const char *const mode_names[N_MODES] = {
	"O_RDONLY", "O_WRONLY", "O_RDWR", "O_PATH",
};

/* The lease an open file holds. */
enum held { H_NONE, H_RD, H_WR, H_L16, H_L48 };

enum stat_kind { S_SETLEASE, S_GETLEASE, S_MAP, S_TRUNC, S_CASE, N_STATS };

static const char *const stat_names[N_STATS] = {
	"F_SETLEASE", "F_GETLEASE", "mmap/ibv_reg_mr/ibv_dereg_mr",
	"truncate", "case end",
};

struct filp {
	bool alive;
	enum mode mode;
	int refs;		/* fds and mappings */
	enum held held;
	int lease;		/* index in leases[] of its 48 record, or -1 */
};

struct lrec {			/* an unbreakable lease record */
	bool used, orphaned;
	int filp;		/* -1 once orphaned */
	unsigned long npages;
	unsigned int order;	/* position in the inode's lease list */
};

struct prec {			/* our owner's record for one lease */
	int lease;		/* -1: unused */
	unsigned long npages;
	unsigned int order;	/* position in the owner's list */
};

struct fdent {
	int fd;			/* -1: unused */
	int filp;
};

struct mapent {
	void *addr;
	int filp;
};

struct mrent {
	struct ibv_mr *mr;
	int lease;		/* index in leases[] it was charged to, or -1 */
};

struct fuzz_case {
	enum kind kind;
	char path[PATH_MAX];
	struct filp filp[MAX_FILPS];
	struct fdent fd[MAX_FDS];
	struct mapent map[MAX_MAPS];
	struct mrent mr[MAX_MRS];
	struct lrec lease[MAX_LEASES];
	struct prec prec[MAX_LEASES];
	unsigned int next_order;
	char trace[TRACE_LEN];
	size_t tlen;
	bool bad;
};

static struct verbs v;
static uint64_t rng, seed;
static unsigned long runs[N_STATS], bad[N_STATS], total_ops, ncases;
static unsigned long kind_runs[N_KINDS], mode_runs[N_MODES];
static unsigned long stock_over_layout;	/* how often that rule applied */
static const char *dirs[N_KINDS];
static const char *devdax;
static int sock_pair[2] = { -1, -1 };

/* Point names, the same whether the point runs or is skipped. */
#define T_RXE		"open the rxe device"
#define T_OBJECTS	"every file type is there: fsdax XFS/ext4 files are DAX, the dax=never and tmpfs files are not, device-dax, fifo, directory, socket"
#define T_SET		"every F_SETLEASE returned what the errno table gives"
#define T_GET		"every F_GETLEASE returned the lease the open file holds"
#define T_MAP		"every mmap, ibv_reg_mr and ibv_dereg_mr returned what the table gives"
#define T_TRUNC		"every truncate by the holder or a fork child returned what the table gives"
#define T_CASE		"after each case nothing is left in /proc/daxlease and every regular file kept its size and pattern"
#define T_COVER		"every file type and every open mode it allows was exercised"

static void trace(struct fuzz_case *c, const char *fmt, ...)
	__printf(2, 3);

static void trace(struct fuzz_case *c, const char *fmt, ...)
{
	va_list ap;

	if (c->tlen >= TRACE_LEN - 1)
		return;
	va_start(ap, fmt);
	c->tlen += vsnprintf(c->trace + c->tlen, TRACE_LEN - c->tlen, fmt, ap);
	va_end(ap);
	if (c->tlen >= TRACE_LEN)
		c->tlen = TRACE_LEN - 1;
}

/* Got @r (errno @err), expected @want (0, an errno, or a value >= 0). */
static void check(struct fuzz_case *c, enum stat_kind s, long r, int err,
		  bool fails, long want, const char *what)
{
	bool pass = fails ? r < 0 && err == want : r == want;

	runs[s]++;
	total_ops++;
	trace(c, " %s=%s", what, r < 0 ? errno_name(err) : "ok");
	if (r >= 0 && s == S_GETLEASE)
		trace(c, "(%ld)", r);
	if (pass)
		return;
	bad[s]++;
	c->bad = true;
	if (fails)
		diag("UNEXPECTED %s: %s, expected %s", what,
		     r < 0 ? errno_name(err) : "success", errno_name(want));
	else
		diag("UNEXPECTED %s: %ld (%s), expected %ld", what, r,
		     r < 0 ? errno_name(err) : "-", want);
}

static bool regular(enum kind k)
{
	return k <= K_TMPFS;
}

static bool fsdax(enum kind k)
{
	return k == K_DAX_XFS || k == K_DAX_EXT4;
}

/* XFS and ext4 break breakable layout leases on truncate; tmpfs does not. */
static bool breaks_layouts(enum kind k)
{
	return k <= K_NODAX_EXT4;
}

static bool mode_allowed(enum kind k, enum mode m)
{
	switch (k) {
	case K_DIR:
		return m == M_RDONLY || m == M_PATH;
	case K_FIFO:
		return m != M_WRONLY;	/* would need a reader */
	case K_SOCKET:
		return m == M_RDWR;
	default:
		return true;
	}
}

static int open_flags(enum kind k, enum mode m)
{
	static const int acc[N_MODES] = { O_RDONLY, O_WRONLY, O_RDWR, O_PATH };
	int fl = acc[m] | O_CLOEXEC;

	if (k == K_DIR && m == M_RDONLY)
		fl |= O_DIRECTORY;
	if (k == K_FIFO && m == M_RDONLY)
		fl |= O_NONBLOCK;
	return fl;
}

static bool can_write(enum mode m)
{
	return m == M_WRONLY || m == M_RDWR;
}

/* ---- model queries ---- */

static bool any_stock_lease(struct fuzz_case *c)
{
	int i;

	for (i = 0; i < MAX_FILPS; i++)
		if (c->filp[i].alive &&
		    (c->filp[i].held == H_RD || c->filp[i].held == H_WR))
			return true;
	return false;
}

static bool any_held(struct fuzz_case *c, enum held h)
{
	int i;

	for (i = 0; i < MAX_FILPS; i++)
		if (c->filp[i].alive && c->filp[i].held == h)
			return true;
	return false;
}

/* Unbreakable leases on the file, live or orphaned. */
static bool any_unbreakable(struct fuzz_case *c)
{
	int i;

	for (i = 0; i < MAX_LEASES; i++)
		if (c->lease[i].used)
			return true;
	return false;
}

static int writers(struct fuzz_case *c)
{
	int i, n = 0;

	for (i = 0; i < MAX_FILPS; i++)
		n += c->filp[i].alive && can_write(c->filp[i].mode);
	return n;
}

static int readers_only(struct fuzz_case *c)
{
	int i, n = 0;

	for (i = 0; i < MAX_FILPS; i++)
		n += c->filp[i].alive && c->filp[i].mode == M_RDONLY;
	return n;
}

/* The lease pins are charged to: our oldest live unbreakable one, or -1. */
static int charge_target(struct fuzz_case *c)
{
	int i, best = -1;

	for (i = 0; i < MAX_LEASES; i++)
		if (c->lease[i].used && !c->lease[i].orphaned &&
		    (best < 0 || c->lease[i].order < c->lease[best].order))
			best = i;
	return best;
}

static int lease_new(struct fuzz_case *c, int filp)
{
	int i;

	for (i = 0; i < MAX_LEASES; i++) {
		if (c->lease[i].used)
			continue;
		memset(&c->lease[i], 0, sizeof(c->lease[i]));
		c->lease[i].used = true;
		c->lease[i].filp = filp;
		c->lease[i].order = c->next_order++;
		return i;
	}
	bail_out("out of lease records");
}

static void lease_drop(struct fuzz_case *c, int filp)
{
	struct filp *f = &c->filp[filp];

	if (f->lease >= 0)
		c->lease[f->lease].used = false;
	f->lease = -1;
	f->held = H_NONE;
}

static void charge(struct fuzz_case *c, int lease, unsigned long n)
{
	int i, free_i = -1;

	c->lease[lease].npages += n;
	for (i = 0; i < MAX_LEASES; i++) {
		if (c->prec[i].lease == lease) {
			c->prec[i].npages += n;
			return;
		}
		if (c->prec[i].lease < 0 && free_i < 0)
			free_i = i;
	}
	c->prec[free_i].lease = lease;
	c->prec[free_i].npages = n;
	c->prec[free_i].order = c->next_order++;
}

/* An MR went: exactly its @n pages leave @lease, the one it charged. */
static void uncharge(struct fuzz_case *c, int lease, unsigned long n)
{
	struct lrec *l = &c->lease[lease];
	int i;

	for (i = 0; i < MAX_LEASES; i++) {
		struct prec *p = &c->prec[i];

		if (p->lease != lease)
			continue;
		p->npages -= n;
		if (!p->npages)
			p->lease = -1;
	}
	l->npages -= n;
	if (l->orphaned && !l->npages)
		l->used = false;
}

/* A reference to @filp went; at the last one its lease goes or orphans. */
static void filp_put(struct fuzz_case *c, int filp)
{
	struct filp *f = &c->filp[filp];

	if (--f->refs)
		return;
	f->alive = false;
	if (f->held == H_L48 && c->lease[f->lease].npages) {
		c->lease[f->lease].orphaned = true;
		c->lease[f->lease].filp = -1;
		f->lease = -1;
		f->held = H_NONE;
		return;
	}
	lease_drop(c, filp);
}

/* ---- operations ---- */

static int pick_fd(struct fuzz_case *c)
{
	int i, n = 0, want;

	for (i = 0; i < MAX_FDS; i++)
		n += c->fd[i].fd >= 0;
	if (!n)
		return -1;
	want = rng_below(&rng, n);
	for (i = 0; i < MAX_FDS; i++)
		if (c->fd[i].fd >= 0 && !want--)
			return i;
	return -1;
}

static int free_fd_slot(struct fuzz_case *c)
{
	int i;

	for (i = 0; i < MAX_FDS; i++)
		if (c->fd[i].fd < 0)
			return i;
	return -1;
}

static bool op_open(struct fuzz_case *c)
{
	int s = free_fd_slot(c), f, m;

	if (s < 0 || c->kind == K_SOCKET || any_stock_lease(c))
		return false;	/* an open would break the lease: waits */
	for (f = 0; f < MAX_FILPS && c->filp[f].alive; f++)
		;
	if (f == MAX_FILPS)
		return false;
	do
		m = rng_below(&rng, N_MODES);
	while (!mode_allowed(c->kind, m));
	c->fd[s].fd = open(c->path, open_flags(c->kind, m));
	if (c->fd[s].fd < 0) {
		diag("open %s %s: %s", c->path, mode_names[m],
		     errno_name(errno));
		c->bad = true;
		return true;
	}
	c->fd[s].filp = f;
	memset(&c->filp[f], 0, sizeof(c->filp[f]));
	c->filp[f].alive = true;
	c->filp[f].mode = m;
	c->filp[f].refs = 1;
	c->filp[f].lease = -1;
	mode_runs[m]++;
	trace(c, " open(%s)->%d", mode_names[m], s);
	return true;
}

static bool op_dup(struct fuzz_case *c)
{
	int from = pick_fd(c), s = free_fd_slot(c);

	if (from < 0 || s < 0)
		return false;
	c->fd[s].fd = fcntl(c->fd[from].fd, F_DUPFD_CLOEXEC, 0);
	if (c->fd[s].fd < 0) {
		diag("dup: %s", errno_name(errno));
		c->bad = true;
		return true;
	}
	c->fd[s].filp = c->fd[from].filp;
	c->filp[c->fd[s].filp].refs++;
	trace(c, " dup(%d)->%d", from, s);
	return true;
}

static bool op_close(struct fuzz_case *c)
{
	int s = pick_fd(c);

	if (s < 0)
		return false;
	close(c->fd[s].fd);
	c->fd[s].fd = -1;
	trace(c, " close(%d)", s);
	filp_put(c, c->fd[s].filp);
	return true;
}

/* A random F_SETLEASE argument: valid ones, bit combinations, edges, huge. */
static unsigned long random_arg(void)
{
	static const long edges[] = {
		-1, -2, -16, -17, -32, -48, -49, INT_MIN, INT_MIN | 16,
		INT_MIN | 48, INT_MAX, INT_MAX & ~15, 64, 80, 112, 128, 144,
		256 | 16, (1 << 20) | 48, 0x7fffff30,
	};
	static const int meaningful[] = {
		F_RDLCK, F_WRLCK, F_UNLCK, F_LAYOUT, F_UNBREAKABLE,
	};

	switch (rng_below(&rng, 5)) {
	case 0:		/* so that sequences of valid calls happen too */
		return meaningful[rng_below(&rng, 5)];
	case 1:
	case 2:
		return rng_below(&rng, 128);
	case 3:
		return (unsigned long)edges[rng_below(&rng,
					sizeof(edges) / sizeof(edges[0]))];
	default:	/* the kernel uses the low 32 bits */
		return rng_next(&rng) << 32 |
		       (unsigned long)(rng_below(&rng, 4) ? rng_below(&rng, 64) :
				       rng_next(&rng) & 0xffffffffUL);
	}
}

/*
 * The expected result of F_SETLEASE @a on @f (errno in *@err, or 0), and
 * the model updated for a success.
 */
static int expect_setlease(struct fuzz_case *c, int filp, int a)
{
	struct filp *f = &c->filp[filp];
	enum held want;

	if (f->mode == M_PATH)
		return EBADF;
	if (a == F_UNLCK) {
		if (!regular(c->kind))
			return EINVAL;
		switch (f->held) {
		case H_NONE:
			return EAGAIN;
		case H_L48:
			if (c->lease[f->lease].npages)
				return EBUSY;
			/* fall through */
		default:
			lease_drop(c, filp);
			return 0;
		}
	}
	if (a & (F_LAYOUT | F_EXCLUSIVE)) {
		if ((a & ~(F_LAYOUT | F_EXCLUSIVE)) || !(a & F_LAYOUT))
			return EINVAL;
		if (!regular(c->kind))
			return EINVAL;
		if (a == F_UNBREAKABLE && !fsdax(c->kind))
			return EINVAL;
		if (f->held == H_RD || f->held == H_WR)
			return EAGAIN;
		want = a == F_UNBREAKABLE ? H_L48 : H_L16;
		if (f->held == want)
			return 0;
		if (f->held == H_L48 && c->lease[f->lease].npages)
			return EBUSY;	/* switching kinds releases first */
		lease_drop(c, filp);
		f->held = want;
		if (want == H_L48)
			f->lease = lease_new(c, filp);
		return 0;
	}
	if (a != F_RDLCK && a != F_WRLCK)
		return EINVAL;
	if (!regular(c->kind))
		return EINVAL;
	if (a == F_RDLCK && writers(c))
		return EAGAIN;
	if (a == F_WRLCK) {
		int i;

		if (writers(c) != can_write(f->mode) ||
		    readers_only(c) != (f->mode == M_RDONLY))
			return EAGAIN;
		for (i = 0; i < MAX_FILPS; i++)
			if (i != filp && c->filp[i].alive &&
			    c->filp[i].held != H_NONE)
				return EAGAIN;
	}
	/* a read or write lease where a layout lease is: EAGAIN */
	if (f->held == H_L16 || f->held == H_L48) {
		stock_over_layout++;
		return EAGAIN;
	}
	f->held = a == F_RDLCK ? H_RD : H_WR;
	return 0;
}

static bool op_setlease(struct fuzz_case *c)
{
	int s = pick_fd(c), want, r, err;
	unsigned long arg = random_arg();
	char what[96];

	if (s < 0)
		return false;
	r = syscall(SYS_fcntl, c->fd[s].fd, F_SETLEASE, arg);
	err = errno;
	want = expect_setlease(c, c->fd[s].filp, (int)arg);
	snprintf(what, sizeof(what), "F_SETLEASE(%d, %#lx = %d)", s, arg,
		 (int)arg);
	check(c, S_SETLEASE, r, err, want != 0, want, what);
	return true;
}

/* A layout lease, then at once a read or write lease on the same fd. */
static bool op_lease_over(struct fuzz_case *c)
{
	int s = pick_fd(c), i, want, r, err;
	int args[2] = {
		rng_below(&rng, 2) ? F_LAYOUT : F_UNBREAKABLE,
		rng_below(&rng, 2) ? F_RDLCK : F_WRLCK,
	};
	char what[64];

	if (s < 0)
		return false;
	for (i = 0; i < 2; i++) {
		r = lease_set(c->fd[s].fd, args[i]);
		err = errno;
		want = expect_setlease(c, c->fd[s].filp, args[i]);
		snprintf(what, sizeof(what), "F_SETLEASE(%d, %s)", s,
			 lease_name(args[i]));
		check(c, S_SETLEASE, r, err, want != 0, want, what);
	}
	return true;
}

static bool op_getlease(struct fuzz_case *c)
{
	static const int value[] = {
		[H_NONE] = F_UNLCK, [H_RD] = F_RDLCK, [H_WR] = F_WRLCK,
		[H_L16] = F_LAYOUT, [H_L48] = F_UNBREAKABLE,
	};
	int s = pick_fd(c), r, err;
	struct filp *f;
	char what[48];

	if (s < 0)
		return false;
	f = &c->filp[c->fd[s].filp];
	r = fcntl(c->fd[s].fd, F_GETLEASE);
	err = errno;
	snprintf(what, sizeof(what), "F_GETLEASE(%d)", s);
	if (f->mode == M_PATH)
		check(c, S_GETLEASE, r, err, true, EBADF, what);
	else
		check(c, S_GETLEASE, r, err, false, value[f->held], what);
	return true;
}

static bool op_mmap(struct fuzz_case *c)
{
	int s = pick_fd(c), m, want;
	struct filp *f;
	void *addr;

	for (m = 0; m < MAX_MAPS && c->map[m].addr; m++)
		;
	if (s < 0 || m == MAX_MAPS || c->kind == K_DEVDAX)
		return false;	/* device-dax needs 2 MiB alignment */
	f = &c->filp[c->fd[s].filp];
	addr = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    c->fd[s].fd, 0);
	/* do_mmap(): write access, then read access, then ->mmap */
	if (f->mode == M_PATH)
		want = EBADF;
	else if (f->mode != M_RDWR)
		want = EACCES;
	else if (!regular(c->kind))
		want = ENODEV;
	else
		want = 0;
	check(c, S_MAP, addr == MAP_FAILED ? -1 : 0, errno, want != 0, want,
	      "mmap");
	if (addr == MAP_FAILED)
		return true;
	if (want) {
		munmap(addr, FILE_SIZE);
		return true;
	}
	c->map[m].addr = addr;
	c->map[m].filp = c->fd[s].filp;
	f->refs++;
	return true;
}

static bool op_munmap(struct fuzz_case *c)
{
	int m = rng_below(&rng, MAX_MAPS);

	if (!c->map[m].addr)
		return false;
	munmap(c->map[m].addr, FILE_SIZE);
	c->map[m].addr = NULL;
	trace(c, " munmap");
	filp_put(c, c->map[m].filp);
	return true;
}

static bool op_reg(struct fuzz_case *c)
{
	int m = rng_below(&rng, MAX_MAPS), r, want, target = -1;
	struct ibv_mr *mr;

	for (r = 0; r < MAX_MRS && c->mr[r].mr; r++)
		;
	if (!c->map[m].addr || r == MAX_MRS)
		return false;
	if (fsdax(c->kind)) {
		target = charge_target(c);
		/*
		 * Pins under the caller's breakable lease only are revocable
		 * (tests/recall); the model charges unbreakable leases.
		 */
		if (target < 0 && any_held(c, H_L16))
			return false;
		/* no layout lease on the file at all: stock's EOPNOTSUPP */
		want = target >= 0 ? 0 :
		       any_unbreakable(c) || any_held(c, H_L16) ? EPERM :
		       EOPNOTSUPP;
	} else if (c->kind == K_TMPFS) {
		want = 0;	/* shmem: pinned as stock */
	} else {
		want = EFAULT;	/* page cache that needs dirty tracking */
	}
	mr = ibv_reg_mr(v.pd, c->map[m].addr, FILE_SIZE, MR_ACCESS);
	check(c, S_MAP, mr ? 0 : -1, errno, want != 0, want, "ibv_reg_mr");
	if (!mr)
		return true;
	c->mr[r].mr = mr;
	c->mr[r].lease = target;
	if (target >= 0)
		charge(c, target, FILE_PAGES);
	return true;
}

static bool op_dereg(struct fuzz_case *c)
{
	int r = rng_below(&rng, MAX_MRS), err;

	if (!c->mr[r].mr)
		return false;
	err = ibv_dereg_mr(c->mr[r].mr);
	check(c, S_MAP, err ? -1 : 0, err, false, 0, "ibv_dereg_mr");
	c->mr[r].mr = NULL;
	if (c->mr[r].lease >= 0)
		uncharge(c, c->mr[r].lease, FILE_PAGES);
	c->mr[r].lease = -1;
	return true;
}

/* truncate(2) to one page more, then back if it succeeded. */
static int truncate_twice(const char *path)
{
	if (truncate(path, FILE_SIZE + 4096))
		return errno;
	return truncate(path, FILE_SIZE) ? errno | 0x100 : 0;
}

static int expect_truncate(struct fuzz_case *c, bool holder)
{
	if (c->kind == K_DIR)
		return EISDIR;
	if (!regular(c->kind))
		return EINVAL;
	if (any_unbreakable(c))
		return holder ? EDEADLK : ETXTBSY;
	return 0;
}

static bool op_truncate(struct fuzz_case *c)
{
	int want, r;

	/* a read/write lease would be broken: the truncate waits */
	if (c->kind == K_SOCKET || any_stock_lease(c))
		return false;
	want = expect_truncate(c, true);
	r = truncate_twice(c->path);
	check(c, S_TRUNC, r ? -1 : 0, r, want != 0, want, "truncate");
	return true;
}

static int child_truncate(void *arg)
{
	return truncate_twice(arg);
}

/* A fork child (keeping every fd and mapping) truncates, then exits. */
static bool op_fork(struct fuzz_case *c)
{
	int want, r;
	pid_t pid;
	int status;

	/*
	 * The child would wait for a lease break; on XFS, whose own lease
	 * break comes before daxlease's verdict, a 16 is broken (SIGIO) even
	 * when a 48 then refuses the truncate.
	 */
	if (c->kind == K_SOCKET || any_stock_lease(c) ||
	    (breaks_layouts(c->kind) && any_held(c, H_L16)))
		return false;
	want = expect_truncate(c, false);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		timeout_arm(CHILD_TIMEOUT_S);
		_exit(child_truncate(c->path));
	}
	if (pid < 0 || wait_bounded(pid, &status, REAP_MS)) {
		if (pid > 0)
			kill_reap(pid);
		r = CHILD_DIED;
	} else {
		r = WIFEXITED(status) ? WEXITSTATUS(status) : CHILD_DIED;
	}
	check(c, S_TRUNC, r ? -1 : 0, r, want != 0, want,
	      "fork child's truncate");
	return true;
}

/* ---- cases ---- */

static bool make_object(struct fuzz_case *c)
{
	int fd;

	switch (c->kind) {
	case K_DIR:
		snprintf(c->path, sizeof(c->path), "%s/fuzz-dir.XXXXXX",
			 dirs[K_DIR]);
		return mkdtemp(c->path) != NULL;
	case K_FIFO:
		snprintf(c->path, sizeof(c->path), "%s/fuzz-fifo-%d",
			 dirs[K_FIFO], (int)getpid());
		unlink(c->path);
		return !mkfifo(c->path, 0600);
	case K_DEVDAX:
		snprintf(c->path, sizeof(c->path), "%s", devdax);
		return true;
	case K_SOCKET:
		snprintf(c->path, sizeof(c->path), "(socket)");
		return true;
	default:
		fd = pattern_file_create(dirs[c->kind], FILE_SIZE, seed,
					 c->path, sizeof(c->path));
		if (fd < 0)
			return false;
		close(fd);
		return true;
	}
}

/* Release everything, check what is left, remove the object. */
static void end_case(struct fuzz_case *c)
{
	const char *step;
	char *text;
	int i, fd;
	bool fine = true;

	for (i = 0; i < MAX_MRS; i++)
		if (c->mr[i].mr && ibv_dereg_mr(c->mr[i].mr)) {
			diag("cleanup: ibv_dereg_mr failed");
			fine = false;
		}
	for (i = 0; i < MAX_MAPS; i++)
		if (c->map[i].addr)
			munmap(c->map[i].addr, FILE_SIZE);
	for (i = 0; i < MAX_FDS; i++)
		if (c->fd[i].fd >= 0)
			close(c->fd[i].fd);

	text = text_read(DAXLEASE_PROC, &step);
	if (!text || *text) {
		diag("after the case, %s: %s", DAXLEASE_PROC,
		     text ? text : errno_name(errno));
		fine = false;
	}
	free(text);
	if (regular(c->kind)) {
		fd = open(c->path, O_RDONLY);
		if (fd < 0 || pattern_file_check(fd, FILE_SIZE, seed))
			fine = false;
		if (fd >= 0)
			close(fd);
		unlink(c->path);
	} else if (c->kind == K_DIR) {
		rmdir(c->path);
	} else if (c->kind == K_FIFO) {
		unlink(c->path);
	}
	runs[S_CASE]++;
	if (!fine) {
		bad[S_CASE]++;
		c->bad = true;
	}
}

static void run_case(void)
{
	static bool (*const ops[])(struct fuzz_case *) = {
		op_open, op_dup, op_close, op_setlease, op_setlease,
		op_setlease, op_lease_over, op_getlease, op_getlease, op_mmap,
		op_munmap, op_reg, op_reg, op_dereg, op_truncate, op_fork,
	};
	static struct fuzz_case c;
	unsigned int steps, i, tries;
	bool done;
	int s;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < MAX_FDS; i++)
		c.fd[i].fd = -1;
	for (i = 0; i < MAX_LEASES; i++)
		c.prec[i].lease = -1;
	c.kind = rng_below(&rng, N_KINDS);
	if (!make_object(&c)) {
		diag("cannot make a %s: %s", kind_names[c.kind],
		     errno_name(errno));
		bad[S_CASE]++;
		return;
	}
	kind_runs[c.kind]++;
	trace(&c, "%s:", kind_names[c.kind]);
	if (c.kind == K_SOCKET) {
		c.fd[0].fd = fcntl(sock_pair[0], F_DUPFD_CLOEXEC, 0);
		c.filp[0] = (struct filp){ .alive = true, .mode = M_RDWR,
					   .refs = 1, .lease = -1 };
		mode_runs[M_RDWR]++;
	} else {
		op_open(&c);
	}
	steps = 3 + rng_below(&rng, MAX_STEPS - 3);
	for (i = 0; i < steps; i++) {
		for (tries = 0; tries < 8; tries++) {
			s = rng_below(&rng, sizeof(ops) / sizeof(ops[0]));
			/* a call that waits instead of failing fails with EINTR */
			timeout_arm(CHILD_TIMEOUT_S);
			done = ops[s](&c);
			timeout_disarm();
			if (done)
				break;
		}
	}
	end_case(&c);
	ncases++;
	if (c.bad)
		diag("case %lu: %s", ncases, c.trace);
}

static bool objects_ready(void)
{
	static const char *const vars[] = {
		[K_DAX_XFS] = "DAXLEASE_XFS", [K_DAX_EXT4] = "DAXLEASE_EXT4",
		[K_NODAX_XFS] = "DAXLEASE_XFS_NODAX",
		[K_NODAX_EXT4] = "DAXLEASE_EXT4_NODAX",
		[K_TMPFS] = "DAXLEASE_TMP",
	};
	struct stat st;
	char path[PATH_MAX];
	int k, fd, dax;
	bool fine = true;

	for (k = 0; k <= K_TMPFS; k++) {
		dirs[k] = env_get(vars[k]);
		if (!dirs[k]) {
			diag("%s is not set", vars[k]);
			return false;
		}
		fd = pattern_file_create(dirs[k], 4096, seed, path,
					 sizeof(path));
		if (fd < 0)
			return false;
		dax = file_is_dax(fd);
		if (dax != fsdax(k)) {
			diag("%s: DAX is %d", path, dax);
			fine = false;
		}
		close(fd);
		unlink(path);
	}
	dirs[K_DIR] = dirs[K_DAX_XFS];
	dirs[K_FIFO] = dirs[K_TMPFS];
	devdax = env_get("DAXLEASE_DEVDAX");
	if (!devdax || stat(devdax, &st) || !S_ISCHR(st.st_mode)) {
		diag("no device-dax device (DAXLEASE_DEVDAX=%s)",
		     devdax ? devdax : "");
		return false;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock_pair)) {
		diag("socketpair: %s", errno_name(errno));
		return false;
	}
	return fine;
}

static bool covered(void)
{
	int k, m;
	bool all = true;

	for (k = 0; k < N_KINDS; k++) {
		if (!kind_runs[k]) {
			diag("no case on a %s", kind_names[k]);
			all = false;
		}
	}
	for (m = 0; m < N_MODES; m++) {
		if (!mode_runs[m]) {
			diag("no %s open", mode_names[m]);
			all = false;
		}
	}
	return all;
}

static void summary(void)
{
	unsigned long unexpected = 0;
	int s;

	for (s = 0; s < N_STATS; s++)
		unexpected += bad[s];
	diag("summary: fuzz seed %#" PRIx64 ", %lu cases, %lu operations (%s %lu, %s %lu, %s %lu, %s %lu)",
	     seed, ncases, total_ops, stat_names[S_SETLEASE], runs[S_SETLEASE],
	     stat_names[S_GETLEASE], runs[S_GETLEASE], stat_names[S_MAP],
	     runs[S_MAP], stat_names[S_TRUNC], runs[S_TRUNC]);
	diag("summary: fuzz read/write lease requests over a layout lease: %lu",
	     stock_over_layout);
	diag("summary: fuzz unexpected outcomes: %lu", unexpected);
}

int main(void)
{
	const char *secs = env_get("DAXLEASE_FUZZ_SECONDS");
	long long end;
	bool was_loaded;

	plan(1 + 2 + 6 + 1);
	seed = pattern_seed();
	rng = seed;
	was_loaded = module_begin();
	if (!ok(!verbs_open(&v, env_rxe()), T_RXE))
		bail_out("no rxe device");
	if (!ok(objects_ready(), T_OBJECTS))
		bail_out("a file type is missing");

	end = clock_ms() + (secs ? atoi(secs) : DEFAULT_SECONDS) * 1000LL;
	while (clock_ms() < end)
		run_case();

	ok(!bad[S_SETLEASE], T_SET);
	ok(!bad[S_GETLEASE], T_GET);
	ok(!bad[S_MAP], T_MAP);
	ok(!bad[S_TRUNC], T_TRUNC);
	ok(!bad[S_CASE], T_CASE);
	ok(covered(), T_COVER);
	verbs_close(&v);
	module_end(was_loaded);
	summary();
	return done_testing();
}
