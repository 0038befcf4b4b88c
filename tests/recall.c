/*
 * Recall of long-term pins, daxlease loaded, on each fsdax file system.
 * A holder process H takes a layout lease on file F, maps F, registers the
 * mapping as an MR in its own verbs context and connects a QP of that
 * context to a QP of ours (O), so that O can RDMA WRITE into F through H's
 * MR like a remote peer would.
 *
 * - Breakable lease (16), cooperative holder: O's truncate breaks the lease;
 *   H gets SIGIO, deregisters its MR and releases the lease (F_UNLCK 0: the
 *   lease was still there, not timed out), and the truncate returns 0 well
 *   within lease-break-time (5 s here).
 * - Breakable lease, holder that ignores the break (lease-break-time 2 s):
 *   H's own truncate of F fails with EDEADLK; O's WRITE lands in F; O's
 *   truncate to 0 returns 0 after the break time; /proc/daxlease and H's
 *   file_pins are empty; a new file G that reuses blocks F had (FIEMAP) is
 *   not changed by O's WRITE to the revoked MR, which completes with
 *   IBV_WC_REM_ACCESS_ERR (H's QP lives on; only the MR is gone).  H got
 *   SIGIO and no IBV_EVENT_DEVICE_FATAL; its RDMA WRITE from the MR into
 *   a new MR succeeded before and completes in error after the revocation
 *   (rxe: IBV_WC_WR_FLUSH_ERR), a command on it (REREG_MR) fails
 *   with EIO (the old kernel dereferenced the destroyed MR's NULL object),
 *   while ibv_reg_mr on its PD and ibv_query_qp of its QP succeed; its
 *   ibv_dereg_mr of the revoked MR returns 0 and it exits 0.
 * - Breakable lease, H registers a 64 MiB mapping of F, then unmaps and
 *   closes F (the lease is orphaned with the pins): O's truncate returns
 *   only once the pins are revoked (H's file_pins and /proc/daxlease are
 *   empty when it returns).  The stock busy-page wait skips a file nobody
 *   maps: on the old module the truncate freed the pinned blocks (the
 *   kernel warns in dax_disassociate_entry()).  H's MR alone was revoked.
 * - The same as the ignoring holder, with H reading its mapping of F all
 *   along: O's truncate to 1 MiB still returns 0 (not EINTR from the
 *   guard).  On 7.x a mapping holds a reference to the page: the truncate
 *   waited for good once H's read mapped the page again while it waited
 *   for the revoked pins.
 * - io_uring fixed buffers are not revocable: registering a mapping of a
 *   file under a breakable lease fails with EPERM.
 * - Administrator recall (daxlease revoke FILE) of an unbreakable lease
 *   (48) with pins, and of an orphaned one: truncate ETXTBSY before, revoke
 *   exits 0, the holder's MR alone is revoked as above (SIGIO unless the
 *   lease was orphaned), daxlease who shows nothing, truncate returns 0.
 *   Once more with a memory window bound to the MR, which rxe refuses to
 *   destroy, and a holder thread that queries its QP (a verbs command on a
 *   live object) until the revocation: then its whole context is revoked
 *   (SIGIO, IBV_EVENT_DEVICE_FATAL), its old QP, PD and CQ in new commands
 *   fail with EIO, destroying them returns 0 (an older kernel crashed on a
 *   NULL object in ib_query_qp()).
 * - At the end the module unloads: nothing was left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "env.h"
#include "fsdax.h"
#include "keeper.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "proc.h"
#include "report.h"
#include "tap.h"
#include "uring.h"
#include "verbs.h"

#define FILE_SIZE	(2UL << 20)
#define BIG_SIZE	(64UL << 20)	/* its revocation takes milliseconds */
#define CUT_SIZE	(1UL << 20)
#define WRITE_LEN	(64UL << 10)
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define LBT_COOP_S	5
#define LBT_IGNORE_S	2
#define EVENT_WAIT_MS	20000
#define G_TRIES		8
#define FS_POINTS	54

#define T_LBT		"set " LBT_PATH
#define T_LBT_BACK	"restore " LBT_PATH

/*
 * What H is told to do, and what it reports (shared memory).  HOLD_MW: H
 * binds a memory window to its MR (rxe will not destroy such an MR, so the
 * revocation takes the whole context) and queries its QP all along.
 */
enum hold_mode { HOLD_COOPERATE, HOLD_IGNORE, HOLD_ORPHAN, HOLD_TOUCH,
		 HOLD_MW };

struct hold {
	/* set by O before the fork */
	char path[PATH_MAX];
	size_t size;		/* of F: H maps and registers all of it */
	int lease;		/* F_LAYOUT or F_LAYOUT|F_EXCLUSIVE */
	enum hold_mode mode;
	/* set by H */
	int setup;		/* 0, or the errno of the failed step */
	char step[64];
	uint64_t addr;
	uint32_t rkey, qpn;
	int own_truncate;	/* errno of H's ftruncate of F (0: none) */
	int sigio;		/* SIGIOs received */
	bool fatal;		/* got IBV_EVENT_DEVICE_FATAL */
	int dereg;		/* ibv_dereg_mr result */
	int unlck;		/* F_UNLCK: 0 or errno */
	long reads;		/* HOLD_TOUCH: reads of the mapping */
	/* the MR alone revoked: what H sees of it and of the rest */
	int probe_live;		/* RDMA WRITE from the MR before: status */
	int probe;		/* ... after the revocation */
	int rereg_err;		/* a command on the MR (REREG_MR): errno */
	int newmr_err;		/* ibv_reg_mr on the same PD: errno */
	int qp_err;		/* ibv_query_qp of the QP to O */
	/* HOLD_MW: a thread queries the QP until the revocation */
	int bind;		/* the window's bind: completion status */
	long queries;
	int query_err;		/* ibv_query_qp of the revoked QP */
	int reg_err;		/* ibv_reg_mr on the revoked PD: errno */
	int create_err;		/* ibv_create_qp on the revoked PD and CQ */
	int teardown;		/* destroy QP, CQ, PD: 0, or -1 */
};

struct holder {
	pid_t pid;
	int sock;		/* O's end of the socketpair */
	struct hold *h;
};

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

/* One byte over @sock, bounded: 0, or -1. */
static int msg_send(int sock, char c)
{
	return write(sock, &c, 1) == 1 ? 0 : -1;
}

static int msg_recv(int sock, unsigned int ms, char *c)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return read(sock, c, 1) == 1 ? 0 : -1;
}

/* Until SIGIO arrived or @ms passed. */
static void wait_sigio(unsigned int ms)
{
	long long end = clock_ms() + ms;

	while (!sigio_count && clock_ms() < end)
		sleep_ms(10);
}

/* HOLD_MW: ibv_query_qp in a loop, a uverbs command on a live object */
struct busy {
	struct ibv_qp *qp;
	volatile int stop;
	long n;
};

static void *busy_main(void *arg)
{
	struct busy *b = arg;
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr;

	while (!b->stop && !ibv_query_qp(b->qp, &attr, IBV_QP_STATE, &init))
		b->n++;
	return NULL;
}

/*
 * An RDMA WRITE of a page from @mr into a new MR on @v's PD, over a new
 * pair of QPs: its completion status, or a negative errno.  *@reg_err: the
 * new MR's registration.
 */
static int write_from(struct verbs *v, struct ibv_mr *mr, int *reg_err)
{
	struct ibv_qp *pair[2] = { 0 };
	static char buf[4096];
	struct ibv_mr *nmr;
	int st = -EIO;

	nmr = ibv_reg_mr(v->pd, buf, sizeof(buf), MR_ACCESS);
	*reg_err = nmr ? 0 : errno;
	if (nmr && !verbs_create_pair(v, pair))
		st = verbs_rdma_write(v, pair[0], mr, 0, sizeof(buf),
				      (uintptr_t)buf, nmr->rkey);
	verbs_destroy_pair(pair);
	if (nmr)
		ibv_dereg_mr(nmr);
	return st;
}

/*
 * H, its MR revoked alone: a command on it fails with EIO, a WRITE from it
 * completes in error (it succeeded before); its PD, its context (new QPs)
 * and its QP to O live on.
 */
static void use_revoked_mr(struct hold *h, struct verbs *v, struct ibv_qp *qp,
			   struct ibv_mr *mr)
{
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr;

	h->rereg_err = verbs_cmd_rereg_access(mr, MR_ACCESS);
	h->probe = write_from(v, mr, &h->newmr_err);
	h->qp_err = ibv_query_qp(qp, &attr, IBV_QP_STATE, &init);
}

/* HOLD_MW: bind a type 2 window to the first page of @mr. 0, or -1. */
static int bind_window(struct hold *h, struct verbs *v, struct ibv_qp *qp,
		       struct ibv_mr *mr, struct ibv_mw **mwp)
{
	struct ibv_mw *mw = ibv_alloc_mw(v->pd, IBV_MW_TYPE_2);
	struct ibv_send_wr wr = {
		.wr_id = 0xb1d,
		.opcode = IBV_WR_BIND_MW,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	*mwp = mw;
	if (!mw)
		return -1;
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){
		.mr = mr,
		.addr = (uintptr_t)mr->addr,
		.length = 4096,
		.mw_access_flags = IBV_ACCESS_REMOTE_WRITE,
	};
	h->bind = -EIO;
	if (!ibv_post_send(qp, &wr, &bad) &&
	    !verbs_wait_wc(v, wr.wr_id, VERBS_WC_TIMEOUT_MS, &wc))
		h->bind = wc.status;
	return h->bind == IBV_WC_SUCCESS ? 0 : -1;
}

/*
 * Until O says the revocation is over ('v'), up to EVENT_WAIT_MS; with
 * @map, reading its first page all along.  SIGIO ends a wait early.
 */
static void wait_revoked(struct hold *h, int sock, void *map)
{
	long long end = clock_ms() + EVENT_WAIT_MS;
	char c = 0;

	while (c != 'v' && clock_ms() < end) {
		if (!msg_recv(sock, map ? 0 : 100, &c))
			continue;
		if (map) {
			(void)*(volatile char *)map;
			h->reads++;
		}
	}
}

/*
 * H, its whole context revoked: new commands on its old PD, CQ and QP fail
 * (EIO, as after a device's removal), nothing else happens; destroying them
 * succeeds.
 */
static void use_revoked(struct hold *h, struct verbs *v, struct ibv_qp *qp)
{
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr;
	static char buf[4096];
	struct ibv_qp *nqp;
	struct ibv_mr *mr;

	h->query_err = ibv_query_qp(qp, &attr, IBV_QP_STATE, &init);
	mr = ibv_reg_mr(v->pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	h->reg_err = mr ? 0 : errno;
	if (mr)
		ibv_dereg_mr(mr);
	nqp = verbs_create_qp(v);
	h->create_err = nqp ? 0 : errno;
	if (nqp)
		ibv_destroy_qp(nqp);
	h->teardown = ibv_destroy_qp(qp) || verbs_close(v) ? -1 : 0;
}

#define SETUP_FAIL(h, what) do {					\
	(h)->setup = errno ?: EIO;					\
	snprintf((h)->step, sizeof((h)->step), "%s", what);		\
	goto report;							\
} while (0)

/* H: lease, map, register, connect, then do what O says. */
static void holder_main(struct hold *h, int sock)
{
	struct sigaction sa = { .sa_handler = on_sigio };
	struct ibv_mr *mr = NULL;
	struct ibv_mw *mw = NULL;
	struct ibv_qp *qp = NULL;
	struct verbs v = { 0 };
	uint32_t o_qpn;
	void *map;
	char c;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	errno = 0;
	fd = open(h->path, O_RDWR);
	if (fd < 0)
		SETUP_FAIL(h, "open");
	if (lease_set(fd, h->lease))
		SETUP_FAIL(h, "F_SETLEASE");
	map = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		SETUP_FAIL(h, "mmap");
	if (verbs_open(&v, env_rxe()))
		SETUP_FAIL(h, "open the rxe device");
	mr = ibv_reg_mr(v.pd, map, h->size, MR_ACCESS |
			(h->mode == HOLD_MW ? IBV_ACCESS_MW_BIND : 0));
	if (!mr)
		SETUP_FAIL(h, "ibv_reg_mr of the mapped file");
	qp = verbs_create_qp(&v);
	if (!qp)
		SETUP_FAIL(h, "create a QP");
	h->addr = (uintptr_t)map;
	h->rkey = mr->rkey;
	h->qpn = qp->qp_num;
	if (h->mode != HOLD_ORPHAN && ftruncate(fd, CUT_SIZE))
		h->own_truncate = errno;
	if (h->mode == HOLD_ORPHAN && (munmap(map, h->size) || close(fd)))
		SETUP_FAIL(h, "munmap and close the leased file");
	/* O's QP number comes back as 'q' followed by 4 bytes */
	if (msg_send(sock, 'r') || msg_recv(sock, 10000, &c) || c != 'q' ||
	    read(sock, &o_qpn, sizeof(o_qpn)) != sizeof(o_qpn))
		SETUP_FAIL(h, "exchange QP numbers");
	if (verbs_connect_qp(&v, qp, o_qpn))
		SETUP_FAIL(h, "connect the QP");
	if (h->mode == HOLD_MW && bind_window(h, &v, qp, mr, &mw))
		SETUP_FAIL(h, "bind a memory window to the MR");
	/* before O may revoke: a WRITE from the live MR */
	if (h->mode != HOLD_COOPERATE && h->mode != HOLD_MW)
		h->probe_live = write_from(&v, mr, &h->newmr_err);
	if (msg_send(sock, 'c'))
		SETUP_FAIL(h, "report connected");

	if (h->mode == HOLD_COOPERATE) {
		wait_sigio(EVENT_WAIT_MS);
		h->sigio = sigio_count;
		h->dereg = ibv_dereg_mr(mr);
		mr = NULL;
		h->unlck = lease_set(fd, F_UNLCK) ? errno : 0;
	} else if (h->mode == HOLD_MW) {
		struct busy b = { .qp = qp };
		pthread_t t;

		if (pthread_create(&t, NULL, busy_main, &b))
			SETUP_FAIL(h, "start the query thread");
		wait_revoked(h, sock, NULL);
		b.stop = 1;
		pthread_join(t, NULL);
		h->queries = b.n;
		h->sigio = sigio_count;
		h->fatal = verbs_got_event(v.ctx, IBV_EVENT_DEVICE_FATAL);
		h->dereg = ibv_dereg_mr(mr);
		mr = NULL;
		if (ibv_dealloc_mw(mw))
			h->dereg = -1;
		mw = NULL;
		use_revoked(h, &v, qp);
		qp = NULL;
	} else {
		/* ignore the break (reading F if HOLD_TOUCH): the MR goes */
		wait_revoked(h, sock, h->mode == HOLD_TOUCH ? map : NULL);
		h->sigio = sigio_count;
		h->fatal = verbs_got_event(v.ctx, IBV_EVENT_DEVICE_FATAL);
		use_revoked_mr(h, &v, qp, mr);
		h->dereg = ibv_dereg_mr(mr);
		mr = NULL;
	}
report:
	msg_send(sock, 'd');
	/* stay until O has looked at /proc, then tear down */
	msg_recv(sock, 60000, &c);
	if (mw)
		ibv_dealloc_mw(mw);
	if (mr)
		ibv_dereg_mr(mr);
	if (qp)
		ibv_destroy_qp(qp);
	verbs_close(&v);
	_exit(h->setup ? 1 : 0);
}

/* Fork H for @path (@size); O's QP @oqp gets connected to H's. 0, or -1. */
static int holder_start(struct holder *hd, struct verbs *ov,
			struct ibv_qp *oqp, const char *path, size_t size,
			int lease, enum hold_mode mode)
{
	int sv[2];
	char c;

	hd->pid = -1;
	hd->h = shared_alloc(sizeof(*hd->h));
	if (!hd->h || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	snprintf(hd->h->path, sizeof(hd->h->path), "%s", path);
	hd->h->size = size;
	hd->h->lease = lease;
	hd->h->mode = mode;
	hd->pid = fork();
	if (hd->pid == 0) {
		close(sv[0]);
		holder_main(hd->h, sv[1]);
	}
	close(sv[1]);
	hd->sock = sv[0];
	if (hd->pid < 0 || msg_recv(hd->sock, 30000, &c))
		goto fail;
	if (c != 'r')
		goto fail;	/* 'd': setup failed */
	if (msg_send(hd->sock, 'q') ||
	    write(hd->sock, &oqp->qp_num, sizeof(oqp->qp_num)) != 4 ||
	    verbs_connect_qp(ov, oqp, hd->h->qpn) ||
	    msg_recv(hd->sock, 30000, &c) || c != 'c')
		goto fail;
	return 0;
fail:
	if (hd->h->setup)
		diag("H: %s: %s", hd->h->step, errno_name(hd->h->setup));
	else
		diag("H did not get ready");
	return -1;
}

/* Wait for H's report ('d'). */
static bool holder_done(struct holder *hd)
{
	char c;

	return !msg_recv(hd->sock, EVENT_WAIT_MS + 10000, &c) && c == 'd';
}

/* Tell H the revocation is over ('v'), then wait for its report. */
static bool holder_revoked(struct holder *hd)
{
	return !msg_send(hd->sock, 'v') && holder_done(hd);
}

/*
 * The points of H's MR revoked alone, after holder_revoked() (@done): no
 * IBV_EVENT_DEVICE_FATAL (and SIGIO if H still had the file open:
 * @sigio), a work request from the MR fails, a command on it fails with
 * EIO, the rest of H's verbs objects work.
 */
static void mr_revoked_points(const char *n, struct hold *h, bool done,
			      bool sigio)
{
	if (done)
		diag("%s: H: SIGIO %d, fatal %d, WRITE from the MR %d then %d, rereg %s, reg %s, query %s",
		     n, h->sigio, h->fatal, h->probe_live, h->probe,
		     errno_name(h->rereg_err), errno_name(h->newmr_err),
		     errno_name(h->qp_err));
	ok(done && (!sigio || h->sigio) && !h->fatal,
	   "%s: H got %sno IBV_EVENT_DEVICE_FATAL: only its MR was revoked",
	   n, sigio ? "SIGIO and " : "");
	ok(done && h->probe_live == IBV_WC_SUCCESS && h->probe > 0,
	   "%s: H's RDMA WRITE from its MR to a new one succeeded before and completes in error after (status %d)",
	   n, done ? h->probe : -1);
	ok(done && h->rereg_err == EIO && !h->newmr_err && !h->qp_err,
	   "%s: a command on the revoked MR (REREG_MR) fails with EIO; ibv_reg_mr on H's PD and ibv_query_qp of its QP succeed",
	   n);
}

/* Let H tear down and exit; its exit status, or -1. */
static int holder_end(struct holder *hd)
{
	int status = -1;

	if (hd->pid > 0) {
		msg_send(hd->sock, 'x');
		if (wait_bounded(hd->pid, &status, REAP_MS))
			kill_reap(hd->pid);
	}
	close(hd->sock);
	if (hd->h)
		munmap(hd->h, sizeof(*hd->h));
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* O's side: its own context, a QP for H, a source MR. */
struct rig {
	struct verbs v;
	struct ibv_qp *qp;
	void *src;
	struct ibv_mr *src_mr;
};

static int rig_open(struct rig *r)
{
	if (verbs_open(&r->v, env_rxe()))
		return -1;
	r->src = mmap(NULL, WRITE_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->src == MAP_FAILED) {
		r->src = NULL;
		return -1;
	}
	r->src_mr = mr_reg(r->v.pd, r->src, WRITE_LEN);
	r->qp = verbs_create_qp(&r->v);
	return r->src_mr && r->qp ? 0 : -1;
}

static void rig_close(struct rig *r)
{
	if (r->qp)
		ibv_destroy_qp(r->qp);
	mr_dereg(r->src_mr);
	if (r->src)
		munmap(r->src, WRITE_LEN);
	verbs_close(&r->v);
}

/*
 * The scene of a test: file F of @size on @fs holding the pattern of @seed
 * (its fd, or -1; its name in @path, PATH_MAX bytes), O's rig @r, and H
 * holding F under @lease and doing @mode.  *@started is 0 once all of it is
 * up.
 */
static int scene_start(const struct dax_fs *fs, uint64_t seed, size_t size,
		       int lease, enum hold_mode mode, char *path,
		       struct rig *r, struct holder *hd, int *started)
{
	int fd = fs_file_create(fs->path, size, seed, path, PATH_MAX);

	*started = -1;
	if (fd >= 0 && !rig_open(r))
		*started = holder_start(hd, &r->v, r->qp, path, size, lease,
					mode);
	return fd;
}

/* Truncate from a process that holds nothing; result and time. */
static int truncate_timed(const char *path, off_t size, long long *ms)
{
	long long t0 = clock_ms();
	int r = truncate_other(path, size);

	*ms = clock_ms() - t0;
	return r;
}

static bool gview_empty(const char *path)
{
	char *esc = path_esc(path), *g = esc ? gview_get(esc) : NULL;
	bool empty = g && !*g;

	if (g && *g)
		diag_text("/proc/daxlease", g);
	free(esc);
	free(g);
	return empty;
}

static void test_cooperate(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	struct holder hd = { .pid = -1, .sock = -1 };
	char path[PATH_MAX];
	struct rig r = { 0 };
	long long ms = 0;
	struct stat st = { .st_size = -1 };
	int fd, tr = -1, started = -1, status;

	write_str(LBT_PATH, "5\n");
	fd = scene_start(fs, seed, FILE_SIZE, F_LAYOUT, HOLD_COOPERATE,
			 path, &r, &hd, &started);
	ok(!started && hd.h->own_truncate == EDEADLK,
	   "%s: cooperative H: lease 16, ibv_reg_mr of the mapped file and a connected QP; H's own truncate EDEADLK",
	   n);
	if (!started)
		tr = truncate_timed(path, CUT_SIZE, &ms);
	diag("%s: O's truncate: %s after %lld ms", n, child_result_name(tr),
	     ms);
	ok(tr == 0, "%s: O: truncate(2) to 1 MiB returns 0", n);
	ok(!started && holder_done(&hd) && hd.h->sigio && !hd.h->dereg &&
	   !hd.h->unlck,
	   "%s: H got SIGIO, ibv_dereg_mr 0, F_UNLCK 0 (its lease still there: not timed out)",
	   n);
	ok(tr == 0 && ms < LBT_COOP_S * 1000,
	   "%s: the truncate returned before lease-break-time (%d s)", n,
	   LBT_COOP_S);
	if (fd >= 0)
		fstat(fd, &st);
	ok(st.st_size == (off_t)CUT_SIZE && gview_empty(path),
	   "%s: size 1 MiB, /proc/daxlease has nothing for F", n);
	status = holder_end(&hd);
	ok(status == 0, "%s: H exits 0", n);
	rig_close(&r);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

/* RDMA WRITE WRITE_LEN bytes of pattern @seed into H's MR at offset 0. */
static int write_to_h(struct rig *r, struct holder *hd, uint64_t seed)
{
	pattern_fill(r->src, WRITE_LEN, seed, 0);
	return verbs_rdma_write(&r->v, r->qp, r->src_mr, 0, WRITE_LEN,
				hd->h->addr, hd->h->rkey);
}

static void test_ignore(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	struct holder hd = { .pid = -1, .sock = -1 };
	struct file_state fs_f = { 0 }, fs_g = { 0 };
	char path[PATH_MAX], gpath[G_TRIES][PATH_MAX], *fp;
	bool wrote = false, reused = false, gsame = false;
	int fd, gfd[G_TRIES], tr = -1, started = -1, wc = -1, i, ng = 0;
	uint64_t gseed = seed ^ 0x5a5a;
	struct rig r = { 0 };
	long long ms = 0;
	uint8_t *buf;

	write_str(LBT_PATH, "2\n");
	fd = scene_start(fs, seed, FILE_SIZE, F_LAYOUT, HOLD_IGNORE,
			 path, &r, &hd, &started);
	ok(!started && hd.h->own_truncate == EDEADLK,
	   "%s: ignoring H: lease 16, MR and a connected QP; H's own truncate EDEADLK",
	   n);
	if (!started) {
		buf = malloc(WRITE_LEN);
		wrote = write_to_h(&r, &hd, seed + 1) == IBV_WC_SUCCESS &&
			buf && pread(fd, buf, WRITE_LEN, 0) == WRITE_LEN &&
			!pattern_check(buf, WRITE_LEN, seed + 1, 0);
		free(buf);
		file_state_get(fd, &fs_f);
	}
	ok(wrote, "%s: O's RDMA WRITE into H's MR lands in F (pread)", n);

	if (!started)
		tr = truncate_timed(path, 0, &ms);
	diag("%s: O's truncate: %s after %lld ms", n, child_result_name(tr),
	     ms);
	ok(tr == 0, "%s: O: truncate(2) to 0 returns 0, not ETXTBSY", n);
	ok(tr == 0 && ms >= LBT_IGNORE_S * 1000 - 100 && ms < 30000,
	   "%s: ... after lease-break-time (%d s), within 30 s", n,
	   LBT_IGNORE_S);
	fp = hd.pid > 0 ? fpins_get(hd.pid) : NULL;
	if (fp && *fp)
		diag_text("H's file_pins", fp);
	ok(fp && !*fp && gview_empty(path),
	   "%s: /proc/daxlease and H's /proc/<pid>/file_pins are empty", n);
	free(fp);

	/*
	 * A new file that gets blocks F had.  Blocks freed in a running
	 * transaction are reused only once it commits (ext4, XFS busy
	 * extents): syncfs() first.  Every try's file stays until the end, so
	 * that a try cannot get the blocks of the one before.
	 */
	if (!started)
		syncfs(fd);
	for (ng = 0; !started && ng < G_TRIES && !reused; ng++) {
		gfd[ng] = fs_file_create(fs->path, FILE_SIZE, gseed, gpath[ng],
					 sizeof(gpath[ng]));
		file_state_free(&fs_g);
		if (gfd[ng] < 0 || fsync(gfd[ng]) ||
		    file_state_get(gfd[ng], &fs_g)) {
			ng += gfd[ng] >= 0;
			break;
		}
		reused = extents_overlap(&fs_f, &fs_g);
	}
	ok(reused, "%s: a new file G reuses blocks F had (FIEMAP, %d tries)",
	   n, ng);
	if (!started)
		wc = write_to_h(&r, &hd, seed + 2);
	diag("%s: WRITE to the revoked MR: status %d", n, wc);
	/* H's QP lives on: its responder refuses the MR's rkey at once */
	ok(wc == IBV_WC_REM_ACCESS_ERR,
	   "%s: O's RDMA WRITE to the revoked MR completes with IBV_WC_REM_ACCESS_ERR",
	   n);
	if (reused) {
		struct file_state now = { 0 };

		gsame = !file_state_get(gfd[ng - 1], &now) &&
			file_state_same(&fs_g, &now) &&
			!pattern_check(now.data, FILE_SIZE, gseed, 0);
		file_state_free(&now);
	}
	ok(gsame, "%s: G's contents and extents are unchanged", n);
	mr_revoked_points(n, hd.h, !started && holder_revoked(&hd), true);
	ok(!started && !hd.h->dereg && holder_end(&hd) == 0,
	   "%s: H: ibv_dereg_mr of the revoked MR returns 0, H exits 0", n);
	if (started)
		holder_end(&hd);
	rig_close(&r);
	file_state_free(&fs_f);
	file_state_free(&fs_g);
	for (i = 0; i < ng; i++)
		file_close_unlink(gfd[i], gpath[i]);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

/*
 * H registers F and then unmaps and closes it: its 16 is orphaned with the
 * pins.  The stock wait for busy DAX pages that follows a layout change
 * skips a file nobody maps, so O's truncate must wait for the revocation
 * itself: when it returns, nothing of H's may still be pinned (else the
 * truncate freed blocks the NIC could still write).
 */
static void test_unmapped(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	struct holder hd = { .pid = -1, .sock = -1 };
	char path[PATH_MAX], *fp = NULL, *g = NULL, *esc;
	int fd, tr = -1, started = -1;
	bool gone = false;
	struct rig r = { 0 };
	long long ms = 0;

	fd = scene_start(fs, seed, BIG_SIZE, F_LAYOUT, HOLD_ORPHAN, path, &r,
			 &hd, &started);
	esc = path_esc(path);
	if (!started && esc)
		g = gview_get(esc);
	ok(!started && g && strstr(g, " orphaned "),
	   "%s: H: lease 16, ibv_reg_mr of a 64 MiB mapping of F, then munmap and close: the lease is orphaned with the pins",
	   n);
	free(g);
	free(esc);
	if (!started) {
		tr = truncate_timed(path, 0, &ms);
		/* at once: a revocation still running would show here */
		fp = fpins_get(hd.pid);
		gone = fp && !*fp && gview_empty(path);
	}
	diag("%s: O's truncate of the unmapped F: %s after %lld ms", n,
	     child_result_name(tr), ms);
	ok(tr == 0, "%s: O: truncate(2) of the unmapped F to 0 returns 0", n);
	if (fp && *fp)
		diag_text("H's file_pins", fp);
	ok(gone,
	   "%s: when it returned, H's pins were gone: H's file_pins and /proc/daxlease empty",
	   n);
	free(fp);
	mr_revoked_points(n, hd.h, !started && holder_revoked(&hd), false);
	ok(!started && !hd.h->dereg && holder_end(&hd) == 0,
	   "%s: H: ibv_dereg_mr of the revoked MR returns 0, H exits 0", n);
	if (started)
		holder_end(&hd);
	rig_close(&r);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

static void test_touch(const struct dax_fs *fs, uint64_t seed)
{
	const char *n = fs->name;
	struct holder hd = { .pid = -1, .sock = -1 };
	struct stat st = { .st_size = -1 };
	int fd, tr = -1, started = -1, status;
	char path[PATH_MAX];
	struct rig r = { 0 };
	long long ms = 0;

	write_str(LBT_PATH, "2\n");
	fd = scene_start(fs, seed, FILE_SIZE, F_LAYOUT, HOLD_TOUCH,
			 path, &r, &hd, &started);
	ok(!started && hd.h->own_truncate == EDEADLK,
	   "%s: reading H: lease 16, MR and a connected QP; H's own truncate EDEADLK",
	   n);
	if (!started)
		tr = truncate_timed(path, CUT_SIZE, &ms);
	diag("%s: O's truncate: %s after %lld ms", n, child_result_name(tr),
	     ms);
	ok(tr == 0,
	   "%s: O: truncate(2) to 1 MiB returns 0 while H reads its mapping of F (not EINTR)",
	   n);
	mr_revoked_points(n, hd.h, !started && holder_revoked(&hd), true);
	ok(!started && hd.h->reads > 0 && !hd.h->dereg,
	   "%s: H read its mapping all along (%ld reads), ibv_dereg_mr 0", n,
	   started ? 0 : hd.h->reads);
	if (fd >= 0)
		fstat(fd, &st);
	status = holder_end(&hd);
	ok(!started && st.st_size == (off_t)CUT_SIZE && gview_empty(path) &&
	   status == 0,
	   "%s: size 1 MiB, /proc/daxlease has nothing for F, H exits 0", n);
	rig_close(&r);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

static void test_uring(const struct dax_fs *fs, uint64_t seed)
{
	char path[PATH_MAX];
	int fd, ring = -1;
	void *map = NULL;

	fd = fs_file_create(fs->path, FILE_SIZE, seed, path, sizeof(path));
	if (fd >= 0 && !lease_set(fd, F_LAYOUT))
		map = file_map(fd, FILE_SIZE);
	if (map)
		ring = uring_new();
	ok(uring_register_is(ring, map, FILE_SIZE, EPERM),
	   "%s: io_uring fixed buffer of a file under a breakable lease: EPERM (not revocable)",
	   fs->name);
	if (ring >= 0)
		close(ring);
	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0) {
		lease_set(fd, F_UNLCK);
		file_close_unlink(fd, path);
	}
}

static bool revoke_cmd(const char *tool, const char *path, const char *out)
{
	struct cmd c = CMD_INIT;
	bool good;

	cmd_run(&c, CMD_SAME_USER, (char *[]){ (char *)tool, "revoke",
					       (char *)path, NULL });
	good = cmd_is(&c, 0, out, "");
	cmd_free(&c);
	return good;
}

static bool who_none(const char *tool, const char *path)
{
	struct cmd c = CMD_INIT;
	bool good;
	char *want = strf("%s: no daxlease leases or pins\n", path);

	cmd_run(&c, CMD_SAME_USER, (char *[]){ (char *)tool, "who",
					       (char *)path, NULL });
	good = cmd_is(&c, 0, want, "");
	cmd_free(&c);
	free(want);
	return good;
}

static void test_admin(const struct dax_fs *fs, uint64_t seed,
		       const char *tool, enum hold_mode mode)
{
	const char *n = fs->name, *what = mode == HOLD_ORPHAN ?
		"orphaned 48 lease" : mode == HOLD_MW ?
		"48 lease, a window bound to the MR, H querying its QP all along" :
		"48 lease";
	struct holder hd = { .pid = -1, .sock = -1 };
	char path[PATH_MAX], *out, *g = NULL, *esc;
	int fd, started = -1;
	bool done;
	struct rig r = { 0 };

	fd = scene_start(fs, seed, FILE_SIZE, F_LAYOUT | F_EXCLUSIVE, mode,
			 path, &r, &hd, &started);
	esc = path_esc(path);
	if (!started && mode == HOLD_ORPHAN && esc)
		g = gview_get(esc);
	ok(!started && truncate_other_is(path, 0, ETXTBSY) &&
	   (mode != HOLD_ORPHAN || (g && strstr(g, " orphaned "))),
	   "%s: %s with an MR: truncate ETXTBSY", n, what);
	free(g);
	out = strf("%s: leases and pins revoked\n", path);
	ok(!started && revoke_cmd(tool, path, out),
	   "%s: daxlease revoke F (%s): exit 0", n, what);
	free(out);
	done = !started && holder_revoked(&hd);
	if (mode == HOLD_MW)
		ok(done && hd.h->sigio && hd.h->fatal,
		   "%s: H got SIGIO and IBV_EVENT_DEVICE_FATAL: rxe does not destroy an MR with a bound window, so its whole context was revoked",
		   n);
	else
		mr_revoked_points(n, hd.h, done, mode != HOLD_ORPHAN);
	ok(who_none(tool, path) && truncate_other_is(path, 0, 0),
	   "%s: daxlease who F shows nothing, truncate returns 0", n);
	if (mode == HOLD_MW && !started) {
		struct hold *h = hd.h;

		diag("%s: H queried its QP %ld times; then query %s, reg %s, create %s",
		     n, h->queries, errno_name(h->query_err),
		     errno_name(h->reg_err), errno_name(h->create_err));
		ok(h->queries > 0 && h->query_err == EIO &&
		   h->reg_err == EIO && h->create_err == EIO,
		   "%s: H's revoked QP, PD and CQ in new commands: ibv_query_qp, ibv_reg_mr, ibv_create_qp fail with EIO",
		   n);
		ok(!h->teardown && !h->dereg,
		   "%s: H: ibv_dereg_mr, ibv_dealloc_mw, ibv_destroy_qp, ibv_destroy_cq, ibv_dealloc_pd of the revoked objects return 0",
		   n);
	} else if (mode == HOLD_MW) {
		ok(0, "%s: H's revoked objects in new commands: EIO", n);
		ok(0, "%s: H: destroying the revoked objects returns 0", n);
	}
	ok(!started && (mode == HOLD_MW || !hd.h->dereg) &&
	   holder_end(&hd) == 0, "%s: H%s exits 0", n,
	   mode == HOLD_MW ? "" : ": ibv_dereg_mr of the revoked MR returns 0, H");
	if (started)
		holder_end(&hd);
	rig_close(&r);
	free(esc);
	if (fd >= 0)
		file_close_unlink(fd, path);
}

int main(void)
{
	const struct dax_fs *fs;
	char lbt[32], *tool;
	bool was_loaded, lbt_saved;
	uint64_t seed;

	plan(2 + DAX_FS_COUNT * FS_POINTS + 4);
	seed = pattern_seed();
	was_loaded = module_begin();
	tool = repo_path("tools/daxlease");
	lbt_saved = !read_str(LBT_PATH, lbt, sizeof(lbt));
	ok(lbt_saved && !write_str(LBT_PATH, "2\n"), T_LBT);

	for_each_dax_fs(fs) {
		test_cooperate(fs, seed);
		test_ignore(fs, seed);
		test_unmapped(fs, seed);
		test_touch(fs, seed);
		test_uring(fs, seed);
		test_admin(fs, seed, tool, HOLD_IGNORE);
		test_admin(fs, seed, tool, HOLD_ORPHAN);
		test_admin(fs, seed, tool, HOLD_MW);
	}

	{
		struct cmd c = CMD_INIT;

		cmd_run(&c, 65534, (char *[]){ tool, "revoke", "/", NULL });
		ok(c.status == 7,
		   "daxlease revoke as nobody: exit 7 (permission)");
		cmd_free(&c);
	}
	ok(!module_unload(DAXLEASE_MODULE_NAME),
	   "the module unloads afterwards: no lease, pin or owner left");
	ok(lbt_saved && !write_str(LBT_PATH, lbt), T_LBT_BACK);
	module_end(was_loaded);
	free(tool);
	return done_testing();
}
