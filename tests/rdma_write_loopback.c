/*
 * RDMA WRITE between two RC QPs of the rxe device connected to each other:
 * the harness works end to end (device, GID, QP state machine, MRs, CQ)
 * before the fsdax tests rely on it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "env.h"
#include "pattern.h"
#include "tap.h"
#include "verbs.h"

#define LEN		(64UL << 10)	/* the point names say it */
/* The write lands GUARD bytes into a buffer with GUARD spare at each end. */
#define GUARD		4096UL
#define DST_SIZE	(GUARD + LEN + GUARD)

/* Point names, the same whether the point runs or is skipped. */
#define T_WRITE		"RDMA WRITE of 64 KiB completes with IBV_WC_SUCCESS"
#define T_DATA		"destination holds the pattern"
#define T_GUARDS	"4 KiB either side of the written range untouched"

#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		return p;
	diag("mmap %zu anonymous bytes: %s", len, errno_name(errno));
	return NULL;
}

static struct ibv_mr *reg(struct verbs *v, void *buf, size_t len)
{
	struct ibv_mr *mr;

	if (!buf)
		return NULL;
	mr = ibv_reg_mr(v->pd, buf, len, ACCESS);
	if (!mr)
		diag("ibv_reg_mr %zu bytes: %s", len, errno_name(errno));
	return mr;
}

static int dereg(struct ibv_mr *mr)
{
	int err = mr ? ibv_dereg_mr(mr) : 0;

	if (err)
		diag("ibv_dereg_mr: %s", errno_name(err));
	return err;
}

/* Index of the first nonzero byte of @buf, or -1. */
static ssize_t first_nonzero(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return i;
	return -1;
}

static bool guards_zero(const uint8_t *dst)
{
	ssize_t head = first_nonzero(dst, GUARD);
	ssize_t tail = first_nonzero(dst + GUARD + LEN, GUARD);

	if (head >= 0)
		diag("byte %zd before the written range is %#04x", GUARD - head,
		     dst[head]);
	if (tail >= 0)
		diag("byte %zd after the written range is %#04x", tail,
		     dst[GUARD + LEN + tail]);
	return head < 0 && tail < 0;
}

int main(void)
{
	struct ibv_mr *src_mr = NULL, *dst_mr = NULL;
	struct ibv_qp *qp[2] = { NULL, NULL };
	uint8_t *src, *dst;
	bool connected, wrote = false;
	struct verbs v;
	uint64_t seed;
	int status, teardown = 0;

	plan(8);
	seed = pattern_seed();

	if (!ok(!verbs_open(&v, env_rxe()), "open the rxe device"))
		bail_out("no rxe device");
	connected = ok(!verbs_create_pair(&v, qp),
		       "two RC QPs connected to each other (RTS)");

	src = map_anon(LEN);
	if (src)
		pattern_fill(src, LEN, seed, 0);
	src_mr = reg(&v, src, LEN);
	ok(src_mr, "register the 64 KiB source buffer holding the pattern");

	/* Anonymous memory is zeroed: no memset, the guards check that too. */
	dst = map_anon(DST_SIZE);
	dst_mr = reg(&v, dst, DST_SIZE);
	ok(dst_mr, "register the zeroed destination buffer (64 KiB + guards)");

	if (connected && src_mr && dst_mr) {
		status = verbs_rdma_write(&v, qp[0], src_mr, 0, LEN,
					  (uintptr_t)dst + GUARD, dst_mr->rkey);
		wrote = ok(status == IBV_WC_SUCCESS, T_WRITE);
	} else {
		skip("setup failed", T_WRITE);
	}

	if (wrote) {
		ok(!pattern_check(dst + GUARD, LEN, seed, 0), T_DATA);
		ok(guards_zero(dst), T_GUARDS);
	} else {
		skip("no write", T_DATA);
		skip("no write", T_GUARDS);
	}

	if (dereg(src_mr))
		teardown = -1;
	if (dereg(dst_mr))
		teardown = -1;
	if (verbs_destroy_pair(qp))
		teardown = -1;
	if (verbs_close(&v))
		teardown = -1;
	ok(!teardown, "teardown: deregister MRs, destroy QPs, close device");
	if (src)
		munmap(src, LEN);
	if (dst)
		munmap(dst, DST_SIZE);
	return done_testing();
}
