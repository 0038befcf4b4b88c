/*
 * Pin accounting per pin context (module README, "Pins and owners"), on XFS
 * and ext4, daxlease loaded: releasing an MR takes back exactly what its
 * registration charged, from the leases it was charged to, whoever shares
 * the owner and whatever else the owner has pinned.
 *
 * - A fork child shares our uverbs file (the owner of both our pins and
 *   its own), takes its own unbreakable lease on the same file, registers
 *   through our file and deregisters. Our lease keeps all its pages: our
 *   F_UNLCK still fails with EBUSY and truncate stays refused. Before pin
 *   contexts recorded their charges, the child's unpins were taken from the
 *   first record of the owner for that inode, ours, so our lease dropped
 *   to 256 pages and the child's F_UNLCK failed with EBUSY.
 * - A process that received the uverbs file over a unix socket
 *   (SCM_RIGHTS) shares the owner the same way, but cannot be shown with
 *   rxe: ibv_import_device() fails with EOPNOTSUPP (no import_context in
 *   the rxe provider), so the receiver cannot issue verbs through the file.
 *   The module sees the same thing as for the fork child: a second
 *   thread group charging the same owner file.
 * - One MR over two leased files mapped side by side (a context charging
 *   two leases): each lease counts its own pages; deregistering the MR
 *   releases both, and both F_UNLCK then succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
#define FS_POINTS	10

#define T_F_SETUP	"%s: create a 2 MiB file, F_SETLEASE 48, map it, register all of it through our uverbs file"
#define T_F_CHILD	"%s: a fork child sharing our uverbs file takes its own 48 on the file, registers 1 MiB through that file, deregisters, and its F_UNLCK returns 0"
#define T_F_BUSY	"%s: after the child's deregistration our F_UNLCK still fails with EBUSY; /proc/daxlease: our lease alone, 512 pages"
#define T_F_TRUNC	"%s: truncate(2) by another process still fails with ETXTBSY"
#define T_F_DEREG	"%s: after our deregistration F_UNLCK returns 0 and truncate(2) by another process succeeds"
#define T_M_SETUP	"%s: two 2 MiB files, 48 on each, mapped side by side, one 4 MiB MR over both"
#define T_M_GV		"%s: /proc/daxlease: each lease 512 pages, charged to our uverbs file"
#define T_M_BUSY	"%s: F_UNLCK of either lease fails with EBUSY while the MR lives"
#define T_M_DEREG	"%s: deregister the MR: both leases 0 pages, F_UNLCK of both returns 0, truncate(2) of both succeeds"
#define T_CLEAN		"%s: unlink the files"

static struct verbs v;
static char upath[PATH_MAX];		/* escaped path of the uverbs file */

struct tfile {
	char path[PATH_MAX];
	char esc[PATH_MAX];
	int fd;
	void *map;
	struct ibv_mr *mr;
};

/* Create @f in @dir, take 48; with @reg also map and register all of it. */
static bool file_setup(struct tfile *f, const char *dir, uint64_t seed,
		       bool reg)
{
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
	if (lease_set(f->fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		return false;
	}
	if (!reg)
		return true;
	f->map = file_map(f->fd, FILE_SIZE);
	if (f->map)
		f->mr = mr_reg(v.pd, f->map, FILE_SIZE);
	return f->mr != NULL;
}

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

static bool gview_ours(const struct tfile *f, unsigned long pages)
{
	char *want = cat_free(2, gv_lease(getpid(), f->fd, true, false, pages,
					  f->esc),
			      pages ? gv_owner(pages, upath) : NULL);
	bool same = gview_is(f->esc, want);

	free(want);
	return same;
}

static bool busy_unlock(struct tfile *f)
{
	int r = lease_set(f->fd, F_UNLCK), err = errno;

	if (!r)
		diag("F_UNLCK succeeded with our MR alive");
	else if (err != EBUSY)
		diag("F_UNLCK: %s, expected EBUSY", errno_name(err));
	return r < 0 && err == EBUSY;
}

/* Deregister @f's MR; then F_UNLCK and another's truncate must work. */
static bool dereg_unlocks(struct tfile *f)
{
	int r = mr_dereg(f->mr);

	f->mr = NULL;
	if (r)
		return false;
	if (lease_set(f->fd, F_UNLCK)) {
		diag("F_UNLCK after deregistering: %s", errno_name(errno));
		return false;
	}
	return gview_is(f->esc, "") && truncate_other_is(f->path, CUT_SIZE, 0);
}

/*
 * In another process: own 48 on @path, register 1 MiB of @map through @pd
 * (an owner shared with the parent), deregister, F_UNLCK. 0 or an errno.
 */
static int lease_reg_dereg(struct ibv_pd *pd, const char *path, void *map)
{
	struct ibv_mr *mr;
	int fd, err;

	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("child: open: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		err = errno;
		diag("child: F_SETLEASE 48: %s", errno_name(err));
		return err;
	}
	mr = ibv_reg_mr(pd, map, HALF_SIZE, MR_ACCESS);
	if (!mr) {
		err = errno;
		diag("child: ibv_reg_mr: %s", errno_name(err));
		return err;
	}
	err = ibv_dereg_mr(mr);
	if (err) {
		diag("child: ibv_dereg_mr: %s", errno_name(err));
		return err;
	}
	if (lease_set(fd, F_UNLCK)) {
		err = errno;
		diag("child: F_UNLCK after deregistering: %s",
		     errno_name(err));
		return err;
	}
	return 0;
}

/* Fork child: our ibv_context and PD as inherited, our mapping. */
static int fork_child(void *arg)
{
	struct tfile *f = arg;

	return lease_reg_dereg(v.pd, f->path, f->map);
}

static void fork_part(const char *n, const char *dir, uint64_t seed,
		      struct tfile *f)
{
	struct chain c = CHAIN_INIT;
	struct keeper k = { -1 };
	int r = -1;

	STEP(&c, file_setup(f, dir, seed, true), T_F_SETUP, n);
	if (c.ok) {
		diag("%s: %s", n, f->path);
		r = keeper_start(&k, fork_child, f, false, -1);
		if (r)
			diag("fork child: %s", child_result_name(r));
	}
	CHECK(&c, !r, T_F_CHILD, n);
	keeper_exit(&k);
	CHECK(&c, busy_unlock(f) & gview_ours(f, FILE_PAGES), T_F_BUSY, n);
	CHECK(&c, truncate_other_is(f->path, CUT_SIZE, ETXTBSY), T_F_TRUNC, n);
	CHECK(&c, dereg_unlocks(f), T_F_DEREG, n);
	file_release(f);
}

/* Map @a and @b side by side; one MR over both. */
static struct ibv_mr *reg_two(struct tfile *a, struct tfile *b, void **area)
{
	char *p;

	p = mmap(NULL, 2 * FILE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		diag("mmap: %s", errno_name(errno));
		return NULL;
	}
	*area = p;
	if (mmap(p, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 a->fd, 0) == MAP_FAILED ||
	    mmap(p + FILE_SIZE, FILE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, b->fd, 0) == MAP_FAILED) {
		diag("mmap MAP_FIXED: %s", errno_name(errno));
		return NULL;
	}
	return mr_reg(v.pd, p, 2 * FILE_SIZE);
}

static void multi_part(const char *n, const char *dir, uint64_t seed,
		       struct tfile *a, struct tfile *b)
{
	struct chain c = CHAIN_INIT;
	struct ibv_mr *mr = NULL;
	void *area = NULL;
	int r;

	STEP(&c, file_setup(a, dir, seed, false) &&
	     file_setup(b, dir, seed + 1, false) &&
	     (mr = reg_two(a, b, &area)), T_M_SETUP, n);
	CHECK(&c, gview_ours(a, FILE_PAGES) & gview_ours(b, FILE_PAGES),
	      T_M_GV, n);
	CHECK(&c, busy_unlock(a) & busy_unlock(b), T_M_BUSY, n);
	r = c.ok ? mr_dereg(mr) : -1;
	if (c.ok)
		mr = NULL;
	CHECK(&c, !r && gview_ours(a, 0) & gview_ours(b, 0) &&
	      dereg_unlocks(a) & dereg_unlocks(b), T_M_DEREG, n);
	mr_dereg(mr);
	if (area)
		munmap(area, 2 * FILE_SIZE);
	file_release(a);
	file_release(b);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	struct tfile f[3];
	const char *n = fs->name;
	bool any = false, clean = true;
	int i;

	for (i = 0; i < 3; i++) {
		f[i].path[0] = '\0';
		f[i].fd = -1;
		f[i].map = NULL;
		f[i].mr = NULL;
	}
	fork_part(n, fs->path, seed, &f[0]);
	multi_part(n, fs->path, seed, &f[1], &f[2]);

	for (i = 0; i < 3; i++) {
		if (!f[i].path[0])
			continue;
		any = true;
		if (unlink(f[i].path)) {
			diag("unlink: %s", errno_name(errno));
			clean = false;
		}
	}
	if (!any)
		skip("no file", T_CLEAN, n);
	else
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
