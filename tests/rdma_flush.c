/*
 * RDMA FLUSH (IBV_FLUSH_PERSISTENT) to an MR of a leased fsdax file, daxlease
 * loaded (issue 14, durability): on XFS and ext4 of the NFIT NVDIMMs (real
 * "Persistent Memory", scripts/vm --nvdimm) the file mapping, under an
 * unbreakable lease, registers with IBV_ACCESS_FLUSH_PERSISTENT; a loopback
 * RDMA WRITE into it and then a FLUSH of the written range (IBV_FLUSH_RANGE)
 * complete with IBV_WC_SUCCESS, and read(2) of the reopened file shows the
 * written bytes. rxe grants IBV_ACCESS_FLUSH_PERSISTENT only on pages of
 * persistent memory: the same registration of an anonymous buffer and of a
 * leased file on legacy pmem (memmap=) fails with EINVAL, which shows that
 * the NFIT case is not trivially admitted.
 *
 * Built against the rdma-core of scripts/build-rdma-core (ibv_wr_flush() and
 * rxe's FLUSH came with rdma-core 45; Debian 12 has 44) and run with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "flushenv.h"
#include "flushverbs.h"
#include "fsdax.h"
#include "kmod.h"
#include "lease.h"
#include "pattern.h"
#include "tap.h"
#include "verbs.h"

/* The point names say these. */
#define FILE_SIZE	(2UL << 20)
#define LEN		(64UL << 10)
#define OFF		((1UL << 20) + (4UL << 10))
#define FS_POINTS	10
#define LEGACY_POINTS	1

#define FLUSH_ACCESS	(MR_ACCESS | IBV_ACCESS_FLUSH_PERSISTENT)

/* Point names, the same whether the point runs or is skipped. */
#define T_CREATE	"%s on NFIT pmem: create a 2 MiB file holding the pattern"
#define T_DAX		"%s on NFIT pmem: file is DAX (statx STATX_ATTR_DAX)"
#define T_LEASE		"%s on NFIT pmem: F_SETLEASE F_LAYOUT|F_EXCLUSIVE (48) returns 0"
#define T_REG		"%s on NFIT pmem: ibv_reg_mr of the file mapping with IBV_ACCESS_FLUSH_PERSISTENT succeeds"
#define T_WRITE		"%s on NFIT pmem: RDMA WRITE of 64 KiB at file offset 1 MiB + 4 KiB completes with IBV_WC_SUCCESS"
#define T_FLUSH		"%s on NFIT pmem: RDMA FLUSH IBV_FLUSH_PERSISTENT, IBV_FLUSH_RANGE of the written 64 KiB completes with IBV_WC_SUCCESS"
#define T_DEREG		"%s on NFIT pmem: ibv_dereg_mr of the file MR"
#define T_RELEASE	"%s on NFIT pmem: F_UNLCK returns 0, munmap and close"
#define T_DATA		"%s on NFIT pmem: reopened, read(2): the written 64 KiB hold the source pattern, the rest its previous contents"
#define T_CLEAN		"%s on NFIT pmem: unlink"
#define T_LEGACY	"%s on legacy pmem (memmap=): leased file, ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT fails with EINVAL"
#define T_ANON		"anonymous buffer: ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT fails with EINVAL"
#define T_NOACCESS	"xfs on NFIT pmem: leased file registered without IBV_ACCESS_FLUSH_PERSISTENT: RDMA FLUSH to it completes with IBV_WC_REM_ACCESS_ERR"

struct ctx {
	struct verbs v;
	struct ibv_qp *qp[2];
	struct ibv_qp_ex *qpx;	/* of qp[0], the requester */
	void *src;
	struct ibv_mr *src_mr;
	bool ready;		/* QPs connected and source registered */
	uint64_t seed;		/* of the files */
	uint64_t src_seed;	/* of the source buffer */
};

/*
 * rxe refuses a FLUSH to a QP without IBV_ACCESS_FLUSH_PERSISTENT in its
 * access flags: granted on both QPs once they are connected.
 */
static int grant_flush(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = {
		.qp_access_flags = FLUSH_ACCESS,
	};
	int err = ibv_modify_qp(qp, &attr, IBV_QP_ACCESS_FLAGS);

	if (err)
		diag("ibv_modify_qp qpn %#x access flags with FLUSH_PERSISTENT: %s",
		     qp->qp_num, errno_name(err));
	return err ? -1 : 0;
}

static bool connect_pair(struct ctx *c)
{
	c->qp[0] = flush_qp_create(&c->v);
	c->qp[1] = c->qp[0] ? flush_qp_create(&c->v) : NULL;
	if (!c->qp[1])
		return false;
	if (verbs_connect_qp(&c->v, c->qp[0], c->qp[1]->qp_num) ||
	    verbs_connect_qp(&c->v, c->qp[1], c->qp[0]->qp_num) ||
	    grant_flush(c->qp[0]) || grant_flush(c->qp[1]))
		return false;
	c->qpx = ibv_qp_to_qp_ex(c->qp[0]);
	if (!c->qpx)
		diag("ibv_qp_to_qp_ex: no extended QP");
	return c->qpx;
}

/* ibv_reg_mr with FLUSH_ACCESS that must fail: true if it did with EINVAL. */
static bool reg_fails_einval(struct ctx *c, void *addr, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(c->v.pd, addr, len, FLUSH_ACCESS);
	int err = errno;

	if (mr) {
		diag("ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT succeeded");
		mr_dereg(mr);
		return false;
	}
	if (err != EINVAL)
		diag("ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT: %s, not EINVAL",
		     errno_name(err));
	return err == EINVAL;
}

/* read(2) the whole file at @path and compare: written range and rest. */
static bool file_holds(struct ctx *c, const char *path)
{
	uint8_t *buf = malloc(FILE_SIZE);
	size_t done = 0;
	ssize_t n = 0;
	bool good;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		diag("open %s: %s", path, buf ? errno_name(errno) : "ENOMEM");
		free(buf);
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (done < FILE_SIZE) {
		n = read(fd, buf + done, FILE_SIZE - done);
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	if (done < FILE_SIZE) {
		diag("read at %#zx: %s", done,
		     n < 0 ? errno_name(errno) : "unexpected EOF");
		free(buf);
		return false;
	}
	good = !pattern_check(buf + OFF, LEN, c->src_seed, 0);
	if (!good)
		diag("the written range does not hold the source pattern");
	if (pattern_check(buf, OFF, c->seed, 0) ||
	    pattern_check(buf + OFF + LEN, FILE_SIZE - OFF - LEN, c->seed,
			  OFF + LEN)) {
		diag("bytes outside the written range changed");
		good = false;
	}
	free(buf);
	return good;
}

/* Lease, register, WRITE, FLUSH, release: T_LEASE to T_DATA. Closes @fd. */
static void flush_part(struct ctx *c, const char *n, const char *path, int fd)
{
	struct ibv_mr *mr = NULL;
	bool leased, wrote = false, flushed = false, released;
	void *map = NULL;
	uint64_t raddr = 0;
	int status;

	leased = !lease_set(fd, F_UNBREAKABLE);
	if (!leased)
		diag("F_SETLEASE 48: %s", errno_name(errno));
	ok(leased, T_LEASE, n);

	if (leased)
		map = file_map(fd, FILE_SIZE);
	if (map) {
		mr = ibv_reg_mr(c->v.pd, map, FILE_SIZE, FLUSH_ACCESS);
		if (!mr)
			diag("ibv_reg_mr with IBV_ACCESS_FLUSH_PERSISTENT: %s",
			     errno_name(errno));
		raddr = (uintptr_t)map + OFF;
	}
	ok(mr, T_REG, n);

	if (mr && c->ready) {
		status = flush_post(&c->v, c->qpx, 1, c->src_mr, raddr, mr->rkey,
				    LEN, VERBS_WC_TIMEOUT_MS);
		wrote = ok(status == IBV_WC_SUCCESS, T_WRITE, n);
	} else {
		skip(mr ? "no QPs or source MR" : "no MR", T_WRITE, n);
	}
	if (wrote) {
		status = flush_post(&c->v, c->qpx, 2, NULL, raddr, mr->rkey,
				    LEN, VERBS_WC_TIMEOUT_MS);
		flushed = ok(status == IBV_WC_SUCCESS, T_FLUSH, n);
	} else {
		skip("no write", T_FLUSH, n);
	}

	if (mr)
		ok(!mr_dereg(mr), T_DEREG, n);
	else
		skip("no MR", T_DEREG, n);

	released = true;
	if (leased && lease_set(fd, F_UNLCK)) {
		diag("F_UNLCK: %s", errno_name(errno));
		released = false;
	}
	if (map && munmap(map, FILE_SIZE)) {
		diag("munmap: %s", errno_name(errno));
		released = false;
	}
	if (close(fd)) {
		diag("close: %s", errno_name(errno));
		released = false;
	}
	ok(leased && released, T_RELEASE, n);

	if (flushed)
		ok(file_holds(c, path), T_DATA, n);
	else
		skip("no flushed write", T_DATA, n);
}

static void test_nfit(struct ctx *c, const char *n, const char *dir)
{
	char path[PATH_MAX];
	int fd;

	fd = fs_file_create(dir, FILE_SIZE, c->seed, path, sizeof(path));
	if (!ok(fd >= 0, T_CREATE, n)) {
		skip("no file", T_DAX, n);
		skip("no file", T_LEASE, n);
		skip("no file", T_REG, n);
		skip("no file", T_WRITE, n);
		skip("no file", T_FLUSH, n);
		skip("no file", T_DEREG, n);
		skip("no file", T_RELEASE, n);
		skip("no file", T_DATA, n);
		skip("no file", T_CLEAN, n);
		return;
	}
	diag("%s: %s", n, path);
	ok(file_is_dax(fd) == 1, T_DAX, n);

	flush_part(c, n, path, fd);

	if (unlink(path)) {
		diag("unlink %s: %s", path, errno_name(errno));
		ok(false, T_CLEAN, n);
	} else {
		ok(true, T_CLEAN, n);
	}
}

/* The same registration of a leased file on a legacy (memmap=) mount. */
static void test_legacy(struct ctx *c, const struct dax_fs *fs)
{
	char path[PATH_MAX];
	bool refused = false;
	void *map = NULL;
	int fd;

	fd = fs_file_create(fs->path, FILE_SIZE, c->seed, path, sizeof(path));
	if (fd >= 0 && lease_set(fd, F_UNBREAKABLE))
		diag("F_SETLEASE 48: %s", errno_name(errno));
	else if (fd >= 0)
		map = file_map(fd, FILE_SIZE);
	if (map) {
		refused = reg_fails_einval(c, map, FILE_SIZE);
		munmap(map, FILE_SIZE);
	}
	ok(refused, T_LEGACY, fs->name);
	if (fd >= 0) {
		lease_set(fd, F_UNLCK);
		close(fd);
		unlink(path);
	}
}

/*
 * Last, since the error moves the QPs to the error state: a FLUSH to a
 * leased NFIT file whose MR lacks IBV_ACCESS_FLUSH_PERSISTENT.
 */
static void test_no_access(struct ctx *c, const char *dir)
{
	char path[PATH_MAX];
	struct ibv_mr *mr = NULL;
	void *map = NULL;
	int fd, status = -1;

	fd = fs_file_create(dir, FILE_SIZE, c->seed, path, sizeof(path));
	if (fd >= 0 && lease_set(fd, F_UNBREAKABLE))
		diag("F_SETLEASE 48: %s", errno_name(errno));
	else if (fd >= 0)
		map = file_map(fd, FILE_SIZE);
	if (map)
		mr = mr_reg(c->v.pd, map, FILE_SIZE);
	if (mr && c->ready)
		status = flush_post(&c->v, c->qpx, 3, NULL,
				    (uintptr_t)map + OFF, mr->rkey, LEN,
				    VERBS_WC_TIMEOUT_MS);
	ok(status == IBV_WC_REM_ACCESS_ERR, T_NOACCESS);
	mr_dereg(mr);
	if (map)
		munmap(map, FILE_SIZE);
	if (fd >= 0) {
		lease_set(fd, F_UNLCK);
		close(fd);
		unlink(path);
	}
}

int main(void)
{
	static const struct {
		const char *name, *var;
	} nfit[DAX_FS_COUNT] = {
		{ "xfs", "DAXLEASE_XFS_NFIT" },
		{ "ext4", "DAXLEASE_EXT4_NFIT" },
	};
	const struct dax_fs *fs;
	struct ctx c = { 0 };
	bool was_loaded, connected;
	const char *dir;
	void *anon;
	int i, teardown = 0;

	if (flush_rdma_core_env())
		bail_out("cannot point libibverbs at the rxe provider of .rdma-core");
	plan(2 + 3 + DAX_FS_COUNT * (FS_POINTS + LEGACY_POINTS) + 1 + 1 + 1 + 1);
	c.seed = pattern_seed();
	c.src_seed = ~c.seed;

	was_loaded = module_begin();
	verbs_begin(&c.v, was_loaded, NULL, 0);
	connected = connect_pair(&c);
	ok(connected, "two RC QPs with IBV_QP_EX_WITH_FLUSH connected to each other (RTS), FLUSH_PERSISTENT in their access flags");

	c.src = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.src == MAP_FAILED) {
		diag("mmap anonymous: %s", errno_name(errno));
		c.src = NULL;
	} else {
		pattern_fill(c.src, LEN, c.src_seed, 0);
		c.src_mr = mr_reg(c.v.pd, c.src, LEN);
	}
	ok(c.src_mr, "register a 64 KiB anonymous source buffer holding a second pattern");
	c.ready = connected && c.src_mr;

	/*
	 * Without the NVDIMMs there is nothing to test: fail rather than
	 * skip, the whole suite boots with them.
	 */
	for (i = 0; i < DAX_FS_COUNT; i++) {
		dir = env_get(nfit[i].var);
		if (!dir)
			diag("%s is not set: no NFIT namespace (scripts/vm --nvdimm)",
			     nfit[i].var);
		test_nfit(&c, nfit[i].name, dir);
	}

	for_each_dax_fs(fs)
		test_legacy(&c, fs);

	anon = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (anon == MAP_FAILED) {
		diag("mmap anonymous: %s", errno_name(errno));
		ok(false, T_ANON);
	} else {
		ok(reg_fails_einval(&c, anon, FILE_SIZE), T_ANON);
		munmap(anon, FILE_SIZE);
	}
	test_no_access(&c, env_get(nfit[0].var));

	if (mr_dereg(c.src_mr))
		teardown = -1;
	if (verbs_destroy_pair(c.qp))
		teardown = -1;
	ok(!teardown, "teardown: deregister the source MR, destroy QPs");
	verbs_end(&c.v);
	if (c.src)
		munmap(c.src, LEN);
	module_end(was_loaded);
	return done_testing();
}
