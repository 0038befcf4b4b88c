/*
 * libibverbs helpers: one device, PD and CQ, and RC QPs connected to each
 * other on that device (loopback over soft-RoCE, RoCE v2).
 */
#ifndef DAXLEASE_VERBS_H
#define DAXLEASE_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

#define VERBS_PORT		1
#define VERBS_WC_TIMEOUT_MS	10000

struct verbs {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;	/* send and receive CQ of every QP */
	int gid_index;		/* source GID, also the loopback destination */
	union ibv_gid gid;
};

/* Open device @name (NULL: fail), alloc PD and CQ, pick the GID. 0 or -1. */
int verbs_open(struct verbs *v, const char *name);

/* Undo verbs_open(), also a partial one. 0, or -1 if a step failed. */
int verbs_close(struct verbs *v);

/*
 * For the tests of daxlease behaviour, after module_begin(): the test point
 * "open the rxe device", verbs_open(@v, env_rxe()) and, if @upath is not
 * NULL, the escaped path of its uverbs file (fd_path() of its cmd_fd) in
 * @upath (@size bytes). Bails out with the module state restored
 * (module_bail_out(@was_loaded)) if that fails.
 */
void verbs_begin(struct verbs *v, bool was_loaded, char *upath, size_t size);

/* The test point "close the rxe device": verbs_close(@v). */
void verbs_end(struct verbs *v);

/* An RC QP on @v's PD and CQ, in RESET state; NULL with a diag on error. */
struct ibv_qp *verbs_create_qp(struct verbs *v);

/* Move @qp through INIT, RTR and RTS towards @dest_qpn on our own GID. */
int verbs_connect_qp(struct verbs *v, struct ibv_qp *qp, uint32_t dest_qpn);

/* Create qp[0] and qp[1] connected to each other; on error neither exists. */
int verbs_create_pair(struct verbs *v, struct ibv_qp *qp[2]);

/*
 * The type of the first async event of @ctx within @ms (0: only one that
 * is already there), acknowledged; -1 if none came.  A signal does not end
 * the wait early (a lease break's SIGIO often comes with the event).
 */
int verbs_async_event(struct ibv_context *ctx, unsigned int ms);

/* Was one of the async events already there of @type?  Acknowledges all. */
bool verbs_got_event(struct ibv_context *ctx, enum ibv_event_type type);

/*
 * REREG_MR of @mr changing only its access flags to @access, issued on the
 * uverbs ABI as a provider that supports it would (rxe's does not): 0, or
 * the errno.  A command that looks up the MR's object in the kernel; EBUSY
 * (the object locked by another command, or by a destroy still finishing,
 * e.g. a revocation on another CPU) is retried for up to a second.
 */
int verbs_cmd_rereg_access(struct ibv_mr *mr, unsigned int access);

/*
 * Poll @v's CQ up to @ms for the completion of @wr_id (others are diag'ed
 * and dropped) into @wc: 0, or a negative errno with a diag.
 */
int verbs_wait_wc(struct verbs *v, uint64_t wr_id, unsigned int ms,
		  struct ibv_wc *wc);

/* Destroy the QPs of a pair that exist; 0, or -1 if a destroy failed. */
int verbs_destroy_pair(struct ibv_qp *qp[2]);

/*
 * The loopback rig of the tests that RDMA WRITE into files: one device,
 * a connected pair of QPs, and a source buffer registered as an MR.
 */
struct write_rig {
	struct verbs v;
	struct ibv_qp *qp[2];
	void *src;		/* NULL if it could not be mapped */
	size_t len;
	struct ibv_mr *src_mr;
	bool ready;		/* QPs connected and source registered */
};

/*
 * After module_begin(): verbs_begin(&@r->v, @was_loaded, NULL, 0), then
 * the test points "two RC QPs connected to each other (RTS)" and
 * @src_point: @len bytes of anonymous memory holding the pattern of @seed,
 * registered as an MR.
 */
void write_rig_begin(struct write_rig *r, bool was_loaded, size_t len,
		     uint64_t seed, const char *src_point);

/*
 * The test point "teardown: deregister the source MR, destroy QPs, close
 * device"; then unmap the source.
 */
void write_rig_end(struct write_rig *r);

/*
 * RDMA WRITE @len bytes at @off in @mr to @raddr/@rkey through @qp,
 * signaled, and wait up to VERBS_WC_TIMEOUT_MS for its completion.
 * Returns the completion's enum ibv_wc_status (IBV_WC_SUCCESS is 0), or a
 * negative errno (-ETIMEDOUT: no completion) with a diag.
 */
int verbs_rdma_write(struct verbs *v, struct ibv_qp *qp, struct ibv_mr *mr,
		     size_t off, size_t len, uint64_t raddr, uint32_t rkey);

#endif
