/*
 * Layout changes of a pinned file under an unbreakable lease, daxlease
 * loaded (design README, "User-visible contract"): process H holds
 * F_LAYOUT|F_EXCLUSIVE on a 4 MiB fsdax file and has its first 2 MiB
 * registered as an MR. Every layout change by another process O (no lease)
 * fails with ETXTBSY, by H itself with EDEADLK, at once, without a signal,
 * and changes nothing: size, st_blocks, the FIEMAP extent list and the
 * contents are compared before and after (timestamps are not). Operations:
 * truncate-down (ftruncate, truncate(2)), fallocate PUNCH_HOLE, ZERO_RANGE,
 * COLLAPSE_RANGE, INSERT_RANGE and, on XFS, FICLONE, FICLONERANGE and
 * FIDEDUPERANGE with the leased file as destination and as source. XFS
 * 6.12 supports reflink on DAX files (xfs_reflink_remap_prep() ->
 * dax_remap_file_range_prep(); mkfs.xfs enables reflink by default), which
 * a control clone between two unleased files checks. Once the MR is gone
 * and the lease released, O's truncate succeeds.
 *
 * H is this process; its own calls run under a SIGALRM guard so that one
 * that waits instead of failing ends with EINTR (a failed point).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

/* The point names say these. */
#define FILE_SIZE	(4UL << 20)
#define PIN_SIZE	(2UL << 20)
#define CUT_SIZE	(1UL << 20)
#define RANGE_OFF	(1UL << 20)
#define RANGE_LEN	(64UL << 10)

/* 36 ops on XFS and ext4 that all hang stay within tests/run's 300 s. */
#define OP_TIMEOUT_S	5
/* An op result besides 0 and errno values: FIDEDUPERANGE found a difference. */
#define RES_DIFFERS	254

struct op_ctx {
	int fd;			/* the leased file */
	int other;		/* the other file (XFS), or -1 */
	const char *path;	/* of the leased file */
	const char *other_path;
};

struct op {
	const char *name;
	bool xfs_only;
	int (*run)(const struct op_ctx *c);	/* 0 or an errno value */
};

static int res(int ret)
{
	return ret < 0 ? errno : 0;
}

static int op_ftruncate(const struct op_ctx *c)
{
	return res(ftruncate(c->fd, CUT_SIZE));
}

static int op_truncate(const struct op_ctx *c)
{
	return res(truncate(c->path, CUT_SIZE));
}

static int op_punch(const struct op_ctx *c)
{
	return res(fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     RANGE_OFF, RANGE_LEN));
}

static int op_zero(const struct op_ctx *c)
{
	return res(fallocate(c->fd, FALLOC_FL_ZERO_RANGE, RANGE_OFF,
			     RANGE_LEN));
}

static int op_collapse(const struct op_ctx *c)
{
	return res(fallocate(c->fd, FALLOC_FL_COLLAPSE_RANGE, RANGE_OFF,
			     RANGE_LEN));
}

static int op_insert(const struct op_ctx *c)
{
	return res(fallocate(c->fd, FALLOC_FL_INSERT_RANGE, RANGE_OFF,
			     RANGE_LEN));
}

static int op_clone_into(const struct op_ctx *c)
{
	return res(ioctl(c->fd, FICLONE, c->other));
}

static int op_clone_from(const struct op_ctx *c)
{
	return res(ioctl(c->other, FICLONE, c->fd));
}

static int clone_range(int dst, int src)
{
	struct file_clone_range r = {
		.src_fd = src,
		.src_offset = RANGE_OFF,
		.src_length = RANGE_LEN,
		.dest_offset = RANGE_OFF,
	};

	return res(ioctl(dst, FICLONERANGE, &r));
}

static int op_clonerange_into(const struct op_ctx *c)
{
	return clone_range(c->fd, c->other);
}

static int op_clonerange_from(const struct op_ctx *c)
{
	return clone_range(c->other, c->fd);
}

/*
 * The ioctl itself succeeds when only the range fails: the range's errno is
 * then in info[0].status (vfs_dedupe_file_range()). Either way the result
 * is that errno.
 */
static int dedupe(int src, int dst)
{
	struct file_dedupe_range *r;
	int ret;

	r = calloc(1, sizeof(*r) + sizeof(r->info[0]));
	if (!r)
		return ENOMEM;
	r->src_offset = RANGE_OFF;
	r->src_length = RANGE_LEN;
	r->dest_count = 1;
	r->info[0].dest_fd = dst;
	r->info[0].dest_offset = RANGE_OFF;
	if (ioctl(src, FIDEDUPERANGE, r))
		ret = errno;
	else if (r->info[0].status < 0)
		ret = -r->info[0].status;
	else if (r->info[0].status == FILE_DEDUPE_RANGE_DIFFERS)
		ret = RES_DIFFERS;
	else
		ret = 0;
	free(r);
	return ret;
}

static int op_dedupe_into(const struct op_ctx *c)
{
	return dedupe(c->other, c->fd);
}

static int op_dedupe_from(const struct op_ctx *c)
{
	return dedupe(c->fd, c->other);
}

static const struct op ops[] = {
	{ "ftruncate to 1 MiB", false, op_ftruncate },
	{ "truncate(2) by path to 1 MiB", false, op_truncate },
	{ "fallocate PUNCH_HOLE|KEEP_SIZE 64 KiB at 1 MiB", false, op_punch },
	{ "fallocate ZERO_RANGE 64 KiB at 1 MiB", false, op_zero },
	{ "fallocate COLLAPSE_RANGE 64 KiB at 1 MiB", false, op_collapse },
	{ "fallocate INSERT_RANGE 64 KiB at 1 MiB", false, op_insert },
	{ "FICLONE into the leased file", true, op_clone_into },
	{ "FICLONE from the leased file", true, op_clone_from },
	{ "FICLONERANGE 64 KiB at 1 MiB into the leased file", true,
	  op_clonerange_into },
	{ "FICLONERANGE 64 KiB at 1 MiB from the leased file", true,
	  op_clonerange_from },
	{ "FIDEDUPERANGE 64 KiB at 1 MiB into the leased file", true,
	  op_dedupe_into },
	{ "FIDEDUPERANGE 64 KiB at 1 MiB from the leased file", true,
	  op_dedupe_from },
};

#define N_OPS		(sizeof(ops) / sizeof(ops[0]))
#define N_COMMON_OPS	6
#define N_XFS_OPS	(N_OPS - N_COMMON_OPS)

/* Point names, the same whether the point runs or is skipped. */
#define T_CREATE	"%s: create a 4 MiB file holding the pattern (and on XFS a second one)"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_CLONE_CTL	"%s: control: FICLONERANGE between two unleased DAX files succeeds"
#define T_LEASE		"%s: H: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) returns 0"
#define T_PIN		"%s: H: register the first 2 MiB of a MAP_SHARED mapping as an MR"
#define T_BY_O		"%s: O (no lease): %s fails with ETXTBSY, nothing changed"
#define T_BY_H		"%s: H (holder): %s fails with EDEADLK, nothing changed"
#define T_NOSIG		"%s: H received no SIGIO"
#define T_DEREG		"%s: H: ibv_dereg_mr"
#define T_UNLCK		"%s: H: F_SETLEASE F_UNLCK after the deregistration returns 0"
#define T_AFTER		"%s: O: ftruncate to 1 MiB now succeeds, size 1 MiB"
#define T_CLEAN		"%s: munmap, close and unlink"

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static bool is_xfs(const struct dax_fs *fs)
{
	return !strcmp(fs->name, "xfs");
}

static unsigned int fs_points(const struct dax_fs *fs)
{
	unsigned int n_ops = N_COMMON_OPS + (is_xfs(fs) ? N_XFS_OPS : 0);

	return 9 + is_xfs(fs) + 2 * n_ops;
}

static const char *result_name(int r)
{
	return r == RES_DIFFERS ? "FILE_DEDUPE_RANGE_DIFFERS" :
	       child_result_name(r);
}

/* Process O: open the files itself and run the op. */
struct o_arg {
	const struct op *op;
	const char *path;
	const char *other_path;
};

static int o_run(void *arg)
{
	const struct o_arg *a = arg;
	struct op_ctx c = { .fd = -1, .other = -1, .path = a->path };

	c.fd = open(a->path, O_RDWR);
	if (c.fd < 0) {
		diag("O: open %s: %s", a->path, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (a->other_path) {
		c.other = open(a->other_path, O_RDWR);
		if (c.other < 0) {
			diag("O: open %s: %s", a->other_path,
			     errno_name(errno));
			return CHILD_SETUP_ERR;
		}
	}
	return a->op->run(&c);
}

/* Snapshot the leased file and, if @c->other >= 0, the other one. */
static bool snapshot(const struct op_ctx *c, struct file_state s[2])
{
	bool got = !file_state_get(c->fd, &s[0]);

	memset(&s[1], 0, sizeof(s[1]));
	if (c->other >= 0 && file_state_get(c->other, &s[1]))
		got = false;
	return got;
}

/* One point: @op by H (@holder) or by O must fail and change nothing. */
static void check_op(const char *n, const struct op *op,
		     const struct op_ctx *hc, bool holder)
{
	struct op_ctx c = *hc;
	struct o_arg a = { .op = op, .path = hc->path };
	struct file_state before[2], after[2];
	int want = holder ? EDEADLK : ETXTBSY;
	bool snaps, same;
	int r;

	if (!op->xfs_only)
		c.other = -1;
	else
		a.other_path = hc->other_path;

	snaps = snapshot(&c, before);
	if (holder) {
		timeout_arm(OP_TIMEOUT_S);
		r = op->run(&c);
		timeout_disarm();
	} else {
		r = child_run_timeout(o_run, &a, OP_TIMEOUT_S);
	}
	snaps = snapshot(&c, after) && snaps;
	if (r != want)
		diag("%s by %s: %s, expected %s", op->name, holder ? "H" : "O",
		     result_name(r), errno_name(want));
	same = snaps && file_state_same(&before[0], &after[0]);
	if (snaps && c.other >= 0 && !file_state_equal(&before[1], &after[1])) {
		diag("the other file changed:");
		file_state_same(&before[1], &after[1]);
		same = false;
	}
	if (holder)
		ok(r == want && same, T_BY_H, n, op->name);
	else
		ok(r == want && same, T_BY_O, n, op->name);
	file_state_free(&before[0]);
	file_state_free(&before[1]);
	file_state_free(&after[0]);
	file_state_free(&after[1]);
}

/* Control: clone between two fresh unleased files on @dir. */
static bool clone_control(const char *dir, uint64_t seed)
{
	char src_path[PATH_MAX], dst_path[PATH_MAX];
	int src, dst = -1, r = -1;

	src = fs_file_create(dir, PIN_SIZE, seed, src_path, sizeof(src_path));
	if (src >= 0)
		dst = fs_file_create(dir, PIN_SIZE, seed, dst_path,
				     sizeof(dst_path));
	if (dst >= 0) {
		r = clone_range(dst, src);
		if (r)
			diag("FICLONERANGE between unleased files: %s",
			     errno_name(r));
		close(dst);
		unlink(dst_path);
	}
	if (src >= 0) {
		close(src);
		unlink(src_path);
	}
	return r == 0;
}

static void skip_ops(const char *n, bool xfs, bool holder, const char *why)
{
	unsigned int i;

	for (i = 0; i < N_OPS; i++) {
		if (ops[i].xfs_only && !xfs)
			continue;
		if (holder)
			skip(why, T_BY_H, n, ops[i].name);
		else
			skip(why, T_BY_O, n, ops[i].name);
	}
}

static void test_fs(struct ibv_pd *pd, const struct dax_fs *fs, uint64_t seed)
{
	char path[PATH_MAX], other_path[PATH_MAX];
	struct op_ctx c = { .fd = -1, .other = -1, .path = path };
	struct o_arg a = { .op = &ops[0], .path = path };
	const char *n = fs->name;
	bool xfs = is_xfs(fs), leased, clean = true;
	struct ibv_mr *mr = NULL;
	void *map = NULL;
	unsigned int i;
	struct stat st;
	int r;

	c.fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (c.fd >= 0 && xfs) {
		c.other = fs_file_create(fs->path, FILE_SIZE, seed, other_path,
					 sizeof(other_path));
		c.other_path = other_path;
		if (c.other < 0) {
			close(c.fd);
			unlink(path);
			c.fd = -1;
		}
	}
	if (!ok(c.fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		if (xfs)
			skip("no file", T_CLONE_CTL, n);
		skip("no file", T_LEASE, n);
		skip("no file", T_PIN, n);
		skip_ops(n, xfs, false, "no file");
		skip_ops(n, xfs, true, "no file");
		skip("no file", T_NOSIG, n);
		skip("no file", T_DEREG, n);
		skip("no file", T_UNLCK, n);
		skip("no file", T_AFTER, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: leased file %s%s%s", n, path, xfs ? ", other file " : "",
	     xfs ? other_path : "");
	r = file_is_dax(c.fd);
	ok(r == 1, T_DAX, n);
	if (xfs)
		ok(clone_control(fs->path, seed), T_CLONE_CTL, n);

	sigio_count = 0;
	leased = !lease_set(c.fd, F_UNBREAKABLE);
	if (!leased)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	ok(leased, T_LEASE, n);
	if (leased)
		map = file_map(c.fd, PIN_SIZE);
	if (map)
		mr = mr_reg(pd, map, PIN_SIZE);
	ok(mr, T_PIN, n);

	if (mr) {
		for (i = 0; i < N_OPS; i++)
			if (xfs || !ops[i].xfs_only)
				check_op(n, &ops[i], &c, false);
		for (i = 0; i < N_OPS; i++)
			if (xfs || !ops[i].xfs_only)
				check_op(n, &ops[i], &c, true);
		if (sigio_count)
			diag("H got %d SIGIO", (int)sigio_count);
		ok(!sigio_count, T_NOSIG, n);
		ok(!mr_dereg(mr), T_DEREG, n);
		mr = NULL;
	} else {
		skip_ops(n, xfs, false, "no pin");
		skip_ops(n, xfs, true, "no pin");
		skip("no pin", T_NOSIG, n);
		skip("no MR", T_DEREG, n);
	}

	if (leased) {
		r = lease_set(c.fd, F_UNLCK);
		if (r)
			diag("F_UNLCK: %s", errno_name(errno));
		ok(!r, T_UNLCK, n);
	} else {
		skip("no lease", T_UNLCK, n);
	}

	r = child_run(o_run, &a);
	if (r)
		diag("ftruncate by O: %s", child_result_name(r));
	st.st_size = -1;
	if (fstat(c.fd, &st))
		diag("fstat: %s", errno_name(errno));
	else if (st.st_size != CUT_SIZE)
		diag("size is %lld", (long long)st.st_size);
	ok(!r && st.st_size == CUT_SIZE, T_AFTER, n);

	if (mr_dereg(mr))
		clean = false;
	if (map && munmap(map, PIN_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		clean = false;
	}
	if (close(c.fd) || (c.other >= 0 && close(c.other))) {
		diag("close: %s", errno_name(errno));
		clean = false;
	}
	if (unlink(path) || (xfs && unlink(other_path))) {
		diag("unlink: %s", errno_name(errno));
		clean = false;
	}
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	unsigned int points = 0;
	struct sigaction sa;
	bool was_loaded;
	struct verbs v;
	uint64_t seed;

	for_each_dax_fs(fs)
		points += fs_points(fs);
	plan(2 + points + 2);
	seed = pattern_seed();

	/* A lease holder gets SIGIO on a lease break: count, do not die. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);

	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);

	for_each_dax_fs(fs)
		test_fs(v.pd, fs, seed);

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
