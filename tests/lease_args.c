/*
 * F_SETLEASE and F_GETLEASE with the layout-lease arguments, daxlease
 * loaded (design README, "User-visible contract"): what is accepted on which
 * file and from whom, and what F_GETLEASE reports. Ordinary read leases
 * keep working.
 *
 * F_RDLCK is 0, so "F_LAYOUT|F_RDLCK" is F_LAYOUT itself (valid); the extra
 * low bits are tested with F_WRLCK (17) and F_UNLCK (18).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"

#define FILE_SIZE	(64UL << 10)	/* the point names say it */
#define NOBODY		65534

static const struct {
	int arg;
	const char *name;
} bad_args[] = {
	{ F_EXCLUSIVE, "32 (F_EXCLUSIVE alone)" },
	{ F_LAYOUT | F_WRLCK, "17 (F_LAYOUT|F_WRLCK)" },
	{ F_LAYOUT | F_UNLCK, "18 (F_LAYOUT|F_UNLCK)" },
	{ F_LAYOUT | F_EXCLUSIVE | 64, "112 (F_LAYOUT|F_EXCLUSIVE|64)" },
	{ F_LAYOUT | 128, "144 (F_LAYOUT|128)" },
};

#define N_BAD		(sizeof(bad_args) / sizeof(bad_args[0]))
#define FS_POINTS	(15 + N_BAD)

/* Point names, the same whether the point runs or is skipped. */
#define T_TMPFS		"tmpfs (not DAX): F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) fails with EINVAL"
#define T_CREATE	"%s: create a 64 KiB file holding the pattern, mode 0666"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_RDLCK		"%s: plain F_RDLCK lease on an O_RDONLY fd: set, F_GETLEASE F_RDLCK, F_UNLCK (regression)"
#define T_SET48		"%s: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) returns 0"
#define T_GET48		"%s: F_GETLEASE returns 48"
#define T_UNLCK48	"%s: F_SETLEASE F_UNLCK of the 48 lease returns 0"
#define T_GETNONE	"%s: F_GETLEASE returns F_UNLCK after the release"
#define T_SET16		"%s: F_SETLEASE F_LAYOUT (16) returns 0"
#define T_GET16		"%s: F_GETLEASE returns 16"
#define T_UNLCK16	"%s: F_SETLEASE F_UNLCK of the 16 lease returns 0, F_GETLEASE F_UNLCK"
#define T_BAD		"%s: F_SETLEASE %s fails with EINVAL, no lease installed"
#define T_DIR		"%s: F_SETLEASE 48 on a directory fails with EINVAL"
#define T_EACCES	"%s: uid/gid 65534 (no CAP_LEASE), root-owned 0666 file: F_SETLEASE 48 fails with EACCES"
#define T_TWO_CHILD	"%s: a child process takes 48 on the file"
#define T_TWO_PARENT	"%s: the parent takes 48 on the same file while the child holds one, F_GETLEASE 48"
#define T_CLEAN		"%s: close and unlink"

/* Pass iff F_GETLEASE on @fd gives @want; diag otherwise. */
static bool getlease_is(int fd, int want)
{
	int type = lease_get(fd);

	if (type == want)
		return true;
	if (type >= 0)
		diag("F_GETLEASE returned %s, expected %s", lease_name(type),
		     lease_name(want));
	return false;
}

/* Pass iff F_SETLEASE @arg on @fd returns 0; diag otherwise. */
static bool setlease_ok(int fd, int arg)
{
	if (!lease_set(fd, arg))
		return true;
	diag("F_SETLEASE %s: %s", lease_name(arg), errno_name(errno));
	return false;
}

static void test_tmpfs(uint64_t seed)
{
	const char *tmp = env_tmp();
	char path[PATH_MAX];
	int fd = -1;

	if (tmp)
		fd = pattern_file_create(tmp, 4096, seed, path, sizeof(path));
	if (fd < 0) {
		skip("no tmpfs file", T_TMPFS);
		return;
	}
	if (file_is_dax(fd) != 0)
		diag("%s is not a plain non-DAX file", path);
	ok_errno(lease_set(fd, F_UNBREAKABLE) < 0, EINVAL, T_TMPFS);
	close(fd);
	unlink(path);
}

/* Child: become nobody, open @arg, try 48. Result: the errno, or 0. */
static int unprivileged_lease(void *arg)
{
	const char *path = arg;
	int fd;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
		diag("dropping privileges: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("open %s as uid %d: %s", path, NOBODY, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	return lease_set(fd, F_UNBREAKABLE) ? errno : 0;
}

/*
 * Fail every point from T_SET48 on: without the file (e.g. a failed reopen)
 * nothing was tested, and a skip would hide that.
 */
static void fail_rest(const char *n, const char *why)
{
	unsigned int i;

	diag("%s: %s: the remaining points fail", n, why);
	ok(false, T_SET48, n);
	ok(false, T_GET48, n);
	ok(false, T_UNLCK48, n);
	ok(false, T_GETNONE, n);
	ok(false, T_SET16, n);
	ok(false, T_GET16, n);
	ok(false, T_UNLCK16, n);
	for (i = 0; i < N_BAD; i++)
		ok(false, T_BAD, n, bad_args[i].name);
	ok(false, T_DIR, n);
	ok(false, T_EACCES, n);
	ok(false, T_TWO_CHILD, n);
	ok(false, T_TWO_PARENT, n);
	ok(false, T_CLEAN, n);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	char path[PATH_MAX];
	struct helper h;
	bool pass, clean = true;
	unsigned int i;
	int fd, rfd, dfd, r, err;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (fd >= 0 && fchmod(fd, 0666)) {
		diag("fchmod 0666: %s", errno_name(errno));
		close(fd);
		unlink(path);
		fd = -1;
	}
	if (!ok(fd >= 0, T_CREATE, n)) {
		ok(false, T_DAX, n);
		ok(false, T_RDLCK, n);
		fail_rest(n, "no file");
		return;
	}
	diag("%s: %s", n, path);
	r = file_is_dax(fd);
	ok(r == 1, T_DAX, n);
	/* A read lease needs the file open for write nowhere: not even here. */
	close(fd);

	rfd = open(path, O_RDONLY);
	if (rfd < 0)
		diag("open O_RDONLY: %s", errno_name(errno));
	pass = rfd >= 0 && setlease_ok(rfd, F_RDLCK) &&
	       getlease_is(rfd, F_RDLCK) && setlease_ok(rfd, F_UNLCK);
	ok(pass, T_RDLCK, n);
	if (rfd >= 0)
		close(rfd);

	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("open O_RDWR: %s", errno_name(errno));
		unlink(path);
		fail_rest(n, "no file");
		return;
	}

	pass = ok(setlease_ok(fd, F_UNBREAKABLE), T_SET48, n);
	if (pass) {
		ok(getlease_is(fd, F_UNBREAKABLE), T_GET48, n);
		pass = ok(setlease_ok(fd, F_UNLCK), T_UNLCK48, n);
	} else {
		skip("no lease", T_GET48, n);
		skip("no lease", T_UNLCK48, n);
	}
	ok(getlease_is(fd, F_UNLCK), T_GETNONE, n);

	pass = ok(setlease_ok(fd, F_LAYOUT), T_SET16, n);
	if (pass) {
		ok(getlease_is(fd, F_LAYOUT), T_GET16, n);
		ok(setlease_ok(fd, F_UNLCK) && getlease_is(fd, F_UNLCK),
		   T_UNLCK16, n);
	} else {
		skip("no lease", T_GET16, n);
		skip("no lease", T_UNLCK16, n);
	}

	for (i = 0; i < N_BAD; i++) {
		r = lease_set(fd, bad_args[i].arg);
		err = errno;
		if (!r) {
			diag("F_SETLEASE %s succeeded", bad_args[i].name);
			lease_set(fd, F_UNLCK);
		} else if (err != EINVAL) {
			diag("expected EINVAL, got %s", errno_name(err));
		}
		ok(r < 0 && err == EINVAL && getlease_is(fd, F_UNLCK), T_BAD,
		   n, bad_args[i].name);
	}

	dfd = open(fs->path, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		diag("open %s: %s", fs->path, errno_name(errno));
		skip("cannot open the directory", T_DIR, n);
	} else {
		r = lease_set(dfd, F_UNBREAKABLE);
		ok_errno(r < 0, EINVAL, T_DIR, n);
		if (!r)
			lease_set(dfd, F_UNLCK);
		close(dfd);
	}

	r = child_run(unprivileged_lease, path);
	if (r != EACCES)
		diag("unprivileged F_SETLEASE 48: %s, expected EACCES",
		     child_result_name(r));
	ok(r == EACCES, T_EACCES, n);

	r = helper_start(&h, lease_hold_unbreakable, path);
	if (r)
		diag("child: %s", child_result_name(r));
	if (ok(r == 0, T_TWO_CHILD, n)) {
		pass = setlease_ok(fd, F_UNBREAKABLE);
		ok(pass && getlease_is(fd, F_UNBREAKABLE), T_TWO_PARENT, n);
		if (pass && lease_set(fd, F_UNLCK))
			diag("F_UNLCK: %s", errno_name(errno));
	} else {
		skip("the child holds no lease", T_TWO_PARENT, n);
	}
	if (helper_stop(&h))
		clean = false;

	if (!file_close_unlink(fd, path))
		clean = false;
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	uint64_t seed;

	plan(1 + 1 + DAX_FS_COUNT * FS_POINTS + 1);
	seed = pattern_seed();

	was_loaded = module_begin();

	test_tmpfs(seed);
	for_each_dax_fs(fs)
		test_fs(fs, seed);

	module_end(was_loaded);
	return done_testing();
}
