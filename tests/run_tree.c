/*
 * `daxlease run` for process trees and automatic leases (daxlease(8),
 * daxlease-lease(7) "Launched process trees"): the programs a shell, a
 * forked worker or a worker's worker start register the leased file
 * although the lease that `run` took belongs to `run`'s own process: each
 * one takes its own lease at its first registration (libdaxlease-preload).
 * Only the files given with --lease; without --lease every fsdax file the
 * tree registers, and only those, is leased at registration and shows in
 * `daxlease status` and `daxlease who`. A process outside the tree still
 * gets EPERM while the tree holds its lease.
 *
 * The registering programs are this binary again (`run_tree --worker
 * [fork N] [hold] FILE...`): it maps each FILE MAP_SHARED, registers the
 * whole mapping on rxe0 with ibv_reg_mr() (after forking N levels deep,
 * the last child registering) and prints "<FILE>: ok" or "<FILE>: <errno>".
 * With hold it creates READY once everything registered and keeps the MRs
 * until GO exists. It exits 0 iff every registration succeeded.
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
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "cmd.h"
#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(1UL << 20)	/* 256 pages: the point names say it */
#define HOLD_MS		60000
#define FS_POINTS	15

static char *tool, *self;
static char ready[PATH_MAX], go[PATH_MAX];

/* ---- the worker ---- */

static int worker_reg(int nfiles, char **files, bool hold)
{
	struct ibv_mr *mr[8] = { 0 };
	struct verbs v = { 0 };
	int i, fd, bad = 0;
	void *map;

	if (nfiles > 8 || verbs_open(&v, env_get("DAXLEASE_RXE")))
		return 2;
	for (i = 0; i < nfiles; i++) {
		fd = open(files[i], O_RDWR);
		map = fd < 0 ? MAP_FAILED :
		      mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED) {
			printf("%s: mmap %s\n", files[i], errno_name(errno));
			bad++;
			continue;
		}
		mr[i] = ibv_reg_mr(v.pd, map, FILE_SIZE,
				   IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_WRITE);
		printf("%s: %s\n", files[i], mr[i] ? "ok" : errno_name(errno));
		bad += !mr[i];
		close(fd);
	}
	fflush(stdout);
	if (hold && !bad) {
		long long t0 = clock_ms();
		int rfd = open(ready, O_WRONLY | O_CREAT | O_EXCL, 0644);

		if (rfd >= 0)
			close(rfd);
		while (access(go, F_OK) && clock_ms() - t0 < HOLD_MS)
			sleep_ms(20);
	}
	for (i = 0; i < nfiles; i++)
		if (mr[i])
			ibv_dereg_mr(mr[i]);
	verbs_close(&v);
	return bad ? 1 : 0;
}

/* fork @depth levels; the deepest child registers. */
static int worker(int depth, int nfiles, char **files, bool hold)
{
	int status;
	pid_t pid;

	if (!depth)
		return worker_reg(nfiles, files, hold);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 3;
	if (!pid)
		exit(worker(depth - 1, nfiles, files, hold));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 3;
	return WEXITSTATUS(status);
}

static int worker_main(int argc, char **argv)
{
	int depth = 0, i = 0;
	bool hold = false;

	if (i + 1 < argc && !strcmp(argv[i], "fork")) {
		depth = atoi(argv[i + 1]);
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "hold")) {
		hold = true;
		i++;
	}
	return worker(depth, argc - i, argv + i, hold);
}

/* ---- the test ---- */

/* `daxlease run ARGS...` (or just ARGS with @tool NULL); exit status. */
static int run(struct cmd *c, char **argv)
{
	if (cmd_run(c, CMD_SAME_USER, argv))
		return -1;
	return c->status;
}

/* Did the worker print "<@path>: @what"? */
static bool said(const struct cmd *c, const char *path, const char *what)
{
	char *line = strf("%s: %s\n", path, what);
	bool found = c->out && strstr(c->out, line);

	free(line);
	return found;
}

static bool one(char **argv, const char *path, const char *what, int status)
{
	struct cmd c = CMD_INIT;
	bool pass = run(&c, argv) == status && said(&c, path, what);

	if (!pass)
		cmd_diag(&c);
	cmd_free(&c);
	return pass;
}

/* Start @argv (a holding worker); true once it created READY. */
static bool hold_start(struct cmd *c, char **argv)
{
	long long t0;

	unlink(ready);
	unlink(go);
	if (cmd_start(c, CMD_SAME_USER, argv))
		return false;
	t0 = clock_ms();
	while (access(ready, F_OK) && clock_ms() - t0 < HOLD_MS) {
		siginfo_t info = { 0 };

		if (!waitid(P_PID, c->pid, &info,
			    WEXITED | WNOHANG | WNOWAIT) && info.si_pid)
			break;
		sleep_ms(20);
	}
	if (access(ready, F_OK)) {
		cmd_wait(c, 1000);
		cmd_diag(c);
		return false;
	}
	return true;
}

static int hold_stop(struct cmd *c)
{
	int fd = open(go, O_WRONLY | O_CREAT, 0644);

	if (fd >= 0)
		close(fd);
	cmd_wait(c, HOLD_MS);
	unlink(ready);
	unlink(go);
	return c->status;
}

/* ibv_reg_mr of @path by this process (outside any tree): its errno. */
static int reg_errno(struct verbs *v, const char *path)
{
	int fd = open(path, O_RDWR), err;
	struct ibv_mr *mr = NULL;
	void *map = MAP_FAILED;

	if (fd >= 0)
		map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
	if (map == MAP_FAILED)
		return -1;
	mr = ibv_reg_mr(v->pd, map, FILE_SIZE, IBV_ACCESS_LOCAL_WRITE);
	err = mr ? 0 : errno;
	if (mr)
		ibv_dereg_mr(mr);
	munmap(map, FILE_SIZE);
	close(fd);
	return err;
}

/* Text of `daxlease ARG [ARG2]`, NULL if it failed. */
static char *tool_out(const char *arg, const char *arg2)
{
	char *argv[] = { tool, (char *)arg, (char *)arg2, NULL };
	struct cmd c = CMD_INIT;
	char *out = NULL;

	if (!run(&c, argv) && c.out)
		out = strdup(c.out);
	else
		cmd_diag(&c);
	cmd_free(&c);
	return out;
}

static void test_fs(struct verbs *v, const struct dax_fs *fs, uint64_t seed)
{
	char f[PATH_MAX], g[PATH_MAX], h[PATH_MAX], *status = NULL;
	char *who = NULL, *ef = NULL, *eg = NULL, *eh = NULL;
	struct cmd c = CMD_INIT;
	struct chain ch = CHAIN_INIT;
	const char *n = fs->name;
	int ffd = -1, gfd = -1, hfd = -1, err, st;

	if (!fs->path)
		chain_break(&ch, "filesystem not mounted");
	if (ch.ok) {
		ffd = fs_file_create(fs->path, FILE_SIZE, seed, f, sizeof(f));
		gfd = fs_file_create(fs->path, FILE_SIZE, seed + 1, g,
				     sizeof(g));
		hfd = fs_file_create(fs->path, FILE_SIZE, seed + 2, h,
				     sizeof(h));
	}
	STEP(&ch, ffd >= 0 && gfd >= 0 && hfd >= 0,
	     "%s: files F, G and H, 1 MiB each, nobody leases them", n);
	if (ch.ok) {
		ef = path_esc(f);
		eg = path_esc(g);
		eh = path_esc(h);
	}

	CHECK(&ch, one((char *[]){ self, "--worker", f, NULL }, f,
		       "EOPNOTSUPP", 1),
	      "%s: outside daxlease run: the worker's ibv_reg_mr of F fails with EOPNOTSUPP (no lease on F, as stock)", n);
	CHECK(&ch, one((char *[]){ tool, "run", "--lease", f, "--", "sh", "-c",
				   strf("'%s' --worker '%s'; exit $?", self, f),
				   NULL }, f, "ok", 0),
	      "%s: daxlease run --lease F -- sh -c 'WORKER F; exit $?': the program the shell forked registers F", n);
	CHECK(&ch, one((char *[]){ tool, "run", "--lease", f, "--", self,
				   "--worker", "fork", "1", f, NULL }, f, "ok",
		       0),
	      "%s: daxlease run --lease F -- WORKER: a forked worker registers F", n);
	CHECK(&ch, one((char *[]){ tool, "run", "--lease", f, "--", self,
				   "--worker", "fork", "2", f, NULL }, f, "ok",
		       0),
	      "%s: two-level fork: the worker's worker registers F", n);
	CHECK(&ch, one((char *[]){ tool, "run", "--lease", f, "--", self,
				   "--worker", "fork", "1", g, NULL }, g,
		       "EOPNOTSUPP", 1),
	      "%s: daxlease run --lease F: a forked worker cannot register G, which was not given (EOPNOTSUPP)", n);

	/* a tree holding its MR of F; we are outside it */
	STEP(&ch, hold_start(&c, (char *[]){ tool, "run", "--lease", f, "--",
					     self, "--worker", "fork", "1",
					     "hold", f, NULL }),
	     "%s: daxlease run --lease F -- WORKER: a forked worker registered F and holds the MR", n);
	err = ch.ok ? reg_errno(v, f) : -1;
	CHECK(&ch, err == EPERM,
	      "%s: meanwhile a process outside the tree (same user, no preload) gets EPERM for F", n);
	if (ch.ok && err != EPERM)
		diag("ibv_reg_mr: %s", err < 0 ? "setup failed" :
		     err ? errno_name(err) : "succeeded");
	st = ch.ok ? hold_stop(&c) : -1;
	CHECK(&ch, st == 0, "%s: the tree exits with status 0", n);
	if (st)
		cmd_diag(&c);
	cmd_free(&c);

	/* automatic leases: no --lease */
	STEP(&ch, hold_start(&c, (char *[]){ tool, "run", "--", self,
					     "--worker", "fork", "1", "hold",
					     f, g, NULL }),
	     "%s: daxlease run -- WORKER F G (no --lease): a forked worker registers F and G", n);
	if (ch.ok) {
		status = tool_out("status", NULL);
		who = tool_out("who", f);
	}
	CHECK(&ch, status && strstr(status, "leased or pinned files: 2\n") &&
		   strstr(status, ef) && strstr(status, eg) &&
		   !strstr(status, eh),
	      "%s: daxlease status: 2 leased files, F and G, not H", n);
	if (ch.ok && status)
		diag("%s", status);
	CHECK(&ch, who && strstr(who, "(run_tree), fd ") &&
		   strstr(who, ": unbreakable lease, live, 256 pages pinned\n"),
	      "%s: daxlease who F: the worker (run_tree) holds an unbreakable lease, live, 256 pages pinned", n);
	if (ch.ok && who)
		diag("%s", who);
	st = ch.ok ? hold_stop(&c) : -1;
	CHECK(&ch, st == 0 && said(&c, f, "ok") && said(&c, g, "ok"),
	      "%s: the tree exits with status 0", n);
	if (ch.ok && st)
		cmd_diag(&c);
	cmd_free(&c);

	CHECK(&ch, gview_becomes(ef, "", SETTLE_MS) &&
		   gview_becomes(eg, "", SETTLE_MS) &&
		   gview_becomes(eh, "", SETTLE_MS),
	      "%s: afterwards no lease or pin of F, G or H in /proc/daxlease", n);

	free(status);
	free(who);
	free(ef);
	free(eg);
	free(eh);
	ok(!fs->path || (file_close_unlink(ffd, f) & file_close_unlink(gfd, g) &
			 file_close_unlink(hfd, h)),
	   "%s: remove F, G and H", n);
}

int main(int argc, char **argv)
{
	uint64_t seed = pattern_seed();
	const struct dax_fs *fs;
	struct verbs v = { 0 };
	struct cmd c = CMD_INIT;
	bool was_loaded;
	const char *tmp;

	tmp = env_get("DAXLEASE_TMP");
	snprintf(ready, sizeof(ready), "%s/run_tree.ready", tmp ? tmp : "/tmp");
	snprintf(go, sizeof(go), "%s/run_tree.go", tmp ? tmp : "/tmp");
	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return worker_main(argc - 2, argv + 2);

	plan(3 + DAX_FS_COUNT * FS_POINTS);
	was_loaded = module_begin();
	tool = repo_path("tools/daxlease");
	self = repo_path("tests/bin/run_tree");
	if (verbs_open(&v, env_rxe()))
		module_bail_out(was_loaded, "cannot open the rxe device");
	for_each_dax_fs(fs)
		test_fs(&v, fs, seed);
	ok(run(&c, (char *[]){ tool, "run", "--kind", "revocable", "--",
			       "true", NULL }) == 2 && c.err &&
	   strstr(c.err, "the kinds are unbreakable and breakable"),
	   "daxlease run --kind revocable -- true: exit 2, the kinds are unbreakable and breakable");
	cmd_free(&c);
	verbs_close(&v);
	module_end(was_loaded);
	free(tool);
	free(self);
	return done_testing();
}
