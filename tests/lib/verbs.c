/* libibverbs helpers: see verbs.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <rdma/ib_user_verbs.h>

#include "env.h"
#include "fsdax.h"
#include "kmod.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "verbs.h"

#define VERBS_CQ_DEPTH	64
#define VERBS_QP_DEPTH	16

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list) {
		diag("ibv_get_device_list: %s", errno_name(errno));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(ibv_get_device_name(list[i]), name))
			continue;
		ctx = ibv_open_device(list[i]);
		if (!ctx)
			diag("ibv_open_device %s: %s", name, errno_name(errno));
		break;
	}
	if (i == n)
		diag("no RDMA device named %s among %d", name, n);
	ibv_free_device_list(list);
	return ctx;
}

/* ::ffff:a.b.c.d, the GID rxe derives from the netdev's IPv4 address. */
static bool gid_is_ipv4(const union ibv_gid *gid)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(gid->raw, prefix, sizeof(prefix));
}

/*
 * Loopback traffic goes to our own GID, so source and destination are the
 * same entry: prefer the IPv4-mapped one, routable through the veth.
 */
static int pick_gid(struct verbs *v)
{
	struct ibv_port_attr pattr;
	char str[INET6_ADDRSTRLEN];
	int i, len;

	if (ibv_query_port(v->ctx, VERBS_PORT, &pattr)) {
		diag("ibv_query_port %d: %s", VERBS_PORT, errno_name(errno));
		return -1;
	}
	if (pattr.state != IBV_PORT_ACTIVE)
		diag("port %d is %s, not ACTIVE", VERBS_PORT,
		     ibv_port_state_str(pattr.state));
	/* sgid_index is 8 bits wide. */
	len = pattr.gid_tbl_len < 256 ? pattr.gid_tbl_len : 256;
	for (i = 0; i < len; i++) {
		if (ibv_query_gid(v->ctx, VERBS_PORT, i, &v->gid))
			continue;
		if (gid_is_ipv4(&v->gid))
			break;
	}
	if (i == len) {
		i = 0;
		if (ibv_query_gid(v->ctx, VERBS_PORT, 0, &v->gid)) {
			diag("ibv_query_gid index 0: %s", errno_name(errno));
			return -1;
		}
		diag("no IPv4-mapped GID among %d, falling back to index 0",
		     len);
	}
	v->gid_index = i;
	inet_ntop(AF_INET6, v->gid.raw, str, sizeof(str));
	diag("%s port %d: GID index %d (%s)",
	     ibv_get_device_name(v->ctx->device), VERBS_PORT, i, str);
	return 0;
}

int verbs_open(struct verbs *v, const char *name)
{
	memset(v, 0, sizeof(*v));
	if (!name)
		return -1;
	v->ctx = open_device(name);
	if (!v->ctx)
		return -1;
	v->pd = ibv_alloc_pd(v->ctx);
	if (!v->pd) {
		diag("ibv_alloc_pd: %s", errno_name(errno));
		goto fail;
	}
	v->cq = ibv_create_cq(v->ctx, VERBS_CQ_DEPTH, NULL, NULL, 0);
	if (!v->cq) {
		diag("ibv_create_cq: %s", errno_name(errno));
		goto fail;
	}
	if (pick_gid(v))
		goto fail;
	return 0;
fail:
	verbs_close(v);
	return -1;
}

/* The destroy verbs return an errno value rather than set errno. */
static int check_destroy(int err, const char *verb)
{
	if (err)
		diag("%s: %s", verb, errno_name(err));
	return err ? -1 : 0;
}

int verbs_close(struct verbs *v)
{
	int ret = 0;

	if (v->cq && check_destroy(ibv_destroy_cq(v->cq), "ibv_destroy_cq"))
		ret = -1;
	if (v->pd && check_destroy(ibv_dealloc_pd(v->pd), "ibv_dealloc_pd"))
		ret = -1;
	if (v->ctx && ibv_close_device(v->ctx)) {
		diag("ibv_close_device: %s", errno_name(errno));
		ret = -1;
	}
	memset(v, 0, sizeof(*v));
	return ret;
}

void verbs_begin(struct verbs *v, bool was_loaded, char *upath, size_t size)
{
	if (!ok(!verbs_open(v, env_rxe()) &&
		(!upath || !fd_path(0, v->ctx->cmd_fd, upath, size)),
		"open the rxe device"))
		module_bail_out(was_loaded, "no rxe device");
}

void verbs_end(struct verbs *v)
{
	ok(!verbs_close(v), "close the rxe device");
}

void write_rig_begin(struct write_rig *r, bool was_loaded, size_t len,
		     uint64_t seed, const char *src_point)
{
	bool connected;

	memset(r, 0, sizeof(*r));
	r->len = len;
	verbs_begin(&r->v, was_loaded, NULL, 0);
	connected = ok(!verbs_create_pair(&r->v, r->qp),
		       "two RC QPs connected to each other (RTS)");
	r->src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->src == MAP_FAILED) {
		diag("mmap anonymous: %s", errno_name(errno));
		r->src = NULL;
	} else {
		pattern_fill(r->src, len, seed, 0);
		r->src_mr = mr_reg(r->v.pd, r->src, len);
	}
	ok(r->src_mr, "%s", src_point);
	r->ready = connected && r->src_mr;
}

void write_rig_end(struct write_rig *r)
{
	int teardown = 0;

	if (mr_dereg(r->src_mr))
		teardown = -1;
	if (verbs_destroy_pair(r->qp))
		teardown = -1;
	if (verbs_close(&r->v))
		teardown = -1;
	ok(!teardown, "teardown: deregister the source MR, destroy QPs, close device");
	if (r->src)
		munmap(r->src, r->len);
}

struct ibv_qp *verbs_create_qp(struct verbs *v)
{
	struct ibv_qp_init_attr attr = {
		.send_cq = v->cq,
		.recv_cq = v->cq,
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = VERBS_QP_DEPTH,
			.max_recv_wr = VERBS_QP_DEPTH,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};
	struct ibv_qp *qp;

	qp = ibv_create_qp(v->pd, &attr);
	if (!qp)
		diag("ibv_create_qp: %s", errno_name(errno));
	return qp;
}

static int modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask,
		     const char *state)
{
	int err = ibv_modify_qp(qp, attr, mask);

	if (err)
		diag("ibv_modify_qp qpn %#x to %s: %s", qp->qp_num, state,
		     errno_name(err));
	return err ? -1 : 0;
}

int verbs_connect_qp(struct verbs *v, struct ibv_qp *qp, uint32_t dest_qpn)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = VERBS_PORT,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest_qpn,
		.rq_psn = 0,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.grh = {
				.dgid = v->gid,
				.sgid_index = v->gid_index,
				.hop_limit = 64,
			},
			.port_num = VERBS_PORT,
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.sq_psn = 0,
		.max_rd_atomic = 1,
	};

	if (modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
		      IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT"))
		return -1;
	if (modify_qp(qp, &rtr, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, "RTR"))
		return -1;
	return modify_qp(qp, &rts, IBV_QP_STATE | IBV_QP_TIMEOUT |
			 IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			 IBV_QP_MAX_QP_RD_ATOMIC, "RTS");
}

int verbs_create_pair(struct verbs *v, struct ibv_qp *qp[2])
{
	qp[0] = verbs_create_qp(v);
	qp[1] = qp[0] ? verbs_create_qp(v) : NULL;
	if (qp[1] && !verbs_connect_qp(v, qp[0], qp[1]->qp_num) &&
	    !verbs_connect_qp(v, qp[1], qp[0]->qp_num))
		return 0;
	verbs_destroy_pair(qp);
	return -1;
}

int verbs_destroy_pair(struct ibv_qp *qp[2])
{
	int i, ret = 0;

	for (i = 0; i < 2; i++) {
		if (qp[i] && check_destroy(ibv_destroy_qp(qp[i]), "ibv_destroy_qp"))
			ret = -1;
		qp[i] = NULL;
	}
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int verbs_wait_wc(struct verbs *v, uint64_t wr_id, unsigned int ms,
		  struct ibv_wc *wc)
{
	long long deadline = now_ms() + ms;
	const struct timespec pause = { .tv_nsec = 100 * 1000 };
	int n;

	for (;;) {
		n = ibv_poll_cq(v->cq, 1, wc);
		if (n < 0) {
			diag("ibv_poll_cq: %d", n);
			return -EIO;
		}
		if (n && wc->wr_id == wr_id)
			return 0;
		if (n)
			diag("ignoring completion of wr_id %#llx",
			     (unsigned long long)wc->wr_id);
		if (now_ms() > deadline)
			break;
		if (!n)
			nanosleep(&pause, NULL);
	}
	diag("no completion of wr_id %#llx within %u ms",
	     (unsigned long long)wr_id, ms);
	return -ETIMEDOUT;
}

int verbs_rdma_write(struct verbs *v, struct ibv_qp *qp, struct ibv_mr *mr,
		     size_t off, size_t len, uint64_t raddr, uint32_t rkey)
{
	static uint64_t next_wr_id = 1;
	struct ibv_sge sge = {
		.addr = (uintptr_t)mr->addr + off,
		.length = len,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = next_wr_id++,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int err;

	if (len > UINT32_MAX) {
		diag("RDMA WRITE of %zu bytes: too long for one SGE", len);
		return -EINVAL;
	}
	err = ibv_post_send(qp, &wr, &bad);
	if (err) {
		diag("ibv_post_send RDMA WRITE: %s", errno_name(err));
		return -err;
	}
	err = verbs_wait_wc(v, wr.wr_id, VERBS_WC_TIMEOUT_MS, &wc);
	if (err)
		return err;
	if (wc.status != IBV_WC_SUCCESS)
		diag("RDMA WRITE completed with %s (vendor_err %#x)",
		     ibv_wc_status_str(wc.status), wc.vendor_err);
	return wc.status;
}

int verbs_async_event(struct ibv_context *ctx, unsigned int ms)
{
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	long long end = clock_ms() + ms;
	struct ibv_async_event ev;
	int type, r;

	do
		r = poll(&p, 1, end - clock_ms() > 0 ? end - clock_ms() : 0);
	while (r < 0 && errno == EINTR);
	if (r != 1 || ibv_get_async_event(ctx, &ev))
		return -1;
	type = ev.event_type;
	ibv_ack_async_event(&ev);
	return type;
}

bool verbs_got_event(struct ibv_context *ctx, enum ibv_event_type type)
{
	bool got = false;
	int t;

	while ((t = verbs_async_event(ctx, 0)) >= 0)
		got |= t == (int)type;
	return got;
}

int verbs_cmd_rereg_access(struct ibv_mr *mr, unsigned int access)
{
	struct ib_uverbs_rereg_mr_resp resp;
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} req = {
		.hdr = {
			.command = IB_USER_VERBS_CMD_REREG_MR,
			.in_words = sizeof(req) / 4,
			.out_words = sizeof(resp) / 4,
		},
		.cmd = {
			.response = (uintptr_t)&resp,
			.mr_handle = mr->handle,
			.flags = IBV_REREG_MR_CHANGE_ACCESS,
			.access_flags = access,
		},
	};

	long long end = clock_ms() + 1000;

	/* EBUSY: locked by another command, or a destroy still finishing */
	while (write(mr->context->cmd_fd, &req, sizeof(req)) != sizeof(req)) {
		if (errno != EBUSY || clock_ms() > end)
			return errno;
		sleep_ms(1);
	}
	return 0;
}
