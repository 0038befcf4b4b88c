/*
 * Baseline: ibv_reg_mr() on anonymous memory works, whether or not the
 * daxlease module is loaded (it must leave ordinary memory alone).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "env.h"
#include "tap.h"
#include "verbs.h"

#define BUF_SIZE	(2UL << 20)
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

int main(void)
{
	struct ibv_mr *mr = NULL;
	struct verbs v;
	void *buf;
	int err;

	plan(4);

	if (!ok(!verbs_open(&v, env_rxe()), "open the rxe device"))
		bail_out("no rxe device");

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		diag("mmap %lu anonymous bytes: %s", BUF_SIZE, errno_name(errno));
	else
		memset(buf, 0x5a, BUF_SIZE);

	if (buf != MAP_FAILED) {
		mr = ibv_reg_mr(v.pd, buf, BUF_SIZE, ACCESS);
		if (!mr)
			diag("ibv_reg_mr: %s", errno_name(errno));
		else if (mr->addr != buf || mr->length != BUF_SIZE)
			diag("MR covers %p+%#zx, asked for %p+%#lx",
			     mr->addr, mr->length, buf, BUF_SIZE);
	}
	ok(mr && mr->addr == buf && mr->length == BUF_SIZE,
	   "ibv_reg_mr of %lu anonymous bytes (LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ)",
	   BUF_SIZE);

	if (mr) {
		err = ibv_dereg_mr(mr);
		if (err)
			diag("ibv_dereg_mr: %s", errno_name(err));
		ok(!err, "ibv_dereg_mr");
	} else {
		skip("no MR", "ibv_dereg_mr");
	}

	if (buf != MAP_FAILED)
		munmap(buf, BUF_SIZE);
	verbs_end(&v);
	return done_testing();
}
