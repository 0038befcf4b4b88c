/*
 * Unloading daxlease (design README, "Lifetime" and the contract's last
 * row): the module cannot go while a layout lease or a pin exists
 * (delete_module fails with the kernel's "in use" errno and the module
 * stays); with none alive it unloads, and the patched kernel is then stock:
 * F_LAYOUT and F_LAYOUT|F_EXCLUSIVE give EINVAL, F_GETLEASE F_UNLCK, a
 * long-term pin of fsdax pages EOPNOTSUPP, truncate works. Loading it again
 * brings the layout leases back. The module is left as it was found.
 *
 * delete_module() on a module whose reference count is held returns
 * EWOULDBLOCK (= EAGAIN; kernel/module/main.c try_stop_module()); rmmod
 * reports that as "in use". The design says "EBUSY": both are accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say these */
#define CUT_SIZE	(1UL << 20)
#define FS_POINTS	8		/* T_CREATE, T_S*, T_AGAIN, T_CLEAN */

/* Point names, the same whether the point runs or is skipped. */
#define T_LOADED	"daxlease module loaded"
#define T_CREATE	"%s: create a 2 MiB file holding the pattern"
#define T_HOLD_LEASE	"a child process holds F_LAYOUT|F_EXCLUSIVE (48) on an fsdax file"
#define T_BUSY_LEASE	"delete_module fails (EWOULDBLOCK or EBUSY) while the child's lease lives; module stays loaded"
#define T_HOLD_PIN	"a child process holds 48 and an MR of the file's MAP_SHARED mapping"
#define T_BUSY_PIN	"delete_module fails (EWOULDBLOCK or EBUSY) while the child's pin lives; module stays loaded"
#define T_UNLOAD	"no lease or pin alive: delete_module succeeds, /sys/module/daxlease gone"
#define T_RXE		"open the rxe device"
#define T_S16		"%s: module unloaded: F_SETLEASE F_LAYOUT (16) fails with EINVAL"
#define T_S48		"%s: module unloaded: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) fails with EINVAL"
#define T_SGET		"%s: module unloaded: F_GETLEASE returns F_UNLCK"
#define T_SREG		"%s: module unloaded: ibv_reg_mr of the MAP_SHARED mapping fails with EOPNOTSUPP"
#define T_STRUNC	"%s: module unloaded: ftruncate to 1 MiB succeeds, size 1 MiB"
#define T_RXE_CLOSE	"close the rxe device"
#define T_RELOAD	"load daxlease.ko again"
#define T_AGAIN		"%s: reloaded: F_SETLEASE 48 returns 0, F_GETLEASE 48, F_UNLCK returns 0"
#define T_CLEAN		"%s: close and unlink"
#define T_RESTORED	"daxlease module state restored (%s)"

struct file {
	char path[PATH_MAX];
	int fd;
};

/* Helper: open @arg, take 48, map and register it; all kept until exit. */
static int hold_pin(void *arg)
{
	const char *path = arg;
	struct ibv_mr *mr;
	struct verbs v;
	void *map;
	int fd, err;

	if (verbs_open(&v, env_rxe()))
		return CHILD_SETUP_ERR;
	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("helper: open %s: %s", path, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		err = errno;
		diag("helper: F_SETLEASE 48: %s", errno_name(err));
		return err;
	}
	map = file_map(fd, FILE_SIZE);
	if (!map)
		return CHILD_SETUP_ERR;
	mr = mr_reg(v.pd, map, FILE_SIZE);
	if (!mr)
		return errno ? errno : CHILD_SETUP_ERR;
	return 0;
}

/* The holder scenarios on the first file that exists. */
static void test_busy(const struct file *f)
{
	struct helper h;
	int r;

	if (!f) {
		skip("no file", T_HOLD_LEASE);
		skip("no file", T_BUSY_LEASE);
		skip("no file", T_HOLD_PIN);
		skip("no file", T_BUSY_PIN);
		return;
	}
	r = helper_start(&h, lease_hold_unbreakable, (void *)f->path);
	if (r)
		diag("child: %s", child_result_name(r));
	if (ok(r == 0, T_HOLD_LEASE))
		ok(module_unload_refused(), "%s", T_BUSY_LEASE);
	else
		skip("no lease", T_BUSY_LEASE);
	helper_stop(&h);

	r = helper_start(&h, hold_pin, (void *)f->path);
	if (r)
		diag("child: %s", child_result_name(r));
	if (ok(r == 0, T_HOLD_PIN))
		ok(module_unload_refused(), "%s", T_BUSY_PIN);
	else
		skip("no pin", T_BUSY_PIN);
	helper_stop(&h);
}

/* Stock behaviour on @f with the module unloaded: 5 points. */
static void test_stock(const char *n, struct file *f, struct ibv_pd *pd,
		       bool unloaded)
{
	struct ibv_mr *mr;
	struct stat st;
	void *map;
	int r;

	if (f->fd < 0 || !unloaded) {
		const char *why = f->fd < 0 ? "no file" : "module loaded";

		skip(why, T_S16, n);
		skip(why, T_S48, n);
		skip(why, T_SGET, n);
		skip(why, T_SREG, n);
		skip(why, T_STRUNC, n);
		return;
	}
	r = lease_set(f->fd, F_LAYOUT);
	ok_errno(r < 0, EINVAL, T_S16, n);
	if (!r)
		lease_set(f->fd, F_UNLCK);
	r = lease_set(f->fd, F_UNBREAKABLE);
	ok_errno(r < 0, EINVAL, T_S48, n);
	if (!r)
		lease_set(f->fd, F_UNLCK);
	r = lease_get(f->fd);
	if (r >= 0 && r != F_UNLCK)
		diag("F_GETLEASE returned %s", lease_name(r));
	ok(r == F_UNLCK, T_SGET, n);

	map = file_map(f->fd, FILE_SIZE);
	if (!pd || !map) {
		skip(pd ? "no mapping" : "no rxe device", T_SREG, n);
	} else {
		mr = ibv_reg_mr(pd, map, FILE_SIZE, MR_ACCESS);
		ok_errno(!mr, EOPNOTSUPP, T_SREG, n);
		mr_dereg(mr);
	}
	if (map)
		munmap(map, FILE_SIZE);

	r = ftruncate(f->fd, CUT_SIZE);
	if (r)
		diag("ftruncate: %s", errno_name(errno));
	st.st_size = -1;
	fstat(f->fd, &st);
	ok(!r && st.st_size == CUT_SIZE, T_STRUNC, n);
}

static void test_again(const char *n, const struct file *f, bool reloaded)
{
	bool pass;
	int r;

	if (f->fd < 0 || !reloaded) {
		skip(f->fd < 0 ? "no file" : "module not loaded", T_AGAIN, n);
		return;
	}
	pass = !lease_set(f->fd, F_UNBREAKABLE);
	if (!pass)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	r = pass ? lease_get(f->fd) : -1;
	if (pass && r != F_UNBREAKABLE) {
		diag("F_GETLEASE returned %s", lease_name(r));
		pass = false;
	}
	if (r >= 0 && lease_set(f->fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		pass = false;
	}
	ok(pass, T_AGAIN, n);
}

int main(void)
{
	struct file files[DAX_FS_COUNT], *first = NULL;
	const struct dax_fs *fs;
	bool was_loaded, unloaded, reloaded, have_verbs;
	struct verbs v;
	uint64_t seed;
	int i;

	plan(1 + 4 + 1 + 1 + 1 + 1 + DAX_FS_COUNT * FS_POINTS + 1);
	seed = pattern_seed();

	if (!ok(!module_need(DAXLEASE_MODULE_NAME, env_module(), &was_loaded),
		T_LOADED))
		bail_out("cannot load the daxlease module");

	i = 0;
	for_each_dax_fs(fs) {
		files[i].fd = fs_file_create(fs->path, FILE_SIZE, seed,
					     files[i].path,
					     sizeof(files[i].path));
		if (ok(files[i].fd >= 0, T_CREATE, fs->name)) {
			diag("%s: %s", fs->name, files[i].path);
			if (!first)
				first = &files[i];
		}
		i++;
	}

	test_busy(first);

	/* Nothing of ours holds the module now: no verbs context is open. */
	unloaded = !module_unload(DAXLEASE_MODULE_NAME);
	if (!unloaded)
		diag("delete_module: %s", errno_name(errno));
	unloaded = unloaded && !module_loaded(DAXLEASE_MODULE_NAME);
	ok(unloaded, T_UNLOAD);

	have_verbs = ok(!verbs_open(&v, env_rxe()), T_RXE);
	i = 0;
	for_each_dax_fs(fs) {
		test_stock(fs->name, &files[i], have_verbs ? v.pd : NULL,
			   unloaded);
		i++;
	}
	if (have_verbs)
		ok(!verbs_close(&v), T_RXE_CLOSE);
	else
		skip("no rxe device", T_RXE_CLOSE);

	if (!unloaded) {
		skip("the module was not unloaded", T_RELOAD);
		reloaded = module_loaded(DAXLEASE_MODULE_NAME);
	} else {
		if (!env_module())
			diag("DAXLEASE_MODULE is not set");
		else if (module_load(env_module()))
			diag("loading %s: %s", env_module(),
			     errno_name(errno));
		reloaded = ok(module_loaded(DAXLEASE_MODULE_NAME), T_RELOAD);
	}

	i = 0;
	for_each_dax_fs(fs) {
		test_again(fs->name, &files[i], reloaded);
		i++;
	}

	i = 0;
	for_each_dax_fs(fs) {
		if (files[i].fd < 0) {
			skip("no file", T_CLEAN, fs->name);
		} else {
			bool clean = !close(files[i].fd);

			clean = !unlink(files[i].path) && clean;
			ok(clean, T_CLEAN, fs->name);
		}
		i++;
	}

	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   T_RESTORED, was_loaded ? "still loaded" : "unloaded again");
	return done_testing();
}
