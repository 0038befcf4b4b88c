/* Both ends of a remote test: see link.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "env.h"
#include "link.h"
#include "proc.h"

#define RC_DEPTH	16

char link_role(void)
{
	const char *r = env_get("DAXLEASE_ROLE");

	if (!r || (strcmp(r, "A") && strcmp(r, "B")))
		bail_out("DAXLEASE_ROLE is %s, not A or B (run through scripts/vm-pair)",
			 r ? r : "unset");
	return r[0];
}

static const char *need(const char *var)
{
	const char *v = env_get(var);

	if (!v)
		bail_out("%s is not set (run through scripts/guest-pair)", var);
	return v;
}

const char *link_addr(void)
{
	return need("DAXLEASE_ADDR");
}

const char *link_peer(void)
{
	return need("DAXLEASE_PEER");
}

static int sockaddr_of(const char *addr, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		diag("not an IPv4 address: %s", addr);
		return -1;
	}
	return 0;
}

/* Wait for @events on @fd until @deadline (clock_ms()): 1, 0 (timeout), -1. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - clock_ms();
		if (left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

int ctl_accept(const char *addr, int port, unsigned int ms)
{
	struct sockaddr_in sin;
	int one = 1, lfd, fd = -1;

	if (sockaddr_of(addr, port, &sin))
		return -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		diag("socket: %s", errno_name(errno));
		return -1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1)) {
		diag("bind/listen %s:%d: %s", addr, port, errno_name(errno));
		goto out;
	}
	if (wait_fd(lfd, POLLIN, clock_ms() + ms) != 1) {
		diag("no control connection on %s:%d within %u ms", addr, port,
		     ms);
		goto out;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		diag("accept: %s", errno_name(errno));
	else
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
out:
	close(lfd);
	return fd;
}

int ctl_connect(const char *addr, int port, unsigned int ms)
{
	long long deadline = clock_ms() + ms;
	struct sockaddr_in sin;
	int one = 1, fd, err;

	if (sockaddr_of(addr, port, &sin))
		return -1;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			diag("socket: %s", errno_name(errno));
			return -1;
		}
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			return fd;
		}
		err = errno;
		close(fd);
		if (clock_ms() > deadline) {
			diag("connect %s:%d: %s for %u ms", addr, port,
			     errno_name(err), ms);
			return -1;
		}
		sleep_ms(500);
	}
}

int ctl_send(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		bail_out("control line too long");
	line[n++] = '\n';
	if (send(fd, line, n, MSG_NOSIGNAL) != n) {
		diag("control send: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

int ctl_recv(int fd, char *buf, size_t len, unsigned int ms)
{
	long long deadline = clock_ms() + ms;
	size_t n = 0;
	ssize_t r;

	/* byte by byte: nothing after the line is consumed */
	while (n + 1 < len) {
		if (wait_fd(fd, POLLIN, deadline) != 1) {
			diag("control: nothing from the other guest within %u ms",
			     ms);
			return -1;
		}
		r = read(fd, buf + n, 1);
		if (r <= 0) {
			diag("control: %s", r ? errno_name(errno) :
			     "the other guest closed the connection");
			return -1;
		}
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	diag("control: line too long");
	return -1;
}

int ctl_expect(int fd, const char *word, char *rest, size_t len,
	       unsigned int ms)
{
	char line[256];
	size_t wl = strlen(word);

	if (ctl_recv(fd, line, sizeof(line), ms))
		return -1;
	if (strncmp(line, word, wl) || (line[wl] && line[wl] != ' ')) {
		diag("control: expected '%s', got '%s'", word, line);
		return -1;
	}
	if (rest)
		snprintf(rest, len, "%s", line[wl] ? line + wl + 1 : "");
	return 0;
}

bool ctl_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * The next CM event within @ms, checked to be @want, then acked. Its id
 * goes to *@id, its private data (at least @len bytes) to @priv, if not
 * NULL: the ack frees them. 0 or -1.
 */
static int cm_event(struct rc *c, enum rdma_cm_event_type want,
		    unsigned int ms, struct rdma_cm_id **id, void *priv,
		    size_t len)
{
	struct rdma_cm_event *ev;
	int ret = 0;

	if (wait_fd(c->ch->fd, POLLIN, clock_ms() + ms) != 1) {
		diag("no RDMA CM event (waiting for %s) within %u ms",
		     rdma_event_str(want), ms);
		return -1;
	}
	if (rdma_get_cm_event(c->ch, &ev)) {
		diag("rdma_get_cm_event: %s", errno_name(errno));
		return -1;
	}
	if (ev->event != want) {
		diag("RDMA CM event %s (status %d), expected %s",
		     rdma_event_str(ev->event), ev->status,
		     rdma_event_str(want));
		ret = -1;
	}
	if (!ret && id)
		*id = ev->id;
	if (!ret && priv) {
		if (ev->param.conn.private_data_len < len) {
			diag("private data: %u bytes, expected %zu",
			     ev->param.conn.private_data_len, len);
			ret = -1;
		} else {
			memcpy(priv, ev->param.conn.private_data, len);
		}
	}
	rdma_ack_cm_event(ev);
	return ret;
}

static int channel(struct rc *c)
{
	memset(c, 0, sizeof(*c));
	c->ch = rdma_create_event_channel();
	if (!c->ch) {
		diag("rdma_create_event_channel: %s", errno_name(errno));
		return -1;
	}
	if (fcntl(c->ch->fd, F_SETFL, O_NONBLOCK)) {
		diag("O_NONBLOCK on the event channel: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

/* CQ and RC QP on @id, with c->pd. */
static int make_qp(struct rc *c, struct rdma_cm_id *id)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = RC_DEPTH,
			.max_recv_wr = RC_DEPTH,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};

	c->cq = ibv_create_cq(id->verbs, 2 * RC_DEPTH, NULL, NULL, 0);
	if (!c->cq) {
		diag("ibv_create_cq: %s", errno_name(errno));
		return -1;
	}
	attr.send_cq = c->cq;
	attr.recv_cq = c->cq;
	if (rdma_create_qp(id, c->pd, &attr)) {
		diag("rdma_create_qp: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

int rc_listen(struct rc *c, const char *addr, int port)
{
	struct sockaddr_in sin;

	if (channel(c) || sockaddr_of(addr, port, &sin))
		return -1;
	if (rdma_create_id(c->ch, &c->listen, NULL, RDMA_PS_TCP)) {
		diag("rdma_create_id: %s", errno_name(errno));
		return -1;
	}
	if (rdma_bind_addr(c->listen, (struct sockaddr *)&sin) ||
	    rdma_listen(c->listen, 1)) {
		diag("rdma_bind_addr/listen %s:%d: %s", addr, port,
		     errno_name(errno));
		return -1;
	}
	if (!c->listen->verbs) {
		diag("%s is not the address of an RDMA device", addr);
		return -1;
	}
	c->pd = ibv_alloc_pd(c->listen->verbs);
	if (!c->pd) {
		diag("ibv_alloc_pd: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

int rc_accept(struct rc *c, const void *priv, size_t len, unsigned int ms)
{
	struct rdma_conn_param param = {
		.private_data = priv,
		.private_data_len = len,
		.responder_resources = 1,
		.initiator_depth = 1,
		.rnr_retry_count = 7,
	};
	if (cm_event(c, RDMA_CM_EVENT_CONNECT_REQUEST, ms, &c->id, NULL, 0))
		return -1;
	if (make_qp(c, c->id))
		return -1;
	if (rdma_accept(c->id, &param)) {
		diag("rdma_accept: %s", errno_name(errno));
		return -1;
	}
	if (cm_event(c, RDMA_CM_EVENT_ESTABLISHED, ms, NULL, NULL, 0))
		return -1;
	c->established = true;
	return 0;
}

int rc_connect(struct rc *c, const char *addr, int port, void *priv,
	       size_t len, unsigned int ms)
{
	struct rdma_conn_param param = {
		.responder_resources = 1,
		.initiator_depth = 1,
		/* a dead peer is reported after a few seconds, not minutes */
		.retry_count = 3,
		.rnr_retry_count = 7,
	};
	struct sockaddr_in sin;

	if (channel(c) || sockaddr_of(addr, port, &sin))
		return -1;
	if (rdma_create_id(c->ch, &c->id, NULL, RDMA_PS_TCP)) {
		diag("rdma_create_id: %s", errno_name(errno));
		return -1;
	}
	if (rdma_resolve_addr(c->id, NULL, (struct sockaddr *)&sin, ms)) {
		diag("rdma_resolve_addr %s: %s", addr, errno_name(errno));
		return -1;
	}
	if (cm_event(c, RDMA_CM_EVENT_ADDR_RESOLVED, ms, NULL, NULL, 0))
		return -1;
	if (rdma_resolve_route(c->id, ms)) {
		diag("rdma_resolve_route: %s", errno_name(errno));
		return -1;
	}
	if (cm_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED, ms, NULL, NULL, 0))
		return -1;
	c->pd = ibv_alloc_pd(c->id->verbs);
	if (!c->pd) {
		diag("ibv_alloc_pd: %s", errno_name(errno));
		return -1;
	}
	if (make_qp(c, c->id))
		return -1;
	if (rdma_connect(c->id, &param)) {
		diag("rdma_connect: %s", errno_name(errno));
		return -1;
	}
	if (cm_event(c, RDMA_CM_EVENT_ESTABLISHED, ms, NULL, priv, len))
		return -1;
	c->established = true;
	return 0;
}

int rc_rdma(struct rc *c, enum ibv_wr_opcode opcode, struct ibv_mr *mr,
	    void *buf, size_t len, uint64_t raddr, uint32_t rkey)
{
	static uint64_t next_id = 1;
	struct ibv_sge sge = {
		.addr = (uintptr_t)buf,
		.length = len,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = next_id++,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = opcode,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	long long deadline = clock_ms() + RC_WAIT_MS;
	struct ibv_wc wc;
	int n, err;

	err = ibv_post_send(c->id->qp, &wr, &bad);
	if (err) {
		diag("ibv_post_send: %s", errno_name(err));
		return -EAGAIN;
	}
	do {
		n = ibv_poll_cq(c->cq, 1, &wc);
		if (n < 0) {
			diag("ibv_poll_cq failed");
			return -EIO;
		}
		if (n == 1 && wc.wr_id == wr.wr_id) {
			if (wc.status != IBV_WC_SUCCESS)
				diag("completion: %s (vendor error %#x)",
				     ibv_wc_status_str(wc.status),
				     wc.vendor_err);
			return wc.status;
		}
		if (!n)
			sleep_ms(1);
	} while (clock_ms() < deadline);
	diag("no completion within %d ms", RC_WAIT_MS);
	return -ETIMEDOUT;
}

void rc_close(struct rc *c)
{
	if (c->established && c->id)
		rdma_disconnect(c->id);
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->listen)
		rdma_destroy_id(c->listen);
	if (c->ch)
		rdma_destroy_event_channel(c->ch);
	memset(c, 0, sizeof(*c));
}
