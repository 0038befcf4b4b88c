/*
 * Who may take a long-term pin (ibv_reg_mr) of fsdax pages, daxlease loaded
 * (design README, "User-visible contract" and "Lifetime"): only a process
 * holding a layout lease on the file, unbreakable (48) or, for RDMA,
 * breakable (16: the pins are revocable, tests/recall); not without a
 * lease (EOPNOTSUPP, as stock: nobody holds a layout lease on it), not with another process's, not
 * with an orphaned one (its file closed and unmapped while pages stay
 * pinned). F_UNLCK fails with EBUSY while pins taken under the lease exist.
 * Anonymous memory registers as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say it */
#define FS_POINTS	17

/* Point names, the same whether the point runs or is skipped. */
#define T_ANON		"ibv_reg_mr of 2 MiB of anonymous memory works with daxlease loaded"
#define T_CREATE	"%s: create a 2 MiB file holding the pattern"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_MAP		"%s: MAP_SHARED mapping of the whole file"
#define T_NOLEASE	"%s: no layout lease on the file: ibv_reg_mr fails with EOPNOTSUPP, as stock"
#define T_LAYOUT	"%s: F_LAYOUT (16) only: ibv_reg_mr succeeds (revocable pins), F_UNLCK EBUSY until deregistered"
#define T_OTHER_TAKE	"%s: a child process takes 48 on the file and stays alive"
#define T_OTHER		"%s: only the child holds 48: ibv_reg_mr fails with EPERM"
#define T_OWN		"%s: own F_LAYOUT|F_EXCLUSIVE (48): ibv_reg_mr succeeds"
#define T_BUSY		"%s: F_SETLEASE F_UNLCK while the MR is registered fails with EBUSY"
#define T_STILL		"%s: F_GETLEASE still returns 48 after the refused F_UNLCK"
#define T_DEREG		"%s: ibv_dereg_mr"
#define T_UNLCK		"%s: F_SETLEASE F_UNLCK after the deregistration returns 0"
#define T_ORPHAN	"%s: second fd: 48, register, then munmap and close with the MR alive (orphaned lease)"
#define T_ORPHAN_PIN	"%s: first mapping, only the orphaned lease: ibv_reg_mr fails with EPERM"
#define T_ORPHAN_DEREG	"%s: ibv_dereg_mr of the orphaned lease's MR"
#define T_AGAIN		"%s: orphan gone: 48 on the first fd and ibv_reg_mr succeed again"
#define T_CLEAN		"%s: deregister, munmap, close and unlink"

/* ibv_reg_mr expected to fail with @err: one point; undo a success. */
static void reg_refused(struct ibv_pd *pd, void *map, int err,
			const char *fmt, const char *n)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, map, FILE_SIZE, MR_ACCESS);

	ok_errno(!mr, err, fmt, n);
	mr_dereg(mr);
}

static void test_fs(struct ibv_pd *pd, const struct dax_fs *fs, uint64_t seed)
{
	struct ibv_mr *mr = NULL, *orphan_mr = NULL;
	const char *n = fs->name;
	char path[PATH_MAX];
	bool leased, orphaned, clean = true;
	struct helper h;
	void *map = NULL;
	int fd, r;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_MAP, n);
		skip("no file", T_NOLEASE, n);
		skip("no file", T_LAYOUT, n);
		skip("no file", T_OTHER_TAKE, n);
		skip("no file", T_OTHER, n);
		skip("no file", T_OWN, n);
		skip("no file", T_BUSY, n);
		skip("no file", T_STILL, n);
		skip("no file", T_DEREG, n);
		skip("no file", T_UNLCK, n);
		skip("no file", T_ORPHAN, n);
		skip("no file", T_ORPHAN_PIN, n);
		skip("no file", T_ORPHAN_DEREG, n);
		skip("no file", T_AGAIN, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);
	r = file_is_dax(fd);
	ok(r == 1, T_DAX, n);

	map = file_map(fd, FILE_SIZE);
	ok(map, T_MAP, n);

	if (map)
		reg_refused(pd, map, EOPNOTSUPP, T_NOLEASE, n);
	else
		skip("no mapping", T_NOLEASE, n);

	if (!map) {
		skip("no mapping", T_LAYOUT, n);
	} else if (lease_set(fd, F_LAYOUT)) {
		diag("F_SETLEASE F_LAYOUT: %s", errno_name(errno));
		ok(false, T_LAYOUT, n);
	} else {
		struct ibv_mr *mr = mr_reg(pd, map, FILE_SIZE);
		bool busy = mr && lease_set(fd, F_UNLCK) && errno == EBUSY;

		ok(busy && !mr_dereg(mr) && !lease_set(fd, F_UNLCK), T_LAYOUT,
		   n);
		if (!busy)
			mr_dereg(mr);
	}

	r = helper_start(&h, lease_hold_unbreakable, path);
	if (r)
		diag("child: %s", child_result_name(r));
	ok(r == 0, T_OTHER_TAKE, n);
	if (!map)
		skip("no mapping", T_OTHER, n);
	else if (r)
		skip("the child holds no lease", T_OTHER, n);
	else
		reg_refused(pd, map, EPERM, T_OTHER, n);
	helper_stop(&h);

	leased = map && !lease_set(fd, F_UNBREAKABLE);
	if (map && !leased)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	if (leased)
		mr = mr_reg(pd, map, FILE_SIZE);
	ok(mr, T_OWN, n);
	if (mr) {
		ok_errno(lease_set(fd, F_UNLCK) < 0, EBUSY, T_BUSY, n);
		r = lease_get(fd);
		if (r >= 0 && r != F_UNBREAKABLE)
			diag("F_GETLEASE returned %s", lease_name(r));
		ok(r == F_UNBREAKABLE, T_STILL, n);
		ok(!mr_dereg(mr), T_DEREG, n);
		mr = NULL;
	} else {
		skip("no MR", T_BUSY, n);
		skip("no MR", T_STILL, n);
		skip("no MR", T_DEREG, n);
	}
	if (leased) {
		r = lease_set(fd, F_UNLCK);
		if (r)
			diag("F_UNLCK: %s", errno_name(errno));
		ok(!r, T_UNLCK, n);
	} else {
		skip("no lease", T_UNLCK, n);
	}

	orphan_mr = mr_pin_closed(pd, path, FILE_SIZE, &orphaned);
	ok(orphaned, T_ORPHAN, n);
	if (!map)
		skip("no mapping", T_ORPHAN_PIN, n);
	else if (!orphaned)
		skip("no orphaned lease", T_ORPHAN_PIN, n);
	else
		reg_refused(pd, map, EPERM, T_ORPHAN_PIN, n);
	if (orphan_mr)
		ok(!mr_dereg(orphan_mr), T_ORPHAN_DEREG, n);
	else
		skip("no MR", T_ORPHAN_DEREG, n);

	leased = map && !lease_set(fd, F_UNBREAKABLE);
	if (map && !leased)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	if (leased)
		mr = mr_reg(pd, map, FILE_SIZE);
	ok(mr, T_AGAIN, n);

	if (mr_dereg(mr))
		clean = false;
	if (leased && lease_set(fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		clean = false;
	}
	if (map && munmap(map, FILE_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		clean = false;
	}
	if (!file_close_unlink(fd, path))
		clean = false;
	ok(clean, T_CLEAN, n);
}

static void test_anon(struct ibv_pd *pd)
{
	struct ibv_mr *mr = NULL;
	void *buf;

	buf = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		diag("mmap anonymous: %s", errno_name(errno));
	else
		mr = mr_reg(pd, buf, FILE_SIZE);
	ok(mr, T_ANON);
	mr_dereg(mr);
	if (buf != MAP_FAILED)
		munmap(buf, FILE_SIZE);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	struct verbs v;
	uint64_t seed;

	plan(2 + 1 + DAX_FS_COUNT * FS_POINTS + 2);
	seed = pattern_seed();

	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);

	test_anon(v.pd);
	for_each_dax_fs(fs)
		test_fs(v.pd, fs, seed);

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
