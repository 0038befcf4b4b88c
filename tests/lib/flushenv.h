/*
 * For the RDMA FLUSH tests, built against the rdma-core of
 * scripts/build-rdma-core (tests/Makefile): its libibverbs and rxe provider
 * are copied to .rdma-core beside the program, libibverbs found through the
 * program's $ORIGIN rpath.
 */
#ifndef DAXLEASE_FLUSHENV_H
#define DAXLEASE_FLUSHENV_H

/*
 * Point RDMAV_DRIVERS at the rxe provider in .rdma-core next to this
 * program: that libibverbs looks for providers in the host's cache, which
 * the guest does not see. Call before the first verb. 0, or -1 with a diag.
 */
int flush_rdma_core_env(void);

#endif
