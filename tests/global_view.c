/*
 * The global view /proc/daxlease, daxlease loaded (design README: "who
 * blocks truncate of this file?" answered from file to holders; format in
 * module/report.c): for every lease "<pid> <fd> <unbreakable|breakable>
 * <live|orphaned> <pinned pages> <path>", then one "\t<file|mm|closed>
 * <pages> [<owner>]" line per owner with pins under it. Read by root only.
 *
 * Each step of a scenario on XFS and on ext4 compares the lines for the
 * file exactly (tests/lib/report.h: lease blocks and owner lines in any
 * order, nothing else): holder pid and fd, kind, state, page counts (base
 * pages: 2 MiB = 512, 1 MiB = 256) and owners, as leases, MRs of one and of
 * two ibv_contexts, a second holder process, a breakable lease, an orphan
 * and their ends come and go. Also: a breakable lease leaves the view when
 * a lease break ends it (released on SIGIO, or timed out); the holder pid
 * is translated into the pid namespace of the /proc mount read (0 when
 * not visible there); one MR spanning the mappings of
 * two leased files is charged to each; one spanning a leased and an
 * unleased file fails with EOPNOTSUPP (nobody leases the second file: the
 * stock answer) and leaves no count behind.
 *
 * Not reachable from user space, so not tested: "mm" owner lines (no
 * long-term pinner without an owner file can pin fsdax pages, see
 * file_pins_proc) and "closed" owner lines (an owner file is released in
 * the same __fput() that destroys its MRs, so its pins are gone by the time
 * anyone can read the view).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
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
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define HALF_SIZE	(1UL << 20)
#define QUARTER_SIZE	(512UL << 10)
#define FILE_PAGES	512UL
#define NOBODY		65534
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define VIEW_MAX	(256UL << 10)
#define FS_POINTS	18

/* Point names, the same whether the point runs or is skipped. */
#define T_RXE		"open the rxe device twice (two ibv_contexts)"
#define T_EACCES	"uid/gid 65534: reading /proc/daxlease fails with EACCES"
#define T_LBT		"set " LBT_PATH " to 1"
#define T_CREATE	"%s: create files A, B, C and D of 2 MiB"
#define T_LEASE0	"%s: 48 on A, no pins: exactly '<pid> <fd> unbreakable live 0 <A>'"
#define T_PIN512	"%s: MR of A's 2 MiB mapping: 'live 512' and one owner line '\\tfile 512 <uverbs path>'"
#define T_PIN768	"%s: second MR of A's first 1 MiB, same context: 768 pages, one owner line of 768"
#define T_OWNER2	"%s: the second ibv_context registers A's last 1 MiB: 1024 pages, owner lines 768 and 256"
#define T_HOLDER2	"%s: a helper process takes 48 on A: a second lease line '<its pid> <its fd> unbreakable live 0 <A>'"
#define T_PIDNS		"%s: read from a new pid namespace: through the inherited /proc the holder pids are those of its namespace (as /proc/locks), through its own /proc mount both are 0; the rest unchanged"
#define T_BREAK16	"%s: F_LAYOUT (16) on B: exactly '<pid> <fd> breakable live 0 <B>'"
#define T_BROKEN_REL	"%s: truncate(2) of B by another process breaks it, we F_UNLCK on SIGIO: truncate returns 0, B not listed"
#define T_FD_MOVED	"%s: B's lease fd dup()ed and closed: B's line shows fd '-'; dup2() back to that fd: the fd again"
#define T_BROKEN_TMO	"%s: 16 on B again, ignored break (lease-break-time 1 s): truncate returns 0 with the module's reference already dropped, F_GETLEASE F_UNLCK, B not listed"
#define T_DEREG		"%s: deregister the 1 MiB MR of the first context: 768 pages, owner lines 512 and 256"
#define T_ORPHAN	"%s: munmap and close our fd of A with the MRs alive: our lease 'orphaned 768', the helper's still live 0"
#define T_HELPER_GONE	"%s: the helper exits: only our orphaned lease is listed for A"
#define T_GONE		"%s: deregister the remaining MRs: no entry for A; truncate(2) of A by another process succeeds"
#define T_SPAN		"%s: 48 on C and D, mapped side by side, one 4 MiB MR over both: C 512 and D 512, one owner line each"
#define T_SPAN_BAD	"%s: D released; an MR over the last 1 MiB of C and the first 1 MiB of D (nobody leases D) fails with EOPNOTSUPP; C back to 0, D not listed"
#define T_CLEAN		"%s: release everything and unlink the files"
#define T_LBT_BACK	"restore " LBT_PATH
#define T_RXE_CLOSE	"close both ibv_contexts"

struct gfile {
	char path[PATH_MAX];
	char esc[PATH_MAX];
	int fd;
	bool leased;
};

static struct verbs v, v2;
static char upath[PATH_MAX], upath2[PATH_MAX];
static volatile sig_atomic_t sigio_count;
static volatile int release_fd = -1;	/* F_UNLCK it on SIGIO */

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
	if (release_fd >= 0)
		fcntl(release_fd, F_SETLEASE, F_UNLCK);
}

static int read_view_as_nobody(void *arg)
{
	const char *step;
	char *text;
	int err;

	(void)arg;
	err = drop_ids(NOBODY, NOBODY);
	if (err) {
		diag("reader: dropping privileges: %s", errno_name(err));
		return CHILD_SETUP_ERR;
	}
	text = text_read(DAXLEASE_PROC, &step);
	if (text) {
		diag("reader: %s was readable", DAXLEASE_PROC);
		free(text);
		return 0;
	}
	err = errno;
	diag("reader: %s %s: %s", step, DAXLEASE_PROC, errno_name(err));
	return err;
}

static bool gfile_create(struct gfile *f, const char *dir, uint64_t seed)
{
	f->leased = false;
	f->fd = fs_file_create(dir, FILE_SIZE, seed, f->path,
			       sizeof(f->path));
	if (f->fd < 0) {
		f->path[0] = '\0';
		return false;
	}
	return !fd_path(0, f->fd, f->esc, sizeof(f->esc));
}

static bool gfile_lease(struct gfile *f, int arg)
{
	if (lease_set(f->fd, arg)) {
		diag("F_SETLEASE %s: %s", lease_name(arg), errno_name(errno));
		return false;
	}
	f->leased = true;
	return true;
}

/* Global view text builders. */
static char *lease(pid_t pid, int fd, bool orphaned, unsigned long pages,
		   const struct gfile *f)
{
	return gv_lease(pid, fd, true, orphaned, pages, f->esc);
}

static char *own(unsigned long pages, const char *owner)
{
	return gv_owner(pages, owner);
}

/* gview_is() that frees @want. */
static bool view_is(const struct gfile *f, char *want)
{
	bool same = gview_is(f->esc, want);

	free(want);
	return same;
}

struct holder {
	const char *path;
	int *fd;		/* shared with us */
	void *map;		/* our mapping of the file, inherited */
};

static int hold_lease(void *arg)
{
	struct holder *h = arg;
	int fd;

	/* the inherited mapping would keep our leased file open */
	if (munmap(h->map, FILE_SIZE)) {
		diag("helper: munmap: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	fd = open(h->path, O_RDWR);

	if (fd < 0) {
		diag("helper: open: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("helper: F_SETLEASE 48: %s", errno_name(errno));
		return errno;
	}
	*h->fd = fd;
	return 0;
}

struct nsread {
	char *buf;		/* shared, VIEW_MAX bytes: the inherited /proc */
	char *buf2;		/* shared, VIEW_MAX bytes: its own /proc */
	int *err;		/* shared */
};

static int nscopy(char *buf, int *err)
{
	const char *step;
	char *text = text_read(DAXLEASE_PROC, &step);

	if (!text) {
		*err = errno;
		return 1;
	}
	snprintf(buf, VIEW_MAX, "%s", text);
	*err = strlen(text) < VIEW_MAX ? 0 : E2BIG;
	free(text);
	return *err != 0;
}

/*
 * In a new pid and mount namespace (as its init): copy /proc/daxlease
 * through the /proc mount it inherited, then through a /proc of its own.
 */
static int nsread_inner(struct nsread *r)
{
	if (nscopy(r->buf, r->err))
		return 1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", 0, NULL)) {
		*r->err = errno;
		return 1;
	}
	return nscopy(r->buf2, r->err);
}

static int nsread(void *arg)
{
	struct nsread *r = arg;
	int status;
	pid_t pid;

	if (unshare(CLONE_NEWPID | CLONE_NEWNS)) {
		*r->err = errno;
		return errno == EINVAL ? EINVAL : CHILD_SETUP_ERR;
	}
	pid = fork();
	if (pid < 0)
		return CHILD_SETUP_ERR;
	if (!pid)
		_exit(nsread_inner(r));
	if (wait_bounded(pid, &status, REAP_MS))
		return CHILD_SETUP_ERR;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 :
	       CHILD_SETUP_ERR;
}

/*
 * The A blocks as read from a new pid namespace, through the inherited /proc
 * (@want: pids of that /proc's namespace, as /proc/locks) and through its
 * own /proc mount (@want_ns: 0, the holders are not in it); -1 if
 * unsupported.
 */
static int pidns_view(const struct gfile *a, const char *want,
		      const char *want_ns)
{
	struct nsread r;
	char *canon, *wcanon;
	bool same;
	int res;

	r.buf = shared_alloc(VIEW_MAX);
	r.buf2 = shared_alloc(VIEW_MAX);
	r.err = shared_alloc(sizeof(int));
	if (!r.buf || !r.buf2 || !r.err)
		return 0;
	*r.err = -1;
	res = child_run(nsread, &r);
	if (res == EINVAL) {
		munmap(r.buf, VIEW_MAX);
		munmap(r.buf2, VIEW_MAX);
		munmap(r.err, sizeof(int));
		return -1;
	}
	same = false;
	if (res || *r.err) {
		diag("reading in a new pid namespace: %s (%s)",
		     child_result_name(res),
		     *r.err > 0 ? errno_name(*r.err) : "-");
	} else {
		canon = gview_canon(r.buf, a->esc);
		wcanon = gview_canon(want, NULL);
		same = text_is(DAXLEASE_PROC " from a new pid namespace",
			       canon, wcanon);
		free(canon);
		free(wcanon);
		canon = gview_canon(r.buf2, a->esc);
		wcanon = gview_canon(want_ns, NULL);
		same &= text_is(DAXLEASE_PROC " of its own /proc mount",
				canon, wcanon);
		free(canon);
		free(wcanon);
	}
	munmap(r.buf, VIEW_MAX);
	munmap(r.buf2, VIEW_MAX);
	munmap(r.err, sizeof(int));
	return same;
}

/* /sys/module/daxlease/refcnt, -1 with a diag if unreadable. */
static long module_refs(void)
{
	const char *step;
	char *text = text_read("/sys/module/daxlease/refcnt", &step);
	long refs;

	if (!text) {
		diag("%s /sys/module/daxlease/refcnt: %s", step,
		     errno_name(errno));
		return -1;
	}
	refs = atol(text);
	free(text);
	return refs;
}

/*
 * A breakable lease on @b ends by a lease break from another process's
 * truncate to @size: with @release we F_UNLCK in the SIGIO handler, else
 * the break times out. Then @b must not be listed.
 */
static bool break_ends(struct gfile *b, off_t size, bool release)
{
	int sig0 = sigio_count, r, type;
	bool pass = true;
	long refs0, refs;
	struct stat st;

	if (!gfile_lease(b, F_LAYOUT))
		return false;
	refs0 = module_refs();	/* the lease's record holds one */
	release_fd = release ? b->fd : -1;
	r = truncate_other(b->path, size);
	release_fd = -1;
	if (r) {
		diag("truncate by another process: %s", child_result_name(r));
		pass = false;
	}
	/*
	 * The lease is gone when the truncate returns (released, or timed
	 * out by the breaker): so are its record and module reference, with
	 * nothing read from /proc/daxlease or F_GETLEASE first.
	 */
	refs = module_refs();
	if (refs < 0 || refs != refs0 - 1) {
		diag("module refcnt %ld after the break, %ld with the lease",
		     refs, refs0);
		pass = false;
	}
	if (sigio_count == sig0) {
		diag("no SIGIO received");
		pass = false;
	}
	if (!stat(b->path, &st) && st.st_size != size) {
		diag("size %lld, expected %lld", (long long)st.st_size,
		     (long long)size);
		pass = false;
	}
	type = lease_get(b->fd);
	b->leased = type != F_UNLCK;
	if (type != F_UNLCK) {
		diag("F_GETLEASE returned %s after the break",
		     lease_name(type));
		pass = false;
	}
	return gview_is(b->esc, "") && pass;
}

/*
 * The fd column names the lease's fd only while that fd still refers to the
 * leased file: move B's fd away (the file stays open, the lease live), then
 * back.
 */
static bool fd_moved_shown(struct gfile *b)
{
	int nfd = dup(b->fd);
	bool pass;

	if (nfd < 0) {
		diag("dup: %s", errno_name(errno));
		return false;
	}
	close(b->fd);
	pass = view_is(b, gv_lease(getpid(), -1, false, false, 0, b->esc));
	if (dup2(nfd, b->fd) < 0) {
		diag("dup2: %s", errno_name(errno));
		pass = false;
	}
	close(nfd);
	return view_is(b, gv_lease(getpid(), b->fd, false, false, 0,
				   b->esc)) && pass;
}

/* Map @f's 2 MiB at @addr (MAP_FIXED): 0, or -1 with a diag. */
static int map_at(struct gfile *f, void *addr)
{
	void *p = mmap(addr, FILE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, f->fd, 0);

	if (p == addr)
		return 0;
	diag("mmap MAP_FIXED: %s", errno_name(errno));
	return -1;
}

/* C and D mapped side by side, one MR over both, then the refused one. */
static void span_points(struct chain *ch, const char *n, struct gfile *c,
			struct gfile *d)
{
	struct ibv_mr *mr = NULL;
	bool mapped = false, pass;
	char *base = NULL;
	pid_t me = getpid();

	if (ch->ok) {
		base = mmap(NULL, 2 * FILE_SIZE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED) {
			diag("mmap reservation: %s", errno_name(errno));
			base = NULL;
		} else if (gfile_lease(c, F_UNBREAKABLE) &&
			   gfile_lease(d, F_UNBREAKABLE) &&
			   !map_at(c, base) && !map_at(d, base + FILE_SIZE)) {
			mapped = true;
			mr = mr_reg(v.pd, base, 2 * FILE_SIZE);
		}
	}
	CHECK(ch, mr && view_is(c, cat_free(2, lease(me, c->fd, false,
						     FILE_PAGES, c),
					   own(FILE_PAGES, upath))) &
	      view_is(d, cat_free(2, lease(me, d->fd, false, FILE_PAGES, d),
				  own(FILE_PAGES, upath))), T_SPAN, n);
	if (mr_dereg(mr))
		mapped = false;
	mr = NULL;

	if (mapped && lease_set(d->fd, F_UNLCK)) {
		diag("F_UNLCK of D: %s", errno_name(errno));
		mapped = false;
	}
	if (mapped)
		d->leased = false;
	pass = false;
	if (ch->ok && mapped) {
		mr = ibv_reg_mr(v.pd, base + HALF_SIZE, FILE_SIZE, MR_ACCESS);
		if (mr) {
			diag("ibv_reg_mr over a leased and an unleased file "
			     "succeeded");
			ibv_dereg_mr(mr);
		} else if (errno != EOPNOTSUPP) {
			diag("ibv_reg_mr: %s, expected EOPNOTSUPP",
			     errno_name(errno));
		} else {
			pass = true;
		}
		pass = view_is(c, lease(me, c->fd, false, 0, c)) &
		       gview_is(d->esc, "") && pass;
	}
	CHECK(ch, pass, T_SPAN_BAD, n);
	if (base)
		munmap(base, 2 * FILE_SIZE);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed, bool lbt)
{
	struct gfile a = { .fd = -1 }, b = { .fd = -1 }, c = { .fd = -1 },
		     d = { .fd = -1 };
	struct ibv_mr *mr1 = NULL, *mr2 = NULL, *mr3 = NULL;
	struct chain ch = CHAIN_INIT;
	struct keeper k = { -1 };
	struct holder h;
	const char *n = fs->name;
	pid_t me = getpid();
	int *hfd = NULL, afd = -1, r = 0;
	void *amap = NULL;
	bool clean, pidns_ok;
	char *want, *want_ns;

	STEP(&ch, gfile_create(&a, fs->path, seed) &&
	     gfile_create(&b, fs->path, seed) &&
	     gfile_create(&c, fs->path, seed) &&
	     gfile_create(&d, fs->path, seed), T_CREATE, n);
	if (ch.ok)
		diag("%s: A %s, B %s, C %s, D %s", n, a.path, b.path, c.path,
		     d.path);
	afd = a.fd;

	STEP(&ch, gfile_lease(&a, F_UNBREAKABLE) &&
	     view_is(&a, lease(me, afd, false, 0, &a)), T_LEASE0, n);

	if (ch.ok) {
		amap = file_map(a.fd, FILE_SIZE);
		mr1 = amap ? mr_reg(v.pd, amap, FILE_SIZE) : NULL;
	}
	STEP(&ch, mr1 && view_is(&a, cat_free(2, lease(me, afd, false, 512, &a),
					    own(512, upath))), T_PIN512, n);

	if (ch.ok)
		mr2 = mr_reg(v.pd, amap, HALF_SIZE);
	STEP(&ch, mr2 && view_is(&a, cat_free(2, lease(me, afd, false, 768, &a),
					    own(768, upath))), T_PIN768, n);

	if (ch.ok)
		mr3 = mr_reg(v2.pd, (char *)amap + HALF_SIZE, HALF_SIZE);
	STEP(&ch, mr3 && view_is(&a, cat_free(3,
					    lease(me, afd, false, 1024, &a),
					    own(768, upath),
					    own(256, upath2))), T_OWNER2, n);

	if (ch.ok) {
		hfd = shared_alloc(sizeof(int));
		h.path = a.path;
		h.fd = hfd;
		h.map = amap;
		r = hfd ? keeper_start(&k, hold_lease, &h, true, -1) : -1;
		if (r)
			diag("helper: %s", child_result_name(r));
	}
	STEP(&ch, hfd && k.pid > 0 && !r &&
	     view_is(&a, cat_free(4, lease(me, afd, false, 1024, &a),
				  own(768, upath), own(256, upath2),
				  lease(k.pid, *hfd, false, 0, &a))),
	     T_HOLDER2, n);

	want = ch.ok ? cat_free(4, lease(me, afd, false, 1024, &a),
				own(768, upath), own(256, upath2),
				lease(k.pid, *hfd, false, 0, &a)) : NULL;
	want_ns = ch.ok ? cat_free(4, lease(0, afd, false, 1024, &a),
				   own(768, upath), own(256, upath2),
				   lease(0, *hfd, false, 0, &a)) : NULL;
	r = ch.ok ? pidns_view(&a, want, want_ns) : 0;
	pidns_ok = r == 1;
	free(want);
	free(want_ns);
	if (ch.ok && r < 0)
		skip("no pid namespaces (unshare CLONE_NEWPID: EINVAL)",
		     T_PIDNS, n);
	else
		CHECK(&ch, pidns_ok, T_PIDNS, n);

	CHECK(&ch, gfile_lease(&b, F_LAYOUT) &&
	      view_is(&b, gv_lease(me, b.fd, false, false, 0, b.esc)),
	      T_BREAK16, n);
	CHECK(&ch, fd_moved_shown(&b), T_FD_MOVED, n);
	if (!lbt) {
		skip("lease-break-time not set", T_BROKEN_REL, n);
		skip("lease-break-time not set", T_BROKEN_TMO, n);
	} else {
		CHECK(&ch, break_ends(&b, HALF_SIZE, true), T_BROKEN_REL, n);
		CHECK(&ch, break_ends(&b, QUARTER_SIZE, false), T_BROKEN_TMO,
		      n);
	}

	r = ch.ok ? mr_dereg(mr2) : -1;
	if (ch.ok)
		mr2 = NULL;
	STEP(&ch, !r && view_is(&a, cat_free(5,
					   lease(me, afd, false, 768, &a),
					   own(512, upath), own(256, upath2),
					   lease(k.pid, *hfd, false, 0, &a),
					   NULL)), T_DEREG, n);

	if (ch.ok) {
		r = munmap(amap, FILE_SIZE) | close(a.fd);
		if (r)
			diag("munmap/close: %s", errno_name(errno));
		amap = NULL;
		a.fd = -1;
		a.leased = false;
	}
	STEP(&ch, !r && view_is(&a, cat_free(4,
					   lease(me, afd, true, 768, &a),
					   own(512, upath), own(256, upath2),
					   lease(k.pid, *hfd, false, 0, &a))),
	     T_ORPHAN, n);

	STEP(&ch, !keeper_exit(&k) &&
	     view_is(&a, cat_free(3, lease(me, afd, true, 768, &a),
				  own(512, upath), own(256, upath2))),
	     T_HELPER_GONE, n);

	if (ch.ok) {
		r = mr_dereg(mr1) | mr_dereg(mr3);
		mr1 = mr3 = NULL;
	}
	CHECK(&ch, !r && gview_is(a.esc, "") &&
	      truncate_other(a.path, HALF_SIZE) == 0, T_GONE, n);

	span_points(&ch, n, &c, &d);

	/* whatever is left */
	clean = !mr_dereg(mr2) & !mr_dereg(mr1) & !mr_dereg(mr3);
	keeper_exit(&k);
	if (amap)
		munmap(amap, FILE_SIZE);
	if (hfd)
		munmap(hfd, sizeof(int));
	for (r = 0; r < 4; r++) {
		struct gfile *f = r == 0 ? &a : r == 1 ? &b : r == 2 ? &c : &d;

		if (f->leased && lease_set(f->fd, F_UNLCK)) {
			diag("F_UNLCK: %s", errno_name(errno));
			clean = false;
		}
		if (f->fd >= 0)
			close(f->fd);
		if (f->path[0] && unlink(f->path)) {
			diag("unlink %s: %s", f->path, errno_name(errno));
			clean = false;
		}
		if (f->path[0] && !gview_is(f->esc, ""))
			clean = false;
	}
	if (!a.path[0])
		skip("no files", T_CLEAN, n);
	else
		ok(clean, T_CLEAN, n);
}

int main(void)
{
	char lbt_old[32] = "";
	const struct dax_fs *fs;
	struct sigaction sa;
	bool was_loaded, lbt = false;
	uint64_t seed;
	int r;

	plan(4 + DAX_FS_COUNT * FS_POINTS + 3);
	seed = pattern_seed();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGIO, &sa, NULL);

	was_loaded = module_begin();
	if (!ok(!verbs_open(&v, env_rxe()) && !verbs_open(&v2, env_rxe()) &&
		!fd_path(0, v.ctx->cmd_fd, upath, sizeof(upath)) &&
		!fd_path(0, v2.ctx->cmd_fd, upath2, sizeof(upath2)), T_RXE))
		module_bail_out(was_loaded, "no rxe device");

	r = child_run(read_view_as_nobody, NULL);
	ok(r == EACCES, T_EACCES);

	lbt = !read_str(LBT_PATH, lbt_old, sizeof(lbt_old)) &&
	      !write_str(LBT_PATH, "1");
	ok(lbt, T_LBT);

	for_each_dax_fs(fs)
		test_fs(fs, seed, lbt);

	if (lbt)
		ok(!write_str(LBT_PATH, lbt_old), T_LBT_BACK);
	else
		skip("not changed", T_LBT_BACK);
	ok(!verbs_close(&v2) & !verbs_close(&v), T_RXE_CLOSE);
	module_end(was_loaded);
	return done_testing();
}
