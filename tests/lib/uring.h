/*
 * io_uring fixed buffers through raw syscalls (no liburing): the other
 * long-term pinner a user can reach besides RDMA. Since hooks/0008 its
 * pins of leased fsdax pages are owned by the mm of the registering
 * process.
 */
#ifndef DAXLEASE_URING_H
#define DAXLEASE_URING_H

#include <stdbool.h>
#include <stddef.h>

/* A new io_uring instance (4 entries): its fd, or -1 with a diag. */
int uring_new(void);

/* IORING_REGISTER_BUFFERS of @len bytes at @addr: 0 or the errno. Silent. */
int uring_register(int ring, void *addr, size_t len);

/*
 * uring_register() on @ring (-1: the setup failed) expecting @want (0 or
 * an errno); a diag if it differs.
 */
bool uring_register_is(int ring, void *addr, size_t len, int want);

/* IORING_UNREGISTER_BUFFERS: true, or false with a diag. */
bool uring_unregister(int ring);

#endif
