/*
 * Registration cost: ibv_reg_mr()/ibv_dereg_mr() latency of the same
 * length of a leased fsdax file (XFS, F_LAYOUT|F_EXCLUSIVE), of anonymous
 * memory and of device-dax, repetitions interleaved across the three.
 * Needs the daxlease module loaded. Appends to regmr.csv:
 *
 *   size,kind,reg_ns,dereg_ns,reg_min_ns,reg_max_ns,reps
 *
 *   regmr MAXSIZE	(e.g. 1G: sizes 4K, 64K, 1M, 16M, 256M, 1G)
 *
 * Every buffer is mapped once at the largest size and written before the
 * first registration, so page allocation and first faults are outside
 * the timing for all three; an MR covers a prefix of it.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "env.h"
#include "fsdax.h"
#include "lease.h"
#include "tap.h"
#include "verbs.h"

/*
 * anon as the system's THP default gives it (2 MiB folios where it can),
 * anon4k with MADV_NOHUGEPAGE: pinning costs per folio, and fsdax and
 * device-dax pages are pinned one 4 KiB page at a time, so anon4k is the
 * like-for-like baseline and anon the one users see. fsdax is the XFS
 * file, ext4 the same on ext4 (its 512 MiB filesystem holds up to 256 MiB):
 * they differ in how their files are mapped (4 KiB or 2 MiB entries).
 */
enum kind { ANON, ANON4K, FSDAX, EXT4, DEVDAX, NR_KINDS };

static const char *const kind_name[NR_KINDS] = {
	"anon", "anon4k", "fsdax", "ext4", "devdax",
};

#define EXT4_MAX	(256 * MiB)

struct buffer {
	char *addr;
	size_t len;	/* 0: not available */
};

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
	memset(b->addr, 0x5a, len);
	b->len = len;
	return 0;
}

/*
 * A @len file in @dir, leased F_LAYOUT|F_EXCLUSIVE, mapped and written
 * into @b; its path in @path. Returns the fd, or -1 with a diag.
 */
static int map_leased(struct buffer *b, const char *dir, size_t len,
		      char *path)
{
	int fd = fs_file_create(dir, len, 3, path, 4096);

	if (fd < 0)
		return -1;
	if (lease_set(fd, F_UNBREAKABLE)) {
		diag("F_SETLEASE F_LAYOUT|F_EXCLUSIVE: %s", errno_name(errno));
		return -1;
	}
	b->addr = file_map(fd, len);
	if (!b->addr)
		return -1;
	memset(b->addr, 0x5a, len);
	b->len = len;
	return fd;
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
	memset(b->addr, 0x5a, size);
	b->len = size;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {
		4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB,
	};
	struct buffer buf[NR_KINDS] = { };
	double reg[NR_KINDS][31], dereg[NR_KINDS][31];
	char path[4096], ext4_path[4096];
	struct verbs v;
	size_t max, si;
	FILE *csv;
	int fd, ext4_fd, k;

	max = argc == 2 ? size_parse(argv[1]) : 0;
	if (!max) {
		diag("usage: regmr MAXSIZE (4K..1G)");
		return 2;
	}
	csv = csv_open("regmr.csv",
		       "size,kind,reg_ns,dereg_ns,reg_min_ns,reg_max_ns,reps");
	if (!csv || verbs_open(&v, env_rxe()))
		return 1;

	if (map_anon(&buf[ANON], max, false) || map_anon(&buf[ANON4K], max, true))
		return 1;

	fd = map_leased(&buf[FSDAX], env_get("DAXLEASE_XFS"), max, path);
	ext4_fd = map_leased(&buf[EXT4], env_get("DAXLEASE_EXT4"),
			     max < EXT4_MAX ? max : EXT4_MAX, ext4_path);
	if (fd < 0 || ext4_fd < 0)
		return 1;

	map_devdax(&buf[DEVDAX], max);

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
			fprintf(csv, "%zu,%s,%.0f,%.0f,%.0f,%.0f,%d\n", size,
				kind_name[k], median(reg[k], reps),
				median(dereg[k], reps), min_of(reg[k], reps),
				max_of(reg[k], reps), reps);
		}
		fflush(csv);
	}
	fclose(csv);
	munmap(buf[FSDAX].addr, buf[FSDAX].len);
	munmap(buf[EXT4].addr, buf[EXT4].len);
	close(fd);
	close(ext4_fd);
	unlink(path);
	unlink(ext4_path);
	verbs_close(&v);
	return 0;
}
