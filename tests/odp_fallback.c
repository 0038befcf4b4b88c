/*
 * Software that knows nothing of daxlease sees a stock kernel: RDMA
 * libraries key on the errno of a refused ibv_reg_mr(). librpma's
 * rpma_peer_setup_mr_reg(), for one, retries the registration with
 * IBV_ACCESS_ON_DEMAND when, and only when, ibv_reg_mr() failed with
 * EOPNOTSUPP. The same fallback loop runs here on a mapping of an fsdax
 * file that nobody leases, first with the daxlease module loaded, then
 * with it unloaded: the first attempt fails with EOPNOTSUPP both times, the
 * fallback runs, and the whole trace (each attempt's access flags and
 * result) is the same. On rxe, which has no ODP in 6.12, the retry fails
 * with EOPNOTSUPP too; on a NIC with ODP it would succeed in both cases.
 *
 * Where a lease is involved the answer stays EPERM, so the fallback does
 * not paper over a lease conflict: with another process holding 48 on the
 * file the first attempt fails with EPERM and the loop stops there.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "tap.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define TRACE_LEN	256
#define FS_POINTS	7

#define T_CREATE	"%s: a 2 MiB fsdax file holding the pattern, mapped MAP_SHARED, nobody holds a lease on it"
#define T_LOADED	"%s: module loaded: ibv_reg_mr fails with EOPNOTSUPP, so the fallback retries with IBV_ACCESS_ON_DEMAND"
#define T_OTHER		"%s: module loaded, another process holds 48 on the file: ibv_reg_mr fails with EPERM and the fallback does not run"
#define T_STOCK		"%s: module not loaded: ibv_reg_mr fails with EOPNOTSUPP, so the fallback retries with IBV_ACCESS_ON_DEMAND"
#define T_SAME		"%s: the fallback's whole trace (flags and result of each attempt) is the same with and without the module"
#define T_CONTENTS	"%s: the file still holds the pattern"
#define T_CLEAN		"%s: munmap, close and unlink"

struct fs_state {
	char path[PATH_MAX];
	int fd;
	void *map;
	char loaded[TRACE_LEN], stock[TRACE_LEN];
	int loaded_err, stock_err;
};

static struct verbs v;

/*
 * librpma's rule: register; on EOPNOTSUPP, and only then, register again
 * with IBV_ACCESS_ON_DEMAND. Writes each attempt to @trace; returns the
 * first attempt's errno (0 if it registered). Any MR is deregistered.
 */
static int fallback(void *addr, size_t len, char *trace)
{
	int access = ACCESS, first = 0, i, err;
	size_t n = 0;
	struct ibv_mr *mr;

	trace[0] = '\0';
	for (i = 0; i < 2; i++) {
		mr = ibv_reg_mr(v.pd, addr, len, access);
		err = mr ? 0 : errno;
		n += snprintf(trace + n, TRACE_LEN - n, "%sreg(%s): %s",
			      i ? "; " : "",
			      access & IBV_ACCESS_ON_DEMAND ? "ODP" : "plain",
			      mr ? "MR" : errno_name(err));
		if (i == 0)
			first = err;
		if (mr && ibv_dereg_mr(mr))
			diag("ibv_dereg_mr: %s", errno_name(errno));
		if (err != EOPNOTSUPP)
			break;
		access |= IBV_ACCESS_ON_DEMAND;
	}
	return first;
}

/* A child holding 48 on @path while the parent's attempt runs. */
static int other_attempt(struct fs_state *s, char *trace)
{
	struct helper h;
	int err;

	trace[0] = '\0';
	err = helper_start(&h, lease_hold_unbreakable, s->path);
	if (err)
		diag("the lease holder: %s", child_result_name(err));
	else
		err = fallback(s->map, FILE_SIZE, trace);
	if (helper_stop(&h))
		err = -1;
	return err;
}

static void setup(struct fs_state *s, const struct dax_fs *fs, uint64_t seed)
{
	s->fd = -1;
	s->map = NULL;
	if (fs->path)
		s->fd = fs_file_create(fs->path, FILE_SIZE, seed, s->path,
				       sizeof(s->path));
	if (s->fd >= 0 && file_is_dax(s->fd) == 1)
		s->map = file_map(s->fd, FILE_SIZE);
	ok(s->map && lease_get(s->fd) == F_UNLCK, T_CREATE, fs->name);
}

int main(void)
{
	struct fs_state st[DAX_FS_COUNT];
	const struct dax_fs *fs;
	char trace[TRACE_LEN];
	uint64_t seed = pattern_seed();
	bool was_loaded, stock_was = true, stock_ok;
	int i, err;

	plan(2 + DAX_FS_COUNT * FS_POINTS);
	was_loaded = module_begin();
	if (verbs_open(&v, env_rxe()))
		module_bail_out(was_loaded, "cannot open the rxe device");

	i = 0;
	for_each_dax_fs(fs)
		setup(&st[i++], fs, seed);

	i = 0;
	for_each_dax_fs(fs) {
		struct fs_state *s = &st[i++];

		if (!s->map) {
			skip("no mapping", T_LOADED, fs->name);
			skip("no mapping", T_OTHER, fs->name);
			continue;
		}
		s->loaded_err = fallback(s->map, FILE_SIZE, s->loaded);
		diag("%s, module loaded: %s", fs->name, s->loaded);
		ok(s->loaded_err == EOPNOTSUPP && strstr(s->loaded, "ODP"),
		   T_LOADED, fs->name);
		err = other_attempt(s, trace);
		diag("%s, another process's lease: %s", fs->name, trace);
		ok(err == EPERM && !strstr(trace, "ODP"), T_OTHER, fs->name);
	}

	stock_ok = !module_stock_begin(DAXLEASE_MODULE_NAME, &stock_was);
	i = 0;
	for_each_dax_fs(fs) {
		struct fs_state *s = &st[i++];

		if (!s->map || !stock_ok) {
			skip(stock_ok ? "no mapping" : "module still loaded",
			     T_STOCK, fs->name);
			skip("no trace", T_SAME, fs->name);
			continue;
		}
		s->stock_err = fallback(s->map, FILE_SIZE, s->stock);
		diag("%s, module not loaded: %s", fs->name, s->stock);
		ok(s->stock_err == EOPNOTSUPP && strstr(s->stock, "ODP"),
		   T_STOCK, fs->name);
		ok(!strcmp(s->loaded, s->stock), T_SAME, fs->name);
	}
	if (module_restore(DAXLEASE_MODULE_NAME, env_module(), stock_was))
		diag("the module could not be loaded again");

	i = 0;
	for_each_dax_fs(fs) {
		struct fs_state *s = &st[i++];

		if (!s->map) {
			skip("no mapping", T_CONTENTS, fs->name);
		} else {
			ok(!pattern_check(s->map, FILE_SIZE, seed, 0),
			   T_CONTENTS, fs->name);
			munmap(s->map, FILE_SIZE);
		}
		ok(s->fd >= 0 && file_close_unlink(s->fd, s->path), T_CLEAN,
		   fs->name);
	}
	verbs_close(&v);
	module_end(was_loaded);
	return done_testing();
}
