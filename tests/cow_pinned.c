/*
 * Copy-on-write never moves a pinned block (design README, "Layout
 * changes"; daxlease-lease(7), NOTES), daxlease loaded.
 *
 * XFS decides that a write is a copy-on-write from the CoW fork: an extent
 * there makes even a write into an unshared block a CoW, whose completion
 * (xfs_reflink_end_cow()) frees the old block, and DAX drops the old page
 * from the mapping without waiting for pins. Such extents appear next to
 * shared blocks: the CoW of a shared block allocates CoW fork space
 * rounded to the CoW extent size hint (32 blocks by default) and keeps the
 * unused part as preallocation. So a file with one reflinked block, once
 * that block was written, has a CoW fork over its unshared neighbours; a
 * write into a pinned neighbour then moved its block (FIEMAP showed a new
 * physical block while the NIC kept the old one).
 *
 * The rule: under an unbreakable lease a CoW is a layout change and is
 * refused (ETXTBSY for others, EDEADLK for a holder, SIGBUS through a
 * mapping) before anything is allocated, whatever the CoW extent size
 * hint; writes that are no CoW proceed in place. The file: 64 blocks,
 * block 8 and block 40 reflinked into another file, block 40 then written
 * before the lease (a CoW: the CoW fork keeps preallocation over blocks
 * 32-63). Under the lease, blocks 12-15 are pinned. Sequences tried:
 * registering blocks 44-47 under the old preallocation (the pinning fault
 * would be a CoW); writes of the shared block 8 by the holder, by another
 * process, through another process's mapping, after widening the CoW
 * extent size hint with FS_IOC_FSSETXATTR; a write into pinned block 13;
 * FALLOC_FL_UNSHARE_RANGE. After each step FIEMAP must show blocks 12-15
 * (and 44-47) at their old physical addresses. (The CoW fork itself cannot
 * be read: XFS_IOC_GETBMAPX with BMV_IF_COWFORK needs CONFIG_XFS_DEBUG.)
 * Before the fix the write of block 8 preallocated CoW space over blocks
 * 0-31, the write into pinned block 13 then moved it (FIEMAP: 0x25000 ->
 * 0x85000) and dropped its page from the mapping, so the MR's unpins could
 * not be attributed (WARN in dl_unpinned()); the registration of 44-47
 * copied them on write before refusing them.
 * ext4 has no copy-on-write (no reflink): FICLONERANGE fails with
 * EOPNOTSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define BLK		4096UL
#define NBLK		64UL		/* the point names say these */
#define FILE_SIZE	(NBLK * BLK)
#define SHARED_BLK	8UL		/* shared, not written before the lease */
#define OLD_BLK		40UL		/* shared, written before the lease */
#define PIN_BLK		12UL
#define PIN_N		4UL
#define WRITE_BLK	13UL
#define PRE_BLK		44UL		/* under OLD_BLK's CoW preallocation */
#define XFS_POINTS	9
#define EXT4_POINTS	1

#define T_SETUP		"xfs: 64 blocks, blocks 8 and 40 reflinked into another file, block 40 written (CoW) before the lease; 48; blocks 12-15 registered as an MR"
#define T_PREALLOC	"xfs: registering blocks 44-47, under the CoW fork preallocation from before the lease, fails; their blocks unmoved (FIEMAP)"
#define T_HOLDER	"xfs: pwrite of the shared block 8 by the holder fails with EDEADLK; pinned blocks unmoved"
#define T_INPLACE	"xfs: pwrite of pinned block 13 by the holder succeeds in place: pinned blocks unmoved"
#define T_OTHER		"xfs: pwrite of the shared block 8 by another process fails with ETXTBSY; pinned blocks unmoved"
#define T_MAPWRITE	"xfs: a write to the shared block 8 through another process's mapping gets SIGBUS; pinned blocks unmoved"
#define T_HINT		"xfs: while pinned, FS_IOC_FSSETXATTR widens the CoW extent size hint to 1 MiB; pwrite of block 8 by another process still fails with ETXTBSY; pinned blocks unmoved"
#define T_UNSHARE	"xfs: FALLOC_FL_UNSHARE_RANGE over the file by another process fails with ETXTBSY; pinned blocks unmoved"
#define T_RELEASE	"xfs: after ibv_dereg_mr and F_UNLCK pwrite of block 8 succeeds (copy-on-write allowed again)"
#define T_EXT4		"ext4: no copy-on-write: FICLONERANGE fails with EOPNOTSUPP"

static struct verbs v;

/* Physical addresses of @n blocks from @first (FIEMAP); 0 or -1. */
static int phys_blocks(int fd, unsigned long first, unsigned long n,
		       uint64_t *phys)
{
	struct fiemap *fm;
	unsigned long i;
	unsigned int e;
	size_t sz = sizeof(*fm) + 32 * sizeof(struct fiemap_extent);

	fm = calloc(1, sz);
	if (!fm)
		return -1;
	fm->fm_start = first * BLK;
	fm->fm_length = n * BLK;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 32;
	if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
		diag("FIEMAP: %s", errno_name(errno));
		free(fm);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint64_t off = (first + i) * BLK;

		phys[i] = 0;
		for (e = 0; e < fm->fm_mapped_extents; e++) {
			struct fiemap_extent *x = &fm->fm_extents[e];

			if (off >= x->fe_logical &&
			    off < x->fe_logical + x->fe_length)
				phys[i] = x->fe_physical + off - x->fe_logical;
		}
	}
	free(fm);
	return 0;
}

static uint64_t pinned_phys[PIN_N];

/* Blocks @first.. still at @was (FIEMAP)? */
static bool same_phys(int fd, unsigned long first, const uint64_t *was)
{
	uint64_t now[PIN_N];
	unsigned long i;
	bool same = true;

	if (phys_blocks(fd, first, PIN_N, now))
		return false;
	for (i = 0; i < PIN_N; i++)
		if (now[i] != was[i]) {
			diag("block %lu moved: physical %#llx, was %#llx",
			     first + i, (unsigned long long)now[i],
			     (unsigned long long)was[i]);
			same = false;
		}
	return same;
}

static bool unmoved(int fd)
{
	return same_phys(fd, PIN_BLK, pinned_phys);
}

static int pwrite_blk(int fd, unsigned long blk, uint8_t byte)
{
	uint8_t buf[BLK];

	memset(buf, byte, sizeof(buf));
	if (pwrite(fd, buf, BLK, blk * BLK) != (ssize_t)BLK)
		return errno ? errno : EIO;
	return 0;
}

struct other {
	const char *path;
	int op;
};

enum { OP_WRITE_SHARED, OP_MAPWRITE_SHARED, OP_UNSHARE };

/* Child: the operation; returns 0 or an errno (SIGBUS: child died). */
static int other_op(void *arg)
{
	struct other *o = arg;
	volatile uint8_t *map;
	int fd = open(o->path, O_RDWR);

	if (fd < 0)
		return CHILD_SETUP_ERR;
	switch (o->op) {
	case OP_WRITE_SHARED:
		return pwrite_blk(fd, SHARED_BLK, 0x08);
	case OP_UNSHARE:
		return fallocate(fd, FALLOC_FL_UNSHARE_RANGE, 0, FILE_SIZE) ?
		       errno : 0;
	case OP_MAPWRITE_SHARED:
		map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED)
			return CHILD_SETUP_ERR;
		signal(SIGBUS, SIG_DFL);
		map[SHARED_BLK * BLK] = 0x08;
		return 0;
	}
	return CHILD_SETUP_ERR;
}

static int other(const char *path, int op)
{
	struct other o = { path, op };

	return child_run(other_op, &o);
}

static bool other_is(const char *path, int op, int want)
{
	int r = other(path, op);

	if (r != want)
		diag("other process: %s, expected %s", child_result_name(r),
		     want == CHILD_DIED ? "SIGBUS" :
		     want ? errno_name(want) : "success");
	return r == want;
}

static bool widen_hint(int fd)
{
	struct fsxattr fa;

	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa)) {
		diag("FS_IOC_FSGETXATTR: %s", errno_name(errno));
		return false;
	}
	fa.fsx_xflags |= FS_XFLAG_COWEXTSIZE;
	fa.fsx_cowextsize = 1 << 20;
	if (ioctl(fd, FS_IOC_FSSETXATTR, &fa)) {
		diag("FS_IOC_FSSETXATTR cowextsize 1 MiB: %s",
		     errno_name(errno));
		return false;
	}
	return true;
}

static int clone_blk(int gfd, int fd, unsigned long blk, unsigned long dest)
{
	struct file_clone_range fcr = {
		.src_fd = fd,
		.src_offset = blk * BLK,
		.src_length = BLK,
		.dest_offset = dest * BLK,
	};

	if (ioctl(gfd, FICLONERANGE, &fcr)) {
		diag("FICLONERANGE of block %lu: %s", blk, errno_name(errno));
		return -1;
	}
	return 0;
}

static void xfs_points(const char *dir, uint64_t seed)
{
	char fpath[PATH_MAX] = "", gpath[PATH_MAX] = "";
	uint64_t pre_phys[PIN_N];
	struct ibv_mr *mr = NULL, *pre;
	uint8_t *map = NULL;
	bool ready = false;
	int fd, gfd = -1, r;

	fd = fs_file_create(dir, FILE_SIZE, seed, fpath, sizeof(fpath));
	if (fd >= 0) {
		snprintf(gpath, sizeof(gpath), "%s.clone", fpath);
		gfd = open(gpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	}
	if (gfd >= 0 && !clone_blk(gfd, fd, SHARED_BLK, 0) &&
	    !clone_blk(gfd, fd, OLD_BLK, 1)) {
		if ((r = pwrite_blk(fd, OLD_BLK, 0x40)))
			diag("CoW pwrite of block 40: %s", errno_name(r));
		else if (lease_set(fd, F_UNBREAKABLE))
			diag("F_SETLEASE 48: %s", errno_name(errno));
		else if ((map = file_map(fd, FILE_SIZE)))
			mr = mr_reg(v.pd, map + PIN_BLK * BLK, PIN_N * BLK);
	}
	ready = mr && !phys_blocks(fd, PIN_BLK, PIN_N, pinned_phys) &&
		!phys_blocks(fd, PRE_BLK, PIN_N, pre_phys);
	ok(ready, T_SETUP);

	if (ready) {
		pre = ibv_reg_mr(v.pd, map + PRE_BLK * BLK, PIN_N * BLK,
				 MR_ACCESS);
		if (pre)
			diag("registering blocks 44-47 succeeded");
		else
			diag("registering blocks 44-47: %s", errno_name(errno));
		ok(!pre & same_phys(fd, PRE_BLK, pre_phys), T_PREALLOC);
		mr_dereg(pre);

		r = pwrite_blk(fd, SHARED_BLK, 0x08);
		if (r != EDEADLK)
			diag("pwrite: %s", r ? errno_name(r) : "success");
		ok((r == EDEADLK) & unmoved(fd), T_HOLDER);
		r = pwrite_blk(fd, WRITE_BLK, 0x13);
		if (r)
			diag("pwrite of block 13: %s", errno_name(r));
		ok(!r & unmoved(fd), T_INPLACE);
		ok(other_is(fpath, OP_WRITE_SHARED, ETXTBSY) & unmoved(fd),
		   T_OTHER);
		ok(other_is(fpath, OP_MAPWRITE_SHARED, CHILD_DIED) &
		   unmoved(fd), T_MAPWRITE);
		ok(widen_hint(fd) &&
		   other_is(fpath, OP_WRITE_SHARED, ETXTBSY) & unmoved(fd),
		   T_HINT);
		ok(other_is(fpath, OP_UNSHARE, ETXTBSY) & unmoved(fd),
		   T_UNSHARE);
		r = -1;
		if (!mr_dereg(mr) && !lease_set(fd, F_UNLCK))
			r = pwrite_blk(fd, SHARED_BLK, 0x08);
		mr = NULL;
		if (r)
			diag("pwrite after the release: %s",
			     r > 0 ? errno_name(r) : "dereg/F_UNLCK failed");
		ok(!r, T_RELEASE);
	} else {
		skip("no setup", T_PREALLOC);
		skip("no setup", T_HOLDER);
		skip("no setup", T_INPLACE);
		skip("no setup", T_OTHER);
		skip("no setup", T_MAPWRITE);
		skip("no setup", T_HINT);
		skip("no setup", T_UNSHARE);
		skip("no setup", T_RELEASE);
	}
	mr_dereg(mr);
	if (map)
		munmap(map, FILE_SIZE);
	if (gfd >= 0)
		close(gfd);
	if (fd >= 0)
		close(fd);
	if (gpath[0])
		unlink(gpath);
	if (fpath[0])
		unlink(fpath);
}

static void ext4_points(const char *dir, uint64_t seed)
{
	char fpath[PATH_MAX] = "", gpath[PATH_MAX];
	struct file_clone_range fcr;
	int fd, gfd = -1, r = -1, err = 0;

	fd = fs_file_create(dir, FILE_SIZE, seed, fpath, sizeof(fpath));
	if (fd >= 0) {
		snprintf(gpath, sizeof(gpath), "%s.clone", fpath);
		gfd = open(gpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	}
	if (gfd >= 0) {
		fcr.src_fd = fd;
		fcr.src_offset = 0;
		fcr.src_length = BLK;
		fcr.dest_offset = 0;
		r = ioctl(gfd, FICLONERANGE, &fcr);
		err = errno;
		close(gfd);
		unlink(gpath);
	}
	if (!r)
		diag("FICLONERANGE succeeded on ext4");
	else if (gfd >= 0 && err != EOPNOTSUPP)
		diag("FICLONERANGE: %s", errno_name(err));
	ok(gfd >= 0 && r && err == EOPNOTSUPP, T_EXT4);
	if (fd >= 0)
		close(fd);
	if (fpath[0])
		unlink(fpath);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;

	plan(2 + XFS_POINTS + EXT4_POINTS + 2);
	seed = pattern_seed();
	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);

	for_each_dax_fs(fs) {
		if (!strcmp(fs->name, "xfs"))
			xfs_points(fs->path, seed);
		else
			ext4_points(fs->path, seed);
	}

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
