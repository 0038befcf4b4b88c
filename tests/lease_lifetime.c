/*
 * Lease lifetime and pin owners, daxlease loaded (design README,
 * "Lifetime"; module/README.md, "Leases" and "Pins and owners"), on XFS and
 * ext4, every state checked in the global view /proc/daxlease line by line:
 *
 * - F_UNLCK with pins taken under the lease: EBUSY, the lease stays (48).
 * - A fork child inherits the leased fd and the mapping but not the lease:
 *   its registration fails with EPERM (the lease belongs to the tgid).
 * - munmap() with the MR alive is allowed and changes nothing; close() of
 *   the lease fd then orphans the lease: still listed (same pid, fd and page
 *   count, "orphaned"), still refusing layout changes (ETXTBSY for others,
 *   EDEADLK for the holder process), file still in our file_pins, no
 *   new pins under it (EPERM).
 * - A new lease beside the orphan takes new pins; deregistering that MR
 *   takes exactly its pages from the new lease, not from the orphan of the
 *   same owner and file (pin contexts record what they charged, module
 *   README), so F_UNLCK of the new lease works at once while the orphan
 *   stays; the orphan disappears with its own MR, and then the next
 *   truncate works.
 * - The other order: close() first keeps the lease live (the mapping holds
 *   the file), munmap() then orphans it.
 * - The owner outlives its fd: a child closes the uverbs fd of its
 *   ibv_context while the context's CQ mapping keeps that file (and so the
 *   MR) alive. The pins stay charged to that owner (global view), no fd
 *   block is left in the child's file_pins (no fd refers to the owner, and
 *   the pins are not mm-owned), truncate stays refused; when the child
 *   exits everything goes.
 *
 * Pages: a 2 MiB registration counts 512 base pages (4 KiB), whether the
 * DAX mapping is PMD-mapped or not; 1 MiB counts 256.
 *
 * Not repeated here: the unload refusal with a live lease or pin
 * (module_unload; with an orphan: teardown).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
#define CUT_SIZE	(1UL << 20)
#define FILE_PAGES	512UL
#define HALF_PAGES	256UL
#define OP_TIMEOUT_S	5
#define FS_POINTS	26

/* Point names, the same whether the point runs or is skipped. */
#define T_SETUP		"%s: create a 2 MiB file, F_SETLEASE 48, map it, register the mapping as an MR"
#define T_BUSY		"%s: F_SETLEASE F_UNLCK with the MR alive fails with EBUSY; F_GETLEASE still returns 48"
#define T_CHILD		"%s: a fork child (inherited leased fd and mapping, own ibv_context) cannot register the mapping: EPERM"
#define T_MUNMAP	"%s: munmap with the MR alive returns 0; /proc/daxlease: the lease still live with 512 pages"
#define T_MUNMAP_TRUNC	"%s: unmapped but pinned: truncate(2) by another process fails with ETXTBSY, size unchanged"
#define T_CLOSE		"%s: close of the lease fd returns 0; /proc/daxlease: the lease orphaned, same pid, fd and 512 pages"
#define T_ORPHAN_TRUNC	"%s: orphaned: truncate(2) by another process fails with ETXTBSY, size unchanged"
#define T_ORPHAN_SELF	"%s: orphaned: ftruncate by the holder process through a new fd fails with EDEADLK at once"
#define T_ORPHAN_FPINS	"%s: orphaned: our /proc/<pid>/file_pins still lists the file under the uverbs fd"
#define T_ORPHAN_PIN	"%s: orphaned: a new fd's mapping, no other lease: ibv_reg_mr fails with EPERM"
#define T_NEW_LEASE	"%s: that fd takes 48 beside the orphan and registers 1 MiB of its mapping"
#define T_TWO		"%s: /proc/daxlease: orphaned lease 512 pages, new live lease 256; file_pins lists the file once"
#define T_DEREG_NEW	"%s: deregister the 1 MiB MR: exactly its pages leave the new lease: orphaned 512, live 0"
#define T_UNLCK		"%s: F_UNLCK of the new lease returns 0 with the orphan still pinned; /proc/daxlease: only the orphan, 512 pages"
#define T_DEREG_OLD	"%s: deregister the first MR: the orphan is gone; no /proc/daxlease entry for the file"
#define T_TRUNC_OK	"%s: truncate(2) by another process now succeeds, size 1 MiB"
#define T_B_SETUP	"%s: second file: F_SETLEASE 48, map, register"
#define T_B_CLOSE	"%s: close of the lease fd first: the mapping keeps the file, the lease stays live with 512 pages, fd '-'"
#define T_B_MUNMAP	"%s: then munmap: the lease is orphaned (512 pages); truncate(2) by another process fails with ETXTBSY"
#define T_B_DEREG	"%s: deregister: no /proc/daxlease entry for the file; truncate(2) by another process succeeds"
#define T_O_SETUP	"%s: child: 48 and an MR, then it closes its uverbs fd (its CQ mapping keeps the uverbs file open)"
#define T_O_GV		"%s: /proc/daxlease: the child's lease live with 512 pages, still charged to the uverbs file owner"
#define T_O_FPINS	"%s: the child's /proc/<pid>/file_pins is empty: no fd refers to the owner, no pin is mm-owned"
#define T_O_TRUNC	"%s: truncate(2) by another process fails with ETXTBSY"
#define T_O_EXIT	"%s: the child exits: reaped in time, no /proc/daxlease entry for the file, truncate(2) succeeds"
#define T_CLEAN		"%s: unlink the files"

static struct verbs v;
static char upath[PATH_MAX];		/* escaped path of the uverbs file */

struct tfile {
	char path[PATH_MAX];
	char esc[PATH_MAX];
	int fd;
	bool leased;
	void *map;
	struct ibv_mr *mr;
};

static off_t size_of(const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		diag("stat %s: %s", path, errno_name(errno));
		return -1;
	}
	return st.st_size;
}

/* truncate(2) to CUT_SIZE by another process gives @want; size checked. */
static bool other_truncate_is(const char *path, int want)
{
	bool pass = truncate_other_is(path, CUT_SIZE, want);
	off_t size = size_of(path);
	off_t want_size = want ? (off_t)FILE_SIZE : (off_t)CUT_SIZE;

	if (size != want_size)
		diag("size %lld, expected %lld", (long long)size,
		     (long long)want_size);
	return pass && size == want_size;
}

/* Create, lease, map, register @f in @dir. false with a diag. */
static bool file_setup(struct tfile *f, const char *dir, uint64_t seed)
{
	f->leased = false;
	f->map = NULL;
	f->mr = NULL;
	f->fd = fs_file_create(dir, FILE_SIZE, seed, f->path,
			       sizeof(f->path));
	if (f->fd < 0) {
		f->path[0] = '\0';
		return false;
	}
	if (fd_path(0, f->fd, f->esc, sizeof(f->esc)))
		return false;
	f->leased = !lease_set(f->fd, F_UNBREAKABLE);
	if (!f->leased) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		return false;
	}
	f->map = file_map(f->fd, FILE_SIZE);
	if (f->map)
		f->mr = mr_reg(v.pd, f->map, FILE_SIZE);
	return f->mr != NULL;
}

/* Undo whatever of file_setup() is left; keep the file. */
static void file_release(struct tfile *f)
{
	mr_dereg(f->mr);
	f->mr = NULL;
	if (f->map)
		munmap(f->map, FILE_SIZE);
	f->map = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* The global view for @f: one lease (@fd, @orphaned, @pages), one owner. */
static char *one_lease(pid_t pid, int fd, bool orphaned, unsigned long pages,
		       const char *esc, const char *owner)
{
	return cat_free(2, gv_lease(pid, fd, true, orphaned, pages, esc),
			pages ? gv_owner(pages, owner) : NULL);
}

static bool gview_one(const struct tfile *f, int fd, bool orphaned,
		      unsigned long pages)
{
	char *want = one_lease(getpid(), fd, orphaned, pages, f->esc, upath);
	bool same = gview_is(f->esc, want);

	free(want);
	return same;
}

static bool busy_unlock(struct tfile *f)
{
	int r = lease_set(f->fd, F_UNLCK), err = errno, type;

	if (!r)
		diag("F_UNLCK succeeded with the MR alive");
	else if (err != EBUSY)
		diag("F_UNLCK: %s, expected EBUSY", errno_name(err));
	type = lease_get(f->fd);
	if (type != F_UNBREAKABLE)
		diag("F_GETLEASE returned %s", lease_name(type));
	return r < 0 && err == EBUSY && type == F_UNBREAKABLE;
}

/* Fork child: its own context, register the inherited mapping @arg. */
static int child_register(void *arg)
{
	struct tfile *f = arg;
	struct ibv_mr *mr;
	struct verbs cv;
	int err;

	if (verbs_open(&cv, env_rxe()))
		return CHILD_SETUP_ERR;
	mr = ibv_reg_mr(cv.pd, f->map, FILE_SIZE, MR_ACCESS);
	err = mr ? 0 : errno;
	if (mr) {
		diag("child: ibv_reg_mr with the parent's lease succeeded");
		ibv_dereg_mr(mr);
	}
	verbs_close(&cv);
	return err;
}

static bool child_refused(struct tfile *f)
{
	struct keeper k;
	int r = keeper_start(&k, child_register, f, false, -1);

	if (r != EPERM)
		diag("child's ibv_reg_mr: %s, expected EPERM",
		     child_result_name(r));
	keeper_exit(&k);
	return r == EPERM;
}

/* ftruncate by us, bounded: EDEADLK expected, nothing changed. */
static bool self_deadlk(const char *path)
{
	int fd = open(path, O_RDWR), r, err;

	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return false;
	}
	timeout_arm(OP_TIMEOUT_S);
	r = ftruncate(fd, CUT_SIZE);
	err = errno;
	timeout_disarm();
	close(fd);
	if (!r)
		diag("ftruncate succeeded");
	else if (err != EDEADLK)
		diag("ftruncate: %s, expected EDEADLK", errno_name(err));
	return r && err == EDEADLK && size_of(path) == (off_t)FILE_SIZE;
}

static bool our_file_listed(const struct tfile *f)
{
	char *want = strf("%d: %s\n\t%s\n", v.ctx->cmd_fd, upath, f->esc);
	bool same = fpins_is(0, want);

	free(want);
	return same;
}

/* Only the orphaned lease: registering a new mapping fails with EPERM. */
static bool orphan_cannot_pin(struct tfile *g)
{
	struct ibv_mr *mr = ibv_reg_mr(v.pd, g->map, FILE_SIZE, MR_ACCESS);
	int err = errno;

	if (mr) {
		diag("ibv_reg_mr under the orphaned lease succeeded");
		mr_dereg(mr);
		return false;
	}
	if (err != EPERM)
		diag("ibv_reg_mr: %s, expected EPERM", errno_name(err));
	return err == EPERM;
}

/* Round A: EBUSY, fork child, munmap, close (orphan), new lease, unpins. */
static void round_a(const char *n, const char *dir, uint64_t seed,
		    struct tfile *f)
{
	struct chain c = CHAIN_INIT;
	struct tfile g = { .fd = -1 };
	int fd1 = -1, r;
	char *want;

	STEP(&c, file_setup(f, dir, seed), T_SETUP, n);
	if (c.ok) {
		diag("%s: %s", n, f->path);
		fd1 = f->fd;
	}
	CHECK(&c, busy_unlock(f), T_BUSY, n);
	CHECK(&c, child_refused(f), T_CHILD, n);

	r = c.ok ? munmap(f->map, FILE_SIZE) : -1;
	if (c.ok && r)
		diag("munmap: %s", errno_name(errno));
	if (c.ok && !r)
		f->map = NULL;
	STEP(&c, !r && gview_one(f, fd1, false, FILE_PAGES), T_MUNMAP, n);
	CHECK(&c, other_truncate_is(f->path, ETXTBSY), T_MUNMAP_TRUNC, n);

	r = c.ok ? close(f->fd) : -1;
	if (c.ok && r)
		diag("close: %s", errno_name(errno));
	if (c.ok)
		f->fd = -1;
	STEP(&c, !r && gview_one(f, fd1, true, FILE_PAGES), T_CLOSE, n);
	CHECK(&c, other_truncate_is(f->path, ETXTBSY), T_ORPHAN_TRUNC, n);
	CHECK(&c, self_deadlk(f->path), T_ORPHAN_SELF, n);
	CHECK(&c, our_file_listed(f), T_ORPHAN_FPINS, n);

	if (c.ok) {
		g.fd = open(f->path, O_RDWR);
		if (g.fd < 0)
			diag("open: %s", errno_name(errno));
		else
			g.map = file_map(g.fd, FILE_SIZE);
	}
	STEP(&c, g.map && orphan_cannot_pin(&g), T_ORPHAN_PIN, n);

	if (c.ok) {
		g.leased = !lease_set(g.fd, F_UNBREAKABLE);
		if (g.leased)
			g.mr = mr_reg(v.pd, g.map, HALF_SIZE);
		else
			diag("F_SETLEASE 48 beside the orphan: %s",
			     errno_name(errno));
	}
	STEP(&c, g.mr, T_NEW_LEASE, n);

	want = c.ok ? cat_free(2, one_lease(getpid(), fd1, true, FILE_PAGES,
					    f->esc, upath),
			       one_lease(getpid(), g.fd, false, HALF_PAGES,
					 f->esc, upath)) : NULL;
	CHECK(&c, gview_is(f->esc, want) & our_file_listed(f), T_TWO, n);
	free(want);

	r = c.ok ? mr_dereg(g.mr) : -1;
	if (c.ok)
		g.mr = NULL;
	want = c.ok ? cat_free(2, one_lease(getpid(), fd1, true, FILE_PAGES,
					    f->esc, upath),
			       one_lease(getpid(), g.fd, false, 0,
					 f->esc, upath)) : NULL;
	STEP(&c, !r && gview_is(f->esc, want), T_DEREG_NEW, n);
	free(want);

	r = c.ok ? lease_set(g.fd, F_UNLCK) : -1;
	if (c.ok && r)
		diag("F_UNLCK: %s", errno_name(errno));
	want = c.ok ? one_lease(getpid(), fd1, true, FILE_PAGES, f->esc,
				upath) : NULL;
	STEP(&c, !r && gview_is(f->esc, want), T_UNLCK, n);
	free(want);

	r = c.ok ? mr_dereg(f->mr) : -1;
	if (c.ok)
		f->mr = NULL;
	STEP(&c, !r && gview_is(f->esc, ""), T_DEREG_OLD, n);
	CHECK(&c, other_truncate_is(f->path, 0), T_TRUNC_OK, n);

	file_release(&g);
	file_release(f);
}

/* Round B: close first (the mapping keeps the file), then munmap. */
static void round_b(const char *n, const char *dir, uint64_t seed,
		    struct tfile *f)
{
	struct chain c = CHAIN_INIT;
	int fd1 = -1, r;

	STEP(&c, file_setup(f, dir, seed), T_B_SETUP, n);
	if (c.ok) {
		diag("%s: %s", n, f->path);
		fd1 = f->fd;
	}
	r = c.ok ? close(f->fd) : -1;
	if (c.ok) {
		if (r)
			diag("close: %s", errno_name(errno));
		f->fd = -1;
	}
	/* the lease's fd is closed: the fd column says '-' */
	STEP(&c, !r && gview_one(f, -1, false, FILE_PAGES), T_B_CLOSE, n);

	r = c.ok ? munmap(f->map, FILE_SIZE) : -1;
	if (c.ok) {
		if (r)
			diag("munmap: %s", errno_name(errno));
		f->map = NULL;
	}
	STEP(&c, !r && gview_one(f, fd1, true, FILE_PAGES) &
	     other_truncate_is(f->path, ETXTBSY), T_B_MUNMAP, n);

	r = c.ok ? mr_dereg(f->mr) : -1;
	if (c.ok)
		f->mr = NULL;
	CHECK(&c, !r && gview_is(f->esc, "") &
	      other_truncate_is(f->path, 0), T_B_DEREG, n);
	file_release(f);
}

struct ochild {
	const char *path;
	int *lease_fd;		/* shared with us */
};

/* Is the uverbs file at @fd mapped in our address space? */
static bool fd_file_mapped(int fd)
{
	char raw[PATH_MAX], link[64], *maps, *p;
	const char *step;
	bool found = false;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, raw, sizeof(raw) - 1);
	if (n < 0)
		return false;
	raw[n] = '\0';
	maps = text_read("/proc/self/maps", &step);
	if (!maps)
		return false;
	for (p = strstr(maps, raw); p; p = strstr(p + 1, raw))
		if (p > maps && p[-1] == ' ' && p[n] == '\n')
			found = true;
	free(maps);
	return found;
}

/* Keeper: lease and register @arg's file, then close the uverbs fd. */
static int pin_close_uverbs(void *arg)
{
	struct ochild *o = arg;
	struct ibv_mr *mr;
	struct verbs cv;
	void *map;
	int fd;

	if (verbs_open(&cv, env_rxe()))
		return CHILD_SETUP_ERR;
	if (!fd_file_mapped(cv.ctx->cmd_fd)) {
		diag("child: the uverbs file is not mapped (no CQ mapping?): "
		     "closing its fd would destroy the MR");
		return CHILD_SETUP_ERR;
	}
	fd = open(o->path, O_RDWR);
	if (fd < 0) {
		diag("child: open: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("child: F_SETLEASE 48: %s", errno_name(errno));
		return errno;
	}
	map = file_map(fd, FILE_SIZE);
	if (!map)
		return CHILD_SETUP_ERR;
	mr = mr_reg(cv.pd, map, FILE_SIZE);
	if (!mr)
		return errno ? errno : CHILD_SETUP_ERR;
	if (close(cv.ctx->cmd_fd)) {
		diag("child: close of the uverbs fd: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	*o->lease_fd = fd;
	return 0;
}

/* The keeper exits: reaped, its lease and pins gone, truncate works. */
static bool exit_releases(struct keeper *k, const struct tfile *f)
{
	bool reaped = !keeper_exit(k);
	bool gone = gview_becomes(f->esc, "", SETTLE_MS);

	return reaped && gone && other_truncate_is(f->path, 0);
}

/* The owner outlives the uverbs fd. */
static void owner_part(const char *n, const char *dir, uint64_t seed,
		       struct tfile *f)
{
	struct chain c = CHAIN_INIT;
	struct keeper k = { -1 };
	struct ochild o;
	int *lfd = NULL, r = -1;
	char *want = NULL;

	f->fd = fs_file_create(dir, FILE_SIZE, seed, f->path,
			       sizeof(f->path));
	if (f->fd < 0)
		f->path[0] = '\0';
	if (f->fd >= 0 && !fd_path(0, f->fd, f->esc, sizeof(f->esc))) {
		diag("%s: %s", n, f->path);
		lfd = shared_alloc(sizeof(int));
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (lfd) {
		o.path = f->path;
		o.lease_fd = lfd;
		r = keeper_start(&k, pin_close_uverbs, &o, true, -1);
		if (r)
			diag("child: %s", child_result_name(r));
	}
	STEP(&c, !r, T_O_SETUP, n);
	if (c.ok)
		want = one_lease(k.pid, *lfd, false, FILE_PAGES, f->esc,
				 upath);
	CHECK(&c, gview_is(f->esc, want), T_O_GV, n);
	free(want);
	CHECK(&c, fpins_is(k.pid, ""), T_O_FPINS, n);
	CHECK(&c, other_truncate_is(f->path, ETXTBSY), T_O_TRUNC, n);
	CHECK(&c, exit_releases(&k, f), T_O_EXIT, n);
	keeper_kill(&k);
	if (lfd)
		munmap(lfd, sizeof(int));
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	struct tfile a = { .fd = -1 }, b = { .fd = -1 }, o = { .fd = -1 };
	const char *n = fs->name;
	bool clean = true;

	a.path[0] = b.path[0] = o.path[0] = '\0';
	round_a(n, fs->path, seed, &a);
	round_b(n, fs->path, seed, &b);
	owner_part(n, fs->path, seed, &o);

	if (!a.path[0] && !b.path[0] && !o.path[0]) {
		skip("no file", T_CLEAN, n);
		return;
	}
	if (a.path[0] && unlink(a.path))
		clean = false;
	if (b.path[0] && unlink(b.path))
		clean = false;
	if (o.path[0] && unlink(o.path))
		clean = false;
	if (!clean)
		diag("unlink: %s", errno_name(errno));
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;

	plan(2 + DAX_FS_COUNT * FS_POINTS + 2);
	seed = pattern_seed();

	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, upath, sizeof(upath));

	for_each_dax_fs(fs)
		test_fs(fs, seed);

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
