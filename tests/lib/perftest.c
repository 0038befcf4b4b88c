/* What perftest's ib_write_bw leaves in its --mmap files: see perftest.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsdax.h"
#include "pattern.h"
#include "perftest.h"
#include "tap.h"

/* @len bytes of @path at @off; NULL with a diag. */
static uint8_t *file_bytes(const char *path, off_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	ssize_t n = -1;

	if (buf && fd >= 0)
		n = pread(fd, buf, len, off);
	if (n != (ssize_t)len) {
		diag("pread %s: %s", path, n < 0 ? errno_name(errno) : "short");
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

void bw_landing_read(struct bw_landing *l, const char *dst, const char *src,
		     size_t size, uint64_t seed)
{
	uint8_t *sent = file_bytes(src, 0, 2 * BW_MSG);
	uint8_t *landed = file_bytes(dst, BW_MSG, BW_MSG);
	struct file_state after = { 0 };

	l->src_halves_differ = sent && memcmp(sent, sent + BW_MSG, BW_MSG);
	l->landed = sent && landed && !memcmp(landed, sent, BW_MSG);
	if (sent && landed && !l->landed)
		diag("DST[4K] starts %02x %02x %02x %02x, SRC[0] %02x %02x %02x %02x",
		     landed[0], landed[1], landed[2], landed[3],
		     sent[0], sent[1], sent[2], sent[3]);
	l->rest_kept = !file_state_path(dst, &after) &&
		       after.size == (off_t)size &&
		       pattern_mismatch(after.data + 2 * BW_MSG,
					size - 2 * BW_MSG, seed,
					2 * BW_MSG) == -1;
	file_state_free(&after);
	free(sent);
	free(landed);
}
