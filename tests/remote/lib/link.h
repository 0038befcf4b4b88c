/*
 * The two ends of a remote test (scripts/vm-pair): guest A serves, guest B
 * connects. A control channel (TCP, one text line per message, every wait
 * bounded) keeps the two programs in step; the data path is an RC QP
 * connected through the RDMA connection manager over the link's soft-RoCE
 * devices (RoCEv2), as a real client and server connect.
 */
#ifndef DAXLEASE_LINK_H
#define DAXLEASE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "tap.h"

/* A's first wait for B: B may boot a minute later than A. */
#define CTL_HELLO_MS	180000
/* Every later wait for the other guest. */
#define CTL_STEP_MS	60000
/* A work completion, or the connection manager's next event. */
#define RC_WAIT_MS	30000

/* DAXLEASE_ROLE: 'A' or 'B'; bails out otherwise. */
char link_role(void);
/* DAXLEASE_ADDR, DAXLEASE_PEER: this guest's and the other's address. */
const char *link_addr(void);
const char *link_peer(void);

/*
 * A: listen on @addr:@port and accept one connection within @ms. B:
 * connect to @addr:@port, retrying until @ms have passed. The fd, or -1
 * with a diag.
 */
int ctl_accept(const char *addr, int port, unsigned int ms);
int ctl_connect(const char *addr, int port, unsigned int ms);

/* Send one line (no newline in @fmt). 0, or -1 with a diag. */
int ctl_send(int fd, const char *fmt, ...) __printf(2, 3);

/*
 * Receive the next line into @buf (newline stripped) within @ms. 0, or -1
 * with a diag (timeout, EOF, error).
 */
int ctl_recv(int fd, char *buf, size_t len, unsigned int ms);

/*
 * Receive the next line within @ms and check that its first word is
 * @word; the rest of the line (after one space) goes to @rest if not
 * NULL. 0, or -1 with a diag.
 */
int ctl_expect(int fd, const char *word, char *rest, size_t len,
	       unsigned int ms);

/* True if a line (or EOF) is waiting. */
bool ctl_ready(int fd);

/* What A's server tells B about its MR, in the connection's private data. */
struct mr_info {
	uint64_t addr;
	uint32_t rkey;
	uint32_t len;
	uint64_t seed;	/* of the file's pattern */
};

struct rc {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *listen;	/* A */
	struct rdma_cm_id *id;		/* the connection */
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	bool established;
};

/*
 * A: bind @addr:@port and listen; c->pd is then the PD of the device the
 * address belongs to, for the MRs the connection will serve. 0, or -1.
 */
int rc_listen(struct rc *c, const char *addr, int port);

/*
 * A: take the next connection request within @ms, give it an RC QP on
 * c->pd and accept it with @priv as private data; wait until established.
 */
int rc_accept(struct rc *c, const void *priv, size_t len, unsigned int ms);

/*
 * B: connect to @addr:@port (address and route resolution, an RC QP, the
 * connection), within @ms; the server's private data goes to @priv
 * (@len bytes). 0, or -1 with a diag.
 */
int rc_connect(struct rc *c, const char *addr, int port, void *priv,
	       size_t len, unsigned int ms);

/*
 * Post one signaled RDMA @opcode (IBV_WR_RDMA_WRITE or _READ) of @len
 * bytes at @buf of @mr to @raddr/@rkey and wait up to RC_WAIT_MS for its
 * completion: the completion's status (IBV_WC_SUCCESS is 0), -EAGAIN if
 * the post itself failed, -ETIMEDOUT if nothing completed; diag unless
 * success.
 */
int rc_rdma(struct rc *c, enum ibv_wr_opcode opcode, struct ibv_mr *mr,
	    void *buf, size_t len, uint64_t raddr, uint32_t rkey);

/* Disconnect (if established) and free everything; also a partial one. */
void rc_close(struct rc *c);

#endif
