/*
 * Unchanged RDMA software that connects through the RDMA connection
 * manager (librdmacm: rdma_create_id(), rdma_resolve_addr(), ...), as
 * librpma, libfabric, UCX and perftest's -R do: the kernel must have RDMA
 * CM (CONFIG_INFINIBAND_ADDR_TRANS, /dev/infiniband/rdma_cm), and such
 * programs must run under `daxlease run`.
 *
 * rping (rdmacm-utils): server under `daxlease run --lease DST --`, client
 * plain, on 192.0.2.1 (rxe0). rping's buffers are malloc()ed; the client
 * prints (-v) each ping's data after the server has RDMA READ it and RDMA
 * WRITTEN it back, which must be the exact text rping generates.
 *
 * perftest's ib_write_bw -R --mmap=DST into a file on fsdax, as
 * tests/unchanged_app does without -R (see there for why DST[4 KiB, 8 KiB)
 * must equal SRC[0, 4 KiB) after the run): under `daxlease run --lease
 * DST` the client's RDMA WRITEs land in the file. With -R there is no TCP
 * socket: the server is ready when `rdma resource show cm_id` lists its
 * listening CM ID. On the second file system the server runs under
 * `sh -c '...; exit $?'`, so the shell's child registers DST (process
 * trees, libdaxlease-preload). The refusal without a lease is tests/unchanged_app's:
 * with -R, perftest 4.5's error path after a failed ibv_reg_mr() crashes
 * both sides in librdmacm (SIGSEGV, and a "general protection fault"
 * line in the kernel log, which the runner counts as a splat), on a stock
 * kernel as with daxlease.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "cmd.h"
#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "pattern.h"
#include "perftest.h"
#include "proc.h"
#include "report.h"
#include "tap.h"

#define FILE_SIZE	(1UL << 20)	/* the point names say these */
#define SERVER_ADDR	"192.0.2.1"
#define RUN_MS		120000
#define LISTEN_MS	60000
#define PINGS		5
#define PING_SIZE	64
#define FS_POINTS	8

static char *tool;
static unsigned int port = 18700;	/* a new one per run */

#define T_CMDEV		"/dev/infiniband/rdma_cm is a character device (the kernel has RDMA CM)"
#define T_RPING_S	"rping: daxlease run --lease DST -- rping -s -a 192.0.2.1 exits with status 0"
#define T_RPING_C	"rping: the client, rping -c -v -C 5 -a 192.0.2.1, exits with status 0"
#define T_RPING_DATA	"rping: the client printed the 5 pings' data exactly as rping generates it (RDMA READ and WRITE through rdma_cm QPs)"

/* Is an RDMA CM ID listening on @port (rdma resource show cm_id)? */
static bool cm_listening(unsigned int port)
{
	char *argv[] = { "rdma", "resource", "show", "cm_id", NULL };
	struct cmd c = CMD_INIT;
	char want[32];
	bool found = false;
	char *line;

	snprintf(want, sizeof(want), ":%u ", port);
	if (cmd_start(&c, CMD_SAME_USER, argv) || cmd_wait(&c, 10000)) {
		cmd_free(&c);
		return false;
	}
	for (line = c.out; line && *line && !found;) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		found = strstr(line, "state LISTEN") && strstr(line, want);
		line = end ? end + 1 : NULL;
	}
	cmd_free(&c);
	return found;
}

/* Start @sargv, wait until it listens on port, run @cargv, wait for both. */
static bool cm_pair(struct cmd *server, char **sargv, struct cmd *client,
		    char **cargv)
{
	long long t0;

	if (cmd_start(server, CMD_SAME_USER, sargv))
		return false;
	t0 = clock_ms();
	while (!cm_listening(port) && clock_ms() - t0 < LISTEN_MS &&
	       !cmd_exited(server))
		usleep(50000);
	if (!cm_listening(port)) {
		diag("the server did not listen on port %u", port);
		cmd_wait(server, 1000);
		cmd_diag(server);
		return false;
	}
	if (cmd_start(client, CMD_SAME_USER, cargv))
		return false;
	cmd_wait(client, RUN_MS);
	cmd_wait(server, RUN_MS);
	return true;
}

/* What rping -v prints for @count pings of @size (rping.c, rping_test_client). */
static char *rping_expected(int count, int size)
{
	size_t len = (size_t)count * (size + 16), n = 0;
	char *out = malloc(len), *buf = malloc(size);
	int ping, i, cc, c, start = 65;

	if (!out || !buf)
		bail_out("out of memory");
	for (ping = 0; ping < count; ping++) {
		cc = snprintf(buf, size, "rdma-ping-%d: ", ping);
		for (i = cc, c = start; i < size; i++) {
			buf[i] = c;
			if (++c > 122)
				c = 65;
		}
		if (++start > 122)
			start = 65;
		buf[size - 1] = '\0';
		n += snprintf(out + n, len - n, "ping data: %s\n", buf);
	}
	free(buf);
	return out;
}

static void test_rping(const char *dst)
{
	char p[16], count[16], size[16];
	struct cmd server = CMD_INIT, client = CMD_INIT;
	char *want = rping_expected(PINGS, PING_SIZE);
	bool ran;

	snprintf(p, sizeof(p), "%u", ++port);
	snprintf(count, sizeof(count), "%d", PINGS);
	snprintf(size, sizeof(size), "%d", PING_SIZE);
	char *sargv[] = {
		tool, "run", "--lease", (char *)dst, "--", "rping", "-s",
		"-a", SERVER_ADDR, "-p", p, "-C", count, "-S", size, NULL
	};
	char *cargv[] = {
		"rping", "-c", "-v", "-a", SERVER_ADDR, "-p", p, "-C", count,
		"-S", size, NULL
	};

	ran = cm_pair(&server, sargv, &client, cargv);
	if (!ok(ran && server.status == 0, T_RPING_S))
		cmd_diag(&server);
	if (!ok(ran && client.status == 0, T_RPING_C))
		cmd_diag(&client);
	if (!ok(ran && client.out && !strcmp(client.out, want), T_RPING_DATA)) {
		diag("expected:");
		diag("%s", want);
		cmd_diag(&client);
	}
	cmd_free(&server);
	cmd_free(&client);
	free(want);
}

/*
 * ib_write_bw -R: server under daxlease run --lease DST, and client. With
 * @shell the server is started as `sh -c 'ib_write_bw ...; exit $?'`: the
 * shell forks it, so the registering process is not the one run exec'd.
 */
static bool perftest_pair(struct cmd *server, struct cmd *client,
			  const char *dst, const char *src, bool shell)
{
	char mmap_dst[PATH_MAX + 8], mmap_src[PATH_MAX + 8], p[16];
	char script[2 * PATH_MAX + 128];

	snprintf(mmap_dst, sizeof(mmap_dst), "--mmap=%s", dst);
	snprintf(mmap_src, sizeof(mmap_src), "--mmap=%s", src);
	snprintf(p, sizeof(p), "%u", ++port);
	char *server_argv[] = {
		tool, "run", "--lease", (char *)dst, "--",
		"ib_write_bw", "-R", "-d", (char *)env_rxe(), "-p", p,
		"-s", "4096", "-n", "20", "-F", mmap_dst, NULL
	};
	char *client_argv[] = {
		"ib_write_bw", "-R", "-d", (char *)env_rxe(), "-p", p,
		"-s", "4096", "-n", "20", "-F", mmap_src, SERVER_ADDR, NULL
	};

	char *shell_argv[] = {
		tool, "run", "--lease", (char *)dst, "--", "sh", "-c", script,
		NULL
	};

	snprintf(script, sizeof(script),
		 "ib_write_bw -R -d '%s' -p %s -s 4096 -n 20 -F '%s'; exit $?",
		 env_rxe(), p, mmap_dst);
	diag("server: daxlease run --lease DST -- %s",
	     shell ? script : "ib_write_bw -R ...");
	return cm_pair(server, shell ? shell_argv : server_argv, client,
		       client_argv);
}

static void test_fs(const struct dax_fs *fs, uint64_t seed, bool rping,
		    bool shell)
{
	char dst[PATH_MAX], src[PATH_MAX], *esc = NULL;
	struct bw_landing bw = { 0 };
	struct cmd server = CMD_INIT, client = CMD_INIT;
	struct chain ch = CHAIN_INIT;
	const char *n = fs->name;
	int dfd = -1, sfd = -1;
	bool ran;

	if (!fs->path)
		chain_break(&ch, "filesystem not mounted");
	if (ch.ok) {
		dfd = pattern_file_create(fs->path, FILE_SIZE, seed, dst,
					  sizeof(dst));
		sfd = pattern_file_create(env_tmp(), FILE_SIZE, seed + 1, src,
					  sizeof(src));
	}
	STEP(&ch, dfd >= 0 && sfd >= 0,
	     "%s: DST: 1 MiB file holding the pattern; SRC: 1 MiB file on tmpfs", n);

	if (rping) {
		if (ch.ok)
			test_rping(dst);
		else {
			skip("no file", T_RPING_S);
			skip("no file", T_RPING_C);
			skip("no file", T_RPING_DATA);
		}
	}

	ran = ch.ok && perftest_pair(&server, &client, dst, src, shell);
	STEP(&ch, ran && server.status == 0,
	     "%s: daxlease run --lease DST -- %s (server) exits with status 0", n,
	     shell ? "sh -c 'ib_write_bw -R --mmap=DST; exit $?' (the shell forks it)" :
	     "ib_write_bw -R --mmap=DST");
	if (ran && server.status)
		cmd_diag(&server);
	STEP(&ch, ran && client.status == 0,
	     "%s: the client, ib_write_bw -R --mmap=SRC 192.0.2.1, exits with status 0", n);
	if (ran && client.status)
		cmd_diag(&client);

	if (ch.ok)
		bw_landing_read(&bw, dst, src, FILE_SIZE, seed);
	CHECK(&ch, bw.src_halves_differ,
	      "%s: SRC's two 4 KiB halves differ (perftest's fill is not 4 KiB-periodic)", n);
	CHECK(&ch, bw.landed,
	      "%s: DST[4 KiB, 8 KiB) holds exactly SRC[0, 4 KiB): the RDMA WRITEs over the rdma_cm QP landed in the file", n);
	CHECK(&ch, bw.rest_kept,
	      "%s: DST is still 1 MiB and past 8 KiB still holds the pattern", n);
	if (ch.ok)
		esc = path_esc(dst);
	CHECK(&ch, gview_becomes(esc, "", SETTLE_MS),
	      "%s: after both exited: no lease or pin of DST in /proc/daxlease", n);

	cmd_free(&server);
	cmd_free(&client);
	free(esc);
	ok(!fs->path || (file_close_unlink(dfd, dst) &&
			 file_close_unlink(sfd, src)),
	   "%s: remove DST and SRC", n);
}

int main(void)
{
	uint64_t seed = pattern_seed();
	const struct dax_fs *fs;
	struct stat st;
	bool was_loaded;

	plan(3 + 3 + DAX_FS_COUNT * FS_POINTS);
	was_loaded = module_begin();
	tool = repo_path("tools/daxlease");
	ok(!stat("/dev/infiniband/rdma_cm", &st) && S_ISCHR(st.st_mode),
	   T_CMDEV);
	for_each_dax_fs(fs)
		test_fs(fs, seed, fs == dax_fs_list(), fs != dax_fs_list());
	module_end(was_loaded);
	free(tool);
	return done_testing();
}
