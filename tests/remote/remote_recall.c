/*
 * Two machines, recall: an application on guest A holds a breakable layout
 * lease (16) on an fsdax file (XFS and ext4), registers its mapping as an
 * MR and serves it to guest B through the RDMA CM; B's RDMA WRITE lands in
 * the file. Then A takes the file back while the application ignores the
 * lease break:
 *
 * - revoke: A's administrator runs `daxlease revoke FILE`;
 * - break: another process on A truncates the file to 0, which returns
 *   after lease-break-time (2 s here).
 *
 * Either way the application gets SIGIO but no async event (the MR alone
 * is revoked: its context and the QP B talks to live on) and keeps
 * running; `daxlease who` shows nothing. B then RDMA-WRITEs the whole
 * 2 MiB MR with new bytes: A's QP refuses the revoked rkey, so the WRITE
 * completes on B with IBV_WC_REM_ACCESS_ERR, and none of its bytes land in
 * A's files: after the revoke the file is unchanged (contents and
 * extents); after the truncate, a new file that reuses blocks of the old
 * one (FIEMAP) is unchanged. The application's ibv_dereg_mr() of the
 * revoked MR returns 0 and it exits 0.
 *
 * The same program runs on both guests (scripts/vm-pair, tests/run-remote):
 * DAXLEASE_ROLE says which end it is. Each end prints its own TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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
#include "report.h"
#include "tap.h"

#define CTL_PORT	18700
#define CM_PORT		18701	/* + 2 * file system + scene */
#define FILE_SIZE	(2UL << 20)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))	/* B's first WRITE */
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define LBT_S		2
#define EVENT_MS	20000
/* once the revocation returned, a whole-file one's event is queued */
#define NO_EVENT_MS	2000
/* how often A's app looks for a SIGIO that came outside poll() */
#define APP_POLL_MS	100
#define G_TRIES		8
#define A_POINTS	13	/* per scene */
#define B_POINTS	5	/* per scene */
#define APP_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

enum scene { SC_REVOKE, SC_BREAK, SC_COUNT };

static const char *const scene_name[SC_COUNT] = { "revoke", "break" };

#define T_APP	\
	"%s/%s: A's app: F_SETLEASE 16, map the file, ibv_reg_mr of the mapping, listen on the RDMA CM"
#define T_REVOKE	\
	"%s/%s: A's admin: daxlease revoke FILE exits 0 (leases and pins revoked)"
#define T_BREAK	\
	"%s/%s: another process's truncate(2) to 0 returns 0 after lease-break-time (%d s; the app ignores the break), within 30 s"
#define T_EVENT	\
	"%s/%s: A's app got SIGIO but no async event (the MR alone was revoked), and still runs"
#define T_KEEPS	\
	"%s/%s: the revoke left the file as it was (size, extents, contents)"
#define T_REUSED	\
	"%s/%s: a new file G reuses blocks the truncated file had (FIEMAP)"
#define T_LATE_A	\
	"%s/%s: B tried an RDMA WRITE of the whole 2 MiB MR after the revocation"
#define T_KEPT	\
	"%s/%s: nothing of B's late WRITE is in the file (contents and extents unchanged)"
#define T_G_KEPT	\
	"%s/%s: nothing of B's late WRITE is in G (contents and extents unchanged)"
#define T_DEREG	\
	"%s/%s: A's app: ibv_dereg_mr of the revoked MR returns 0, exit 0"
#define T_LATE_B	\
	"%s/%s: B's RDMA WRITE after A's revocation completes with IBV_WC_REM_ACCESS_ERR"

/* B's WRITE before the revocation, and its late one, from the file's seed */
#define SRC_SEED(s)	(~(s))
#define LATE_SEED(s)	((s) ^ 0xa5a5a5a5a5a5a5a5ULL)

static int ctl = -1;

/* ---- guest A ---- */

struct app_status {
	int step;	/* 1: listening, 2: connected, 3: SIGIO, 4: async event */
	int fd;		/* its fd of the leased file */
	int event;	/* the async event's type */
	int sigio;	/* SIGIOs by step 3 */
};

static volatile sig_atomic_t app_sigio;

static void app_on_sigio(int sig)
{
	(void)sig;
	app_sigio++;
}

static void app_report(int st_fd, struct app_status *st, int step)
{
	st->step = step;
	if (write(st_fd, st, sizeof(*st)) != sizeof(*st))
		_exit(1);
}

/*
 * A's application, in a child: lease (16) and map the file, listen,
 * register the mapping, accept B. Then it ignores the lease break (SIGIO
 * is only counted), reports its first SIGIO and its first async event, and
 * on EOF of @cmd_fd deregisters the MR and exits: 0 if ibv_dereg_mr()
 * returned 0.
 */
static void app(const char *path, int port, uint64_t seed, int st_fd,
		int cmd_fd)
{
	struct sigaction sa = { .sa_handler = app_on_sigio };
	struct app_status st = { 0, -1, -1, 0 };
	struct mr_info info = { .seed = seed };
	struct ibv_async_event ev;
	struct pollfd p[2];
	struct ibv_mr *mr;
	struct rc c;
	void *map;
	int n;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	st.fd = open(path, O_RDWR);
	if (st.fd < 0) {
		diag("app: open %s: %s", path, errno_name(errno));
		_exit(1);
	}
	if (lease_set(st.fd, F_LAYOUT)) {
		diag("app: F_SETLEASE 16: %s", errno_name(errno));
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
	app_report(st_fd, &st, 1);
	if (rc_accept(&c, &info, sizeof(info), CTL_STEP_MS))
		_exit(1);
	app_report(st_fd, &st, 2);

	p[0] = (struct pollfd){ .fd = cmd_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = c.pd->context->async_fd,
				.events = POLLIN };
	for (;;) {
		n = poll(p, st.event < 0 ? 2 : 1, APP_POLL_MS);
		if (n < 0 && errno != EINTR)
			_exit(1);
		if (app_sigio && !st.sigio) {
			st.sigio = app_sigio;
			app_report(st_fd, &st, 3);
		}
		if (n <= 0)
			continue;
		if (p[0].revents)
			break;
		if (st.event < 0 && p[1].revents &&
		    !ibv_get_async_event(c.pd->context, &ev)) {
			st.event = ev.event_type;
			ibv_ack_async_event(&ev);
			app_report(st_fd, &st, 4);
		}
	}
	_exit(ibv_dereg_mr(mr) ? 2 : 0);
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

static bool app_reached(struct app_proc *p, int step, unsigned int ms)
{
	struct pollfd pf = { .fd = p->st_fd, .events = POLLIN };

	if (p->pid < 0 || poll(&pf, 1, ms) != 1 ||
	    read(p->st_fd, &p->st, sizeof(p->st)) != sizeof(p->st))
		p->st.step = 0;
	if (p->st.step != step)
		diag("the app did not reach step %d", step);
	return p->st.step == step;
}

/*
 * The type of the async event the app reports within @ms (diag'ed), -1 if
 * none, -2 if it reports nothing more (gone).
 */
static int app_event(struct app_proc *p, unsigned int ms)
{
	struct pollfd pf = { .fd = p->st_fd, .events = POLLIN };

	if (p->pid < 0)
		return -2;
	if (poll(&pf, 1, ms) != 1)
		return -1;
	if (read(p->st_fd, &p->st, sizeof(p->st)) != sizeof(p->st) ||
	    p->st.step != 4) {
		diag("the app reports nothing more");
		return -2;
	}
	diag("A's app got async event %s",
	     ibv_event_type_str(p->st.event));
	return p->st.event;
}

/* Close the app's command pipe and reap it: its exit status, or -1. */
static int app_exit(struct app_proc *p)
{
	int status;

	if (p->pid < 0)
		return -1;
	close(p->cmd_fd);
	/* open until it exits: a late report must not kill it (SIGPIPE) */
	if (wait_bounded(p->pid, &status, REAP_MS)) {
		close(p->st_fd);
		kill_reap(p->pid);
		p->pid = -1;
		return -1;
	}
	close(p->st_fd);
	p->pid = -1;
	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status))
		diag("app: exit status %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

static bool holds(const char *path, off_t off, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	bool same = false;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && buf && pread(fd, buf, len, off) == (ssize_t)len)
		same = !pattern_check(buf, len, seed, 0);
	else
		diag("read %s: %s", path, errno_name(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

static bool tool_is(const char *verb, const char *path, const char *want)
{
	char *tool = repo_path("tools/daxlease");
	char *argv[] = { tool, (char *)verb, (char *)path, NULL };
	struct cmd c = CMD_INIT;
	bool same;

	same = !cmd_run(&c, CMD_SAME_USER, argv) && cmd_is(&c, 0, want, "");
	cmd_free(&c);
	free(tool);
	return same;
}

/* daxlease who and /proc/daxlease show nothing for @path. */
static bool nothing_left(const char *path)
{
	char *want = strf("%s: no daxlease leases or pins\n", path);
	char *esc = path_esc(path), *g = esc ? gview_get(esc) : NULL;
	bool none = g && !*g && tool_is("who", path, want);

	if (g && *g)
		diag_text("/proc/daxlease", g);
	free(g);
	free(esc);
	free(want);
	return none;
}

/* New files G on @fs until one reuses blocks of @f; its index, or -1. */
struct gfiles {
	int n, fd[G_TRIES];
	char path[G_TRIES][PATH_MAX];
	struct file_state st;
};

static int g_reuse(struct gfiles *g, const struct dax_fs *fs,
		   const struct file_state *f, uint64_t gseed)
{
	int fd;

	/*
	 * Blocks freed in a running transaction are reused only once it
	 * commits (ext4, XFS busy extents); every try stays until the end so
	 * that the next cannot get its blocks.
	 */
	sync();
	while (g->n < G_TRIES) {
		fd = fs_file_create(fs->path, FILE_SIZE, gseed, g->path[g->n],
				    PATH_MAX);
		if (fd < 0)
			return -1;
		g->fd[g->n++] = fd;
		file_state_free(&g->st);
		if (fsync(fd) || file_state_get(fd, &g->st))
			return -1;
		if (extents_overlap(f, &g->st))
			return g->n - 1;
	}
	diag("%d new files, none reuses a block of the old one", G_TRIES);
	return -1;
}

static void serve_scene(const struct dax_fs *fs, enum scene sc, int port,
			uint64_t seed)
{
	struct chain ch = CHAIN_INIT;
	struct app_proc p = { .pid = -1 };
	struct file_state f = { 0 }, now = { 0 };
	struct gfiles g = { .n = 0 };
	const char *n = fs->name, *s = scene_name[sc];
	uint64_t gseed = seed ^ 0x5a5a;
	char path[PATH_MAX], rest[64], *want;
	long long t0, ms = -1;
	int fd = -1, r = -1, gi = -1, i;

	if (ctl < 0)
		chain_break(&ch, "no control connection to B");
	if (ch.ok)
		fd = fs_file_create(fs->path, FILE_SIZE, seed, path,
				    sizeof(path));
	STEP(&ch, fd >= 0, "%s/%s: create a 2 MiB file holding a pattern", n,
	     s);
	if (fd >= 0)
		close(fd);
	STEP(&ch, !app_start(&p, path, port, seed) &&
	     app_reached(&p, 1, CTL_STEP_MS), T_APP, n, s);
	STEP(&ch, !ctl_send(ctl, "ready %s %d", n, port) &&
	     app_reached(&p, 2, CTL_STEP_MS),
	     "%s/%s: B connected to A's app through the RDMA CM", n, s);
	STEP(&ch, !ctl_expect(ctl, "wrote", NULL, 0, CTL_STEP_MS),
	     "%s/%s: B says its RDMA WRITE of 64 KiB at 1 MiB + 4 KiB completed",
	     n, s);
	CHECK(&ch, holds(path, OFF, LEN, SRC_SEED(seed)),
	      "%s/%s: A reads B's 64 KiB in the file with read(2)", n, s);
	if (ch.ok && file_state_path(path, &f))
		chain_break(&ch, "no FIEMAP of the file");

	if (sc == SC_REVOKE) {
		want = strf("%s: leases and pins revoked\n", path);
		STEP(&ch, tool_is("revoke", path, want), T_REVOKE, n, s);
		free(want);
	} else {
		if (ch.ok) {
			t0 = clock_ms();
			r = truncate_other(path, 0);
			ms = clock_ms() - t0;
			diag("%s: the truncate: %s after %lld ms", n,
			     child_result_name(r), ms);
		}
		STEP(&ch, !r && ms >= LBT_S * 1000 - 100 && ms < 30000,
		     T_BREAK, n, s, LBT_S);
	}
	CHECK(&ch, app_reached(&p, 3, EVENT_MS) && p.st.sigio &&
	      app_event(&p, NO_EVENT_MS) == -1 && !kill(p.pid, 0),
	      T_EVENT, n, s);
	CHECK(&ch, nothing_left(path),
	      "%s/%s: daxlease who FILE and /proc/daxlease show nothing", n, s);
	if (sc == SC_REVOKE) {
		STEP(&ch, !file_state_path(path, &now) &&
		     file_state_same(&f, &now), T_KEEPS, n, s);
	} else {
		if (ch.ok)
			gi = g_reuse(&g, fs, &f, gseed);
		STEP(&ch, gi >= 0, T_REUSED, n, s);
	}

	STEP(&ch, !ctl_send(ctl, "go") &&
	     !ctl_expect(ctl, "late", rest, sizeof(rest), CTL_STEP_MS),
	     T_LATE_A, n, s);
	if (sc == SC_REVOKE) {
		file_state_free(&now);
		CHECK(&ch, !file_state_path(path, &now) &&
		      file_state_same(&f, &now), T_KEPT, n, s);
	} else {
		file_state_free(&now);
		CHECK(&ch, gi >= 0 && !file_state_get(g.fd[gi], &now) &&
		      file_state_same(&g.st, &now) &&
		      !pattern_check(now.data, FILE_SIZE, gseed, 0),
		      T_G_KEPT, n, s);
	}
	/* only a diag: A's QP may report B's access error */
	app_event(&p, 0);
	CHECK(&ch, !app_exit(&p), T_DEREG, n, s);
	if (p.pid > 0)
		kill_reap(p.pid);
	r = fd >= 0 ? unlink(path) : -1;
	for (i = 0; i < g.n; i++)
		r |= !file_close_unlink(g.fd[i], g.path[i]);
	CHECK(&ch, !r, "%s/%s: unlink the files", n, s);
	file_state_free(&f);
	file_state_free(&now);
	file_state_free(&g.st);
}

static int serve(void)
{
	const struct dax_fs *fs;
	uint64_t seed = pattern_seed();
	bool was_loaded, lbt_saved;
	char lbt[32];
	int i = 0, sc;

	plan(5 + DAX_FS_COUNT * SC_COUNT * A_POINTS);	/* 2: module_begin, _end */
	was_loaded = module_begin();
	lbt_saved = !read_str(LBT_PATH, lbt, sizeof(lbt));
	ok(lbt_saved && !write_str(LBT_PATH, "2\n"),
	   "A: lease-break-time 2 s (" LBT_PATH ")");
	ctl = ctl_accept(link_addr(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "A: control connection from B");
	for_each_dax_fs(fs) {
		for (sc = 0; sc < SC_COUNT; sc++)
			serve_scene(fs, sc, CM_PORT + 2 * i + sc,
				    seed + 2 * i + sc);
		i++;
	}
	ok(lbt_saved && !write_str(LBT_PATH, lbt),
	   "A: lease-break-time restored");
	module_end(was_loaded);
	return done_testing();
}

/* ---- guest B ---- */

static void use_scene(uint8_t *buf, const struct dax_fs *fs, enum scene sc)
{
	struct chain ch = CHAIN_INIT;
	const char *n = fs->name, *s = scene_name[sc];
	uint8_t *src = buf, *late = buf + LEN;
	struct ibv_mr *mr = NULL;
	struct mr_info info;
	char rest[64], name[16];
	int port = 0, st = -1;
	struct rc c = { 0 };
	bool got;

	if (ctl < 0)
		chain_break(&ch, "no control connection to A");
	got = ch.ok && !ctl_expect(ctl, "ready", rest, sizeof(rest),
				   CTL_STEP_MS) &&
	      sscanf(rest, "%15s %d", name, &port) == 2 && !strcmp(name, n);
	STEP(&ch, got, "%s/%s: A's app serves a file under a breakable lease",
	     n, s);
	STEP(&ch, !rc_connect(&c, link_peer(), port, &info, sizeof(info),
			      CTL_STEP_MS) && info.len == FILE_SIZE,
	     "%s/%s: connect through the RDMA CM, A's MR (2 MiB) in the private data",
	     n, s);
	if (ch.ok) {
		mr = ibv_reg_mr(c.pd, buf, LEN + FILE_SIZE, APP_ACCESS);
		if (!mr)
			diag("ibv_reg_mr: %s", errno_name(errno));
	}
	STEP(&ch, mr, "%s/%s: register B's anonymous buffer", n, s);
	if (ch.ok) {
		pattern_fill(src, LEN, SRC_SEED(info.seed), 0);
		st = rc_rdma(&c, IBV_WR_RDMA_WRITE, mr, src, LEN,
			     info.addr + OFF, info.rkey);
	}
	STEP(&ch, st == IBV_WC_SUCCESS && !ctl_send(ctl, "wrote"),
	     "%s/%s: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes",
	     n, s);

	st = IBV_WC_SUCCESS;
	if (ch.ok && !ctl_expect(ctl, "go", NULL, 0, CTL_STEP_MS)) {
		long long t0 = clock_ms();

		pattern_fill(late, FILE_SIZE, LATE_SEED(info.seed), 0);
		st = rc_rdma(&c, IBV_WR_RDMA_WRITE, mr, late, FILE_SIZE,
			     info.addr, info.rkey);
		diag("%s/%s: WRITE after the revocation: %s after %lld ms", n,
		     s, st >= 0 ? ibv_wc_status_str(st) :
		     st == -ETIMEDOUT ? "no completion" : "post failed",
		     clock_ms() - t0);
		ctl_send(ctl, "late %d", st);
	}
	CHECK(&ch, st == IBV_WC_REM_ACCESS_ERR, T_LATE_B, n, s);
	if (mr)
		ibv_dereg_mr(mr);
	rc_close(&c);
}

static int use(void)
{
	const struct dax_fs *fs;
	uint8_t *buf;
	int sc;

	plan(1 + DAX_FS_COUNT * SC_COUNT * B_POINTS);
	buf = mmap(NULL, LEN + FILE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		bail_out("mmap: %s", errno_name(errno));
	ctl = ctl_connect(link_peer(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "B: control connection to A");
	for_each_dax_fs(fs)
		for (sc = 0; sc < SC_COUNT; sc++)
			use_scene(buf, fs, sc);
	return done_testing();
}

int main(void)
{
	return link_role() == 'A' ? serve() : use();
}
