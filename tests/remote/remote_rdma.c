/*
 * Two machines: guest B reads and writes, over RoCEv2 through the RDMA CM,
 * an MR that an application on guest A registered on a leased fsdax file
 * (XFS and ext4). A checks with read(2) that B's bytes are in the file;
 * while B keeps writing, a truncate by A's admin fails with ETXTBSY and
 * `daxlease who FILE` names the application and its uverbs file; after the
 * application exits (no teardown: the kernel's), B's next WRITE fails, its
 * bytes are not in the file, and the truncate succeeds.
 *
 * The same program runs on both guests (scripts/vm-pair, tests/run-remote):
 * DAXLEASE_ROLE says which end it is. Each end prints its own TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "cmd.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "link.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"

#define CTL_PORT	18600
#define CM_PORT		18601	/* + index of the file system */
#define FILE_SIZE	(2UL << 20)
#define FILE_PAGES	(FILE_SIZE >> 12)
#define LEN		(64UL << 10)
#define ROFF		(1536UL << 10)		/* B reads here */
#define OFF		((1UL << 20) + (4UL << 10))	/* B writes here */
#define LATE_OFF	(256UL << 10)		/* B's write after the exit */
#define CUT_SIZE	(1UL << 20)
#define A_POINTS	13
#define B_POINTS	8
#define APP_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/* Point names whose text does not fit a line. */
#define T_APP	\
	"%s: A's app: F_SETLEASE 48, map the file, ibv_reg_mr of the mapping (remote write and read), listen on the RDMA CM"
#define T_REFUSED	\
	"%s: while B writes: truncate(2) to 1 MiB by A's admin fails with ETXTBSY, nothing changed"
#define T_WHO	\
	"%s: while B writes: daxlease who FILE names A's app (pid, fd, 512 pages pinned through /dev/infiniband/uverbs0)"
#define T_NOT_LANDED	\
	"%s: B's WRITE after the exit is not in the file (read(2) at 256 KiB: the previous contents)"
#define T_AFTER	\
	"%s: after the exit: truncate(2) to 1 MiB by A's admin succeeds, size 1 MiB"
#define T_LATE	\
	"%s: after A's app exited, the next RDMA WRITE fails (remote access or connection error)"

/* The source pattern of B's WRITE and of its late WRITE, from the file's. */
#define SRC_SEED(s)	(~(s))
#define LATE_SEED(s)	((s) ^ 0x5a5a5a5a5a5a5a5aULL)

static int ctl = -1;

/* ---- guest A ---- */

/* What A's application reports to the test through its status pipe. */
struct app_status {
	int step;	/* 1: MR registered and listening, 2: connected */
	int fd;		/* its fd of the leased file */
};

/*
 * A's application, in a child: open and lease the file, map it, listen,
 * register the mapping, accept B with the MR's address and rkey, then
 * wait until told to exit and exit without undoing anything. Exits 1 at
 * the first failure (the parent sees the pipe close).
 */
static void app(const char *path, int port, uint64_t seed, int st_fd,
		int cmd_fd)
{
	struct app_status st = { 0, -1 };
	struct mr_info info = { .seed = seed };
	struct ibv_mr *mr;
	struct rc c;
	void *map;
	char x;

	st.fd = open(path, O_RDWR);
	if (st.fd < 0) {
		diag("app: open %s: %s", path, errno_name(errno));
		_exit(1);
	}
	if (lease_set(st.fd, F_UNBREAKABLE)) {
		diag("app: F_SETLEASE 48: %s", errno_name(errno));
		_exit(1);
	}
	map = file_map(st.fd, FILE_SIZE);
	if (!map || rc_listen(&c, link_addr(), port))
		_exit(1);
	mr = ibv_reg_mr(c.pd, map, FILE_SIZE, APP_ACCESS);
	if (!mr) {
		diag("app: ibv_reg_mr of the file mapping: %s",
		     errno_name(errno));
		_exit(1);
	}
	info.addr = (uintptr_t)map;
	info.rkey = mr->rkey;
	info.len = FILE_SIZE;
	st.step = 1;
	if (write(st_fd, &st, sizeof(st)) != sizeof(st))
		_exit(1);
	if (rc_accept(&c, &info, sizeof(info), CTL_STEP_MS))
		_exit(1);
	st.step = 2;
	if (write(st_fd, &st, sizeof(st)) != sizeof(st))
		_exit(1);
	/* EOF or a byte: exit, leaving MR, QP and lease to the kernel */
	if (read(cmd_fd, &x, 1) < 0)
		_exit(1);
	_exit(0);
}

struct app_proc {
	pid_t pid;
	int st_fd, cmd_fd;
	struct app_status st;
};

static int app_start(struct app_proc *p, const char *path, int port,
		     uint64_t seed)
{
	int st[2], cmd[2];

	p->pid = -1;
	if (pipe2(st, O_CLOEXEC) || pipe2(cmd, O_CLOEXEC)) {
		diag("pipe: %s", errno_name(errno));
		return -1;
	}
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0) {
		diag("fork: %s", errno_name(errno));
		return -1;
	}
	if (!p->pid) {
		close(st[0]);
		close(cmd[1]);
		close(ctl);
		app(path, port, seed, st[1], cmd[0]);
	}
	close(st[1]);
	close(cmd[0]);
	p->st_fd = st[0];
	p->cmd_fd = cmd[1];
	return 0;
}

/* Wait (bounded) for the app to report @step. */
static bool app_reached(struct app_proc *p, int step, unsigned int ms)
{
	timeout_arm((ms + 999) / 1000);
	if (read(p->st_fd, &p->st, sizeof(p->st)) != sizeof(p->st))
		p->st.step = 0;
	timeout_disarm();
	if (p->st.step != step)
		diag("the app did not reach step %d", step);
	return p->st.step == step;
}

/* Tell the app to exit and reap it: 0 if it exited with status 0. */
static int app_exit(struct app_proc *p)
{
	int status;

	if (p->pid < 0)
		return -1;
	close(p->cmd_fd);
	close(p->st_fd);
	if (wait_bounded(p->pid, &status, REAP_MS)) {
		kill_reap(p->pid);
		p->pid = -1;
		return -1;
	}
	p->pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		diag("app: exit status %#x", status);
		return -1;
	}
	return 0;
}

/* read(2) @len bytes at @off of @path; NULL with a diag. */
static uint8_t *pread_path(const char *path, size_t len, off_t off)
{
	uint8_t *buf = malloc(len);
	ssize_t n = -1;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd >= 0 && buf)
		n = pread(fd, buf, len, off);
	if (n != (ssize_t)len) {
		diag("read %s at %#jx: %s", path, (intmax_t)off,
		     n < 0 ? errno_name(errno) : "short read");
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

static bool holds(const char *path, off_t off, size_t len, uint64_t seed,
		  uint64_t pat_off)
{
	uint8_t *buf = pread_path(path, len, off);
	bool same = buf && !pattern_check(buf, len, seed, pat_off);

	free(buf);
	return same;
}

/* `daxlease who @path` prints exactly the app's lease and uverbs pins. */
static bool who_names(const char *path, const struct app_proc *p)
{
	char *tool = repo_path("tools/daxlease"), want[PATH_MAX + 256];
	char *argv[] = { tool, "who", (char *)path, NULL };
	struct cmd c = CMD_INIT;
	bool same;

	snprintf(want, sizeof(want),
		 "%s\n  pid %d (remote_rdma), fd %d: unbreakable lease, live, %lu pages pinned\n"
		 "    %lu pages pinned through /dev/infiniband/uverbs0\n",
		 path, p->pid, p->st.fd, FILE_PAGES, FILE_PAGES);
	same = !cmd_run(&c, CMD_SAME_USER, argv) &&
	       cmd_is(&c, 0, want, "");
	cmd_free(&c);
	free(tool);
	return same;
}

static void serve_fs(const struct dax_fs *fs, int idx, uint64_t seed)
{
	struct chain ch = CHAIN_INIT;
	struct file_state before = { 0 }, after = { 0 };
	struct app_proc p = { .pid = -1 };
	const char *n = fs->name;
	char path[PATH_MAX], rest[64];
	struct stat sb;
	bool ctl_ok;
	int fd = -1, r;

	if (ctl < 0)
		chain_break(&ch, "no control connection to B");
	if (ch.ok)
		fd = fs_file_create(fs->path, FILE_SIZE, seed, path,
				    sizeof(path));
	STEP(&ch, fd >= 0, "%s: create a 2 MiB file holding a pattern", n);
	if (fd >= 0)
		close(fd);
	STEP(&ch, !app_start(&p, path, CM_PORT + idx, seed) &&
	     app_reached(&p, 1, CTL_STEP_MS), T_APP, n);
	ctl_ok = ch.ok && !ctl_send(ctl, "ready %s %d", n, CM_PORT + idx);
	STEP(&ch, ctl_ok && app_reached(&p, 2, CTL_STEP_MS),
	     "%s: B connected to A's app through the RDMA CM", n);
	STEP(&ch, !ctl_expect(ctl, "wrote", NULL, 0, CTL_STEP_MS),
	     "%s: B says its RDMA WRITE of 64 KiB at 1 MiB + 4 KiB completed", n);
	CHECK(&ch, holds(path, OFF, LEN, SRC_SEED(seed), 0),
	      "%s: A reads the file with read(2): the 64 KiB hold what B wrote", n);
	CHECK(&ch, holds(path, 0, OFF, seed, 0) &&
	      holds(path, OFF + LEN, FILE_SIZE - OFF - LEN, seed, OFF + LEN),
	      "%s: the rest of the file holds its previous contents", n);

	/* B rewrites the same bytes in a loop while the admin acts */
	if (ch.ok && (ctl_send(ctl, "hammer") ||
		      ctl_expect(ctl, "writing", NULL, 0, CTL_STEP_MS)))
		chain_break(&ch, "B is not writing");
	if (ch.ok) {
		r = -1;
		if (!file_state_path(path, &before)) {
			r = truncate_other(path, CUT_SIZE);
			if (r != ETXTBSY)
				diag("truncate: %s, expected ETXTBSY",
				     child_result_name(r));
			if (file_state_path(path, &after))
				r = -1;
		}
		CHECK(&ch, r == ETXTBSY && file_state_same(&before, &after),
		      T_REFUSED, n);
		file_state_free(&before);
		file_state_free(&after);
	} else {
		CHECK(&ch, false, T_REFUSED, n);
	}
	CHECK(&ch, who_names(path, &p), T_WHO, n);
	if (ch.ok && (ctl_send(ctl, "stop") ||
		      ctl_expect(ctl, "stopped", NULL, 0, CTL_STEP_MS)))
		chain_break(&ch, "B did not stop writing");

	STEP(&ch, !app_exit(&p), "%s: A's app exits (status 0, no teardown of its own)", n);
	STEP(&ch, !ctl_send(ctl, "gone") &&
	     !ctl_expect(ctl, "late", rest, sizeof(rest), CTL_STEP_MS),
	     "%s: B tried one more RDMA WRITE after the exit", n);
	CHECK(&ch, holds(path, LATE_OFF, LEN, seed, LATE_OFF), T_NOT_LANDED, n);
	if (ch.ok) {
		r = truncate_other(path, CUT_SIZE);
		if (r)
			diag("truncate: %s", child_result_name(r));
		if (stat(path, &sb) || sb.st_size != CUT_SIZE)
			r = -1;
	}
	CHECK(&ch, !r, T_AFTER, n);
	if (p.pid > 0)
		kill_reap(p.pid);
	CHECK(&ch, !unlink(path), "%s: unlink", n);
}

static int serve(void)
{
	const struct dax_fs *fs;
	uint64_t seed = pattern_seed();
	bool was_loaded;
	int i = 0;

	plan(3 + DAX_FS_COUNT * A_POINTS);
	was_loaded = module_begin();
	ctl = ctl_accept(link_addr(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "A: control connection from B");
	for_each_dax_fs(fs) {
		serve_fs(fs, i, seed + i);
		i++;
	}
	module_end(was_loaded);
	return done_testing();
}

/* ---- guest B ---- */

struct client {
	struct ibv_mr *mr;	/* over buf, on the connection's PD */
	uint8_t *buf;		/* source | read target | late source */
};

static void use_fs(struct client *cl, const struct dax_fs *fs)
{
	struct chain ch = CHAIN_INIT;
	struct mr_info info;
	const char *n = fs->name;
	uint8_t *src = cl->buf, *rd = cl->buf + LEN, *late = cl->buf + 2 * LEN;
	char rest[64], name[16];
	unsigned long writes = 0, bad = 0;
	int port = 0, st = -1;
	struct rc c = { 0 };
	bool got;

	if (ctl < 0)
		chain_break(&ch, "no control connection to A");
	got = ch.ok && !ctl_expect(ctl, "ready", rest, sizeof(rest),
				   CTL_STEP_MS) &&
	      sscanf(rest, "%15s %d", name, &port) == 2 && !strcmp(name, n);
	STEP(&ch, got, "%s: A's app serves a leased file", n);
	STEP(&ch, !rc_connect(&c, link_peer(), port, &info, sizeof(info),
			      CTL_STEP_MS) && info.len == FILE_SIZE,
	     "%s: connect through the RDMA CM, A's MR (2 MiB) in the private data", n);
	cl->mr = NULL;
	if (ch.ok) {
		cl->mr = ibv_reg_mr(c.pd, cl->buf, 3 * LEN, APP_ACCESS);
		if (!cl->mr)
			diag("ibv_reg_mr: %s", errno_name(errno));
	}
	STEP(&ch, cl->mr, "%s: register B's 192 KiB anonymous buffer", n);

	if (ch.ok) {
		memset(rd, 0, LEN);
		st = rc_rdma(&c, IBV_WR_RDMA_READ, cl->mr, rd, LEN,
			     info.addr + ROFF, info.rkey);
	}
	STEP(&ch, st == IBV_WC_SUCCESS,
	     "%s: RDMA READ of 64 KiB at file offset 1.5 MiB completes", n);
	CHECK(&ch, !pattern_check(rd, LEN, info.seed, ROFF),
	      "%s: the bytes read are the file's contents", n);
	if (ch.ok) {
		pattern_fill(src, LEN, SRC_SEED(info.seed), 0);
		st = rc_rdma(&c, IBV_WR_RDMA_WRITE, cl->mr, src, LEN,
			     info.addr + OFF, info.rkey);
	}
	STEP(&ch, st == IBV_WC_SUCCESS && !ctl_send(ctl, "wrote"),
	     "%s: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes", n);

	if (ch.ok && (ctl_expect(ctl, "hammer", NULL, 0, CTL_STEP_MS) ||
		      ctl_send(ctl, "writing")))
		chain_break(&ch, "A did not ask for writes");
	if (ch.ok) {
		long long deadline = clock_ms() + CTL_STEP_MS;

		while (!ctl_ready(ctl) && clock_ms() < deadline) {
			writes++;
			if (rc_rdma(&c, IBV_WR_RDMA_WRITE, cl->mr, src, LEN,
				    info.addr + OFF, info.rkey))
				bad++;
		}
		diag("%s: %lu WRITEs while A's admin acted, %lu failed", n,
		     writes, bad);
		if (ctl_expect(ctl, "stop", NULL, 0, CTL_STEP_MS) ||
		    ctl_send(ctl, "stopped %lu", writes))
			chain_break(&ch, "A did not say stop");
	}
	CHECK(&ch, writes && !bad,
	      "%s: every RDMA WRITE while A's admin tried to truncate completed", n);

	st = IBV_WC_SUCCESS;
	if (ch.ok && !ctl_expect(ctl, "gone", NULL, 0, CTL_STEP_MS)) {
		pattern_fill(late, LEN, LATE_SEED(info.seed), 0);
		st = rc_rdma(&c, IBV_WR_RDMA_WRITE, cl->mr, late, LEN,
			     info.addr + LATE_OFF, info.rkey);
		diag("%s: WRITE after A's app exited: %s", n,
		     st >= 0 ? ibv_wc_status_str(st) : "post failed");
		ctl_send(ctl, "late %d", st);
	}
	CHECK(&ch, st == -EAGAIN || st == IBV_WC_REM_ACCESS_ERR ||
	      st == IBV_WC_RETRY_EXC_ERR || st == IBV_WC_WR_FLUSH_ERR ||
	      st == IBV_WC_REM_INV_REQ_ERR,
	      T_LATE, n);
	if (cl->mr)
		ibv_dereg_mr(cl->mr);
	rc_close(&c);
}

static int use(void)
{
	const struct dax_fs *fs;
	struct client cl = { 0 };

	plan(1 + DAX_FS_COUNT * B_POINTS);
	cl.buf = mmap(NULL, 3 * LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cl.buf == MAP_FAILED)
		bail_out("mmap: %s", errno_name(errno));
	ctl = ctl_connect(link_peer(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "B: control connection to A");
	for_each_dax_fs(fs)
		use_fs(&cl, fs);
	return done_testing();
}

int main(void)
{
	return link_role() == 'A' ? serve() : use();
}
