/*
 * Stock behaviour, daxlease module not loaded: ibv_reg_mr() of a MAP_SHARED
 * mapping of an fsdax file fails with EOPNOTSUPP, because GUP refuses
 * FOLL_LONGTERM pins of fsdax pages (check_vma_flags() in mm/gup.c), and
 * the failed attempt leaves the file alone. This is what daxlease changes.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "env.h"
#include "kmod.h"
#include "pattern.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)	/* the point names say it */
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)
#define FS_POINTS	6

/* Point names, the same whether the point runs or is skipped. */
#define T_CREATE	"%s: create a 2 MiB file holding the pattern"
#define T_DAX		"%s: file is DAX (statx STATX_ATTR_DAX)"
#define T_MAP		"%s: MAP_SHARED mapping shows the pattern"
#define T_REG		"%s: ibv_reg_mr(LOCAL_WRITE|REMOTE_WRITE) fails with EOPNOTSUPP"
#define T_CONTENTS	"%s: file contents unchanged"
#define T_CLEAN		"%s: munmap, close and unlink"

/* Emits FS_POINTS test points for @fs, whatever happens. */
static void test_fs(struct ibv_pd *pd, const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	void *map = MAP_FAILED;
	char path[PATH_MAX];
	struct ibv_mr *mr;
	int fd = -1, dax;
	bool clean;

	if (!fs->path)
		diag("%s is not set", fs->var);
	else
		fd = pattern_file_create(fs->path, FILE_SIZE, seed, path,
					 sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_MAP, n);
		skip("no file", T_REG, n);
		skip("no file", T_CONTENTS, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);

	dax = file_is_dax(fd);
	ok(dax == 1, T_DAX, n);

	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		diag("mmap %s: %s", path, errno_name(errno));
	/* Reading it also faults the pages in before the pin attempt. */
	ok(map != MAP_FAILED && !pattern_check(map, FILE_SIZE, seed, 0),
	   T_MAP, n);

	if (map == MAP_FAILED) {
		skip("no mapping", T_REG, n);
	} else if (dax != 1) {
		/* A page-cache file pins fine: the point would be meaningless. */
		skip("not a DAX file", T_REG, n);
	} else {
		mr = ibv_reg_mr(pd, map, FILE_SIZE, ACCESS);
		ok_errno(!mr, EOPNOTSUPP, T_REG, n);
		if (mr && ibv_dereg_mr(mr))
			diag("%s: ibv_dereg_mr of the unexpected MR failed", n);
	}

	clean = map == MAP_FAILED || !munmap(map, FILE_SIZE);
	if (!clean)
		diag("munmap: %s", errno_name(errno));
	/* Read through the file, not the (gone) mapping. */
	ok(!pattern_file_check(fd, FILE_SIZE, seed), T_CONTENTS, n);

	if (!file_close_unlink(fd, path))
		clean = false;
	ok(clean, T_CLEAN, n);
}

int main(void)
{
	const struct dax_fs *fs;
	bool was_loaded;
	struct verbs v;
	uint64_t seed;

	plan(2 + DAX_FS_COUNT * FS_POINTS + 2);
	seed = pattern_seed();

	/* Before opening the device: nothing of ours may hold the module. */
	if (!ok(!module_stock_begin(DAXLEASE_MODULE_NAME, &was_loaded),
		"daxlease module not loaded"))
		bail_out("cannot unload the daxlease module");

	if (!ok(!verbs_open(&v, env_rxe()), "open the rxe device"))
		module_bail_out(was_loaded, "no rxe device");

	for_each_dax_fs(fs)
		test_fs(v.pd, fs, seed);

	verbs_end(&v);
	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   "daxlease module state restored (%s)",
	   was_loaded ? "reloaded" : "was not loaded");
	return done_testing();
}
