/*
 * Two machines, RDMA FLUSH (issue 20): an application on guest A leases a
 * file on the NFIT pmem (XFS and ext4, scripts/vm --nvdimm), maps it and
 * registers the mapping with IBV_ACCESS_FLUSH_PERSISTENT; guest B RDMA
 * WRITEs 64 KiB into it and then FLUSHes that range (IBV_FLUSH_PERSISTENT,
 * IBV_FLUSH_RANGE); both complete with IBV_WC_SUCCESS, and A finds B's
 * bytes in the file with read(2).
 *
 * The QPs are connected by hand over the control channel (QPN and GID each
 * way) rather than through the RDMA CM: B's QP must be created with
 * IBV_QP_EX_WITH_FLUSH and A's must carry IBV_ACCESS_FLUSH_PERSISTENT, which
 * the CM helpers of lib/ do not set up. Built against the rdma-core of
 * scripts/build-rdma-core, as tests/rdma_flush.
 *
 * The same program runs on both guests; DAXLEASE_ROLE says which end it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "env.h"
#include "flushenv.h"
#include "flushverbs.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "link.h"
#include "pattern.h"
#include "tap.h"
#include "verbs.h"

/* Apart from remote_rdma's ports: each test has its own control port. */
#define CTL_PORT	18700
#define FILE_SIZE	(2UL << 20)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))	/* B writes here */
#define A_POINTS	7
#define B_POINTS	5
#define FLUSH_ACCESS	(MR_ACCESS | IBV_ACCESS_FLUSH_PERSISTENT)

#define SRC_SEED(s)	(~(s))

static const struct {
	const char *name, *var;
} nfit[DAX_FS_COUNT] = {
	{ "xfs", "DAXLEASE_XFS_NFIT" },
	{ "ext4", "DAXLEASE_EXT4_NFIT" },
};

static int ctl = -1;

static void gid_hex(const union ibv_gid *gid, char *hex)
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", gid->raw[i]);
}

static int hex_gid(const char *hex, union ibv_gid *gid)
{
	unsigned int b;
	int i;

	if (strlen(hex) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		gid->raw[i] = b;
	}
	return 0;
}

/*
 * RTR and RTS towards the peer's @qpn at @gid; then FLUSH_PERSISTENT in
 * the access flags (rxe checks them on the responder, A).
 */
static int connect_to(struct verbs *v, struct ibv_qp *qp, uint32_t qpn,
		      const union ibv_gid *gid)
{
	struct ibv_qp_attr attr = { .qp_access_flags = FLUSH_ACCESS };
	struct verbs peer = *v;	/* our GID index, the peer's GID */
	int err;

	peer.gid = *gid;
	if (verbs_connect_qp(&peer, qp, qpn))
		return -1;
	err = ibv_modify_qp(qp, &attr, IBV_QP_ACCESS_FLAGS);
	if (err)
		diag("ibv_modify_qp access flags with FLUSH_PERSISTENT: %s",
		     errno_name(err));
	return err ? -1 : 0;
}

/* ---- guest A ---- */

static void serve_fs(struct verbs *v, int i, uint64_t seed)
{
	struct chain ch = CHAIN_INIT;
	const char *n = nfit[i].name, *dir = env_get(nfit[i].var);
	char path[PATH_MAX], rest[128], hex[33], ghex[33];
	struct ibv_mr *mr = NULL;
	struct ibv_qp *qp = NULL;
	union ibv_gid gid;
	unsigned int qpn;
	bool leased = false, released = true;
	void *map = NULL;
	uint8_t *buf = NULL;
	int fd = -1;

	if (ctl < 0)
		chain_break(&ch, "no control connection to B");
	if (!dir)
		diag("%s is not set: no NFIT namespace on A (scripts/vm --nvdimm)",
		     nfit[i].var);
	if (ch.ok)
		fd = fs_file_create(dir, FILE_SIZE, seed, path, sizeof(path));
	STEP(&ch, fd >= 0, "%s on NFIT pmem: A creates a 2 MiB file holding a pattern", n);

	if (ch.ok) {
		leased = !lease_set(fd, F_UNBREAKABLE);
		if (!leased)
			diag("F_SETLEASE 48: %s", errno_name(errno));
		map = leased ? file_map(fd, FILE_SIZE) : NULL;
		mr = map ? ibv_reg_mr(v->pd, map, FILE_SIZE, FLUSH_ACCESS) : NULL;
		if (map && !mr)
			diag("ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT: %s",
			     errno_name(errno));
	}
	STEP(&ch, mr, "%s on NFIT pmem: A: F_SETLEASE 48, map, ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT", n);

	if (ch.ok)
		qp = verbs_create_qp(v);
	gid_hex(&v->gid, hex);
	STEP(&ch, qp && !ctl_send(ctl, "mr %s %" PRIu64 " %u %u %s", n,
				  (uint64_t)(uintptr_t)map, mr->rkey,
				  qp->qp_num, hex) &&
	     !ctl_send(ctl, "seed %" PRIu64, seed) &&
	     !ctl_expect(ctl, "qp", rest, sizeof(rest), CTL_STEP_MS) &&
	     sscanf(rest, "%u %32s", &qpn, ghex) == 2 && !hex_gid(ghex, &gid) &&
	     !connect_to(v, qp, qpn, &gid) && !ctl_send(ctl, "go"),
	     "%s on NFIT pmem: A's RC QP connected to B's (RTS, FLUSH_PERSISTENT granted)", n);

	STEP(&ch, !ctl_expect(ctl, "flushed", NULL, 0, CTL_STEP_MS),
	     "%s on NFIT pmem: B says its RDMA WRITE and FLUSH completed", n);

	if (ch.ok) {
		buf = malloc(FILE_SIZE);
		if (!buf || pread(fd, buf, FILE_SIZE, 0) != (ssize_t)FILE_SIZE) {
			diag("pread %s: %s", path, errno_name(errno));
			free(buf);
			buf = NULL;
		}
	}
	CHECK(&ch, buf && !pattern_check(buf + OFF, LEN, SRC_SEED(seed), 0),
	      "%s on NFIT pmem: A reads the file with read(2): the 64 KiB hold what B wrote", n);
	CHECK(&ch, buf && !pattern_check(buf, OFF, seed, 0) &&
	      !pattern_check(buf + OFF + LEN, FILE_SIZE - OFF - LEN, seed,
			     OFF + LEN),
	      "%s on NFIT pmem: the rest of the file holds its previous contents", n);
	free(buf);

	if (qp && ibv_destroy_qp(qp))
		released = false;
	if (mr && mr_dereg(mr))
		released = false;
	if (leased && lease_set(fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		released = false;
	}
	if (map && munmap(map, FILE_SIZE))
		released = false;
	if (fd >= 0 && (close(fd) || unlink(path)))
		released = false;
	CHECK(&ch, released,
	      "%s on NFIT pmem: A destroys the QP, deregisters, F_UNLCK, unmaps, closes and unlinks", n);
}

static int serve(void)
{
	uint64_t seed = pattern_seed();
	bool was_loaded;
	struct verbs v;
	int i;

	plan(4 + DAX_FS_COUNT * A_POINTS + 1);
	was_loaded = module_begin();
	verbs_begin(&v, was_loaded, NULL, 0);
	ctl = ctl_accept(link_addr(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "A: control connection from B");
	for (i = 0; i < DAX_FS_COUNT; i++)
		serve_fs(&v, i, seed + i);
	verbs_end(&v);
	module_end(was_loaded);
	return done_testing();
}

/* ---- guest B ---- */

static void use_fs(struct verbs *v, struct ibv_mr *src, int i)
{
	struct chain ch = CHAIN_INIT;
	const char *n = nfit[i].name;
	char rest[160], name[16], ghex[33], hex[33];
	uint64_t addr = 0, seed = 0;
	unsigned int rkey = 0, qpn;
	struct ibv_qp *qp = NULL;
	struct ibv_qp_ex *qpx = NULL;
	union ibv_gid gid;
	int st = -1;

	if (ctl < 0)
		chain_break(&ch, "no control connection to A");
	STEP(&ch, !ctl_expect(ctl, "mr", rest, sizeof(rest), CTL_STEP_MS) &&
	     sscanf(rest, "%15s %" SCNu64 " %u %u %32s", name, &addr, &rkey,
		    &qpn, ghex) == 5 && !strcmp(name, n) && !hex_gid(ghex, &gid) &&
	     !ctl_expect(ctl, "seed", rest, sizeof(rest), CTL_STEP_MS) &&
	     sscanf(rest, "%" SCNu64, &seed) == 1,
	     "%s on NFIT pmem: A's app has a leased file registered with IBV_ACCESS_FLUSH_PERSISTENT", n);

	if (ch.ok)
		qp = flush_qp_create(v);
	gid_hex(&v->gid, hex);
	STEP(&ch, qp && !connect_to(v, qp, qpn, &gid) &&
	     (qpx = ibv_qp_to_qp_ex(qp)) &&
	     !ctl_send(ctl, "qp %u %s", qp->qp_num, hex) &&
	     !ctl_expect(ctl, "go", NULL, 0, CTL_STEP_MS),
	     "%s on NFIT pmem: B's RC QP with IBV_QP_EX_WITH_FLUSH connected to A's (RTS)", n);

	if (ch.ok) {
		pattern_fill(src->addr, LEN, SRC_SEED(seed), 0);
		st = flush_post(v, qpx, 1, src, addr + OFF, rkey, LEN,
				RC_WAIT_MS);
	}
	STEP(&ch, st == IBV_WC_SUCCESS,
	     "%s on NFIT pmem: B's RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes", n);
	if (ch.ok)
		st = flush_post(v, qpx, 2, NULL, addr + OFF, rkey, LEN,
				RC_WAIT_MS);
	STEP(&ch, st == IBV_WC_SUCCESS && !ctl_send(ctl, "flushed"),
	     "%s on NFIT pmem: B's RDMA FLUSH IBV_FLUSH_PERSISTENT, IBV_FLUSH_RANGE of those 64 KiB completes with IBV_WC_SUCCESS", n);
	CHECK(&ch, !ibv_destroy_qp(qp), "%s on NFIT pmem: B destroys its QP", n);
	if (!ch.ok && qp)
		ibv_destroy_qp(qp);
}

static int use(void)
{
	struct ibv_mr *src = NULL;
	struct verbs v;
	void *buf;
	int i;

	plan(3 + DAX_FS_COUNT * B_POINTS + 1);
	if (!ok(!verbs_open(&v, env_rxe()), "B: open the rxe device"))
		bail_out("no rxe device");
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf != MAP_FAILED)
		src = mr_reg(v.pd, buf, LEN);
	if (!ok(src, "B: register a 64 KiB anonymous source buffer"))
		bail_out("no source MR");
	ctl = ctl_connect(link_peer(), CTL_PORT, CTL_HELLO_MS);
	ok(ctl >= 0, "B: control connection to A");
	for (i = 0; i < DAX_FS_COUNT; i++)
		use_fs(&v, src, i);
	mr_dereg(src);
	ok(!verbs_close(&v), "B: close the rxe device");
	return done_testing();
}

int main(void)
{
	if (flush_rdma_core_env())
		bail_out("cannot point libibverbs at the rxe provider of .rdma-core");
	return link_role() == 'A' ? serve() : use();
}
