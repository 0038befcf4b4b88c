/*
 * Seeded data pattern for buffers and files. Every 8-byte word is
 * splitmix64(seed + word index), so data landing at the wrong offset (a
 * wrong page, say) never matches, unlike a pattern of short period.
 */
#ifndef DAXLEASE_PATTERN_H
#define DAXLEASE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Seed from DAXLEASE_SEED if set, else random; printed as a diag. */
uint64_t pattern_seed(void);

/*
 * Seeded randomness for the stress and fuzz tests: the next value of the
 * splitmix64 sequence kept in *@state (the pattern's generator), and one
 * below @n (@n > 0).
 */
uint64_t rng_next(uint64_t *state);
uint64_t rng_below(uint64_t *state, uint64_t n);

/* Expected byte at offset @off of the pattern for @seed. */
uint8_t pattern_byte(uint64_t seed, uint64_t off);

/* Fill @buf with the pattern, buf[0] being the byte at offset @off. */
void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off);

/* Index of the first byte of @buf not matching, or -1 if all do. */
ssize_t pattern_mismatch(const void *buf, size_t len, uint64_t seed,
			 uint64_t off);

/* As pattern_mismatch(), with a diag on mismatch; 0 if all match. */
int pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off);

/*
 * Create a file in @dir of @size bytes holding the pattern (pwrite, then
 * fsync), name it in @path. Returns an O_RDWR fd, or -1 with a diag.
 */
int pattern_file_create(const char *dir, size_t size, uint64_t seed,
			char *path, size_t pathlen);

/* Read @fd back with pread: 0 if it holds the pattern, -1 with a diag. */
int pattern_file_check(int fd, size_t size, uint64_t seed);

/* close(@fd) and unlink(@path), with a diag for each failure: true if both
 * succeeded. */
bool file_close_unlink(int fd, const char *path);

#endif
