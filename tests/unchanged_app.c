/*
 * An unchanged verbs application from Debian's packages uses a file on
 * fsdax as its RDMA buffer: perftest's ib_write_bw, server and client on
 * rxe0 (loopback through 192.0.2.1, GID index 1: the IPv4 RoCE v2 GID),
 * the server's buffer a MAP_SHARED mapping of a file on XFS or ext4
 * (--mmap=DST), the client's one of a file on tmpfs (--mmap=SRC).
 *
 * Without a lease the server's ibv_reg_mr() is refused (EOPNOTSUPP, with
 * the module loaded as on stock): it exits with status 1 and DST is
 * unchanged. Under `daxlease run --lease DST --` it registers DST, the
 * client's RDMA WRITEs complete, and the bytes it sent are in DST.
 *
 * What ib_write_bw does with the buffers (perftest 4.5, write_bw.c and
 * perftest_resources.c): after ibv_reg_mr() each side fills its whole
 * buffer with (char)rand() after srand(time(NULL)), mmap'ed files included,
 * so our pattern in SRC does not survive, and both sides usually seed with
 * the same second (they start together after the TCP handshake). The
 * buffer is 2 x 4 KiB; the server advertises its second 4 KiB and the
 * client writes from its first 4 KiB. So after the run DST[4K, 8K) must
 * equal SRC[0, 4K): DST's own fill there is rand() bytes 4096..8191, the
 * client's are bytes 0..4095 of a sequence that is not 4 KiB-periodic
 * (checked on SRC, whose halves are the same sequence's bytes 0..8191).
 * Only the WRITE can make them equal. DST past 8 KiB keeps our pattern.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define GID_INDEX	"1"
#define RUN_MS		120000		/* bound of one perftest run */
#define LISTEN_MS	60000
#define FS_POINTS	11

static char *tool;
static unsigned int port = 18600;	/* a new one per run: no TIME_WAIT */

/* Is a TCP socket listening on @port (IPv4 or IPv6, any address)? */
static bool tcp_listening(unsigned int port)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned int i, lport, state;
	bool found = false;
	char line[512];
	FILE *f;

	for (i = 0; i < 2 && !found; i++) {
		f = fopen(tables[i], "r");
		if (!f)
			continue;
		/* "sl: local:port remote:port st ...", hex; LISTEN is 0A */
		while (!found && fgets(line, sizeof(line), f))
			found = sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*s %x",
				       &lport, &state) == 2 &&
				lport == port && state == 0x0a;
		fclose(f);
	}
	return found;
}

/* Start the server, wait for its listening socket, run the client. */
static bool perftest_pair(struct cmd *server, struct cmd *client,
			  const char *dst, const char *src, bool leased)
{
	char mmap_dst[PATH_MAX + 8], mmap_src[PATH_MAX + 8], p[16];
	long long t0;

	snprintf(mmap_dst, sizeof(mmap_dst), "--mmap=%s", dst);
	snprintf(mmap_src, sizeof(mmap_src), "--mmap=%s", src);
	snprintf(p, sizeof(p), "%u", ++port);
	char *server_argv[] = {
		tool, "run", "--lease", (char *)dst, "--",
		"ib_write_bw", "-d", (char *)env_rxe(), "-x", GID_INDEX,
		"-p", p, "-s", "4096", "-n", "20", "-F", mmap_dst, NULL
	};
	char *client_argv[] = {
		"ib_write_bw", "-d", (char *)env_rxe(), "-x", GID_INDEX,
		"-p", p, "-s", "4096", "-n", "20", "-F", mmap_src,
		SERVER_ADDR, NULL
	};
	char **sargv = leased ? server_argv : server_argv + 5;

	diag("server: %sib_write_bw ... %s",
	     leased ? "daxlease run --lease DST -- " : "", mmap_dst);
	if (cmd_start(server, CMD_SAME_USER, sargv))
		return false;
	t0 = clock_ms();
	while (!tcp_listening(port) && clock_ms() - t0 < LISTEN_MS &&
	       !cmd_exited(server))
		usleep(20000);
	if (!tcp_listening(port)) {
		diag("the server did not listen on port %u", port);
		return false;
	}
	diag("client: ib_write_bw ... %s %s", mmap_src, SERVER_ADDR);
	if (cmd_start(client, CMD_SAME_USER, client_argv))
		return false;
	cmd_wait(client, RUN_MS);
	cmd_wait(server, RUN_MS);
	return true;
}

/* Does the server's output name the refused registration? */
static bool names_mr_failure(const struct cmd *c)
{
	return strstr(c->err, "Couldn't allocate MR") ||
	       strstr(c->out, "Couldn't allocate MR");
}

static void test_fs(const struct dax_fs *fs, uint64_t seed)
{
	char dst[PATH_MAX], src[PATH_MAX], *esc = NULL;
	struct file_state before = { 0 }, after = { 0 };
	struct bw_landing bw = { 0 };
	struct chain ch = CHAIN_INIT;
	const char *n = fs->name;
	struct cmd server = CMD_INIT, client = CMD_INIT;
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
	STEP(&ch, dfd >= 0 && sfd >= 0 && !file_state_get(dfd, &before),
	     "%s: DST: 1 MiB file holding the pattern; SRC: 1 MiB file on tmpfs", n);

	ran = ch.ok && perftest_pair(&server, &client, dst, src, false);
	STEP(&ch, ran && server.status == 1 && names_mr_failure(&server),
	     "%s: no lease: ib_write_bw --mmap=DST (server) exits with status 1, \"Couldn't allocate MR\"", n);
	if (ran && !ch.ok) {
		diag("server:");
		cmd_diag(&server);
	}
	if (ran && client.status == 0) {
		diag("client:");
		cmd_diag(&client);
	}
	CHECK(&ch, ran && client.status != 0,
	      "%s: no lease: the client fails too (exit status not 0)", n);
	CHECK(&ch, !file_state_path(dst, &after) &&
		   file_state_same(&before, &after),
	      "%s: no lease: DST unchanged (size, blocks, extents, contents)", n);
	cmd_free(&server);
	cmd_free(&client);

	ran = ch.ok && perftest_pair(&server, &client, dst, src, true);
	STEP(&ch, ran && server.status == 0,
	     "%s: daxlease run --lease DST -- ib_write_bw --mmap=DST (server) exits with status 0", n);
	if (ran && server.status)
		cmd_diag(&server);
	STEP(&ch, ran && client.status == 0,
	     "%s: the client, ib_write_bw --mmap=SRC 192.0.2.1, exits with status 0", n);
	if (ran && client.status)
		cmd_diag(&client);

	if (ch.ok)
		bw_landing_read(&bw, dst, src, FILE_SIZE, seed);
	CHECK(&ch, bw.src_halves_differ,
	      "%s: SRC's two 4 KiB halves differ (perftest's fill is not 4 KiB-periodic)", n);
	CHECK(&ch, bw.landed,
	      "%s: DST[4 KiB, 8 KiB) holds exactly SRC[0, 4 KiB): the client's RDMA WRITEs landed in the file", n);
	CHECK(&ch, bw.rest_kept,
	      "%s: DST is still 1 MiB and past 8 KiB (outside perftest's buffer) still holds the pattern", n);

	if (ch.ok)
		esc = path_esc(dst);
	CHECK(&ch, gview_becomes(esc, "", SETTLE_MS),
	      "%s: after both exited: no lease or pin of DST in /proc/daxlease", n);

	cmd_free(&server);
	cmd_free(&client);
	free(esc);
	file_state_free(&before);
	file_state_free(&after);
	ok(!fs->path || (file_close_unlink(dfd, dst) &&
			 file_close_unlink(sfd, src)),
	   "%s: remove DST and SRC", n);
}

int main(void)
{
	uint64_t seed = pattern_seed();
	const struct dax_fs *fs;
	bool was_loaded;

	plan(2 + DAX_FS_COUNT * FS_POINTS);
	was_loaded = module_begin();
	tool = repo_path("tools/daxlease");
	for_each_dax_fs(fs)
		test_fs(fs, seed);
	module_end(was_loaded);
	free(tool);
	return done_testing();
}
