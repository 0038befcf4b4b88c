/*
 * Device removal with pinned pages, as an administrator does it, on XFS and
 * on ext4: the test bed's device-dax namespace ($DAXLEASE_DEVDAX_NS, 384 MiB) is
 * made an fsdax namespace with the file system mounted -o dax=always; this
 * process leases an 8 MiB file unbreakably (48), maps it and registers it
 * as an MR beside two connected QPs; then the namespace is unbound from
 * nd_pmem with the MR alive.
 *
 * Without revocation the unbind frees the struct pages under the pins, and
 * deregistering the MR afterwards unpins freed memory (a page fault in
 * unpin_user_page_range_dirty_lock(), a panic).  Expected: the unbind
 * returns success; the MR was revoked first, it alone: we got SIGIO as for
 * a recall and the lease is gone, but no async event (the context, PD, CQ
 * and QPs live on); /proc/self/file_pins and /proc/daxlease are empty; a
 * new MR of anonymous memory on the same PD registers; an RDMA WRITE from
 * the revoked MR into it completes with an error (rxe: IBV_WC_WR_FLUSH_ERR,
 * as the bad WR itself moves the QP to the error state) and nothing lands;
 * ibv_dereg_mr of the revoked MR returns 0; the file system unmounts (on
 * ext4 the stock kernel would crash evicting a mapped file left open
 * across the removal: the module drops the leased files' DAX entries
 * before the pages go); the namespace binds again and its file system
 * mounts with the file intact.
 *
 * Then a media error on a pinned page of another file there: madvise
 * (MADV_HWPOISON) returns 0, we get SIGBUS as every mapper does on a stock
 * kernel, and the pins of the file are revoked as by a recall, with the
 * same outcome as above.  The namespace is made device-dax again at the
 * end, which gives it fresh struct pages (no poisoned one left).  The
 * runner checks the kernel log (no BUG, no warning).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

/* the device-dax namespace of the test bed (guest-setup's env) */
static const char *ns;
#define UNBIND		"/sys/bus/nd/drivers/nd_pmem/unbind"
#define BIND		"/sys/bus/nd/drivers/nd_pmem/bind"
#define MNT		"/run/daxlease/removal"
#define FILE_SIZE	(8UL << 20)
#define WRITE_LEN	(64UL << 10)
/* a memory failure revokes from a work item */
#define REVOKE_MS	10000
/* once the pins are gone, a whole-file revocation's event is queued */
#define NO_EVENT_MS	2000
#define FS_POINTS	20

static volatile sig_atomic_t sigio, sigbus;

static void on_signal(int sig)
{
	if (sig == SIGIO)
		sigio++;
	else
		sigbus++;
}

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

/* Make @ns an fsdax namespace; its block device name (31 chars) in @dev. */
static bool ns_fsdax(char *dev)
{
	char *out = NULL, *p;
	bool good;

	good = run_quiet((char *[]){ "ndctl", "create-namespace", "-f", "-e",
				     (char *)ns, "-m", "fsdax", "--map=mem",
				     NULL },
			 &out);
	p = out ? strstr(out, "\"blockdev\":\"") : NULL;
	good = good && p && sscanf(p + 12, "%31[^\"]", dev) == 1;
	free(out);
	return good;
}

static bool do_mount(const char *devpath, const char *fs)
{
	if (!mount(devpath, MNT, fs, 0, "dax=always"))
		return true;
	diag("mount %s on %s: %s", devpath, MNT, errno_name(errno));
	return false;
}

/*
 * A leased, mapped and registered file: what the device takes away; the
 * QPs and the anonymous buffer are what must stay usable.
 */
struct pinned {
	char path[PATH_MAX];
	int fd;
	void *map;
	struct verbs v;
	struct ibv_mr *mr;
	struct ibv_qp *qp[2];
	void *anon;	/* WRITE_LEN bytes, the target of a WRITE from @mr */
	uint64_t seed;	/* of the file's pattern */
};

static bool pinned_setup(struct pinned *p, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->seed = seed;
	p->fd = fs_file_create(MNT, FILE_SIZE, seed, p->path, sizeof(p->path));
	/* durable, so that it is there after the removal */
	if (p->fd < 0 || fsync(p->fd) || syncfs(p->fd) ||
	    lease_set(p->fd, F_UNBREAKABLE))
		return false;
	p->map = file_map(p->fd, FILE_SIZE);
	if (!p->map || verbs_open(&p->v, env_rxe()) ||
	    verbs_create_pair(&p->v, p->qp))
		return false;
	p->anon = mmap(NULL, WRITE_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->anon == MAP_FAILED) {
		diag("mmap %lu anonymous bytes: %s", WRITE_LEN,
		     errno_name(errno));
		p->anon = NULL;
		return false;
	}
	p->mr = mr_reg(p->v.pd, p->map, FILE_SIZE);
	return p->mr;
}

/* Close what pinned_setup() made (the MR first, if it is still there). */
static void pinned_close(struct pinned *p)
{
	if (p->mr)
		ibv_dereg_mr(p->mr);
	verbs_destroy_pair(p->qp);
	if (p->anon)
		munmap(p->anon, WRITE_LEN);
	if (p->map)
		munmap(p->map, FILE_SIZE);
	if (p->fd >= 0)
		close(p->fd);
	verbs_close(&p->v);
}

/* The state of @qp (ibv_query_qp), or -1 with a diag. */
static int qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr;
	int err = ibv_query_qp(qp, &attr, IBV_QP_STATE, &init);

	if (!err)
		return attr.qp_state;
	diag("ibv_query_qp: %s", errno_name(err));
	return -1;
}

/*
 * The points of a revocation, if what starts it succeeded (@done): the MR
 * alone was revoked (no async event), SIGIO came and the lease is gone,
 * the reports are empty, the PD registers a new MR of anonymous memory, an
 * RDMA WRITE from the revoked MR into that one fails and writes nothing,
 * ibv_dereg_mr of the revoked MR returns 0.  Then everything is closed.
 */
static void pinned_revoked(struct pinned *p, const char *fs, bool done)
{
	int ev = -2, lease = -2, dereg = -1, st = -1, before = -1, after = -1;
	uint64_t seed = ~p->seed;	/* the anonymous buffer's */
	struct ibv_mr *anon_mr = NULL;
	bool gone = false;

	if (done) {
		/* the revoked lease is freed once its MR is */
		gone = gview_becomes(NULL, "", REVOKE_MS);
		ev = verbs_async_event(p->v.ctx, NO_EVENT_MS);
	}
	ok(ev == -1,
	   "%s: the MR alone was revoked: no async event on our context (event %d)",
	   fs, ev);
	if (done)
		lease = lease_get(p->fd);
	ok(sigio > 0 && lease == F_UNLCK,
	   "%s: we got SIGIO (%d) and our lease is gone (F_GETLEASE %s)", fs,
	   (int)sigio, lease_name(lease));
	ok(gone && fpins_is(0, ""),
	   "%s: /proc/self/file_pins and /proc/daxlease are empty", fs);
	if (done) {
		pattern_fill(p->anon, WRITE_LEN, seed, 0);
		anon_mr = mr_reg(p->v.pd, p->anon, WRITE_LEN);
	}
	ok(anon_mr,
	   "%s: ibv_reg_mr of anonymous memory on the same PD succeeds", fs);
	if (anon_mr)
		before = qp_state(p->qp[0]);
	if (before == IBV_QPS_RTS) {
		st = verbs_rdma_write(&p->v, p->qp[0], p->mr, 0, WRITE_LEN,
				      (uintptr_t)p->anon, anon_mr->rkey);
		after = qp_state(p->qp[0]);
	}
	ok(before == IBV_QPS_RTS && st > IBV_WC_SUCCESS &&
	   after == IBV_QPS_ERR && !pattern_check(p->anon, WRITE_LEN, seed, 0),
	   "%s: an RDMA WRITE from the revoked MR into that one through our QP (RTS) completes with an error, nothing lands, the QP is then in the error state",
	   fs);
	mr_dereg(anon_mr);
	if (p->mr)
		dereg = ibv_dereg_mr(p->mr);
	p->mr = NULL;
	ok(dereg == 0, "%s: ibv_dereg_mr afterwards returns 0", fs);
	pinned_close(p);
}

/*
 * A media error on a pinned page (MADV_HWPOISON, root): we get SIGBUS as
 * every mapper does on a stock kernel, and the pins of the file are revoked
 * as by a recall, so that the NIC stops using the poisoned block.
 */
static void media_error(const char *fs, uint64_t seed)
{
	struct pinned p;
	bool set, poisoned = false;

	set = pinned_setup(&p, seed);
	ok(set,
	   "%s: again an 8 MiB file leased (48), mapped and registered, two connected QPs",
	   fs);
	sigio = sigbus = 0;
	if (set) {
		poisoned = !madvise((char *)p.map + 4096, 4096,
				    MADV_HWPOISON);
		if (!poisoned)
			diag("madvise MADV_HWPOISON: %s", errno_name(errno));
	}
	ok(poisoned && sigbus > 0,
	   "%s: a memory failure on a pinned page (MADV_HWPOISON): 0, and we got SIGBUS (%d) as stock",
	   fs, (int)sigbus);
	pinned_revoked(&p, fs, poisoned);
	unlink(p.path);
}

static void test_fs(const char *fs, uint64_t seed)
{
	bool setup = false, unbound = false, mounted = false, bound = false;
	char dev[32] = "", devpath[64];
	struct pinned p = { .fd = -1 };
	int fd, check = -1;

	if (ns_fsdax(dev)) {
		snprintf(devpath, sizeof(devpath), "/dev/%s", dev);
		mkdir(MNT, 0755);
		setup = run_quiet(!strcmp(fs, "xfs") ?
				  (char *[]){ "mkfs.xfs", "-q", "-f", devpath,
					      NULL } :
				  (char *[]){ "mkfs.ext4", "-q", "-F", "-b",
					      "4096", devpath, NULL }, NULL);
		mounted = setup = setup && do_mount(devpath, fs);
	}
	setup = setup && pinned_setup(&p, seed);
	ok(setup,
	   "%s: the device-dax namespace as fsdax (%s), 8 MiB file leased (48), mapped and registered, two connected QPs",
	   fs, dev);

	sigio = 0;
	if (setup)
		unbound = !write_str(UNBIND, ns);
	ok(unbound, "%s: unbind it from nd_pmem with the MR alive: success",
	   fs);
	pinned_revoked(&p, fs, unbound);

	if (mounted && umount(MNT)) {
		diag("umount %s: %s", MNT, errno_name(errno));
		umount2(MNT, MNT_DETACH);
	} else {
		mounted = false;
	}
	ok(unbound && !mounted, "%s: the file system unmounts after the removal",
	   fs);
	bound = unbound && !write_str(BIND, ns);
	ok(bound, "%s: it binds to nd_pmem again", fs);
	mounted = bound && do_mount(devpath, fs);
	if (mounted) {
		fd = open(p.path, O_RDONLY);
		check = fd < 0 ? -1 : pattern_file_check(fd, FILE_SIZE, seed);
		if (fd >= 0)
			close(fd);
		unlink(p.path);
	}
	ok(check == 0, "%s: its file system mounts again, the file intact", fs);

	media_error(fs, seed + 1);
	if (mounted && umount(MNT))
		diag("umount %s: %s", MNT, errno_name(errno));
	ok(!module_unload(DAXLEASE_MODULE_NAME) && !module_load(env_module()),
	   "%s: nothing left behind: the module unloads (and is loaded again)",
	   fs);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool was_loaded;
	uint64_t seed;

	plan(1 + 2 * FS_POINTS + 1 + 1);
	sigaction(SIGIO, &sa, NULL);
	/* memory failure: as to every mapper (the handler returns: it came
	 * from madvise(), not from a load) */
	sigaction(SIGBUS, &sa, NULL);
	seed = pattern_seed();
	ns = env_get("DAXLEASE_DEVDAX_NS");
	if (!ns)
		bail_out("DAXLEASE_DEVDAX_NS is not set (scripts/guest-setup)");
	was_loaded = module_begin();
	test_fs("xfs", seed);
	test_fs("ext4", seed);
	ok(run_quiet((char *[]){ "ndctl", "create-namespace", "-f", "-e",
				 (char *)ns,
				 "-m", "devdax", "--map=mem", NULL }, NULL) &&
	   !access(env_get("DAXLEASE_DEVDAX") ?: "", F_OK),
	   "%s is device-dax again (%s, which the other tests use)", ns,
	   env_get("DAXLEASE_DEVDAX"));
	module_end(was_loaded);
	return done_testing();
}
