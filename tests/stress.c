/*
 * Stress, daxlease loaded (issue 8, point 2): bounded in time and seeded.
 *
 * Two fsdax files on each of XFS and ext4 (128 pages of the pattern each).
 * In parallel:
 * - pinners (PINNERS processes, each with its own rxe context) loop over
 *   scenarios on a random file: take F_LAYOUT|F_EXCLUSIVE, map and register
 *   a random length as an MR (pins owned by the uverbs file) or as an
 *   io_uring fixed buffer (pins owned by the mm), then one of: plain
 *   release (own truncate EDEADLK, F_UNLCK EBUSY while pinned, F_GETLEASE
 *   48, deregister, F_UNLCK 0); close the lease fd while pinned (orphan)
 *   and deregister later; fork a child (it inherits the ring, if any) that
 *   truncates (ETXTBSY) and exits; a subprocess
 *   that passes its uverbs fd over a unix socket (SCM_RIGHTS) to a receiver
 *   and SIGKILLs itself, the receiver keeping the pins for a while; a
 *   subprocess SIGKILLed between lease and registration; lease and map
 *   without a pin; a fork child that takes its own 48 and registers
 *   through the parent's uverbs file (one owner, two thread groups); a
 *   subprocess with its own rxe context that takes a breakable lease
 *   (F_LAYOUT, 16) and registers a revocable MR under it, then either
 *   answers a lease break by deregistering and unlocking, or ignores it
 *   until its MR is revoked (lease-break-time is 1 s for the run).
 * - mutators (MUTATORS processes) truncate down and up, punch holes, zero
 *   ranges, fallocate (in place and beyond EOF, KEEP_SIZE) and write the
 *   pattern back into zeroed pages, on the same files.
 * - this process SIGKILLs a random pinner from time to time (and starts a
 *   new one), reaps everything and watches the time every operation takes.
 *
 * Invariants, checked while it runs and at the end:
 * - a file's size and contents are always those of the model kept by the
 *   mutators (pattern or zero per page): a refused operation changed
 *   nothing, a successful one did exactly what it says, nobody else
 *   changed anything;
 * - no layout change succeeded while a lease or a long-term pin surely
 *   covered the file: holders record, with a global sequence number, when
 *   a lease or MR surely exists (after the call returned) until it may go
 *   (before the call that ends it, or before the process is killed); a
 *   layout change that succeeded between two sequence numbers inside such
 *   an interval is a violation;
 * - every call returns what the errno table (module/README.md) says for
 *   its situation, e.g. ETXTBSY or success for another process's truncate,
 *   exactly EDEADLK for the holder's, EBUSY for F_UNLCK while pinned, 0
 *   for ibv_dereg_mr() of a revoked MR;
 * - the run saw at least one answered break and one revoked MR (a command
 *   on it, REREG_MR, fails with EIO; a revocation that found the MR in use
 *   took the whole context instead: counted apart);
 * - no operation takes longer than the bound (a watchdog SIGKILLs it and
 *   counts a violation: a hang fails the test instead of hanging it);
 * - a reader process reads /proc/daxlease and a pinner's file_pins all the
 *   while: every lease's page count is the sum of its owner lines', every
 *   line parses, no read takes longer than the bound;
 * - at the end /proc/daxlease and our file_pins are empty, every file can
 *   be truncated, and the module unloads.
 *
 * DAXLEASE_SEED sets the seed (printed; worker i draws from seed + i), the
 * scenario choices follow from it, the timing does not.
 * DAXLEASE_STRESS_SECONDS (default 40) sets the duration and
 * DAXLEASE_STRESS_OP_MS (default 30000) the bound of one operation, e.g.
 * longer runs on the debug kernel (raise DAXLEASE_TEST_TIMEOUT too).
 * The last lines are "# summary:" lines: operations run per kind and the
 * violations.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

#define PAGE		4096UL
#define FILE_PAGES	128UL
#define FILES_PER_FS	2
#define NFILES		(FILES_PER_FS * DAX_FS_COUNT)
#define PINNERS		3
#define MUTATORS	2
#define WORKERS		(PINNERS + MUTATORS)
#define MAX_RECS	1024
#define DEFAULT_SECONDS	40
#define DEFAULT_OP_MS	30000
#define KILL_EVERY_MS	1500	/* mean interval of our SIGKILLs */
#define HOLD_MAX_MS	40	/* a pinner keeps its MR up to this long */
#define RECV_HOLD_MS	300	/* a receiver keeps the uverbs fd this long */
#define CHILD_BOUND_S	20	/* alarm of children doing one thing */
#define LBT_PATH	"/proc/sys/fs/lease-break-time"
#define LBT_S		1	/* lease-break-time during the run */
#define LBT_S_TEXT	"1\n"
#define BREAK_POLL_MS	10	/* a cooperative holder looks this often */

enum op {
	OP_LEASE, OP_REG, OP_DEREG, OP_URING_REG, OP_URING_UNREG, OP_UNLOCK,
	OP_UNLOCK_BUSY, OP_GETLEASE, OP_OWN_TRUNC, OP_ORPHAN, OP_FORK, OP_CHILD_TRUNC, OP_SCM,
	OP_SELF_KILL, OP_KILL, OP_TRUNC_DOWN, OP_TRUNC_UP, OP_PUNCH, OP_ZERO,
	OP_FALLOC, OP_FALLOC_EOF, OP_REWRITE, OP_LOCK, OP_VERIFY, OP_IDLE,
	OP_REPORT, OP_CHILD_REG, OP_LEASE16, OP_REG16, OP_ANSWERED, OP_REVOKED,
	OP_REVOKED_CTX, OP_DEREG16, OP_UNLOCK16, N_OPS
};

static const char *const op_names[N_OPS] = {
	[OP_LEASE] = "F_SETLEASE 48",
	[OP_REG] = "ibv_reg_mr",
	[OP_DEREG] = "ibv_dereg_mr",
	[OP_URING_REG] = "IORING_REGISTER_BUFFERS",
	[OP_URING_UNREG] = "IORING_UNREGISTER_BUFFERS",
	[OP_UNLOCK] = "F_SETLEASE F_UNLCK",
	[OP_UNLOCK_BUSY] = "F_UNLCK while pinned",
	[OP_GETLEASE] = "F_GETLEASE",
	[OP_OWN_TRUNC] = "holder's truncate",
	[OP_ORPHAN] = "close of the lease fd while pinned",
	[OP_FORK] = "fork",
	[OP_CHILD_TRUNC] = "fork child's truncate",
	[OP_SCM] = "SCM_RIGHTS of the uverbs fd",
	[OP_SELF_KILL] = "SIGKILL of a holder by itself",
	[OP_KILL] = "SIGKILL of a pinner",
	[OP_TRUNC_DOWN] = "truncate down",
	[OP_TRUNC_UP] = "truncate up",
	[OP_PUNCH] = "punch hole",
	[OP_ZERO] = "zero range",
	[OP_FALLOC] = "fallocate",
	[OP_FALLOC_EOF] = "fallocate KEEP_SIZE past EOF",
	[OP_REWRITE] = "rewrite zeroed pages",
	[OP_LOCK] = "lock a file for a mutation",
	[OP_VERIFY] = "read back a file",
	[OP_IDLE] = "idle",
	[OP_REPORT] = "read of /proc/daxlease and a pinner's file_pins",
	[OP_CHILD_REG] = "fork child's registration through the shared uverbs file",
	[OP_LEASE16] = "F_SETLEASE 16",
	[OP_REG16] = "ibv_reg_mr under 16",
	[OP_ANSWERED] = "break of 16 answered by deregistration",
	[OP_REVOKED] = "break of 16 ignored, MR revoked",
	[OP_REVOKED_CTX] = "... with its whole context (the MR was in use)",
	[OP_DEREG16] = "ibv_dereg_mr after a break",
	[OP_UNLOCK16] = "F_UNLCK of 16",
};

/* The contents a mutator expects, per file, under lock[] of the file. */
struct model {
	unsigned long pages;		/* size in pages */
	unsigned char zero[FILE_PAGES];	/* page reads zero, else the pattern */
};

/* A lease or an MR that surely exists between @start and @end. */
struct blocker {
	int slot;			/* of the worker that made it */
	int file;			/* -1: unused */
	uint64_t start, end;		/* 0: not yet */
};

struct slot {
	pid_t pid;
	int op;				/* running operation, -1: none */
	long long since;		/* when it started (clock_ms) */
	bool killed;			/* we SIGKILLed it */
};

struct shared {
	uint64_t seq;
	int next_rec;
	int stop;
	unsigned long ops[N_OPS], refused[N_OPS];
	unsigned long changed, covered, unexpected, hung, errors;
	struct model model[NFILES];
	/* robust: a mutator can be SIGKILLed; not in struct model, which is copied */
	pthread_mutex_t lock[NFILES];
	struct blocker rec[MAX_RECS];
	struct slot slot[WORKERS];
};

struct sfile {
	char path[PATH_MAX];
	const char *fs;
	uint64_t seed;
	bool ext4;
};

static struct shared *sh;
static struct sfile files[NFILES];
static uint64_t base_seed;
static unsigned int op_bound_ms = DEFAULT_OP_MS;
static int rec_slot = -1;	/* worker slot our blocker records belong to */
static int watch_slot = -1;	/* slot whose operation we report, -1: none */

/* Point names, the same whether the point runs or is skipped. */
#define T_RXE		"open the rxe device"
#define T_FILES		"create two 512 KiB pattern files on each of XFS and ext4"
#define T_RAN		"every worker started and stopped when told, after the time bound"
#define T_BREAKS	"breakable holders: at least one break answered and one MR revoked"
#define T_CHANGED	"no refused operation changed a file, no file changed but by a successful operation (size and contents)"
#define T_COVERED	"no layout change succeeded while a lease or long-term pin surely covered the file"
#define T_EXPECTED	"every operation returned the result the errno table gives for its situation"
#define T_HUNG		"no operation ran past the bound"
#define T_REAPED	"every worker, child and receiver was reaped"
#define T_GVIEW		"/proc/daxlease is empty after the run"
#define T_FPINS		"our /proc/self/file_pins is empty"
#define T_CONTENT	"every file holds exactly the modelled size and contents"
#define T_TRUNC		"every file truncates to 0 and is unlinked"
#define T_UNLOAD	"delete_module succeeds: no lease, orphan or owner left"
#define T_RESTORED	"daxlease module state restored (%s)"

static uint64_t seq_next(void)
{
	return __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
}

static void count(enum op op, bool refused)
{
	__atomic_add_fetch(&sh->ops[op], 1, __ATOMIC_RELAXED);
	if (refused)
		__atomic_add_fetch(&sh->refused[op], 1, __ATOMIC_RELAXED);
}

static void bump(unsigned long *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
}

/* The running operation of this worker, for the watchdog. */
static void op_begin(enum op op)
{
	if (watch_slot < 0)
		return;
	__atomic_store_n(&sh->slot[watch_slot].since, clock_ms(),
			 __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->slot[watch_slot].op, op, __ATOMIC_SEQ_CST);
}

static void op_end(void)
{
	if (watch_slot >= 0)
		__atomic_store_n(&sh->slot[watch_slot].op, -1, __ATOMIC_SEQ_CST);
}

/*
 * @op returned @r with errno @err; it had to be one of the @n values of
 * @allowed (0: success). Counts it; false and a diag if not.
 */
static bool expect(enum op op, int r, int err, int n, const int *allowed,
		   int f)
{
	int got = r < 0 ? err : 0, i;

	count(op, got != 0);
	for (i = 0; i < n; i++)
		if (got == allowed[i])
			return true;
	bump(&sh->unexpected);
	diag("UNEXPECTED: %s on %s (%s): %s, expected %s%s", op_names[op],
	     f >= 0 ? files[f].path : "-", f >= 0 ? files[f].fs : "-",
	     got ? errno_name(got) : "success",
	     allowed[0] ? errno_name(allowed[0]) : "success",
	     n > 1 ? " or another of its table" : "");
	return false;
}

#define EXPECT(op, r, err, f, ...) \
	expect((op), (r), (err), \
	       sizeof((int[]){ __VA_ARGS__ }) / sizeof(int), \
	       (int[]){ __VA_ARGS__ }, (f))

/* ---- blockers: when a lease or MR surely exists ---- */

/*
 * Records are a ring: a mutator checks right after its operation, long
 * before a record is reused, and a reused record only hides an interval
 * (a missed check, never a false violation).
 */
static int rec_start(int f)
{
	uint64_t seq = seq_next();
	int i = __atomic_fetch_add(&sh->next_rec, 1, __ATOMIC_SEQ_CST) %
		MAX_RECS;
	struct blocker *b = &sh->rec[i];

	__atomic_store_n(&b->start, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&b->end, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&b->file, f, __ATOMIC_SEQ_CST);
	__atomic_store_n(&b->slot, rec_slot, __ATOMIC_SEQ_CST);
	__atomic_store_n(&b->start, seq, __ATOMIC_SEQ_CST);
	return i;
}

/* Called before the call that may end it. */
static void rec_end(int i)
{
	uint64_t zero = 0;

	if (i < 0)
		return;
	__atomic_compare_exchange_n(&sh->rec[i].end, &zero, seq_next(), false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * Before SIGKILLing the worker in @slot: its blockers may go any time.
 * Once it is reaped, with @never: records it opened after that get an
 * empty interval (it was being killed; they cover nothing).
 */
static void rec_end_slot(int slot, bool never)
{
	uint64_t zero, start, seq = seq_next();
	int i;

	for (i = 0; i < MAX_RECS; i++) {
		if (__atomic_load_n(&sh->rec[i].slot, __ATOMIC_SEQ_CST) != slot)
			continue;
		start = __atomic_load_n(&sh->rec[i].start, __ATOMIC_SEQ_CST);
		zero = 0;
		__atomic_compare_exchange_n(&sh->rec[i].end, &zero,
					    never ? start : seq, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

/*
 * Did a blocker of file @f surely exist from before @b until after @a?
 * A record being reused changes its start (to 0, then a new value) before
 * its file: reading start before and after the other fields skips one.
 * Records of a worker being killed count as ended (a miss, never a false
 * violation); they are ended for good when it is reaped.
 */
static int covered_by(int f, uint64_t b, uint64_t a)
{
	uint64_t start, end;
	int i, file, slot;

	for (i = 0; i < MAX_RECS; i++) {
		start = __atomic_load_n(&sh->rec[i].start, __ATOMIC_SEQ_CST);
		file = __atomic_load_n(&sh->rec[i].file, __ATOMIC_SEQ_CST);
		end = __atomic_load_n(&sh->rec[i].end, __ATOMIC_SEQ_CST);
		slot = __atomic_load_n(&sh->rec[i].slot, __ATOMIC_SEQ_CST);
		if (!start || file != f || slot < 0 ||
		    start != __atomic_load_n(&sh->rec[i].start,
					     __ATOMIC_SEQ_CST))
			continue;
		/* a worker being killed may open records it never ends */
		if (__atomic_load_n(&sh->slot[slot].killed, __ATOMIC_SEQ_CST))
			continue;
		if (start < b && (!end || end > a))
			return i;
	}
	return -1;
}

/* ---- mutators ---- */

static uint64_t page_seed(int f)
{
	return files[f].seed;
}

/*
 * What a page that differs from the model holds, for the diag: zeros, the
 * pattern of some page of some stress file (a write landing in the wrong
 * place, or a block freed and reused), or bytes of nowhere.
 */
static void describe_page(const uint8_t *pg)
{
	unsigned long i, q;
	int g;

	for (i = 0; i < PAGE && !pg[i]; i++)
		;
	if (i == PAGE) {
		diag("  it reads zero");
		return;
	}
	for (g = 0; g < NFILES; g++)
		for (q = 0; q < FILE_PAGES; q++)
			if (pattern_mismatch(pg, PAGE, page_seed(g),
					     q * PAGE) < 0) {
				diag("  it holds the pattern of %s page %lu",
				     files[g].path, q);
				return;
			}
	diag("  byte %lu is the first non-zero one; bytes %lu..: %02x %02x %02x %02x %02x %02x %02x %02x",
	     i, i & ~7UL, pg[i & ~7UL], pg[(i & ~7UL) + 1], pg[(i & ~7UL) + 2],
	     pg[(i & ~7UL) + 3], pg[(i & ~7UL) + 4], pg[(i & ~7UL) + 5],
	     pg[(i & ~7UL) + 6], pg[(i & ~7UL) + 7]);
}

/* Does file @fd match the model of @f? A diag for the first difference. */
static bool model_matches(int f, int fd, const char *when)
{
	struct model *m = &sh->model[f];
	static uint8_t buf[FILE_PAGES * PAGE];
	struct stat st;
	unsigned long p, i;
	ssize_t n;

	if (fstat(fd, &st)) {
		diag("fstat %s: %s", files[f].path, errno_name(errno));
		return false;
	}
	if ((unsigned long)st.st_size != m->pages * PAGE) {
		diag("%s %s: size %lld, model %lu", when, files[f].path,
		     (long long)st.st_size, m->pages * PAGE);
		return false;
	}
	n = pread(fd, buf, m->pages * PAGE, 0);
	if (n != (ssize_t)(m->pages * PAGE)) {
		diag("pread %s: %zd, %s", files[f].path, n, errno_name(errno));
		return false;
	}
	for (p = 0; p < m->pages; p++) {
		const uint8_t *pg = buf + p * PAGE;

		if (m->zero[p]) {
			for (i = 0; i < PAGE; i++)
				if (pg[i])
					break;
			if (i == PAGE)
				continue;
		} else if (pattern_mismatch(pg, PAGE, page_seed(f),
					    p * PAGE) < 0) {
			continue;
		}
		diag("%s %s: page %lu is not %s", when, files[f].path, p,
		     m->zero[p] ? "zero" : "the pattern");
		describe_page(pg);
		return false;
	}
	return true;
}

/*
 * A model whose owner died with the lock held: rebuild it from the file if
 * every page is the pattern or zero (it is then as good as any), else the
 * file was damaged.
 */
static void model_recover(int f, int fd)
{
	struct model *m = &sh->model[f];
	struct stat st;
	unsigned long p;
	uint8_t *pg = malloc(PAGE);

	if (!pg || fstat(fd, &st)) {
		free(pg);
		return;
	}
	m->pages = st.st_size / PAGE;
	for (p = 0; p < m->pages; p++) {
		if (pread(fd, pg, PAGE, p * PAGE) != (ssize_t)PAGE)
			break;
		m->zero[p] = pattern_mismatch(pg, PAGE, page_seed(f),
					      p * PAGE) >= 0;
	}
	free(pg);
	if (!model_matches(f, fd, "after recovery")) {
		bump(&sh->changed);
		diag("VIOLATION: %s: neither pattern nor zero", files[f].path);
	}
}

static void model_lock(int f, int fd)
{
	int r = pthread_mutex_lock(&sh->lock[f]);

	if (r == EOWNERDEAD) {
		model_recover(f, fd);
		pthread_mutex_consistent(&sh->lock[f]);
	}
}

static int punch(int fd, int mode, unsigned long first, unsigned long n)
{
	return fallocate(fd, mode, first * PAGE, n * PAGE);
}

/* One layout change (or rewrite) of file @f through @fd, lock held. */
static void mutate(uint64_t *rng, int f, int fd)
{
	struct model *m = &sh->model[f];
	struct model next = *m;
	unsigned long a = 0, n = 0, p, pages = m->pages;
	enum op op = OP_TRUNC_DOWN + rng_below(rng, OP_REWRITE - OP_TRUNC_DOWN + 1);
	uint64_t before, after;
	int r, err, by;
	bool layout = true;

	if (pages) {
		a = rng_below(rng, pages);
		n = 1 + rng_below(rng, pages - a);
	}
	if (pages < 2 && op == OP_TRUNC_DOWN)
		op = OP_TRUNC_UP;
	if (!pages && (op == OP_PUNCH || op == OP_ZERO || op == OP_FALLOC ||
		       op == OP_REWRITE))
		op = OP_TRUNC_UP;

	op_begin(op);
	before = seq_next();
	switch (op) {
	case OP_TRUNC_DOWN:
		n = 1 + rng_below(rng, pages - 1);	/* new size, >= 1 page */
		r = ftruncate(fd, n * PAGE);
		next.pages = n;
		break;
	case OP_TRUNC_UP:
		r = ftruncate(fd, FILE_PAGES * PAGE);
		for (p = pages; p < FILE_PAGES; p++)
			next.zero[p] = 1;
		next.pages = FILE_PAGES;
		break;
	case OP_PUNCH:
		r = punch(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, a, n);
		memset(next.zero + a, 1, n);
		break;
	case OP_ZERO:
		r = punch(fd, FALLOC_FL_ZERO_RANGE, a, n);
		memset(next.zero + a, 1, n);
		break;
	case OP_FALLOC:
		r = punch(fd, 0, a, n);
		break;
	case OP_FALLOC_EOF:
		r = punch(fd, FALLOC_FL_KEEP_SIZE, pages, FILE_PAGES - pages + 1);
		break;
	default: {
		static uint8_t buf[PAGE];

		/* writes are no layout change: never refused */
		layout = false;
		r = 0;
		for (p = 0; p < pages && !r; p++) {
			if (!m->zero[p])
				continue;
			pattern_fill(buf, PAGE, page_seed(f), p * PAGE);
			if (pwrite(fd, buf, PAGE, p * PAGE) != (ssize_t)PAGE)
				r = -1;
			next.zero[p] = 0;
		}
		break;
	}
	}
	err = errno;
	after = seq_next();
	op_begin(OP_VERIFY);

	if (!layout)
		EXPECT(op, r, err, f, 0);
	else if (op == OP_FALLOC || op == OP_FALLOC_EOF)
		EXPECT(op, r, err, f, 0);	/* allocation: frees, moves nothing */
	else
		EXPECT(op, r, err, f, 0, ETXTBSY);

	if (!r) {
		*m = next;
		by = layout ? covered_by(f, before, after) : -1;
		if (by >= 0 && op != OP_FALLOC && op != OP_FALLOC_EOF) {
			bump(&sh->covered);
			diag("VIOLATION: %s of %s succeeded while a lease or MR existed (record %d: seq %" PRIu64 "..%" PRIu64 ", op %" PRIu64 "..%" PRIu64 ")",
			     op_names[op], files[f].path, by, sh->rec[by].start,
			     sh->rec[by].end, before, after);
		}
	}
	if (!model_matches(f, fd, r ? "after a refused op" : "after the op")) {
		bump(&sh->changed);
		diag("VIOLATION: %s of %s (%s) left the file different from the model",
		     op_names[op], files[f].path, r ? errno_name(err) : "success");
		model_recover(f, fd);
	}
	op_end();
}

static int mutator(uint64_t rng)
{
	int fds[NFILES], f;

	for (f = 0; f < NFILES; f++) {
		fds[f] = open(files[f].path, O_RDWR);
		if (fds[f] < 0) {
			diag("mutator: open %s: %s", files[f].path,
			     errno_name(errno));
			return 1;
		}
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		f = rng_below(&rng, NFILES);
		op_begin(OP_LOCK);
		model_lock(f, fds[f]);
		count(OP_LOCK, false);
		op_begin(OP_VERIFY);
		count(OP_VERIFY, false);
		if (!model_matches(f, fds[f], "before the op")) {
			bump(&sh->changed);
			diag("VIOLATION: %s changed while nobody was allowed to change it",
			     files[f].path);
			model_recover(f, fds[f]);
		}
		op_end();
		mutate(&rng, f, fds[f]);
		pthread_mutex_unlock(&sh->lock[f]);
		usleep(rng_below(&rng, 5000));
	}
	return 0;
}

/* ---- pinners ---- */

/* A child doing one bounded thing: dies with its parent, alarm armed. */
static pid_t fork_child(bool die_with_parent)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid) {
		/* bounded by its alarm and by our reap_child() */
		watch_slot = -1;
		if (die_with_parent)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		timeout_arm(CHILD_BOUND_S);
	}
	return pid;
}

/* Wait for a child of ours within the op bound; a diag if it failed. */
static int reap_child(pid_t pid, const char *what, bool want_sigkill)
{
	int status;

	if (wait_bounded(pid, &status, op_bound_ms)) {
		bump(&sh->hung);
		diag("VIOLATION: %s (pid %d) did not end within %u ms", what,
		     (int)pid, op_bound_ms);
		kill_reap(pid);
		return -1;
	}
	if (want_sigkill ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL :
			   WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	diag("%s (pid %d) ended with status %#x", what, (int)pid, status);
	bump(&sh->errors);
	return -1;
}

/*
 * Who pins the mapped file: nobody (not even mapped), nobody (mapped), an
 * MR of @v, or an io_uring ring.
 */
enum pinner { PIN_NONE, PIN_MAP, PIN_MR, PIN_URING };

struct hold {
	int f, fd, lease_rec, pin_rec;
	size_t len;
	void *map;
	struct ibv_mr *mr;
	int ring;			/* -1: none; buffers registered if pinned */
	bool pinned;
};

static enum pinner pick_pinner(uint64_t *rng)
{
	return rng_below(rng, 3) ? PIN_MR : PIN_URING;
}

/* Register @h's mapping with a new ring: true if it pins. */
static bool hold_uring(struct hold *h)
{
	int err;

	h->ring = uring_new();
	if (h->ring < 0) {
		bump(&sh->errors);
		return false;
	}
	op_begin(OP_URING_REG);
	err = uring_register(h->ring, h->map, h->len);
	op_end();
	return EXPECT(OP_URING_REG, err ? -1 : 0, err, h->f, 0);
}

/*
 * Open file @f, take 48, map and pin a random length by @pin. Returns 0
 * with everything in @h, 1 if the lease was taken but nothing is pinned,
 * -1 if there is nothing to release.
 */
static int hold_start(uint64_t *rng, struct verbs *v, int f, struct hold *h,
		      enum pinner pin)
{
	struct stat st;
	int r, err;

	memset(h, 0, sizeof(*h));
	h->f = f;
	h->lease_rec = h->pin_rec = -1;
	h->ring = -1;
	h->fd = open(files[f].path, O_RDWR);
	if (h->fd < 0) {
		diag("open %s: %s", files[f].path, errno_name(errno));
		bump(&sh->errors);
		return -1;
	}
	op_begin(OP_LEASE);
	r = lease_set(h->fd, F_UNBREAKABLE);
	err = errno;
	op_end();
	/* EAGAIN: a breakable lease of the file is being broken */
	if (!EXPECT(OP_LEASE, r, err, f, 0, EAGAIN) || r) {
		close(h->fd);
		return -1;
	}
	h->lease_rec = rec_start(f);
	if (fstat(h->fd, &st) || st.st_size < (off_t)PAGE || pin == PIN_NONE)
		return 1;	/* nothing to map: the lease alone */
	h->len = (1 + rng_below(rng, st.st_size / PAGE)) * PAGE;
	h->map = mmap(NULL, h->len, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED) {
		diag("mmap: %s", errno_name(errno));
		h->map = NULL;
		bump(&sh->errors);
		return 1;
	}
	if (pin == PIN_MAP)
		return 1;
	if (pin == PIN_URING) {
		if (!hold_uring(h))
			return 1;
	} else {
		op_begin(OP_REG);
		h->mr = ibv_reg_mr(v->pd, h->map, h->len, MR_ACCESS);
		err = errno;
		op_end();
		if (!EXPECT(OP_REG, h->mr ? 0 : -1, err, f, 0))
			return 1;
	}
	h->pinned = true;
	h->pin_rec = rec_start(f);
	return 0;
}

/* Deregister the MR or the ring's buffers; close the ring. */
static void hold_dereg(struct hold *h)
{
	int r;

	if (h->pinned) {
		rec_end(h->pin_rec);
		if (h->mr) {
			op_begin(OP_DEREG);
			r = ibv_dereg_mr(h->mr);
			op_end();
			EXPECT(OP_DEREG, r ? -1 : 0, r, h->f, 0);
		} else {
			/* synchronous: the pins are gone when it returns */
			op_begin(OP_URING_UNREG);
			r = uring_unregister(h->ring) ? 0 : -1;
			op_end();
			count(OP_URING_UNREG, r != 0);
			if (r)
				bump(&sh->unexpected);
		}
	}
	if (h->ring >= 0)
		close(h->ring);
	h->ring = -1;
	h->mr = NULL;
	h->pinned = false;
	h->pin_rec = -1;
}

/* Release in the plain order: dereg, munmap, F_UNLCK, close. */
static void hold_end(struct hold *h)
{
	int r, err;

	hold_dereg(h);
	if (h->map)
		munmap(h->map, h->len);
	h->map = NULL;
	if (h->fd >= 0) {
		rec_end(h->lease_rec);
		op_begin(OP_UNLOCK);
		r = lease_set(h->fd, F_UNLCK);
		err = errno;
		op_end();
		EXPECT(OP_UNLOCK, r, err, h->f, 0);
		close(h->fd);
		h->fd = -1;
	}
	h->lease_rec = -1;
}

/* The holder's own truncate: EDEADLK, the size unchanged. */
static void own_truncate(struct hold *h)
{
	struct stat a, b;
	int r, err;

	fstat(h->fd, &a);
	op_begin(OP_OWN_TRUNC);
	r = ftruncate(h->fd, 0);
	err = errno;
	op_end();
	EXPECT(OP_OWN_TRUNC, r, err, h->f, EDEADLK);
	fstat(h->fd, &b);
	if (a.st_size != b.st_size) {
		bump(&sh->changed);
		diag("VIOLATION: refused holder truncate changed the size of %s: %lld -> %lld",
		     files[h->f].path, (long long)a.st_size, (long long)b.st_size);
	}
}

static void scenario_plain(uint64_t *rng, struct verbs *v, int f)
{
	struct hold h;
	int r, err;

	if (hold_start(rng, v, f, &h, pick_pinner(rng)) < 0)
		return;
	if (rng_below(rng, 2))
		own_truncate(&h);
	if (h.pinned && rng_below(rng, 2)) {
		op_begin(OP_UNLOCK_BUSY);
		r = lease_set(h.fd, F_UNLCK);
		err = errno;
		op_end();
		EXPECT(OP_UNLOCK_BUSY, r, err, f, EBUSY);
	}
	op_begin(OP_GETLEASE);
	r = fcntl(h.fd, F_GETLEASE);
	err = errno;
	op_end();
	count(OP_GETLEASE, r != F_UNBREAKABLE);
	if (r != F_UNBREAKABLE) {
		bump(&sh->unexpected);
		diag("UNEXPECTED: F_GETLEASE on %s: %d (%s), expected 48",
		     files[f].path, r, r < 0 ? errno_name(err) : "");
	}
	sleep_ms(rng_below(rng, HOLD_MAX_MS));
	hold_end(&h);
}

/* Close the lease fd and unmap while pinned, deregister later. */
static void scenario_orphan(uint64_t *rng, struct verbs *v, int f)
{
	struct hold h;

	if (hold_start(rng, v, f, &h, pick_pinner(rng)) < 0)
		return;
	if (h.pinned) {
		rec_end(h.lease_rec);
		op_begin(OP_ORPHAN);
		count(OP_ORPHAN, close(h.fd) != 0);
		op_end();
		h.fd = -1;
		munmap(h.map, h.len);
		h.map = NULL;
		sleep_ms(rng_below(rng, HOLD_MAX_MS));
	}
	hold_end(&h);
}

/*
 * A fork child of a holder shares its uverbs file: it takes its own 48 on
 * file @f and registers through that file (another thread group charging
 * the same owner), then lets go.
 */
static void child_register(uint64_t *rng, struct verbs *v, int f)
{
	struct hold h;
	int r;

	if (hold_start(rng, NULL, f, &h, PIN_MAP) < 0)
		return;
	if (h.map) {
		op_begin(OP_CHILD_REG);
		h.mr = ibv_reg_mr(v->pd, h.map, h.len, MR_ACCESS);
		r = errno;
		op_end();
		if (EXPECT(OP_CHILD_REG, h.mr ? 0 : -1, r, f, 0)) {
			h.pinned = true;
			h.pin_rec = rec_start(f);
		}
	}
	hold_end(&h);
}

/*
 * A fork child of the holder (another tgid) truncates (ETXTBSY), or
 * registers through the shared uverbs file under its own lease.
 */
static void scenario_fork(uint64_t *rng, struct verbs *v, int f)
{
	struct hold h;
	pid_t pid;
	int r, err;

	if (hold_start(rng, v, f, &h, pick_pinner(rng)) < 0)
		return;
	op_begin(OP_FORK);
	pid = fork_child(true);
	if (!pid) {
		switch (rng_below(rng, 3)) {
		case 0:
			r = truncate(files[f].path, 0);
			err = errno;
			EXPECT(OP_CHILD_TRUNC, r, err, f, ETXTBSY);
			break;
		case 1:
			child_register(rng, v, f);
			break;
		}
		sleep_ms(rng_below(rng, HOLD_MAX_MS));
		_exit(0);
	}
	count(OP_FORK, pid < 0);
	if (pid > 0)
		reap_child(pid, "fork child", false);
	op_end();
	hold_end(&h);
}

/* Receiver: takes one fd from @sock, keeps it a while, exits. */
static void receiver(int sock, uint64_t *rng)
{
	int fd = fd_recv(sock);

	/* EOF: the holder died before sending (its lease was refused) */
	if (fd < 0)
		_exit(0);
	sleep_ms(rng_below(rng, RECV_HOLD_MS));
	_exit(0);
}

/*
 * A subprocess with its own rxe context leases and registers, passes its
 * uverbs fd to a receiver and SIGKILLs itself; or (@between) SIGKILLs
 * itself between lease and registration.
 */
static void scenario_killed(uint64_t *rng, int f, bool between)
{
	int sv[2] = { -1, -1 };
	pid_t recv_pid = -1, pid;

	if (!between && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		bump(&sh->errors);
		return;
	}
	op_begin(between ? OP_SELF_KILL : OP_SCM);
	if (!between) {
		/* no PDEATHSIG: it outlives a SIGKILLed pinner */
		recv_pid = fork_child(false);
		if (!recv_pid) {
			close(sv[0]);
			receiver(sv[1], rng);
		}
	}
	pid = fork_child(true);
	if (!pid && !between)
		close(sv[1]);
	if (!pid) {
		struct verbs qv;
		struct hold h;

		if (!between && verbs_open(&qv, env_rxe()))
			_exit(1);
		/* no lease (EAGAIN during a break, counted): die all the same */
		if (hold_start(rng, between ? NULL : &qv, f, &h,
			       between ? PIN_NONE : PIN_MR) < 0)
			raise(SIGKILL);
		if (!between) {
			int r = fd_send(sv[0], qv.ctx->cmd_fd);

			EXPECT(OP_SCM, r, errno, f, 0);
		}
		rec_end(h.lease_rec);
		rec_end(h.pin_rec);
		count(OP_SELF_KILL, false);
		raise(SIGKILL);
		_exit(1);
	}
	if (!between) {
		/* the receiver sees EOF if the holder dies before sending */
		close(sv[0]);
		close(sv[1]);
	}
	if (pid > 0)
		reap_child(pid, "self-killing holder", true);
	if (recv_pid > 0)
		reap_child(recv_pid, "receiver", false);
	op_end();
}

/*
 * The breakable holder, in a subprocess with its own rxe context (a
 * revocation may destroy every object of the context): 16 on file @f, an MR
 * of a random length, then for up to lease-break-time and a half it
 * either watches for a break and answers it (deregister, F_UNLCK) or
 * ignores it.  No blocker record: a 16 lease lets layout changes through,
 * after its holder answered or was revoked.
 */
static void breakable_holder(uint64_t *rng, int f)
{
	bool answer = rng_below(rng, 2), broken = false, dead;
	long long end = clock_ms() + LBT_S * 1500LL;
	struct ibv_mr *mr = NULL;
	struct verbs qv;
	size_t len = 0;
	void *map = NULL;
	struct stat st;
	int fd, r, err;

	signal(SIGIO, SIG_IGN);		/* the break's signal: we poll */
	fd = open(files[f].path, O_RDWR);
	if (fd < 0 || verbs_open(&qv, env_rxe()))
		_exit(1);
	op_begin(OP_LEASE16);
	r = lease_set(fd, F_LAYOUT);
	err = errno;
	op_end();
	/* EAGAIN: a layout change is breaking the file's leases right now */
	if (!EXPECT(OP_LEASE16, r, err, f, 0, EAGAIN) || r)
		_exit(0);
	if (!fstat(fd, &st) && st.st_size >= (off_t)PAGE) {
		len = (1 + rng_below(rng, st.st_size / PAGE)) * PAGE;
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			   0);
		if (map == MAP_FAILED) {
			map = NULL;
			bump(&sh->errors);
		}
	}
	if (map) {
		op_begin(OP_REG16);
		mr = ibv_reg_mr(qv.pd, map, len, MR_ACCESS);
		err = errno;
		op_end();
		/*
		 * our 16 broken meanwhile: another's 48 is there (EPERM) or
		 * no lease at all (EOPNOTSUPP, as stock)
		 */
		EXPECT(OP_REG16, mr ? 0 : -1, err, f, 0, EPERM, EOPNOTSUPP);
	}
	while (clock_ms() < end) {
		if (answer && lease_get(fd) == F_UNLCK) {
			broken = true;
			break;
		}
		sleep_ms(BREAK_POLL_MS);
	}
	/* revoked, alone or with the context: a command on it fails */
	dead = mr && verbs_cmd_rereg_access(mr, MR_ACCESS) == EIO;
	if (broken && !dead)
		count(OP_ANSWERED, false);
	if (dead)
		count(OP_REVOKED, false);
	if (verbs_got_event(qv.ctx, IBV_EVENT_DEVICE_FATAL))
		count(OP_REVOKED_CTX, false);
	if (mr) {
		op_begin(OP_DEREG16);
		r = ibv_dereg_mr(mr);
		op_end();
		EXPECT(OP_DEREG16, r ? -1 : 0, r, f, 0);
	}
	if (map)
		munmap(map, len);
	op_begin(OP_UNLOCK16);
	r = lease_set(fd, F_UNLCK);
	err = errno;
	op_end();
	/* EAGAIN: the break removed it (no lease of ours to unlock) */
	EXPECT(OP_UNLOCK16, r, err, f, 0, EAGAIN);
	close(fd);
	verbs_close(&qv);
	_exit(0);
}

static void scenario_breakable(uint64_t *rng, int f)
{
	pid_t pid = fork_child(true);

	if (!pid)
		breakable_holder(rng, f);
	if (pid > 0)
		reap_child(pid, "breakable holder", false);
	else
		bump(&sh->errors);
}

static void scenario_lease_only(uint64_t *rng, int f)
{
	struct hold h;

	if (hold_start(rng, NULL, f, &h, PIN_NONE) < 0)
		return;
	own_truncate(&h);
	hold_end(&h);
}

static int pinner(uint64_t rng)
{
	struct verbs v;
	int f;

	if (verbs_open(&v, env_rxe())) {
		diag("pinner: cannot open %s", env_rxe());
		return 1;
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		f = rng_below(&rng, NFILES);
		switch (rng_below(&rng, 9)) {
		case 0:
		case 1:
			scenario_plain(&rng, &v, f);
			break;
		case 2:
			scenario_orphan(&rng, &v, f);
			break;
		case 3:
			scenario_fork(&rng, &v, f);
			break;
		case 4:
			scenario_killed(&rng, f, false);
			break;
		case 5:
			scenario_killed(&rng, f, true);
			break;
		case 6:
			scenario_lease_only(&rng, f);
			break;
		case 7:
			scenario_breakable(&rng, f);
			break;
		default:
			count(OP_IDLE, false);
			sleep_ms(rng_below(&rng, 20));
			break;
		}
	}
	verbs_close(&v);
	return 0;
}

/* ---- this process ---- */

static uint64_t worker_seed(int slot, unsigned int generation)
{
	return base_seed + slot + (uint64_t)generation * WORKERS;
}

static void start_worker(int slot, unsigned int generation)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid) {
		uint64_t rng = worker_seed(slot, generation);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		rec_slot = watch_slot = slot;
		_exit(slot < PINNERS ? pinner(rng) : mutator(rng));
	}
	if (pid < 0)
		bail_out("fork: %s", errno_name(errno));
	sh->slot[slot].pid = pid;
	sh->slot[slot].op = -1;
	sh->slot[slot].killed = false;
}

static int slot_of(pid_t pid)
{
	int i;

	for (i = 0; i < WORKERS; i++)
		if (sh->slot[i].pid == pid)
			return i;
	return -1;
}

/* Reap whatever ended; workers that ended on their own must have exited 0. */
static void reap_all(void)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		i = slot_of(pid);
		if (i < 0)
			continue;	/* a receiver or child left to us */
		if (!sh->slot[i].killed &&
		    !(WIFEXITED(status) && !WEXITSTATUS(status))) {
			bump(&sh->errors);
			diag("worker %d (pid %d) ended with status %#x", i,
			     (int)pid, status);
		}
		rec_end_slot(i, sh->slot[i].killed);
		sh->slot[i].pid = 0;
	}
}

/* What every worker is doing, where it is in the kernel, what is pinned. */
static void dump_state(void)
{
	static const char *const what[] = { "wchan", "stack" };
	char name[64], *text;
	const char *step;
	unsigned int j;
	int i, op, fd;

	for (i = 0; i < WORKERS; i++) {
		if (!sh->slot[i].pid)
			continue;
		op = __atomic_load_n(&sh->slot[i].op, __ATOMIC_SEQ_CST);
		diag("worker %d (pid %d): %s for %lld ms", i,
		     (int)sh->slot[i].pid, op < 0 ? "between operations" :
		     op_names[op], op < 0 ? 0 : clock_ms() - sh->slot[i].since);
		for (j = 0; j < sizeof(what) / sizeof(what[0]); j++) {
			snprintf(name, sizeof(name), "/proc/%d/%s",
				 (int)sh->slot[i].pid, what[j]);
			text = text_read(name, &step);
			if (text)
				diag("%s: %s", what[j], text);
			free(text);
		}
	}
	text = text_read(DAXLEASE_PROC, &step);
	if (text)
		diag("%s:\n%s", DAXLEASE_PROC, text);
	free(text);
	/* blocked tasks with their stacks, to the kernel log */
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "w", 1) != 1)
			diag("sysrq w: %s", errno_name(errno));
		close(fd);
	}
}

/* A worker whose operation runs past the bound is a hang: count, kill. */
static void watchdog(void)
{
	long long now = clock_ms();
	int i, op;

	for (i = 0; i < WORKERS; i++) {
		op = __atomic_load_n(&sh->slot[i].op, __ATOMIC_SEQ_CST);
		if (!sh->slot[i].pid || op < 0 ||
		    now - sh->slot[i].since < op_bound_ms)
			continue;
		bump(&sh->hung);
		diag("VIOLATION: worker %d (pid %d): %s running for %lld ms",
		     i, (int)sh->slot[i].pid, op_names[op],
		     now - sh->slot[i].since);
		dump_state();
		__atomic_store_n(&sh->slot[i].killed, true, __ATOMIC_SEQ_CST);
		rec_end_slot(i, false);
		sh->slot[i].op = -1;
		kill(sh->slot[i].pid, SIGKILL);
	}
}

static unsigned int env_uint(const char *var, unsigned int def)
{
	const char *s = env_get(var);

	return s ? (unsigned int)strtoul(s, NULL, 0) : def;
}

/*
 * One consistent /proc/daxlease: each lease line "<pid> <fd> <kind>
 * <state> <pages> <dev> <path>" (pid and fd may be "-") is followed by its
 * owner lines "\t<kind> <pages> ...", whose pages add up to the lease's.
 * Each lease is printed under the module's lock: a torn count is a bug.
 */
static bool gview_consistent(const char *text)
{
	char pid[16], fd[16], kind[16], state[16], dev[64], okind[16];
	unsigned long pages = 0, sum = 0, op;
	const char *line = text, *bad = NULL;
	bool in_lease = false;
	int n;

	for (; *line && !bad; line = strchr(line, '\n') + 1) {
		if (!strchr(line, '\n')) {
			bad = "no newline at the end";
			break;
		}
		if (*line == '\t') {
			if (!in_lease ||
			    sscanf(line, "\t%15s %lu", okind, &op) != 2)
				bad = line;
			sum += op;
			continue;
		}
		if (in_lease && sum != pages)
			bad = "a lease's owner pages do not add up";
		n = sscanf(line, "%15s %15s %15s %15s %lu %63s", pid, fd, kind,
			   state, &pages, dev);
		if (n != 6 || (strcmp(kind, "unbreakable") &&
			       strcmp(kind, "breakable")) ||
		    (strcmp(state, "live") && strcmp(state, "orphaned")))
			bad = line;
		in_lease = true;
		sum = 0;
	}
	if (!bad && in_lease && sum != pages)
		bad = "a lease's owner pages do not add up";
	if (bad) {
		diag("VIOLATION: inconsistent %s (%.80s):", DAXLEASE_PROC, bad);
		diag_text(DAXLEASE_PROC, text);
	}
	return !bad;
}

/* The report reader: until told to stop. */
static int report_reader(uint64_t rng)
{
	const char *step;
	char path[64], *text;
	long long t0, dt;
	pid_t pid;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		t0 = clock_ms();
		text = text_read(DAXLEASE_PROC, &step);
		if (!text) {
			diag("reader: %s %s: %s", step, DAXLEASE_PROC,
			     errno_name(errno));
			bump(&sh->errors);
		} else if (!gview_consistent(text)) {
			bump(&sh->unexpected);
		}
		free(text);
		pid = sh->slot[rng_below(&rng, PINNERS)].pid;
		if (pid > 0) {
			snprintf(path, sizeof(path), "/proc/%d/file_pins",
				 (int)pid);
			/* the pinner may be gone: ENOENT/ESRCH are fine */
			free(text_read(path, &step));
		}
		dt = clock_ms() - t0;
		count(OP_REPORT, false);
		if (dt > op_bound_ms) {
			bump(&sh->hung);
			diag("VIOLATION: reading the reports took %lld ms", dt);
		}
		usleep(rng_below(&rng, 20000));
	}
	return 0;
}

/* Run the workers for @seconds; true if they all stopped when told. */
static bool run(unsigned int seconds)
{
	unsigned int gen[WORKERS] = { 0 };
	long long t0 = clock_ms(), end = t0 + seconds * 1000LL, next_kill;
	uint64_t rng = base_seed ^ 0x6b696c6cULL;
	bool stopped = true;
	int i, victim;

	for (i = 0; i < WORKERS; i++)
		start_worker(i, gen[i]);
	/* reaped with the other descendants by reap_rest() */
	if (!fork()) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(report_reader(base_seed ^ 0x72656164ULL));
	}
	next_kill = t0 + rng_below(&rng, 2 * KILL_EVERY_MS);
	while (clock_ms() < end) {
		sleep_ms(20);
		reap_all();
		watchdog();
		for (i = 0; i < PINNERS; i++)
			if (!sh->slot[i].pid)
				start_worker(i, ++gen[i]);
		if (clock_ms() < next_kill)
			continue;
		next_kill = clock_ms() + rng_below(&rng, 2 * KILL_EVERY_MS);
		victim = rng_below(&rng, PINNERS);
		if (!sh->slot[victim].pid)
			continue;
		/* killed first: records it opens from now on do not count */
		__atomic_store_n(&sh->slot[victim].killed, true,
				 __ATOMIC_SEQ_CST);
		rec_end_slot(victim, false);
		kill(sh->slot[victim].pid, SIGKILL);
		count(OP_KILL, false);
	}

	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	end = clock_ms() + op_bound_ms + REAP_MS;
	for (;;) {
		reap_all();
		watchdog();
		for (i = 0; i < WORKERS; i++)
			if (sh->slot[i].pid)
				break;
		if (i == WORKERS)
			break;
		if (clock_ms() > end) {
			diag("worker %d (pid %d) did not stop", i,
			     (int)sh->slot[i].pid);
			dump_state();
			stopped = false;
			__atomic_store_n(&sh->slot[i].killed, true,
					 __ATOMIC_SEQ_CST);
			rec_end_slot(i, false);
			kill(sh->slot[i].pid, SIGKILL);
		}
		sleep_ms(20);
	}
	diag("ran %lld ms", clock_ms() - t0);
	return stopped;
}

/* Reap every descendant left (receivers reparented to us). */
static bool reap_rest(void)
{
	long long end = clock_ms() + REAP_MS + RECV_HOLD_MS;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return true;
		if (clock_ms() > end) {
			diag("descendants still running after %d ms", REAP_MS);
			return false;
		}
		if (pid <= 0)
			sleep_ms(10);
	}
}

static bool gview_empty(void)
{
	long long end = clock_ms() + SETTLE_MS;
	const char *step;
	char *text;
	bool empty;

	for (;;) {
		text = text_read(DAXLEASE_PROC, &step);
		if (!text) {
			diag("%s %s: %s", step, DAXLEASE_PROC, errno_name(errno));
			return false;
		}
		empty = !*text;
		if (empty || clock_ms() > end) {
			if (!empty)
				diag("%s:\n%s", DAXLEASE_PROC, text);
			free(text);
			return empty;
		}
		free(text);
		sleep_ms(50);
	}
}

static bool create_files(void)
{
	const struct dax_fs *fs;
	pthread_mutexattr_t attr;
	int f = 0, i, fd;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	for_each_dax_fs(fs) {
		for (i = 0; i < FILES_PER_FS; i++, f++) {
			files[f].fs = fs->name;
			files[f].ext4 = !strcmp(fs->name, "ext4");
			files[f].seed = rng_next(&(uint64_t){ base_seed + 100 + f });
			fd = fs_file_create(fs->path, FILE_PAGES * PAGE,
					    files[f].seed, files[f].path,
					    sizeof(files[f].path));
			if (fd < 0)
				return false;
			if (file_is_dax(fd) != 1) {
				diag("%s is not DAX", files[f].path);
				close(fd);
				return false;
			}
			close(fd);
			pthread_mutex_init(&sh->lock[f], &attr);
			sh->model[f].pages = FILE_PAGES;
		}
	}
	return true;
}

static void summary(void)
{
	char line[4096];
	size_t n = 0;
	unsigned long total = 0;
	int i;

	for (i = 0; i < N_OPS; i++) {
		total += sh->ops[i];
		n += snprintf(line + n, sizeof(line) - n, "%s%s %lu",
			      i ? ", " : "", op_names[i], sh->ops[i]);
		if (sh->refused[i])
			n += snprintf(line + n, sizeof(line) - n,
				      " (%lu refused)", sh->refused[i]);
		if (n >= sizeof(line))
			break;
	}
	diag("summary: stress seed %#" PRIx64 ", %lu operations: %s", base_seed,
	     total, line);
	diag("summary: stress invariant violations: %lu (changed files %lu, covered layout changes %lu, unexpected results %lu, hung operations %lu, worker errors %lu)",
	     sh->changed + sh->covered + sh->unexpected + sh->hung + sh->errors,
	     sh->changed, sh->covered, sh->unexpected, sh->hung, sh->errors);
}

int main(void)
{
	unsigned int seconds = env_uint("DAXLEASE_STRESS_SECONDS",
					DEFAULT_SECONDS);
	bool was_loaded, pass, stopped, lbt_saved;
	struct verbs v;
	char lbt[32];
	int f, fd, i;

	plan(1 + 2 + 12 + 1);
	base_seed = pattern_seed();
	op_bound_ms = env_uint("DAXLEASE_STRESS_OP_MS", DEFAULT_OP_MS);
	diag("%u s, %u ms per operation at most, %d pinners, %d mutators",
	     seconds, op_bound_ms, PINNERS, MUTATORS);

	was_loaded = module_begin();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		diag("PR_SET_CHILD_SUBREAPER: %s", errno_name(errno));
	sh = shared_alloc(sizeof(*sh));
	if (!sh)
		bail_out("no shared memory");
	for (i = 0; i < MAX_RECS; i++)
		sh->rec[i].file = -1;

	if (!ok(!verbs_open(&v, env_rxe()), T_RXE))
		bail_out("no rxe device");
	verbs_close(&v);
	if (!ok(create_files(), T_FILES))
		bail_out("cannot create the files");

	lbt_saved = !read_str(LBT_PATH, lbt, sizeof(lbt));
	if (!lbt_saved || write_str(LBT_PATH, LBT_S_TEXT))
		bail_out("cannot set %s", LBT_PATH);
	stopped = run(seconds);
	if (write_str(LBT_PATH, lbt))
		diag("cannot restore %s to %s", LBT_PATH, lbt);
	ok(stopped && sh->ops[OP_REG] && sh->ops[OP_URING_REG] &&
	   sh->ops[OP_TRUNC_DOWN] && sh->ops[OP_CHILD_REG] &&
	   sh->ops[OP_REG16], T_RAN);
	ok(sh->ops[OP_ANSWERED] && sh->ops[OP_REVOKED], T_BREAKS);
	ok(!sh->changed, T_CHANGED);
	ok(!sh->covered, T_COVERED);
	ok(!sh->unexpected && !sh->errors, T_EXPECTED);
	ok(!sh->hung, T_HUNG);
	ok(reap_rest(), T_REAPED);
	ok(gview_empty(), T_GVIEW);
	ok(fpins_is(0, ""), T_FPINS);

	pass = true;
	for (f = 0; f < NFILES; f++) {
		fd = open(files[f].path, O_RDONLY);
		if (fd < 0 || !model_matches(f, fd, "at the end"))
			pass = false;
		if (fd >= 0)
			close(fd);
	}
	ok(pass, T_CONTENT);
	pass = true;
	for (f = 0; f < NFILES; f++) {
		if (truncate(files[f].path, 0) || unlink(files[f].path)) {
			diag("%s: %s", files[f].path, errno_name(errno));
			pass = false;
		}
	}
	ok(pass, T_TRUNC);

	pass = !module_unload(DAXLEASE_MODULE_NAME);
	if (!pass)
		diag("delete_module: %s", errno_name(errno));
	ok(pass && !module_loaded(DAXLEASE_MODULE_NAME), T_UNLOAD);
	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   T_RESTORED, was_loaded ? "loaded again" : "left unloaded");
	summary();
	return done_testing();
}
