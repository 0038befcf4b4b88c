/* Seeded data pattern: see pattern.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "pattern.h"
#include "tap.h"

#define CHUNK (64 << 10)

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t pattern_seed(void)
{
	const char *env = env_get("DAXLEASE_SEED");
	uint64_t seed;

	if (env)
		seed = strtoull(env, NULL, 0);
	else if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	diag("pattern seed %#" PRIx64 " (DAXLEASE_SEED=%#" PRIx64 " repeats it)",
	     seed, seed);
	return seed;
}

uint64_t rng_next(uint64_t *state)
{
	*state += 1;
	return splitmix64(*state);
}

uint64_t rng_below(uint64_t *state, uint64_t n)
{
	return rng_next(state) % n;
}

uint8_t pattern_byte(uint64_t seed, uint64_t off)
{
	return splitmix64(seed + off / 8) >> (8 * (off % 8));
}

void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(seed, off + i);
}

ssize_t pattern_mismatch(const void *buf, size_t len, uint64_t seed,
			 uint64_t off)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(seed, off + i))
			return i;
	return -1;
}

int pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
	ssize_t bad = pattern_mismatch(buf, len, seed, off);

	if (bad < 0)
		return 0;
	diag("pattern mismatch at offset %#" PRIx64 ": expected %#04x, got %#04x",
	     off + bad, pattern_byte(seed, off + bad),
	     ((const uint8_t *)buf)[bad]);
	return -1;
}

int pattern_file_create(const char *dir, size_t size, uint64_t seed,
			char *path, size_t pathlen)
{
	static uint8_t buf[CHUNK];
	size_t off, n;
	int fd;

	if ((size_t)snprintf(path, pathlen, "%s/daxlease.XXXXXX", dir) >= pathlen) {
		diag("path too long in %s", dir);
		return -1;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		diag("mkstemp %s: %s", path, errno_name(errno));
		return -1;
	}
	for (off = 0; off < size; off += n) {
		n = size - off < CHUNK ? size - off : CHUNK;
		pattern_fill(buf, n, seed, off);
		errno = 0;
		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			diag("pwrite %s at %#zx: %s", path, off,
			     errno ? errno_name(errno) : "short write");
			goto fail;
		}
	}
	if (fsync(fd)) {
		diag("fsync %s: %s", path, errno_name(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

int pattern_file_check(int fd, size_t size, uint64_t seed)
{
	static uint8_t buf[CHUNK];
	size_t off, n;
	ssize_t got;

	for (off = 0; off < size; off += n) {
		n = size - off < CHUNK ? size - off : CHUNK;
		errno = 0;
		got = pread(fd, buf, n, off);
		if (got != (ssize_t)n) {
			diag("pread at %#zx: %s", off,
			     got < 0 ? errno_name(errno) : "short read");
			return -1;
		}
		if (pattern_check(buf, n, seed, off))
			return -1;
	}
	return 0;
}

bool file_close_unlink(int fd, const char *path)
{
	bool ok = true;

	if (close(fd)) {
		diag("close: %s", errno_name(errno));
		ok = false;
	}
	if (unlink(path)) {
		diag("unlink %s: %s", path, errno_name(errno));
		ok = false;
	}
	return ok;
}
