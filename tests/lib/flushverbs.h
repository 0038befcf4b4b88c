/*
 * RDMA WRITE and FLUSH through the ibv_wr_*() API, for the FLUSH tests only.
 * They are built against the rdma-core of scripts/build-rdma-core
 * (ibv_wr_flush() came with rdma-core 45; Debian 12 has 44) and libdaxtest.a
 * against the system's, so these live in a header that only they include.
 */
#ifndef DAXLEASE_FLUSHVERBS_H
#define DAXLEASE_FLUSHVERBS_H

#include <errno.h>
#include <infiniband/verbs.h>

#include "tap.h"
#include "verbs.h"

/* An RC QP on @v's PD and CQ that can post RDMA WRITE and FLUSH. */
static inline struct ibv_qp *flush_qp_create(struct verbs *v)
{
	struct ibv_qp_init_attr_ex attr = {
		.send_cq = v->cq,
		.recv_cq = v->cq,
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = 16,
			.max_recv_wr = 16,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = v->pd,
		.send_ops_flags = IBV_QP_EX_WITH_RDMA_WRITE | IBV_QP_EX_WITH_FLUSH,
	};
	struct ibv_qp *qp = ibv_create_qp_ex(v->ctx, &attr);

	if (!qp)
		diag("ibv_create_qp_ex with IBV_QP_EX_WITH_FLUSH: %s",
		     errno_name(errno));
	return qp;
}

/*
 * Post one signaled RDMA WRITE of the first @len bytes of @src or, @src
 * NULL, a FLUSH (IBV_FLUSH_PERSISTENT, IBV_FLUSH_RANGE) of @len bytes, to
 * @raddr/@rkey, and wait up to @ms for its completion on @v's CQ: its status
 * (IBV_WC_SUCCESS is 0), or a negative errno with a diag.
 */
static inline int flush_post(struct verbs *v, struct ibv_qp_ex *qpx,
			     uint64_t wr_id, struct ibv_mr *src, uint64_t raddr,
			     uint32_t rkey, uint32_t len, unsigned int ms)
{
	const char *what = src ? "RDMA WRITE" : "RDMA FLUSH";
	struct ibv_wc wc;
	int err;

	ibv_wr_start(qpx);
	qpx->wr_id = wr_id;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	if (src) {
		ibv_wr_rdma_write(qpx, rkey, raddr);
		ibv_wr_set_sge(qpx, src->lkey, (uintptr_t)src->addr, len);
	} else {
		ibv_wr_flush(qpx, rkey, raddr, len, IBV_FLUSH_PERSISTENT,
			     IBV_FLUSH_RANGE);
	}
	err = ibv_wr_complete(qpx);
	if (err) {
		diag("ibv_wr_complete %s: %s", what, errno_name(err));
		return -err;
	}
	err = verbs_wait_wc(v, wr_id, ms, &wc);
	if (err)
		return err;
	if (wc.status != IBV_WC_SUCCESS)
		diag("%s completed with %s (vendor_err %#x)", what,
		     ibv_wc_status_str(wc.status), wc.vendor_err);
	return wc.status;
}

#endif
