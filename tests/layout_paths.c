/*
 * Layout paths that layout_refusal does not cover, daxlease loaded, each
 * with another process (a helper) holding an unbreakable lease (48) on the
 * file F, and the file's size, FIEMAP extents and contents compared before
 * and after:
 *
 * - allowed, as allocation frees and moves nothing: fallocate mode 0
 *   (growing F), FALLOC_FL_KEEP_SIZE and FS_IOC_RESVSP beyond EOF: 0, and
 *   F's first 2 MiB keep their extents and contents;
 * - refused with ETXTBSY, F unchanged: ftruncate to F's own size and
 *   ftruncate up (both file systems wait for every busy DAX page on any
 *   size change, so a truncate is a layout change whatever its direction),
 *   FS_IOC_UNRESVSP, FS_IOC_ZERO_RANGE;
 *   on XFS FALLOC_FL_UNSHARE_RANGE, XFS_IOC_SWAPEXT and
 *   XFS_IOC_EXCHANGE_RANGE with F as either file; on ext4
 *   EXT4_IOC_MOVE_EXT with F as the donor and EXT4_IOC_SWAP_BOOT of F.
 *   Without the lease the same call is made once too (its result a diag),
 *   to show what the refusal prevented. EXCHANGE_RANGE (an XFS feature
 *   mkfs.xfs of Debian 12 does not set) and MOVE_EXT (not on DAX files)
 *   may fail with EOPNOTSUPP before the hook is asked: accepted only when
 *   the call without the lease fails the same way.
 * - /proc/daxlease larger than a seq_file page (150 leases), read 512
 *   bytes at a time: every lease line exactly once, as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"

#define FILE_SIZE	(2UL << 20)
#define MANY		150
#define MANY_SIZE	4096

/* The space ioctls (include/linux/falloc.h, not exported to user space) */
struct space_resv_u {
	__s16 l_type, l_whence;
	__s64 l_start, l_len;
	__s32 l_sysid;
	__u32 l_pid;
	__s32 l_pad[4];
};

#define FS_IOC_RESVSP_U		_IOW('X', 40, struct space_resv_u)
#define FS_IOC_UNRESVSP_U	_IOW('X', 41, struct space_resv_u)
#define FS_IOC_ZERO_RANGE_U	_IOW('X', 57, struct space_resv_u)

/* XFS and ext4 ioctls, as in fs/xfs/libxfs/xfs_fs.h and fs/ext4/ext4.h */
struct xfs_bstime_u {
	long tv_sec;
	__s32 tv_nsec;
};

struct xfs_bstat_u {
	__u64 bs_ino;
	__u16 bs_mode, bs_nlink;
	__u32 bs_uid, bs_gid, bs_rdev;
	__s32 bs_blksize;
	__s64 bs_size;
	struct xfs_bstime_u bs_atime, bs_mtime, bs_ctime;
	int64_t bs_blocks;
	__u32 bs_xflags;
	__s32 bs_extsize, bs_extents;
	__u32 bs_gen;
	__u16 bs_projid_lo, bs_forkoff, bs_projid_hi, bs_sick, bs_checked;
	unsigned char bs_pad[2];
	__u32 bs_cowextsize, bs_dmevmask;
	__u16 bs_dmstate, bs_aextents;
};

struct xfs_swapext_u {
	int64_t sx_version, sx_fdtarget, sx_fdtmp;
	int64_t sx_offset, sx_length;
	char sx_pad[16];
	struct xfs_bstat_u sx_stat;
};

struct xfs_exchange_range_u {
	__s32 file1_fd;
	__u32 pad;
	__u64 file1_offset, file2_offset, length, flags;
};

struct move_extent_u {
	__u32 reserved, donor_fd;
	__u64 orig_start, donor_start, len, moved_len;
};

#define XFS_IOC_SWAPEXT_U	 _IOWR('X', 109, struct xfs_swapext_u)
#define XFS_IOC_EXCHANGE_RANGE_U _IOW('X', 129, struct xfs_exchange_range_u)
#define EXT4_IOC_MOVE_EXT_U	 _IOWR('f', 15, struct move_extent_u)
#define EXT4_IOC_SWAP_BOOT_U	 _IO('f', 17)

#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE	0x40
#endif

enum { ANY, XFS, EXT4 };

struct op {
	const char *name;
	int fs;			/* ANY, XFS or EXT4 only */
	bool allowed;		/* else ETXTBSY */
	int (*run)(int f, int g);	/* F leased, G another file: errno */
	bool maybe_unsupported;	/* or EOPNOTSUPP, as without the lease */
};

static int res(int r)
{
	return r < 0 ? errno : 0;
}

static int op_alloc(int f, int g)
{
	(void)g;
	return res(fallocate(f, 0, FILE_SIZE, 1UL << 20));
}

static int op_keep(int f, int g)
{
	(void)g;
	return res(fallocate(f, FALLOC_FL_KEEP_SIZE, FILE_SIZE, 1UL << 20));
}

static int op_trunc_same(int f, int g)
{
	struct stat st;

	(void)g;
	return fstat(f, &st) ? errno : res(ftruncate(f, st.st_size));
}

static int op_trunc_up(int f, int g)
{
	struct stat st;

	(void)g;
	return fstat(f, &st) ? errno : res(ftruncate(f, st.st_size + (1 << 20)));
}

static int space(int f, unsigned long cmd, off_t start, off_t len)
{
	struct space_resv_u sr = { .l_whence = SEEK_SET, .l_start = start,
				 .l_len = len };

	return res(ioctl(f, cmd, &sr));
}

static int op_resvsp(int f, int g)
{
	(void)g;
	return space(f, FS_IOC_RESVSP_U, FILE_SIZE, 1UL << 20);
}

static int op_unresvsp(int f, int g)
{
	(void)g;
	return space(f, FS_IOC_UNRESVSP_U, 1UL << 20, 64 << 10);
}

static int op_zero_ioctl(int f, int g)
{
	(void)g;
	return space(f, FS_IOC_ZERO_RANGE_U, 1UL << 20, 64 << 10);
}

static int op_unshare(int f, int g)
{
	(void)g;
	return res(fallocate(f, FALLOC_FL_UNSHARE_RANGE, 0, FILE_SIZE));
}

static int swapext(int target, int tmp)
{
	struct xfs_swapext_u sx;
	struct stat st;

	memset(&sx, 0, sizeof(sx));
	if (fstat(target, &st))
		return errno;
	sx.sx_version = 0;
	sx.sx_fdtarget = target;
	sx.sx_fdtmp = tmp;
	sx.sx_length = st.st_size;
	sx.sx_stat.bs_ino = st.st_ino;
	sx.sx_stat.bs_size = st.st_size;
	sx.sx_stat.bs_mtime.tv_sec = st.st_mtim.tv_sec;
	sx.sx_stat.bs_mtime.tv_nsec = st.st_mtim.tv_nsec;
	sx.sx_stat.bs_ctime.tv_sec = st.st_ctim.tv_sec;
	sx.sx_stat.bs_ctime.tv_nsec = st.st_ctim.tv_nsec;
	return res(ioctl(tmp, XFS_IOC_SWAPEXT_U, &sx));
}

static int op_swapext_target(int f, int g)
{
	return swapext(f, g);
}

static int op_swapext_tmp(int f, int g)
{
	return swapext(g, f);
}

static int exchange(int fd2, int fd1)
{
	struct xfs_exchange_range_u x = { .file1_fd = fd1,
					  .length = FILE_SIZE };

	return res(ioctl(fd2, XFS_IOC_EXCHANGE_RANGE_U, &x));
}

static int op_exchange_into(int f, int g)
{
	return exchange(f, g);
}

static int op_exchange_from(int f, int g)
{
	return exchange(g, f);
}

static int op_move_donor(int f, int g)
{
	struct move_extent_u me = { .donor_fd = f, .len = 16 };

	return res(ioctl(g, EXT4_IOC_MOVE_EXT_U, &me));
}

static int op_swap_boot(int f, int g)
{
	(void)g;
	return res(ioctl(f, EXT4_IOC_SWAP_BOOT_U));
}

static const struct op ops[] = {
	{ "fallocate mode 0, 1 MiB past EOF (grows F)", ANY, true, op_alloc, false },
	{ "fallocate KEEP_SIZE, 1 MiB past EOF", ANY, true, op_keep, false },
	{ "FS_IOC_RESVSP, 1 MiB past EOF", ANY, true, op_resvsp, false },
	{ "ftruncate to its own size", ANY, false, op_trunc_same, false },
	{ "ftruncate up by 1 MiB", ANY, false, op_trunc_up, false },
	{ "FS_IOC_UNRESVSP 64 KiB at 1 MiB", ANY, false, op_unresvsp, false },
	{ "FS_IOC_ZERO_RANGE 64 KiB at 1 MiB", ANY, false, op_zero_ioctl, false },
	{ "fallocate UNSHARE_RANGE of all of F", XFS, false, op_unshare, false },
	{ "XFS_IOC_SWAPEXT, F the target", XFS, false, op_swapext_target, false },
	{ "XFS_IOC_SWAPEXT, F the temporary file", XFS, false,
	  op_swapext_tmp, false },
	{ "XFS_IOC_EXCHANGE_RANGE into F", XFS, false, op_exchange_into, true },
	{ "XFS_IOC_EXCHANGE_RANGE from F", XFS, false, op_exchange_from, true },
	{ "EXT4_IOC_MOVE_EXT with F the donor", EXT4, false, op_move_donor,
	  true },
	{ "EXT4_IOC_SWAP_BOOT of F", EXT4, false, op_swap_boot, false },
};

#define N_OPS		(sizeof(ops) / sizeof(ops[0]))
#define N_ANY		7
#define N_XFS		5
#define N_EXT4		2

/* The extents of @s that start below @end, cut at @end; LAST flag ignored. */
static bool extents_below_same(const struct file_state *a,
			       const struct file_state *b, __u64 end)
{
	unsigned int i, j = 0;

	for (i = 0; i < a->nr_extents; i++) {
		const struct fiemap_extent *x = &a->extents[i], *y;
		__u64 xl, yl;

		if (x->fe_logical >= end)
			break;
		if (j >= b->nr_extents)
			return false;
		y = &b->extents[j++];
		xl = x->fe_logical + x->fe_length > end ?
		     end - x->fe_logical : x->fe_length;
		yl = y->fe_logical + y->fe_length > end ?
		     end - y->fe_logical : y->fe_length;
		if (x->fe_logical != y->fe_logical ||
		    x->fe_physical != y->fe_physical || xl != yl) {
			diag("extent %u: %llu+%llu at %llu, was %llu+%llu at %llu",
			     i, (unsigned long long)y->fe_logical,
			     (unsigned long long)yl,
			     (unsigned long long)y->fe_physical,
			     (unsigned long long)x->fe_logical,
			     (unsigned long long)xl,
			     (unsigned long long)x->fe_physical);
			return false;
		}
	}
	return true;
}

static bool run_op(const struct dax_fs *fs, const struct op *op,
		   uint64_t seed)
{
	char fpath[PATH_MAX], gpath[PATH_MAX];
	struct file_state before, after;
	bool pass = false, have_before = false, unsupported = false;
	struct helper h = { -1, -1 };
	int f, g = -1, r, hr;

	f = fs_file_create(fs->path, FILE_SIZE, seed, fpath, sizeof(fpath));
	if (f < 0)
		return false;
	g = fs_file_create(fs->path, FILE_SIZE, seed + 1, gpath,
			   sizeof(gpath));
	if (g < 0)
		goto out;
	hr = helper_start(&h, lease_hold_unbreakable, fpath);
	if (hr) {
		diag("helper: %s", child_result_name(hr));
		goto out;
	}
	if (file_state_get(f, &before))
		goto out;
	have_before = true;
	r = op->run(f, g);
	if (op->allowed && r)
		diag("%s under the lease: %s, expected success", op->name,
		     errno_name(r));
	else if (!op->allowed && r != ETXTBSY &&
		 !(op->maybe_unsupported && r == EOPNOTSUPP))
		diag("%s under the lease: %s, expected ETXTBSY", op->name,
		     r ? errno_name(r) : "success");
	pass = op->allowed ? !r : r == ETXTBSY ||
	       (op->maybe_unsupported && r == EOPNOTSUPP);
	unsupported = r == EOPNOTSUPP;
	if (file_state_get(f, &after)) {
		pass = false;
	} else if (op->allowed) {
		struct stat st;

		/* the leased 2 MiB are as they were; F grew only if asked */
		pass &= extents_below_same(&before, &after, FILE_SIZE) &&
			!memcmp(before.data, after.data, FILE_SIZE) &&
			!fstat(f, &st) &&
			st.st_size == (off_t)(op->run == op_alloc ?
					      FILE_SIZE + (1UL << 20) :
					      FILE_SIZE);
		file_state_free(&after);
	} else {
		pass &= file_state_same(&before, &after);
		file_state_free(&after);
	}
	if (helper_stop(&h))
		pass = false;
	h.pid = -1;
	/* what the refusal prevented (not for SWAP_BOOT: the boot inode) */
	if (!op->allowed && op->run != op_swap_boot) {
		r = op->run(f, g);
		diag("%s without a lease: %s", op->name,
		     r ? errno_name(r) : "success");
		/* EOPNOTSUPP only where the kernel has no such operation */
		if (unsupported && r != EOPNOTSUPP)
			pass = false;
		else if (unsupported)
			diag("not supported on this file: the hook is unreachable here");
	}
out:
	if (h.pid > 0)
		helper_stop(&h);
	if (have_before)
		file_state_free(&before);
	if (g >= 0)
		file_close_unlink(g, gpath);
	file_close_unlink(f, fpath);
	return pass;
}

/* /proc/daxlease, read(2) @chunk bytes at a time. */
static char *read_chunked(size_t chunk)
{
	int fd = open(DAXLEASE_PROC, O_RDONLY);
	char *text;

	if (fd < 0) {
		diag("open %s: %s", DAXLEASE_PROC, errno_name(errno));
		return NULL;
	}
	text = fd_read_sized(fd, chunk);
	if (!text)
		diag("read %s: %s", DAXLEASE_PROC, errno_name(errno));
	close(fd);
	return text;
}

static bool big_report(const struct dax_fs *fs, uint64_t seed)
{
	char paths[MANY][PATH_MAX];
	int fds[MANY], i, n = 0;
	char *text, *got, *want, *esc;
	bool pass = true;

	for (i = 0; i < MANY; i++) {
		fds[i] = fs_file_create(fs->path, MANY_SIZE, seed + i,
					paths[i], sizeof(paths[i]));
		if (fds[i] < 0)
			break;
		n++;
		if (lease_set(fds[i], F_UNBREAKABLE)) {
			diag("F_SETLEASE 48 #%d: %s", i, errno_name(errno));
			pass = false;
			break;
		}
	}
	text = pass && n == MANY ? read_chunked(512) : NULL;
	if (text) {
		diag("%s: %zu bytes", DAXLEASE_PROC, strlen(text));
		if (strlen(text) <= 4096) {
			diag("not larger than a page");
			pass = false;
		}
		for (i = 0; i < n; i++) {
			esc = path_esc(paths[i]);
			got = gview_canon(text, esc);
			want = gv_lease(getpid(), fds[i], true, false, 0, esc);
			if (strcmp(got, want)) {
				if (pass)
					text_is(DAXLEASE_PROC, got, want);
				pass = false;
			}
			free(esc);
			free(got);
			free(want);
		}
		free(text);
	} else {
		pass = false;
	}
	for (i = 0; i < n; i++) {
		lease_set(fds[i], F_UNLCK);
		file_close_unlink(fds[i], paths[i]);
	}
	return pass;
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;
	unsigned int i;
	int kind;

	plan(1 + DAX_FS_COUNT * N_ANY + N_XFS + N_EXT4 + 1 + 1);
	seed = pattern_seed();
	was_loaded = module_begin();

	for_each_dax_fs(fs) {
		kind = !strcmp(fs->name, "xfs") ? XFS : EXT4;
		for (i = 0; i < N_OPS; i++) {
			if (ops[i].fs != ANY && ops[i].fs != kind)
				continue;
			ok(fs->path && run_op(fs, &ops[i], seed),
			   "%s: a helper holds 48 on F: %s %s; F's size, FIEMAP and contents %s",
			   fs->name, ops[i].name,
			   ops[i].allowed ? "succeeds" :
			   ops[i].maybe_unsupported ?
			   "fails with ETXTBSY (or EOPNOTSUPP, as without the lease, where the kernel lacks it)" :
			   "fails with ETXTBSY",
			   ops[i].allowed ? "as they were below 2 MiB" :
			   "unchanged");
		}
	}

	fs = dax_fs_list();
	ok(fs->path && big_report(fs, seed),
	   "%s: %d leases: /proc/daxlease (more than a page) read 512 bytes at a time lists each exactly once",
	   fs->name, MANY);
	module_end(was_loaded);
	return done_testing();
}
