/*
 * The kernel's gup_test (CONFIG_GUP_TEST, /sys/kernel/debug/gup_test):
 * its ioctls as mm/gup_test.h defines them (not a uapi header), and one
 * call of it, for the pin costs of hookcost and the stock floor of regmr.
 */
#ifndef DAXLEASE_GUP_TEST_H
#define DAXLEASE_GUP_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/types.h>

#define GUP_TEST_PATH	"/sys/kernel/debug/gup_test"

#define GUP_TEST_MAX_PAGES_TO_DUMP	8
struct gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];
};
#define PIN_FAST_BENCHMARK	_IOWR('g', 2, struct gup_test)
#define PIN_LONGTERM_BENCHMARK	_IOWR('g', 3, struct gup_test)
#define PIN_BASIC_TEST		_IOWR('g', 5, struct gup_test)

/* include/linux/mm_types.h, enum foll_flags */
#define FOLL_WRITE		(1 << 0)
#define FOLL_LONGTERM		(1 << 8)

/*
 * gup_test @cmd on the @size bytes at @addr, 512 pages per call (as RDMA
 * pins), with @flags: 0 with the timings in *@gup if it pinned all of
 * them, else -1 (errno set if the ioctl failed; gup->size what it pinned).
 */
static inline int gup_test_run(int fd, unsigned long cmd, const void *addr,
			       size_t size, unsigned int flags,
			       struct gup_test *gup)
{
	memset(gup, 0, sizeof(*gup));
	gup->addr = (uintptr_t)addr;
	gup->size = size;
	gup->nr_pages_per_call = 512;
	gup->gup_flags = flags;
	return ioctl(fd, cmd, gup) || gup->size != size ? -1 : 0;
}

#endif
