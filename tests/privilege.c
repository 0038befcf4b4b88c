/*
 * Privilege, daxlease loaded (issue 8, point 5).
 *
 * Leases, on XFS and ext4: uid/gid 65534 without capabilities cannot take
 * F_LAYOUT|F_EXCLUSIVE (48) nor F_LAYOUT (16) on a root-owned 0666 fsdax
 * file: EACCES, as a stock F_RDLCK lease there (same call, same errno). With
 * CAP_LEASE as its only capability the same process can take both; on a
 * file it owns it needs no capability. (tests/lease_args.c has the 48 case
 * alone.)
 *
 * RLIMIT_MEMLOCK: pinned fsdax pages count as stock RDMA counts pinned
 * pages (mm->pinned_vm against RLIMIT_MEMLOCK unless CAP_IPC_LOCK). A uid
 * 65534 process with RLIMIT_MEMLOCK 64 KiB, holding 48 on its own fsdax
 * file: ibv_reg_mr of 1 MiB of the file fails with ENOMEM, as 1 MiB of
 * anonymous memory does; 32 KiB of either succeeds; VmPin in
 * /proc/self/status (pinned_vm) is 0 after a refusal, 32 kB with the MR and
 * 0 again after ibv_dereg_mr. The same for io_uring fixed buffers
 * (IORING_REGISTER_BUFFERS, mm-owned long-term pins since hooks/0008),
 * which io_uring charges to the user's locked memory against the same
 * limit and to pinned_vm.
 *
 * /proc/<pid>/file_pins across users (tests/file_pins_proc.c checks a
 * reader against root and against a process of the same uid and another
 * gid, both without pins): a uid 65534 process holding an MR; root reads
 * exactly its block, uid 65533 gets EACCES, uid 65534 reads the same text.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/io_uring.h>

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

#define NOBODY		65534
#define OTHER_UID	65533
#define LEASE_FILE	(64UL << 10)	/* the point names say these */
#define BIG		(1UL << 20)
#define SMALL		(32UL << 10)
#define MEMLOCK		(64UL << 10)
#define NOT_READ	(-2)		/* VmPin could not be read */

/* Point names, the same whether the point runs or is skipped. */
#define T_RXE		"open the rxe device"
#define T_CREATE	"%s: a root-owned 0666 fsdax file of 64 KiB"
#define T_NOCAP_48	"%s: uid/gid 65534, no capabilities: F_SETLEASE 48 on the root-owned file fails with EACCES"
#define T_NOCAP_16	"%s: uid/gid 65534, no capabilities: F_SETLEASE 16 fails with EACCES"
#define T_NOCAP_RD	"%s: uid/gid 65534, no capabilities: stock F_RDLCK on an O_RDONLY fd fails with EACCES too"
#define T_CAP_48	"%s: uid/gid 65534 with CAP_LEASE only: F_SETLEASE 48 returns 0, F_GETLEASE 48, F_UNLCK 0"
#define T_CAP_16	"%s: uid/gid 65534 with CAP_LEASE only: F_SETLEASE 16 returns 0, F_GETLEASE 16"
#define T_OWNER		"%s: uid/gid 65534 without capabilities on a file it owns: F_SETLEASE 48 returns 0"
#define T_CLEAN		"%s: unlink the files"
#define T_ML_SETUP	"memlock: uid 65534, RLIMIT_MEMLOCK 64 KiB, 48 on its own 1 MiB fsdax file, mapped; 1 MiB of anonymous memory"
#define T_ML_DAX_BIG	"memlock: %s of 1 MiB of the leased fsdax file fails with ENOMEM"
#define T_ML_ANON_BIG	"memlock: %s of 1 MiB of anonymous memory fails with ENOMEM (the same)"
#define T_ML_PIN0	"memlock: %s: VmPin is 0 kB after both refusals"
#define T_ML_DAX_OK	"memlock: %s of 32 KiB of the fsdax file succeeds, VmPin 32 kB"
#define T_ML_RELEASE	"memlock: %s: VmPin is 0 kB again after the release"
#define T_ML_ANON_OK	"memlock: %s of 32 KiB of anonymous memory succeeds, VmPin 32 kB, 0 after the release"
#define T_ML_AFTER	"memlock: after the process exits, nothing in /proc/daxlease for the file and its pattern is intact"
#define T_FP_HOLDER	"file_pins: a uid 65534 process (dumpable) holds 48 and a 32 KiB MR of its own fsdax file"
#define T_FP_ROOT	"file_pins: root reads exactly its block"
#define T_FP_OTHER	"file_pins: uid/gid 65533 reading it fails with EACCES"
#define T_FP_SAME	"file_pins: uid/gid 65534 reads exactly the same text"
#define T_FP_GONE	"file_pins: the holder exits, nothing in /proc/daxlease for the file"

/* What the memlock child saw for one pinner: errno values, VmPin in kB. */
struct pin_seen {
	int dax_big, anon_big, pin_refused;
	int dax_ok, pin_dax, pin_dax_released;
	int anon_ok, pin_anon, pin_anon_released;
};

enum { P_RDMA, P_URING, N_PINNERS };

static const char *const pinner_names[N_PINNERS] = {
	"ibv_reg_mr", "IORING_REGISTER_BUFFERS",
};

struct memlock {
	const char *path;
	int setup;
	struct pin_seen seen[N_PINNERS];
};

/* What the file_pins holder reports. */
struct holder {
	const char *path;
	int cmd_fd;
};

static struct memlock *ml;
static struct holder *hd;

/* capset: exactly @caps (a CAP_* bit mask below 32) effective and permitted. */
static int caps_only(unsigned int caps)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = caps;
	return syscall(SYS_capset, &h, d) ? errno : 0;
}

/* Become uid/gid 65534 keeping only @caps. 0 or an errno. */
static int become_nobody(unsigned int caps)
{
	int err;

	if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return errno;
	err = drop_ids(NOBODY, NOBODY);
	if (!err)
		err = caps_only(caps);
	if (err)
		diag("becoming uid 65534: %s", errno_name(err));
	return err;
}

struct lease_try {
	const char *path;
	unsigned int caps;
	int flags;
	int arg;
	int want_get;	/* F_GETLEASE expected after a success */
};

/* Child: as uid 65534 with @caps, open and F_SETLEASE; 0 or the errno. */
static int try_lease(void *arg)
{
	struct lease_try *t = arg;
	int fd, type;

	if (become_nobody(t->caps))
		return CHILD_SETUP_ERR;
	fd = open(t->path, t->flags);
	if (fd < 0) {
		diag("open %s as uid 65534: %s", t->path, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, t->arg))
		return errno;
	type = lease_get(fd);
	if (type != t->want_get) {
		diag("F_GETLEASE: %s, expected %s", lease_name(type),
		     lease_name(t->want_get));
		return CHILD_SETUP_ERR;
	}
	if (lease_set(fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	return 0;
}

static bool lease_is(const char *path, unsigned int caps, int flags, int arg,
		     int want)
{
	struct lease_try t = { path, caps, flags, arg, arg };
	int r = child_run(try_lease, &t);

	if (r != want)
		diag("F_SETLEASE %s: %s, expected %s", lease_name(arg),
		     child_result_name(r), child_result_name(want));
	return r == want;
}

static int make_file(const char *dir, size_t size, uint64_t seed, char *path,
		     uid_t owner, mode_t mode)
{
	int fd = fs_file_create(dir, size, seed, path, PATH_MAX);

	if (fd < 0)
		return -1;
	if (fchown(fd, owner, owner) || fchmod(fd, mode)) {
		diag("chown/chmod %s: %s", path, errno_name(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static void lease_points(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	char path[PATH_MAX], own[PATH_MAX];
	bool have;

	have = fs->path && !make_file(fs->path, LEASE_FILE, seed, path, 0, 0666);
	if (!ok(have, T_CREATE, n)) {
		skip("no file", T_NOCAP_48, n);
		skip("no file", T_NOCAP_16, n);
		skip("no file", T_NOCAP_RD, n);
		skip("no file", T_CAP_48, n);
		skip("no file", T_CAP_16, n);
		skip("no file", T_OWNER, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	ok(lease_is(path, 0, O_RDWR, F_UNBREAKABLE, EACCES), T_NOCAP_48, n);
	ok(lease_is(path, 0, O_RDWR, F_LAYOUT, EACCES), T_NOCAP_16, n);
	ok(lease_is(path, 0, O_RDONLY, F_RDLCK, EACCES), T_NOCAP_RD, n);
	ok(lease_is(path, 1U << CAP_LEASE, O_RDWR, F_UNBREAKABLE, 0),
	   T_CAP_48, n);
	ok(lease_is(path, 1U << CAP_LEASE, O_RDWR, F_LAYOUT, 0), T_CAP_16, n);
	have = !make_file(fs->path, LEASE_FILE, seed, own, NOBODY, 0600);
	ok(have && lease_is(own, 0, O_RDWR, F_UNBREAKABLE, 0), T_OWNER, n);
	ok(!unlink(path) && (!have || !unlink(own)), T_CLEAN, n);
}

/* VmPin of /proc/self/status in kB, NOT_READ on error. */
static int vm_pin_kb(void)
{
	const char *step;
	char *text = text_read("/proc/self/status", &step), *p;
	int kb = NOT_READ;

	p = text ? strstr(text, "\nVmPin:") : NULL;
	if (p)
		kb = atoi(p + strlen("\nVmPin:"));
	free(text);
	return kb;
}

/* A long-term pinner: RDMA MRs on @v, or io_uring buffers on @ring. */
struct pinner {
	int kind;
	struct verbs *v;
	struct ibv_mr *mr;
	int ring;
};

/* Pin @len bytes at @addr: 0 or the errno. */
static int pin(struct pinner *p, void *addr, size_t len)
{
	struct iovec iov = { addr, len };

	if (p->kind == P_RDMA) {
		p->mr = ibv_reg_mr(p->v->pd, addr, len, MR_ACCESS);
		return p->mr ? 0 : errno;
	}
	return syscall(__NR_io_uring_register, p->ring, IORING_REGISTER_BUFFERS,
		       &iov, 1) ? errno : 0;
}

static void unpin(struct pinner *p)
{
	if (p->kind == P_RDMA) {
		if (ibv_dereg_mr(p->mr))
			diag("ibv_dereg_mr failed");
		p->mr = NULL;
	} else if (syscall(__NR_io_uring_register, p->ring,
			   IORING_UNREGISTER_BUFFERS, NULL, 0)) {
		diag("IORING_UNREGISTER_BUFFERS: %s", errno_name(errno));
	}
}

/* A pin that is released at once if it succeeds: 0 or the errno. */
static int pin_once(struct pinner *p, void *addr, size_t len)
{
	int err = pin(p, addr, len);

	if (!err)
		unpin(p);
	return err;
}

/* A pin, VmPin with it, VmPin after its release: 0 or the errno. */
static int pin_measured(struct pinner *p, void *addr, size_t len, int *with,
			int *released)
{
	int err = pin(p, addr, len);

	*with = vm_pin_kb();
	if (!err)
		unpin(p);
	*released = vm_pin_kb();
	return err;
}

static void measure(struct pinner *p, void *map, void *anon,
		    struct pin_seen *seen)
{
	seen->dax_big = pin_once(p, map, BIG);
	seen->anon_big = pin_once(p, anon, BIG);
	seen->pin_refused = vm_pin_kb();
	seen->dax_ok = pin_measured(p, map, SMALL, &seen->pin_dax,
				    &seen->pin_dax_released);
	seen->anon_ok = pin_measured(p, anon, SMALL, &seen->pin_anon,
				     &seen->pin_anon_released);
}

/* Child: everything of the memlock points, results in *ml. */
static int memlock_child(void *arg)
{
	struct rlimit rl = { MEMLOCK, MEMLOCK };
	struct io_uring_params params;
	struct pinner p[N_PINNERS];
	struct verbs v;
	void *map, *anon;
	int fd, i;

	(void)arg;
	ml->setup = CHILD_SETUP_ERR;
	if (become_nobody(0) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return CHILD_SETUP_ERR;
	if (verbs_open(&v, env_rxe()))
		return CHILD_SETUP_ERR;
	fd = open(ml->path, O_RDWR);
	if (fd < 0 || lease_set(fd, F_UNBREAKABLE)) {
		diag("open and lease %s: %s", ml->path, errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	map = file_map(fd, BIG);
	anon = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!map || anon == MAP_FAILED)
		return CHILD_SETUP_ERR;
	memset(anon, 1, BIG);
	memset(&params, 0, sizeof(params));
	memset(p, 0, sizeof(p));
	p[P_URING].ring = syscall(__NR_io_uring_setup, 4, &params);
	if (p[P_URING].ring < 0) {
		diag("io_uring_setup: %s", errno_name(errno));
		return CHILD_SETUP_ERR;
	}
	ml->setup = 0;
	for (i = 0; i < N_PINNERS; i++) {
		p[i].kind = i;
		p[i].v = &v;
		measure(&p[i], map, anon, &ml->seen[i]);
	}
	close(p[P_URING].ring);
	verbs_close(&v);
	return 0;
}

static bool err_is(int got, int want, const char *what)
{
	if (got != want)
		diag("%s: %s, expected %s", what,
		     got ? errno_name(got) : "success",
		     want ? errno_name(want) : "success");
	return got == want;
}

static bool pin_is(int got, int want, const char *what)
{
	if (got != want)
		diag("VmPin %s: %d kB, expected %d kB", what, got, want);
	return got == want;
}

static void memlock_points(const struct dax_fs *fs, uint64_t seed)
{
	char path[PATH_MAX], *esc;
	bool run;
	int r, fd, i;

	memset(ml, 0, sizeof(*ml));
	ml->path = path;
	run = fs && !make_file(fs->path, BIG, seed, path, NOBODY, 0600);
	r = run ? child_run(memlock_child, NULL) : CHILD_SETUP_ERR;
	if (r || ml->setup)
		diag("memlock child: %s", child_result_name(r ?: ml->setup));
	if (!ok(run && !r && !ml->setup, T_ML_SETUP)) {
		const char *why = "no unprivileged process";

		for (i = 0; i < N_PINNERS; i++) {
			skip(why, T_ML_DAX_BIG, pinner_names[i]);
			skip(why, T_ML_ANON_BIG, pinner_names[i]);
			skip(why, T_ML_PIN0, pinner_names[i]);
			skip(why, T_ML_DAX_OK, pinner_names[i]);
			skip(why, T_ML_RELEASE, pinner_names[i]);
			skip(why, T_ML_ANON_OK, pinner_names[i]);
		}
		skip(why, T_ML_AFTER);
		if (run)
			unlink(path);
		return;
	}
	for (i = 0; i < N_PINNERS; i++) {
		const char *n = pinner_names[i];
		struct pin_seen *seen = &ml->seen[i];

		ok(err_is(seen->dax_big, ENOMEM, "fsdax 1 MiB"), T_ML_DAX_BIG,
		   n);
		ok(err_is(seen->anon_big, ENOMEM, "anonymous 1 MiB"),
		   T_ML_ANON_BIG, n);
		ok(pin_is(seen->pin_refused, 0, "after the refusals"),
		   T_ML_PIN0, n);
		ok(err_is(seen->dax_ok, 0, "fsdax 32 KiB") &
		   pin_is(seen->pin_dax, 32, "while pinned"), T_ML_DAX_OK, n);
		ok(pin_is(seen->pin_dax_released, 0, "after the release"),
		   T_ML_RELEASE, n);
		ok(err_is(seen->anon_ok, 0, "anonymous 32 KiB") &
		   pin_is(seen->pin_anon, 32, "while pinned") &
		   pin_is(seen->pin_anon_released, 0, "after the release"),
		   T_ML_ANON_OK, n);
	}

	esc = path_esc(path);
	fd = open(path, O_RDONLY);
	ok(gview_becomes(esc, "", SETTLE_MS) && fd >= 0 &&
	   !pattern_file_check(fd, BIG, seed), T_ML_AFTER);
	free(esc);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* Keeper: uid 65534, dumpable, 48 and a 32 KiB MR of hd->path. */
static int pin_holder(void *arg)
{
	static struct verbs v;
	struct rlimit rl = { MEMLOCK, MEMLOCK };
	void *map;
	int fd;

	(void)arg;
	if (become_nobody(0) || setrlimit(RLIMIT_MEMLOCK, &rl) ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return CHILD_SETUP_ERR;
	if (verbs_open(&v, env_rxe()))
		return CHILD_SETUP_ERR;
	fd = open(hd->path, O_RDWR);
	if (fd < 0 || lease_set(fd, F_UNBREAKABLE))
		return errno;
	map = file_map(fd, SMALL);
	if (!map || !mr_reg(v.pd, map, SMALL))
		return CHILD_SETUP_ERR;
	hd->cmd_fd = v.ctx->cmd_fd;
	return 0;
}

struct fp_reader {
	pid_t pid;
	uid_t uid;
	char *text;	/* shared buffer for what was read */
};

/* Child: read /proc/<pid>/file_pins as @uid/@uid; 0 or the errno. */
static int read_pins_as(void *arg)
{
	struct fp_reader *rd = arg;
	char name[64], *text;
	const char *step;
	int err = drop_ids(rd->uid, rd->uid);

	if (err)
		return CHILD_SETUP_ERR;
	snprintf(name, sizeof(name), "/proc/%d/file_pins", (int)rd->pid);
	text = text_read(name, &step);
	if (!text)
		return errno;
	snprintf(rd->text, 4096, "%s", text);
	free(text);
	return 0;
}

static void file_pins_points(const struct dax_fs *fs, uint64_t seed)
{
	char path[PATH_MAX] = "", upath[PATH_MAX], *esc, *want = NULL;
	struct fp_reader rd = { -1, OTHER_UID, shared_alloc(4096) };
	struct keeper k = { -1 };
	char *canon, *want_canon;
	int r;

	hd->path = path;
	r = fs && rd.text &&
	    !make_file(fs->path, SMALL, seed, path, NOBODY, 0600) ?
	    keeper_start(&k, pin_holder, NULL, true, -1) : CHILD_SETUP_ERR;
	if (r)
		diag("holder: %s", child_result_name(r));
	if (!ok(!r, T_FP_HOLDER)) {
		skip("no holder", T_FP_ROOT);
		skip("no holder", T_FP_OTHER);
		skip("no holder", T_FP_SAME);
		skip("no holder", T_FP_GONE);
		keeper_kill(&k);
		if (*path)
			unlink(path);
		return;
	}
	esc = path_esc(path);
	if (!fd_path(k.pid, hd->cmd_fd, upath, sizeof(upath)))
		want = strf("%d: %s\n\t%s\n", hd->cmd_fd, upath, esc);
	ok(want && fpins_is(k.pid, want), T_FP_ROOT);

	rd.pid = k.pid;
	r = child_run(read_pins_as, &rd);
	if (r != EACCES)
		diag("uid 65533: %s, expected EACCES", child_result_name(r));
	ok(r == EACCES, T_FP_OTHER);

	rd.uid = NOBODY;
	r = child_run(read_pins_as, &rd);
	if (r)
		diag("uid 65534: %s", child_result_name(r));
	canon = r ? NULL : fpins_canon(rd.text);
	want_canon = want ? fpins_canon(want) : NULL;
	ok(canon && want_canon &&
	   text_is("file_pins read by uid 65534", canon, want_canon), T_FP_SAME);
	free(canon);
	free(want_canon);

	ok(!keeper_exit(&k) && gview_becomes(esc, "", SETTLE_MS), T_FP_GONE);
	free(want);
	free(esc);
	unlink(path);
}

int main(void)
{
	const struct dax_fs *fs, *first = NULL;
	struct verbs v;
	bool was_loaded;
	uint64_t seed;

	plan(1 + 1 + DAX_FS_COUNT * 8 + 2 + N_PINNERS * 6 + 5 + 1);
	seed = pattern_seed();
	was_loaded = module_begin();
	ml = shared_alloc(sizeof(*ml));
	hd = shared_alloc(sizeof(*hd));
	if (!ml || !hd)
		bail_out("no shared memory");
	if (ok(!verbs_open(&v, env_rxe()), T_RXE))
		verbs_close(&v);

	for_each_dax_fs(fs) {
		lease_points(fs, seed);
		if (!first && fs->path)
			first = fs;
	}
	memlock_points(first, seed);
	file_pins_points(first, seed);
	module_end(was_loaded);
	return done_testing();
}
