/*
 * The daxlease command (tools/daxlease, man/man8/daxlease.8), run as a user
 * runs it: the exact output of who, pins and status for a leased file on
 * XFS and ext4 with an MR of its mapping (live, then orphaned, then gone),
 * `run` keeping its lease across exec (the exec'd program shows as the
 * holder), and every error with its documented exit code and message:
 * usage 2, not an fsdax file 4, module not loaded 5, permission denied 7,
 * no such file or process 8, CMD not found 127. Exit code 6 (kernel
 * without hooks) needs a stock kernel, which this test bed does not boot.
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
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(1UL << 20)	/* the point names say these */
#define FILE_PAGES	256UL
#define NOBODY		65534
#define FS_POINTS	12
#define ERR_POINTS	19

/* Exit codes of daxlease(8). */
#define EXIT_USAGE	2
#define EXIT_NOT_DAX	4
#define EXIT_NO_MODULE	5
#define EXIT_PERM	7
#define EXIT_NO_SUCH	8
#define EXIT_EXEC	127

#define NOT_LOADED	"daxlease: the daxlease module is not loaded (modprobe daxlease)\n"
#define STATUS_HEAD	"kernel: daxlease hooks present\nmodule: loaded\n"

static char *tool;		/* <repo>/tools/daxlease */
static char upath[PATH_MAX];	/* our uverbs fd's path */
static struct verbs v;

/* Run the daxlease command with @args (NULL-terminated) as @uid. */
#define DAXLEASE(c, uid, ...) \
	daxlease_run((c), (uid), (char *[]){ tool, __VA_ARGS__, NULL })

static struct cmd *daxlease_run(struct cmd *c, uid_t uid, char **argv)
{
	cmd_run(c, uid, argv);
	return c;
}

/* One point: daxlease @args exits with @status, prints @out and @err. */
#define EXPECT(status, out, err, ...) \
	expect((status), (out), (err), CMD_SAME_USER, \
	       (char *[]){ tool, __VA_ARGS__, NULL })

static bool expect(int status, const char *out, const char *err, uid_t uid,
		   char **argv)
{
	struct cmd c;
	bool same;

	same = !cmd_run(&c, uid, argv) && cmd_is(&c, status, out, err);
	cmd_free(&c);
	return same;
}

/* "<pid> (<comm>)" as the command prints it. */
static char *holder(pid_t pid, const char *comm)
{
	return strf("pid %d (%s)", (int)pid, comm);
}

/* The command's block for one live or orphaned lease of ours. */
static char *lease_block(const char *path, pid_t pid, const char *comm,
			 int fd, const char *state, unsigned long pages,
			 const char *owner)
{
	char *who = holder(pid, comm);
	char *sfd = fd >= 0 ? strf("fd %d", fd) : strf("no fd");
	char *s = strf("%s\n  %s, %s: unbreakable lease, %s, %lu pages pinned\n%s%s%s",
		       path, who, sfd, state, pages,
		       owner ? "    " : "", owner ? owner : "",
		       owner ? "\n" : "");

	free(who);
	free(sfd);
	return s;
}

struct leased {
	char path[PATH_MAX];	/* escaped */
	char link[PATH_MAX + 8];	/* a hard link to it */
	int fd;
	void *map;
	struct ibv_mr *mr;
};

static bool leased_setup(struct leased *f, const char *dir, uint64_t seed)
{
	f->fd = fs_file_create(dir, FILE_SIZE, seed, f->path, sizeof(f->path));
	f->map = NULL;
	f->mr = NULL;
	if (f->fd < 0)
		return false;
	snprintf(f->link, sizeof(f->link), "%s.link", f->path);
	if (link(f->path, f->link)) {
		diag("link %s: %s", f->link, errno_name(errno));
		return false;
	}
	if (lease_set(f->fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE 48: %s", errno_name(errno));
		return false;
	}
	f->map = file_map(f->fd, FILE_SIZE);
	if (f->map)
		f->mr = mr_reg(v.pd, f->map, FILE_SIZE);
	return f->mr;
}

/* munmap and close with the MR alive: the lease is orphaned. */
static bool leased_orphan(struct leased *f)
{
	bool done = !munmap(f->map, FILE_SIZE) && !close(f->fd);

	f->map = NULL;
	f->fd = -1;
	return done;
}

/*
 * A container's view: in its own mount namespace the leased file's path
 * names another file (bind-mounted over it). who must not report the lease
 * on the host's file for it.
 */
static bool who_elsewhere(const char *path)
{
	char *other = strf("%s.other", path), *want, *script;
	struct cmd c;
	bool same;
	int fd;

	fd = open(other, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		diag("create %s: %s", other, errno_name(errno));
		free(other);
		return false;
	}
	close(fd);
	script = strf("mount --bind '%s' '%s' && exec '%s' who '%s'", other,
		      path, tool, path);
	cmd_run(&c, CMD_SAME_USER, (char *[]){ "unshare", "-m",
		"--propagation", "private", "sh", "-c", script, NULL });
	want = strf("%s: no daxlease leases or pins\n", path);
	same = cmd_is(&c, 0, want, "");
	cmd_free(&c);
	unlink(other);
	free(want);
	free(script);
	free(other);
	return same;
}

/*
 * `daxlease run --lease FILE -- daxlease who FILE`: the exec'd who must see
 * its own process (comm "daxlease", fd 3: the first fd after stdio) as the
 * holder of a live lease, i.e. the lease fd survived exec.
 */
static bool run_shows_itself(const char *path)
{
	char *want;
	struct cmd c;
	bool same;

	DAXLEASE(&c, CMD_SAME_USER, "run", "--lease", (char *)path, "--",
		 tool, "who", (char *)path);
	want = lease_block(path, c.pid, "daxlease", 3, "live", 0, NULL);
	same = cmd_is(&c, 0, want, "");
	free(want);
	cmd_free(&c);
	return same;
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	struct chain ch = CHAIN_INIT;
	struct leased f = { .fd = -1 };
	char *want, *owner, me_str[16];
	pid_t me = getpid();

	snprintf(me_str, sizeof(me_str), "%d", (int)me);
	if (!fs->path)
		chain_break(&ch, "filesystem not mounted");
	STEP(&ch, leased_setup(&f, fs->path, seed),
	     "%s: 48 on a 1 MiB file, an MR of its whole mapping", n);

	owner = strf("%lu pages pinned through %s", FILE_PAGES, upath);
	want = lease_block(f.path, me, "daxlease_cmd", f.fd, "live",
			   FILE_PAGES, owner);
	CHECK(&ch, EXPECT(0, want, "", "who", f.path),
	      "%s: who FILE: exactly the path, 'pid <pid> (daxlease_cmd), fd <fd>: unbreakable lease, live, 256 pages pinned', '256 pages pinned through <uverbs path>'", n);
	CHECK(&ch, EXPECT(0, want, "", "who", f.link),
	      "%s: who LINK (a hard link to FILE): the same text", n);
	CHECK(&ch, who_elsewhere(f.path),
	      "%s: who FILE in a mount namespace where FILE's path is another file (bind mount): 'FILE: no daxlease leases or pins' (matched by device and inode, not path text)", n);
	want = cat_free(2, strf(STATUS_HEAD "leased or pinned files: 1\n"),
			want);
	CHECK(&ch, EXPECT(0, want, "", "status"),
	      "%s: status: hooks present, module loaded, 'leased or pinned files: 1', the same block", n);
	free(want);

	want = strf("pid %d (daxlease_cmd)\n  owned by fd %d (%s):\n    %s\n",
		    (int)me, v.ctx->cmd_fd, upath, f.path);
	CHECK(&ch, EXPECT(0, want, "", "pins", me_str),
	      "%s: pins PID: exactly 'pid <pid> (daxlease_cmd)', 'owned by fd <fd> (<uverbs path>):' and the file", n);
	free(want);

	want = lease_block(f.path, me, "daxlease_cmd", -1,
			   "orphaned (its file is closed, pins remain)",
			   FILE_PAGES, owner);
	STEP(&ch, leased_orphan(&f),
	     "%s: munmap and close the leased fd with the MR alive", n);
	CHECK(&ch, EXPECT(0, want, "", "who", f.path),
	      "%s: who FILE: the lease shows as orphaned, 256 pages, same owner", n);
	free(want);
	free(owner);

	want = strf("%s: no daxlease leases or pins\n", f.path);
	STEP(&ch, !mr_dereg(f.mr), "%s: deregister the MR", n);
	f.mr = NULL;
	CHECK(&ch, EXPECT(0, want, "", "who", f.path),
	      "%s: who FILE: 'FILE: no daxlease leases or pins'", n);
	free(want);

	CHECK(&ch, run_shows_itself(f.path),
	      "%s: run --lease FILE -- daxlease who FILE: the exec'd CMD holds the lease ('pid <its pid> (daxlease), fd 3: unbreakable lease, live, 0 pages pinned')", n);

	if (f.mr)
		mr_dereg(f.mr);
	if (f.map)
		munmap(f.map, FILE_SIZE);
	if (f.fd >= 0)
		close(f.fd);
	ok(!fs->path || (!unlink(f.link) && !unlink(f.path)),
	   "%s: remove the file and its link", n);
}

/* A pid that is free: a child's, after it was reaped. */
static pid_t free_pid(void)
{
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

static void test_errors(const char *dax_dir)
{
	char *dax = NULL, *tmp = NULL, *dir = NULL, *msg, gone[16];
	int fd = -1, tfd = -1;
	bool was_loaded;

	snprintf(gone, sizeof(gone), "%d", (int)free_pid());
	if (dax_dir) {
		dax = strf("%s/cmd-errors", dax_dir);
		dir = strf("%s/cmd-dir", dax_dir);
	}
	fd = dax ? open(dax, O_RDWR | O_CREAT | O_TRUNC, 0644) : -1;
	if (dir)
		mkdir(dir, 0755);
	if (env_tmp()) {
		tmp = strf("%s/cmd-not-dax", env_tmp());
		tfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
	}
	if (fd < 0 || tfd < 0)
		bail_out("cannot create the files for the error cases");

	ok(EXPECT(EXIT_USAGE, "", NULL, "frobnicate"),
	   "unknown subcommand: exit 2 (usage)");
	ok(expect(EXIT_USAGE, "", NULL, CMD_SAME_USER, (char *[]){ tool, NULL }),
	   "no subcommand: exit 2 (usage)");
	ok(EXPECT(EXIT_USAGE, "", NULL, "run", "--lease", dax, "true"),
	   "run without '--': exit 2 (usage)");
	ok(EXPECT(EXIT_USAGE, "", NULL, "run", "--lease", dax, "--"),
	   "run without CMD: exit 2 (usage)");
	ok(EXPECT(EXIT_USAGE, "", NULL, "pins", "12x"),
	   "pins 12x: exit 2 (usage)");

	msg = strf("daxlease: %s: not a file on an fsdax filesystem (ext4 or XFS on pmem, mounted -o dax=always): no layout lease, RDMA registration would fail\n",
		   tmp);
	ok(EXPECT(EXIT_NOT_DAX, "", msg, "run", "--lease", tmp, "--", "true"),
	   "run --lease on a tmpfs file: exit 4 (not an fsdax file), message says so");
	free(msg);
	ok(EXPECT(EXIT_NOT_DAX, "", NULL, "run", "--lease", dir, "--", "true"),
	   "run --lease on a directory of the fsdax mount: exit 4");

	msg = strf("daxlease: %s/missing: No such file or directory\n", dax_dir);
	ok(EXPECT(EXIT_NO_SUCH, "", msg, "who", strf("%s/missing", dax_dir)),
	   "who of a missing file: exit 8 (no such file), message names it");
	ok(EXPECT(EXIT_NO_SUCH, "", NULL, "run", "--lease",
		  strf("%s/missing", dax_dir), "--", "true"),
	   "run --lease of a missing file: exit 8");
	free(msg);
	msg = strf("daxlease: no process %s\n", gone);
	ok(EXPECT(EXIT_NO_SUCH, "", msg, "pins", gone),
	   "pins of a pid that does not exist: exit 8 (no such process)");
	free(msg);
	ok(EXPECT(EXIT_EXEC, "", NULL, "run", "--lease", dax, "--",
		  "/nonexistent/program"),
	   "run of a CMD that does not exist: exit 127");

	ok(expect(EXIT_PERM, "",
		  "daxlease: /proc/daxlease: permission denied: the list of leases is readable by root only\n",
		  NOBODY, (char *[]){ tool, "who", dax, NULL }),
	   "uid 65534: who FILE: exit 7 (permission denied: /proc/daxlease is root's)");
	ok(expect(EXIT_PERM, STATUS_HEAD, NULL, NOBODY,
		  (char *[]){ tool, "status", NULL }),
	   "uid 65534: status: hooks and module shown, then exit 7");
	ok(expect(EXIT_PERM, "",
		  "daxlease: /proc/1/file_pins: permission denied: reading another process's pins needs ptrace read access (same user, or CAP_SYS_PTRACE)\n",
		  NOBODY, (char *[]){ tool, "pins", "1", NULL }),
	   "uid 65534: pins 1: exit 7, message says why");
	ok(expect(EXIT_PERM, "", NULL, NOBODY,
		  (char *[]){ tool, "run", "--lease", dax, "--", "true", NULL }),
	   "uid 65534: run --lease of root's 0644 file: exit 7");

	if (module_stock_begin(DAXLEASE_MODULE_NAME, &was_loaded))
		bail_out("cannot unload the daxlease module");
	ok(EXPECT(EXIT_NO_MODULE,
		  "kernel: daxlease hooks present\nmodule: not loaded (modprobe daxlease)\n",
		  "", "status"),
	   "module unloaded: status says 'module: not loaded', exit 5");
	ok(EXPECT(EXIT_NO_MODULE, "", NOT_LOADED, "who", dax),
	   "module unloaded: who FILE: exit 5 (module not loaded), message says so");
	ok(EXPECT(EXIT_NO_MODULE, "", NOT_LOADED, "run", "--lease", dax, "--",
		  "true"),
	   "module unloaded: run --lease FILE: exit 5");
	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   "daxlease module loaded again");

	close(fd);
	close(tfd);
	unlink(dax);
	unlink(tmp);
	rmdir(dir);
}

int main(void)
{
	const struct dax_fs *fs;
	uint64_t seed = pattern_seed();
	bool was_loaded;

	plan(4 + DAX_FS_COUNT * FS_POINTS + ERR_POINTS);
	was_loaded = module_begin();
	tool = repo_path("tools/daxlease");
	if (!ok(!verbs_open(&v, env_rxe()) &&
		!fd_path(0, v.ctx->cmd_fd, upath, sizeof(upath)),
		"open the rxe device"))
		bail_out("no rxe device");

	for_each_dax_fs(fs)
		test_fs(fs, seed);
	test_errors(dax_fs_list()->path);

	verbs_end(&v);
	module_end(was_loaded);
	free(tool);
	return done_testing();
}
