/*
 * Which files may be leased is a property of the file system, not its name
 * (design README, "Eligible files"): ext4 and XFS mark their superblocks
 * (SB_I_DAXLEASE) because they ask daxlease before every layout change,
 * and ext4 does so under every name it is mounted with. Before, the module
 * compared the type name with "ext4" and "xfs", so ext4 mounted as "ext3"
 * was refused (EINVAL) although it runs the same code and hooks.
 *
 * The ext4 test device is reformatted with mkfs.ext3 and mounted
 * -t ext3 -o dax (dax=always is an ext4-only option; plain "dax" is
 * accepted for the ext3 name), a file there is leased, pinned and
 * protected like on ext4; then the device gets its ext4 file system back,
 * mounted as scripts/guest-setup mounts it. The ext2 name is served by ext4
 * only with CONFIG_EXT4_USE_FOR_EXT2, which the test kernel does not set;
 * it goes through the same fill_super and gets the same flag.
 *
 * A DAX file system without the hooks cannot be shown here (the test
 * kernel has none), so that half is an argument in the code: the core
 * refuses long-term fsdax pins on superblocks without SB_I_DAXLEASE before
 * it asks the module (fs/daxlease.c), and the module grants unbreakable
 * leases only on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
#define CUT_SIZE	(1UL << 20)

#define T_EXT3		"ext4's fsdax device reformatted with mkfs.ext3, mounted -t ext3 -o dax: /proc/mounts says ext3 with dax"
#define T_DAX		"ext3: a new 2 MiB file is DAX (statx STATX_ATTR_DAX)"
#define T_LEASE		"ext3: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) returns 0, F_GETLEASE 48"
#define T_PIN		"ext3: ibv_reg_mr of the MAP_SHARED mapping succeeds under the lease"
#define T_REFUSE	"ext3: truncate(2) by another process fails with ETXTBSY while pinned"
#define T_RELEASE	"ext3: after ibv_dereg_mr F_UNLCK returns 0 and truncate(2) by another process succeeds"
#define T_RESTORE	"the device gets its ext4 file system back, mounted -o dax=always where it was"

static struct verbs v;

/* The device mounted at @mnt, from /proc/mounts, and its options. */
static bool mount_of(const char *mnt, char *dev, size_t devlen, char *type,
		     size_t typelen, char *opts, size_t optslen)
{
	char d[PATH_MAX], m[PATH_MAX], t[64], o[1024];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f) {
		diag("/proc/mounts: %s", errno_name(errno));
		return false;
	}
	while (fscanf(f, "%4095s %4095s %63s %1023s %*d %*d", d, m, t, o) == 4)
		if (!strcmp(m, mnt)) {
			snprintf(dev, devlen, "%s", d);
			snprintf(type, typelen, "%s", t);
			snprintf(opts, optslen, "%s", o);
			found = true;
		}
	fclose(f);
	return found;
}

static bool run(const char *fmt, const char *a, const char *b)
{
	char cmd[3 * PATH_MAX];
	int r;

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	r = system(cmd);
	if (r)
		diag("'%s' exited with %d", cmd, r);
	return !r;
}

static void ext3_points(const char *mnt, uint64_t seed)
{
	char path[PATH_MAX] = "";
	struct ibv_mr *mr = NULL;
	bool leased = false;
	void *map = NULL;
	int fd, dax;

	fd = fs_file_create(mnt, FILE_SIZE, seed, path, sizeof(path));
	dax = fd >= 0 ? file_is_dax(fd) : -1;
	ok(dax == 1, T_DAX);

	if (fd >= 0) {
		leased = !lease_set(fd, F_UNBREAKABLE);
		if (!leased)
			diag("F_SETLEASE 48: %s", errno_name(errno));
	}
	ok(leased && lease_get(fd) == F_UNBREAKABLE, T_LEASE);

	if (leased)
		map = file_map(fd, FILE_SIZE);
	if (map)
		mr = mr_reg(v.pd, map, FILE_SIZE);
	ok(mr, T_PIN);
	if (mr)
		ok(truncate_other_is(path, CUT_SIZE, ETXTBSY), T_REFUSE);
	else
		skip("no MR", T_REFUSE);

	if (mr && !mr_dereg(mr) && !lease_set(fd, F_UNLCK))
		ok(truncate_other_is(path, CUT_SIZE, 0), T_RELEASE);
	else if (mr)
		ok(false, T_RELEASE);
	else
		skip("no MR", T_RELEASE);

	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0)
		close(fd);
	if (path[0])
		unlink(path);
}

int main(void)
{
	char dev[PATH_MAX], type[64], opts[1024];
	const char *mnt = env_get("DAXLEASE_EXT4");
	bool was_loaded, ext3 = false, restored, unmounted;

	plan(2 + 7 + 2);
	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);
	if (!mnt || !mount_of(mnt, dev, sizeof(dev), type, sizeof(type),
			      opts, sizeof(opts)) || strcmp(type, "ext4"))
		module_bail_out(was_loaded, "no ext4 test mount");

	unmounted = run("umount %s%s", mnt, "");
	if (unmounted &&
	    run("mkfs.ext3 -q -F -b 4096 %s%s", dev, "") &&
	    run("mount -t ext3 -o dax %s %s", dev, mnt))
		ext3 = mount_of(mnt, dev, sizeof(dev), type, sizeof(type),
				opts, sizeof(opts)) && !strcmp(type, "ext3") &&
		       strstr(opts, "dax");
	if (ext3)
		diag("%s on %s: %s %s", dev, mnt, type, opts);
	if (ok(ext3, T_EXT3)) {
		ext3_points(mnt, pattern_seed());
	} else {
		skip("no ext3 mount", T_DAX);
		skip("no ext3 mount", T_LEASE);
		skip("no ext3 mount", T_PIN);
		skip("no ext3 mount", T_REFUSE);
		skip("no ext3 mount", T_RELEASE);
	}

	/* as scripts/guest-setup made it; untouched if it would not go */
	if (ext3)
		run("umount %s%s", mnt, "");
	else if (unmounted)
		run("umount %s%s 2>/dev/null", mnt, "");
	restored = (!unmounted ||
		    (run("mkfs.ext4 -q -F -b 4096 %s%s", dev, "") &&
		     run("mount -o dax=always %s %s", dev, mnt))) &&
		   mount_of(mnt, dev, sizeof(dev), type, sizeof(type), opts,
			    sizeof(opts)) && !strcmp(type, "ext4") &&
		   strstr(opts, "dax=always");
	if (!ok(restored, T_RESTORE))
		bail_out("the ext4 test file system is not back");

	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}
