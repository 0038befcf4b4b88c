/*
 * A breakable layout lease (F_LAYOUT, 16) is broken the usual way, daxlease
 * loaded (design README: "a layout change sends the usual lease break
 * (SIGIO, lease-break-time), then proceeds"): process H takes it, process O
 * truncates the file down; with /proc/sys/fs/lease-break-time at 1 s, O's
 * truncate returns 0 within a few seconds (not ETXTBSY), H got SIGIO, and
 * H's lease is gone (F_GETLEASE F_UNLCK).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define CUT_SIZE	(1UL << 20)
#define BOUND_MS	5000
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define FS_POINTS	9

/* Point names, the same whether the point runs or is skipped. */
#define T_LBT		"set " LBT_PATH " to 1"
#define T_LBT_BACK	"restore " LBT_PATH
#define T_CREATE	"%s: create a 2 MiB file holding the pattern"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_LEASE		"%s: H: F_SETLEASE F_LAYOUT (16) returns 0, F_GETLEASE 16"
#define T_TRUNC		"%s: O: truncate(2) to 1 MiB returns 0 (the lease is broken, not ETXTBSY)"
#define T_TIME		"%s: O's truncate returns within 5 s"
#define T_SIZE		"%s: size is 1 MiB afterwards"
#define T_SIGIO		"%s: H received SIGIO"
#define T_BROKEN	"%s: H: F_GETLEASE returns F_UNLCK afterwards"
#define T_CLEAN		"%s: close and unlink"

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

/* Child: truncate(2) the file at path @arg to CUT_SIZE. */
static int truncate_cut(void *arg)
{
	return truncate(arg, CUT_SIZE) ? errno : 0;
}

static void test_fs(const struct dax_fs *fs, uint64_t seed, bool lbt_set)
{
	const char *n = fs->name;
	char path[PATH_MAX];
	struct stat st;
	bool leased, clean = true;
	long long t0, dt;
	int fd, r;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_LEASE, n);
		skip("no file", T_TRUNC, n);
		skip("no file", T_TIME, n);
		skip("no file", T_SIZE, n);
		skip("no file", T_SIGIO, n);
		skip("no file", T_BROKEN, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);
	r = file_is_dax(fd);
	ok(r == 1, T_DAX, n);

	sigio_count = 0;
	leased = !lease_set(fd, F_LAYOUT);
	if (!leased)
		diag("F_SETLEASE F_LAYOUT: %s", errno_name(errno));
	r = leased ? lease_get(fd) : -1;
	if (leased && r != F_LAYOUT) {
		diag("F_GETLEASE returned %s", lease_name(r));
		leased = false;
	}
	ok(leased, T_LEASE, n);

	if (!leased || !lbt_set) {
		const char *why = leased ? "lease-break-time not set" :
				  "no lease";

		skip(why, T_TRUNC, n);
		skip(why, T_TIME, n);
		skip(why, T_SIZE, n);
		skip(why, T_SIGIO, n);
		skip(why, T_BROKEN, n);
	} else {
		t0 = clock_ms();
		r = child_run(truncate_cut, path);
		dt = clock_ms() - t0;
		diag("%s: O's truncate: %s after %lld ms", n,
		     child_result_name(r), dt);
		ok(r == 0, T_TRUNC, n);
		ok(dt < BOUND_MS, T_TIME, n);
		st.st_size = -1;
		if (fstat(fd, &st))
			diag("fstat: %s", errno_name(errno));
		else if (st.st_size != CUT_SIZE)
			diag("size is %lld", (long long)st.st_size);
		ok(st.st_size == CUT_SIZE, T_SIZE, n);
		ok(sigio_count > 0, T_SIGIO, n);
		r = lease_get(fd);
		if (r >= 0 && r != F_UNLCK)
			diag("F_GETLEASE returned %s", lease_name(r));
		ok(r == F_UNLCK, T_BROKEN, n);
	}

	/* Gone already if broken: F_UNLCK may fail, which is fine. */
	lease_set(fd, F_UNLCK);
	if (!file_close_unlink(fd, path))
		clean = false;
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	struct sigaction sa;
	char lbt[32];
	bool was_loaded, lbt_saved, lbt_set;
	uint64_t seed;

	plan(1 + 1 + DAX_FS_COUNT * FS_POINTS + 1 + 1);
	seed = pattern_seed();

	/* The lease break's SIGIO goes to the holder, this process. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);

	was_loaded = module_begin();

	lbt_saved = !read_str(LBT_PATH, lbt, sizeof(lbt));
	if (lbt_saved)
		diag("%s was %s", LBT_PATH, strtok(lbt, "\n") ?: "?");
	lbt_set = ok(lbt_saved && !write_str(LBT_PATH, "1\n"), T_LBT);

	for_each_dax_fs(fs)
		test_fs(fs, seed, lbt_set);

	if (lbt_saved)
		ok(!write_str(LBT_PATH, lbt), T_LBT_BACK);
	else
		skip("never read", T_LBT_BACK);
	module_end(was_loaded);
	return done_testing();
}
