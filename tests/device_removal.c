/*
 * Device removal with pinned pages, daxlease loaded, as an administrator
 * does it: namespace2.0 (the test bed's device-dax namespace) is made an
 * fsdax namespace with an XFS, then an ext4 file system mounted -o
 * dax=always; this process leases (48) an 8 MiB file there, maps it and
 * registers it as an MR; then the namespace is unbound from nd_pmem.  On a
 * kernel that lets that happen with the pages pinned, deregistering the MR
 * afterwards unpins struct pages that are gone (a page fault in
 * unpin_user_page_range_dirty_lock()). Expected: the unbind succeeds, the
 * pins were revoked before (IBV_EVENT_DEVICE_FATAL on our context, no page
 * in /proc/self/file_pins), ibv_dereg_mr returns 0, and the namespace binds
 * and becomes device-dax again afterwards.  The kernel log is checked by
 * the runner (no BUG, no warning).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define NS		"namespace2.0"
#define UNBIND		"/sys/bus/nd/drivers/nd_pmem/unbind"
#define BIND		"/sys/bus/nd/drivers/nd_pmem/bind"
#define MNT		"/run/daxlease/removal"
#define FILE_SIZE	(8UL << 20)
#define FS_POINTS	7

static bool run_quiet(char *const argv[], char **out)
{
	struct cmd c = CMD_INIT;
	bool good;

	good = !cmd_run(&c, CMD_SAME_USER, argv) && c.status == 0;
	if (!good)
		cmd_diag(&c);
	if (out)
		*out = good && c.out ? strdup(c.out) : NULL;
	cmd_free(&c);
	return good;
}

/* Make NS an fsdax namespace; its block device name (31 chars) in @dev. */
static bool ns_fsdax(char *dev)
{
	char *out = NULL, *p;
	bool good;

	good = run_quiet((char *[]){ "ndctl", "create-namespace", "-f", "-e",
				     NS, "-m", "fsdax", "--map=mem", NULL },
			 &out);
	p = out ? strstr(out, "\"blockdev\":\"") : NULL;
	good = good && p && sscanf(p + 12, "%31[^\"]", dev) == 1;
	free(out);
	return good;
}

static int async_event(struct ibv_context *ctx, unsigned int ms)
{
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	struct ibv_async_event ev;
	int type;

	if (poll(&p, 1, ms) != 1 || ibv_get_async_event(ctx, &ev))
		return -1;
	type = ev.event_type;
	ibv_ack_async_event(&ev);
	return type;
}

static void test_fs(const char *fs, uint64_t seed)
{
	char dev[32] = "", devpath[64], path[PATH_MAX], *fp = NULL;
	bool setup = false, unbound = false, bound;
	struct ibv_mr *mr = NULL;
	struct verbs v = { 0 };
	void *map = NULL;
	int fd = -1, ev = -1, dereg = -1;

	if (ns_fsdax(dev)) {
		snprintf(devpath, sizeof(devpath), "/dev/%s", dev);
		mkdir(MNT, 0755);
		setup = run_quiet(!strcmp(fs, "xfs") ?
				  (char *[]){ "mkfs.xfs", "-q", "-f", devpath,
					      NULL } :
				  (char *[]){ "mkfs.ext4", "-q", "-F", "-b",
					      "4096", devpath, NULL }, NULL) &&
			!mount(devpath, MNT, fs, 0, "dax=always");
	}
	if (setup) {
		fd = fs_file_create(MNT, FILE_SIZE, seed, path, sizeof(path));
		setup = fd >= 0 && !lease_set(fd, F_LAYOUT | F_EXCLUSIVE);
		map = setup ? file_map(fd, FILE_SIZE) : NULL;
		setup = map && !verbs_open(&v, env_rxe());
		mr = setup ? mr_reg(v.pd, map, FILE_SIZE) : NULL;
	}
	ok(mr != NULL,
	   "%s: " NS " as fsdax (%s), 8 MiB file leased (48), mapped and registered",
	   fs, dev);
	if (mr)
		unbound = !write_str(UNBIND, NS);
	ok(unbound, "%s: unbind " NS " from nd_pmem with the MR alive: success",
	   fs);
	if (unbound)
		ev = async_event(v.ctx, 10000);
	ok(ev == IBV_EVENT_DEVICE_FATAL,
	   "%s: our verbs context was revoked first: IBV_EVENT_DEVICE_FATAL (event %d)",
	   fs, ev);
	if (unbound)
		fp = fpins_get(0);
	ok(fp && !*fp, "%s: /proc/self/file_pins is empty", fs);
	if (fp && *fp)
		diag_text("file_pins", fp);
	free(fp);
	if (mr)
		dereg = ibv_dereg_mr(mr);
	ok(dereg == 0, "%s: ibv_dereg_mr afterwards returns 0 (no crash)", fs);
	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0)
		close(fd);
	verbs_close(&v);
	umount2(MNT, MNT_DETACH);
	bound = !unbound || !write_str(BIND, NS);
	ok(bound, "%s: " NS " binds to nd_pmem again", fs);
	ok(!module_unload(DAXLEASE_MODULE_NAME) && !module_load(env_module()),
	   "%s: nothing left behind: the module unloads (and is loaded again)",
	   fs);
}

int main(void)
{
	bool was_loaded;
	uint64_t seed;

	plan(1 + 2 * FS_POINTS + 1 + 1);
	seed = pattern_seed();
	was_loaded = module_begin();
	test_fs("xfs", seed);
	test_fs("ext4", seed);
	ok(run_quiet((char *[]){ "ndctl", "create-namespace", "-f", "-e", NS,
				 "-m", "devdax", "--map=mem", NULL }, NULL),
	   NS " is device-dax again");
	module_end(was_loaded);
	return done_testing();
}
