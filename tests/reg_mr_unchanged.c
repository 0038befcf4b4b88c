/*
 * Memory daxlease does not govern pins exactly as stock Linux does, with the
 * module loaded and without it: ibv_reg_mr() of a page-cache file (tmpfs)
 * and of a device-dax mapping needs no lease and succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "tap.h"
#include "verbs.h"

/* device-dax maps in its alignment (2 MiB by default) */
#define MAP_SIZE	(2UL << 20)

/* A MAP_SHARED mapping of @path (created at MAP_SIZE if @create), or NULL. */
static void *map_shared(const char *path, bool create)
{
	void *map;
	int fd;

	fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return NULL;
	}
	if (create && ftruncate(fd, MAP_SIZE)) {
		diag("ftruncate %s: %s", path, errno_name(errno));
		close(fd);
		return NULL;
	}
	map = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		diag("mmap %s: %s", path, errno_name(errno));
		return NULL;
	}
	memset(map, 0xa5, MAP_SIZE);
	return map;
}

/* Register and deregister @map: one test point. */
static void reg_dereg(struct ibv_pd *pd, void *map, const char *what,
		      const char *state)
{
	struct ibv_mr *mr = NULL;
	int err = -1;

	if (pd && map) {
		mr = ibv_reg_mr(pd, map, MAP_SIZE, MR_ACCESS);
		if (!mr)
			diag("ibv_reg_mr: %s", errno_name(errno));
		else if ((err = ibv_dereg_mr(mr)))
			diag("ibv_dereg_mr: %s", errno_name(err));
	}
	ok(mr && !err, "%s: ibv_reg_mr and ibv_dereg_mr of %s succeed",
	   state, what);
}

int main(void)
{
	const char *devdax = env_get("DAXLEASE_DEVDAX");
	void *tmpfs_map = NULL, *devdax_map = NULL;
	char tmpfs_path[4096];
	bool was_loaded;
	struct verbs v;
	int pass;

	plan(8);

	snprintf(tmpfs_path, sizeof(tmpfs_path), "%s/reg_mr_unchanged",
		 env_tmp() ?: "/tmp");
	ok(module_need(DAXLEASE_MODULE_NAME, env_module(), &was_loaded) == 0,
	   "daxlease module loaded");
	tmpfs_map = map_shared(tmpfs_path, true);
	if (devdax)
		devdax_map = map_shared(devdax, false);
	else
		diag("DAXLEASE_DEVDAX is not set");

	/* The same registrations, with the module and then without it. */
	for (pass = 0; pass < 2; pass++) {
		const char *state = pass ? "module unloaded" : "module loaded";
		bool opened;

		if (pass)
			ok(!module_unload(DAXLEASE_MODULE_NAME),
			   "unload the daxlease module (no lease, no pin)");
		opened = !verbs_open(&v, env_rxe());
		ok(opened, "%s: open the rxe device", state);
		reg_dereg(opened ? v.pd : NULL, tmpfs_map,
			  "a tmpfs file mapping", state);
		reg_dereg(opened ? v.pd : NULL, devdax_map,
			  "a device-dax mapping", state);
		if (opened)
			verbs_close(&v);
	}

	if (tmpfs_map)
		munmap(tmpfs_map, MAP_SIZE);
	if (devdax_map)
		munmap(devdax_map, MAP_SIZE);
	unlink(tmpfs_path);
	/* reload if it was loaded when we started */
	if (module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded))
		diag("restoring the daxlease module failed");
	return done_testing();
}
