/*
 * Registration cost: ibv_reg_mr()/ibv_dereg_mr() latency of the same
 * length of leased fsdax files (XFS and ext4, F_LAYOUT|F_EXCLUSIVE), of
 * anonymous memory and of device-dax, repetitions interleaved across the
 * kinds. Needs the daxlease module loaded. Appends to regmr.csv:
 *
 *   size,kind,reg_ns,dereg_ns,reg_min_ns,reg_max_ns,reps,dereg_min_ns,dereg_max_ns
 *
 * and, once per kind, how its buffer ended up mapped to mapping.csv:
 *
 *   kind,bytes,present_bytes,pmd_bytes
 *
 * and the stock floor of the same pins without daxlease to gupfloor.csv:
 * gup_test's PIN_BASIC_TEST, pin_user_pages() 512 pages per call as RDMA
 * does but short-term (FOLL_WRITE, no FOLL_LONGTERM: no hook is on that
 * path), and its unpin_user_pages(), of 1M, 16M and 256M of each buffer:
 *
 *   size,kind,pin_ns,unpin_ns,reps
 *
 *   regmr MAXSIZE	(e.g. 1G: sizes 4K, 64K, 1M, 16M, 256M, 1G)
 *
 * Every buffer is mapped once at the largest size and every page written
 * before the first registration, so page allocation and first faults are outside
 * the timing for all kinds; an MR covers a prefix of it.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fs.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "gup_test.h"
#include "lease.h"
#include "tap.h"
#include "verbs.h"

/*
 * anon as the system's THP default gives it (2 MiB folios where it can),
 * anon4k with MADV_NOHUGEPAGE: pinning costs per folio, the like-for-like
 * baseline for 4 KiB-mapped memory. xfs and ext4: one leased file on each,
 * set up as pmem deployments do (scripts/bench's guest side makes the file
 * systems with a 2 MiB stripe unit and gives XFS a 2 MiB extent size hint;
 * the file is allocated 2 MiB at a time), mapped so that it gets 2 MiB
 * (PMD) entries where it can; xfs4k and ext4_4k are a second mapping of the
 * same file with MADV_NOHUGEPAGE, so 4 KiB entries only. devdax is the
 * floor: the same ZONE_DEVICE pages through the same GUP path, with no file
 * system and no lease (2 MiB entries). ext4's 512 MiB file system holds up
 * to 256 MiB; device-dax has its region's size (256 MiB).
 */
enum kind { ANON, ANON4K, XFS, XFS4K, EXT4, EXT44K, DEVDAX, NR_KINDS };

static const char *const kind_name[NR_KINDS] = {
	"anon", "anon4k", "xfs", "xfs4k", "ext4", "ext4_4k", "devdax",
};

#define EXT4_MAX	(256 * MiB)

#define HUGE		(2 * MiB)

struct buffer {
	char *addr;
	size_t len;	/* 0: not available */
};

/*
 * Write-fault every page of @addr (one byte per 4 KiB): what registration
 * needs populated. A memset of gigabytes would cost one TCG instruction
 * per byte (rep stosb) in the instruction-count VM.
 */
static void touch(char *addr, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += 4 * KiB)
		addr[off] = 0x5a;
}

static int reps_for(size_t size)
{
	if (size <= MiB)
		return 31;
	if (size <= 16 * MiB)
		return 11;
	if (size <= 256 * MiB)
		return 5;
	return 3;
}

/* Size of device-dax @dev (/dev/daxX.Y) from sysfs; 0 with a diag. */
static size_t devdax_size(const char *dev)
{
	const char *name = strrchr(dev, '/');
	char path[256];
	unsigned long long size = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size",
		 name ? name + 1 : dev);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &size) != 1)
		diag("read %s: %s", path, errno_name(errno));
	if (f)
		fclose(f);
	return size;
}

static int map_anon(struct buffer *b, size_t len, bool small_pages)
{
	b->addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->addr == MAP_FAILED) {
		diag("mmap %zu anonymous bytes: %s", len, errno_name(errno));
		return -1;
	}
	if (small_pages)
		madvise(b->addr, len, MADV_NOHUGEPAGE);
	touch(b->addr, len);
	b->len = len;
	return 0;
}

/*
 * A @len file in @dir, allocated HUGE bytes at a time (a request of
 * exactly the stripe unit is what both allocators align: ext4's buddy
 * allocator and its stripe, XFS's stripe unit and its extent size hint),
 * leased F_LAYOUT|F_EXCLUSIVE; its path in @path. Returns the fd, or -1
 * with a diag.
 */
static int create_leased(const char *dir, size_t len, char *path)
{
	size_t off;
	int fd;

	if (!dir) {
		diag("no directory for the file");
		return -1;
	}
	snprintf(path, 4096, "%s/regmr.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		diag("mkstemp %s: %s", path, errno_name(errno));
		return -1;
	}
	for (off = 0; off < len; off += HUGE) {
		if (fallocate(fd, 0, off, len - off < HUGE ? len - off : HUGE)) {
			diag("fallocate %s at %zu: %s", path, off,
			     errno_name(errno));
			return -1;
		}
	}
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE F_LAYOUT|F_EXCLUSIVE: %s", errno_name(errno));
		return -1;
	}
	return fd;
}

/*
 * Map @fd into @b and write it: with 2 MiB entries where the file's
 * extents allow (the kernel aligns the address of a DAX mapping), or with
 * @small_pages 4 KiB entries only (MADV_NOHUGEPAGE before the first
 * fault).
 */
static int map_file(struct buffer *b, int fd, size_t len, bool small_pages)
{
	b->addr = file_map(fd, len);
	if (!b->addr)
		return -1;
	if (small_pages && madvise(b->addr, len, MADV_NOHUGEPAGE)) {
		diag("madvise MADV_NOHUGEPAGE: %s", errno_name(errno));
		return -1;
	}
	touch(b->addr, len);
	b->len = len;
	return 0;
}

/* From <linux/fs.h> of 6.7 and later (the host's headers may be older). */
#ifndef PAGEMAP_SCAN
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_HUGE		(1 << 6)
#endif

/*
 * How @b is mapped, by the page tables (PAGEMAP_SCAN of
 * /proc/self/pagemap): bytes present, and of those mapped by PMD entries
 * (PAGE_IS_HUGE: a huge page table entry, here the DAX 2 MiB ones).
 */
static int mapping_sizes(const struct buffer *b, uint64_t *present,
			 uint64_t *pmd)
{
	struct page_region vec[256];
	struct pm_scan_arg arg;
	uint64_t start = (uintptr_t)b->addr, end = start + b->len;
	int fd, n, i;

	*present = *pmd = 0;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		diag("open /proc/self/pagemap: %s", errno_name(errno));
		return -1;
	}
	while (start < end) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = start;
		arg.end = end;
		arg.vec = (uintptr_t)vec;
		arg.vec_len = sizeof(vec) / sizeof(vec[0]);
		arg.category_anyof_mask = PAGE_IS_PRESENT;
		arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE;
		n = ioctl(fd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			diag("PAGEMAP_SCAN: %s", errno_name(errno));
			close(fd);
			return -1;
		}
		for (i = 0; i < n; i++) {
			*present += vec[i].end - vec[i].start;
			if (vec[i].categories & PAGE_IS_HUGE)
				*pmd += vec[i].end - vec[i].start;
		}
		if (arg.walk_end <= start)
			break;
		start = arg.walk_end;
	}
	close(fd);
	return 0;
}

static void map_devdax(struct buffer *b, size_t max)
{
	const char *dev = env_get("DAXLEASE_DEVDAX");
	size_t size;
	int fd;

	if (!dev) {
		diag("DAXLEASE_DEVDAX is not set: no device-dax column");
		return;
	}
	size = devdax_size(dev);
	/* device-dax maps in its 2 MiB alignment */
	size &= ~(2 * MiB - 1);
	if (size > max)
		size = max;
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		diag("open %s: %s", dev, errno_name(errno));
		return;
	}
	b->addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (b->addr == MAP_FAILED) {
		diag("mmap %s %zu bytes: %s", dev, size, errno_name(errno));
		return;
	}
	touch(b->addr, size);
	b->len = size;
}

/* The stock floor: short-term pins of the same buffers (gupfloor.csv). */
static int gup_floor(const struct buffer *buf, size_t max)
{
	static const size_t sizes[] = { MiB, 16 * MiB, 256 * MiB };
	double pin[NR_KINDS][5], unpin[NR_KINDS][5];
	struct gup_test gup;
	size_t si;
	FILE *csv;
	int fd, k, r;

	csv = csv_open("gupfloor.csv", "size,kind,pin_ns,unpin_ns,reps");
	if (!csv)
		return -1;
	fd = open(GUP_TEST_PATH, O_RDWR);
	if (fd < 0) {
		diag("open %s: %s", GUP_TEST_PATH, errno_name(errno));
		fclose(csv);
		return -1;
	}
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t size = sizes[si];
		int reps = size < 256 * MiB ? 5 : 3;

		if (size > max)
			break;
		for (r = 0; r < reps; r++) {
			for (k = ANON4K; k < NR_KINDS; k++) {
				if (buf[k].len < size)
					continue;
				if (gup_test_run(fd, PIN_BASIC_TEST,
						 buf[k].addr, size, FOLL_WRITE,
						 &gup)) {
					diag("PIN_BASIC_TEST %s %zu: %s",
					     kind_name[k], size,
					     errno_name(errno));
					close(fd);
					fclose(csv);
					return -1;
				}
				pin[k][r] = gup.get_delta_usec * 1000.0;
				unpin[k][r] = gup.put_delta_usec * 1000.0;
			}
		}
		for (k = ANON4K; k < NR_KINDS; k++) {
			if (buf[k].len < size)
				continue;
			fprintf(csv, "%zu,%s,%.0f,%.0f,%d\n", size, kind_name[k],
				median(pin[k], reps), median(unpin[k], reps),
				reps);
		}
	}
	close(fd);
	fclose(csv);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {
		4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB,
	};
	static double reg[NR_KINDS][31], dereg[NR_KINDS][31];
	struct buffer buf[NR_KINDS] = { };
	char xfs_path[4096], ext4_path[4096];
	size_t max, ext4_max, si;
	int xfs_fd, ext4_fd, k;
	FILE *csv, *map_csv;
	struct verbs v;

	max = argc == 2 ? size_parse(argv[1]) : 0;
	if (!max) {
		diag("usage: regmr MAXSIZE (4K..1G)");
		return 2;
	}
	csv = csv_open("regmr.csv",
		       "size,kind,reg_ns,dereg_ns,reg_min_ns,reg_max_ns,reps,dereg_min_ns,dereg_max_ns");
	map_csv = csv_open("mapping.csv", "kind,bytes,present_bytes,pmd_bytes");
	if (!csv || !map_csv || verbs_open(&v, env_rxe()))
		return 1;

	if (map_anon(&buf[ANON], max, false) || map_anon(&buf[ANON4K], max, true))
		return 1;

	/* the 2 MiB mappings are written first: their faults install PMD entries */
	ext4_max = max < EXT4_MAX ? max : EXT4_MAX;
	xfs_fd = create_leased(env_get("DAXLEASE_XFS"), max, xfs_path);
	ext4_fd = create_leased(env_get("DAXLEASE_EXT4"), ext4_max, ext4_path);
	if (xfs_fd < 0 || ext4_fd < 0 ||
	    map_file(&buf[XFS], xfs_fd, max, false) ||
	    map_file(&buf[EXT4], ext4_fd, ext4_max, false) ||
	    map_file(&buf[XFS4K], xfs_fd, max, true) ||
	    map_file(&buf[EXT44K], ext4_fd, ext4_max, true))
		return 1;

	map_devdax(&buf[DEVDAX], max);

	for (k = 0; k < NR_KINDS; k++) {
		uint64_t present, pmd;

		if (!buf[k].len || mapping_sizes(&buf[k], &present, &pmd))
			continue;
		fprintf(map_csv, "%s,%zu,%llu,%llu\n", kind_name[k], buf[k].len,
			(unsigned long long)present, (unsigned long long)pmd);
	}
	fclose(map_csv);

	if (gup_floor(buf, max))
		return 1;

	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t size = sizes[si];
		int reps = reps_for(size), r;

		if (size > max)
			break;
		for (r = 0; r < reps; r++) {
			for (k = 0; k < NR_KINDS; k++) {
				struct ibv_mr *mr;
				uint64_t t0, t1;

				if (buf[k].len < size)
					continue;
				t0 = now_ns();
				mr = mr_reg(v.pd, buf[k].addr, size);
				t1 = now_ns();
				if (!mr)
					return 1;
				reg[k][r] = t1 - t0;
				t0 = now_ns();
				if (mr_dereg(mr))
					return 1;
				dereg[k][r] = now_ns() - t0;
			}
		}
		for (k = 0; k < NR_KINDS; k++) {
			if (buf[k].len < size)
				continue;
			fprintf(csv, "%zu,%s,%.0f,%.0f,%.0f,%.0f,%d,%.0f,%.0f\n",
				size, kind_name[k], median(reg[k], reps),
				median(dereg[k], reps), min_of(reg[k], reps),
				max_of(reg[k], reps), reps,
				min_of(dereg[k], reps), max_of(dereg[k], reps));
		}
		fflush(csv);
	}
	fclose(csv);
	for (k = XFS; k <= EXT44K; k++)
		munmap(buf[k].addr, buf[k].len);
	close(xfs_fd);
	close(ext4_fd);
	unlink(xfs_path);
	unlink(ext4_path);
	verbs_close(&v);
	return 0;
}
