/* Files on the fsdax mounts: see fsdax.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "fsdax.h"
#include "lease.h"
#include "pattern.h"
#include "tap.h"

int fs_file_create(const char *dir, size_t size, uint64_t seed, char *path,
		   size_t pathlen)
{
	int fd;

	if (!dir) {
		diag("no directory to create the file in");
		return -1;
	}
	fd = pattern_file_create(dir, size, seed, path, pathlen);
	if (fd < 0)
		return -1;
	close(fd);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("reopen %s: %s", path, errno_name(errno));
		unlink(path);
	}
	return fd;
}

void *file_map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p != MAP_FAILED)
		return p;
	diag("mmap MAP_SHARED %zu bytes: %s", len, errno_name(errno));
	return NULL;
}

struct ibv_mr *mr_reg(struct ibv_pd *pd, void *addr, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, addr, len, MR_ACCESS);

	if (!mr)
		diag("ibv_reg_mr %p+%#zx: %s", addr, len, errno_name(errno));
	return mr;
}

int mr_dereg(struct ibv_mr *mr)
{
	int err = mr ? ibv_dereg_mr(mr) : 0;

	if (err)
		diag("ibv_dereg_mr: %s", errno_name(err));
	return err ? -1 : 0;
}

static int get_extents(int fd, struct file_state *s)
{
	struct fiemap *fm;
	size_t size;
	int ret = -1;

	size = sizeof(*fm) + FSTATE_MAX_EXTENTS * sizeof(fm->fm_extents[0]);
	fm = calloc(1, size);
	if (!fm) {
		diag("out of memory");
		return -1;
	}
	fm->fm_start = 0;
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = FSTATE_MAX_EXTENTS;
	if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
		diag("FS_IOC_FIEMAP: %s", errno_name(errno));
	} else if (fm->fm_mapped_extents == FSTATE_MAX_EXTENTS &&
		   !(fm->fm_extents[FSTATE_MAX_EXTENTS - 1].fe_flags &
		     FIEMAP_EXTENT_LAST)) {
		diag("more than %d extents", FSTATE_MAX_EXTENTS);
	} else {
		s->nr_extents = fm->fm_mapped_extents;
		memcpy(s->extents, fm->fm_extents,
		       s->nr_extents * sizeof(fm->fm_extents[0]));
		ret = 0;
	}
	free(fm);
	return ret;
}

int file_state_get(int fd, struct file_state *s)
{
	struct stat st;
	size_t off;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (fstat(fd, &st)) {
		diag("fstat: %s", errno_name(errno));
		return -1;
	}
	s->size = st.st_size;
	s->blocks = st.st_blocks;
	if (get_extents(fd, s))
		return -1;
	if ((size_t)st.st_size > FSTATE_MAX_DATA) {
		diag("file of %lld bytes too large to snapshot",
		     (long long)st.st_size);
		return -1;
	}
	s->len = st.st_size;
	s->data = malloc(s->len ? s->len : 1);
	if (!s->data) {
		diag("out of memory");
		return -1;
	}
	for (off = 0; off < s->len; off += n) {
		n = pread(fd, s->data + off, s->len - off, off);
		if (n <= 0) {
			diag("pread at %#zx: %s", off,
			     n < 0 ? errno_name(errno) : "unexpected EOF");
			file_state_free(s);
			return -1;
		}
	}
	return 0;
}

int file_state_path(const char *path, struct file_state *s)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0) {
		memset(s, 0, sizeof(*s));
		diag("open %s: %s", path, errno_name(errno));
		return -1;
	}
	ret = file_state_get(fd, s);
	close(fd);
	return ret;
}

static bool extent_same(const struct fiemap_extent *a,
			const struct fiemap_extent *b, unsigned int i,
			bool quiet)
{
	if (a->fe_logical == b->fe_logical &&
	    a->fe_physical == b->fe_physical &&
	    a->fe_length == b->fe_length && a->fe_flags == b->fe_flags)
		return true;
	if (quiet)
		return false;
	diag("extent %u was logical %#llx physical %#llx length %#llx flags %#x",
	     i, (unsigned long long)a->fe_logical,
	     (unsigned long long)a->fe_physical,
	     (unsigned long long)a->fe_length, a->fe_flags);
	diag("extent %u now logical %#llx physical %#llx length %#llx flags %#x",
	     i, (unsigned long long)b->fe_logical,
	     (unsigned long long)b->fe_physical,
	     (unsigned long long)b->fe_length, b->fe_flags);
	return false;
}

static bool compare_extents_quiet(const struct file_state *a,
				  const struct file_state *b)
{
	unsigned int i;

	for (i = 0; i < a->nr_extents; i++)
		if (!extent_same(&a->extents[i], &b->extents[i], i, true))
			return false;
	return true;
}

static bool compare(const struct file_state *a, const struct file_state *b,
		    bool quiet)
{
	bool same = true;
	unsigned int i, n;
	size_t off, len;

	if (quiet)
		return a->size == b->size && a->blocks == b->blocks &&
		       a->nr_extents == b->nr_extents &&
		       compare_extents_quiet(a, b) && a->len == b->len &&
		       (!a->len || (a->data && b->data &&
				    !memcmp(a->data, b->data, a->len)));
	if (a->size != b->size) {
		diag("size changed from %lld to %lld", (long long)a->size,
		     (long long)b->size);
		same = false;
	}
	if (a->blocks != b->blocks) {
		diag("st_blocks changed from %lld to %lld",
		     (long long)a->blocks, (long long)b->blocks);
		same = false;
	}
	if (a->nr_extents != b->nr_extents) {
		diag("extent count changed from %u to %u", a->nr_extents,
		     b->nr_extents);
		same = false;
	}
	n = a->nr_extents < b->nr_extents ? a->nr_extents : b->nr_extents;
	for (i = 0; i < n; i++) {
		if (!extent_same(&a->extents[i], &b->extents[i], i, false)) {
			same = false;
			break;
		}
	}
	len = a->len < b->len ? a->len : b->len;
	if ((!a->data || !b->data) && len) {
		diag("no contents to compare");
		return false;
	}
	if (len && memcmp(a->data, b->data, len)) {
		for (off = 0; a->data[off] == b->data[off]; off++)
			;
		diag("contents changed at offset %#zx: 0x%02x became 0x%02x",
		     off, a->data[off], b->data[off]);
		same = false;
	}
	return same;
}

bool file_state_same(const struct file_state *a, const struct file_state *b)
{
	return compare(a, b, false);
}

bool file_state_equal(const struct file_state *a, const struct file_state *b)
{
	return compare(a, b, true);
}

bool extents_overlap(const struct file_state *a, const struct file_state *b)
{
	unsigned int i, j;

	for (i = 0; i < a->nr_extents; i++)
		for (j = 0; j < b->nr_extents; j++) {
			const struct fiemap_extent *x = &a->extents[i];
			const struct fiemap_extent *y = &b->extents[j];

			if (x->fe_physical < y->fe_physical + y->fe_length &&
			    y->fe_physical < x->fe_physical + x->fe_length)
				return true;
		}
	return false;
}

void file_state_free(struct file_state *s)
{
	free(s->data);
	s->data = NULL;
	s->len = 0;
}

struct ibv_mr *mr_pin_closed(struct ibv_pd *pd, const char *path, size_t len,
			     bool *closed)
{
	struct ibv_mr *mr = NULL;
	void *map = NULL;
	int fd;

	*closed = false;
	fd = open(path, O_RDWR);
	if (fd < 0) {
		diag("open %s: %s", path, errno_name(errno));
		return NULL;
	}
	if (lease_set(fd, F_UNBREAKABLE))
		diag("F_SETLEASE 48: %s", errno_name(errno));
	else
		map = file_map(fd, len);
	if (map)
		mr = mr_reg(pd, map, len);
	*closed = mr != NULL;
	if (map && munmap(map, len)) {
		diag("munmap: %s", errno_name(errno));
		*closed = false;
	}
	if (close(fd)) {
		diag("close: %s", errno_name(errno));
		*closed = false;
	}
	return mr;
}
