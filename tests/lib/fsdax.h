/*
 * Files on the fsdax mounts: creation, mapping, registration as an MR, and
 * a snapshot of what a layout change would alter (size, blocks, FIEMAP
 * extent list, contents) to check that a refused one changed nothing.
 */
#ifndef DAXLEASE_FSDAX_H
#define DAXLEASE_FSDAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/fiemap.h>
#include <infiniband/verbs.h>

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/*
 * pattern_file_create() in @dir, then close and reopen it (so that nothing
 * left from the writes, such as post-EOF preallocation, changes at a later
 * close). Returns an O_RDWR fd, or -1 with a diag (also when @dir is NULL).
 */
int fs_file_create(const char *dir, size_t size, uint64_t seed, char *path,
		   size_t pathlen);

/* MAP_SHARED, PROT_READ|PROT_WRITE mapping of @fd from 0; NULL + diag. */
void *file_map(int fd, size_t len);

/* ibv_reg_mr(@pd, @addr, @len, MR_ACCESS); NULL + diag, errno kept. */
struct ibv_mr *mr_reg(struct ibv_pd *pd, void *addr, size_t len);

/* ibv_dereg_mr() of @mr if not NULL: 0, or -1 with a diag. */
int mr_dereg(struct ibv_mr *mr);

/*
 * Open @path again, take F_LAYOUT|F_EXCLUSIVE, map and register @len bytes,
 * then munmap and close: the MR outlives its mapping and every fd, so the
 * lease is orphaned. Returns the MR, or NULL with a diag; *@closed is true
 * when every step including munmap and close succeeded.
 */
struct ibv_mr *mr_pin_closed(struct ibv_pd *pd, const char *path, size_t len,
			     bool *closed);

#define FSTATE_MAX_EXTENTS	64
#define FSTATE_MAX_DATA		(64UL << 20)

struct file_state {
	off_t size;
	blkcnt_t blocks;
	unsigned int nr_extents;
	struct fiemap_extent extents[FSTATE_MAX_EXTENTS];
	size_t len;		/* bytes in @data: the whole file */
	uint8_t *data;
};

/* Snapshot @fd (fstat, FS_IOC_FIEMAP, pread). 0, or -1 with a diag. */
int file_state_get(int fd, struct file_state *s);

/* The same through a fresh O_RDONLY fd of @path, closed again. */
int file_state_path(const char *path, struct file_state *s);

/* True if @a and @b agree in everything; a diag per kind of difference. */
bool file_state_same(const struct file_state *a, const struct file_state *b);

/* The same comparison, silent. */
bool file_state_equal(const struct file_state *a, const struct file_state *b);

/* Do the physical ranges of @a and @b overlap anywhere (FIEMAP)? */
bool extents_overlap(const struct file_state *a, const struct file_state *b);

void file_state_free(struct file_state *s);

#endif
