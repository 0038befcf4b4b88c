# The RDMA FLUSH tests' build, shared by tests/Makefile and
# tests/remote/Makefile (include it after setting flush_tests, tests, bindir
# and objdir). Those tests post RDMA FLUSH (ibv_wr_flush(), rdma-core 45 and
# later): they are built against the newer rdma-core of
# scripts/build-rdma-core and run with it through their rpath; every other
# test uses the system's.

# the rule below must not become the including Makefile's default goal
.DEFAULT_GOAL := all

flush_mk_dir := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
RDMA_CORE ?= $(shell $(flush_mk_dir)/../scripts/build-rdma-core)
flush_bins := $(addprefix $(bindir)/,$(filter $(flush_tests),$(tests)))
flush_objs := $(addprefix $(objdir)/,$(addsuffix .o,$(filter $(flush_tests),$(tests))))
# The guest does not see the host's cache (its /root and /tmp are tmpfs), so
# libibverbs and the rxe provider are copied next to the programs, in
# bin/.rdma-core (hidden from the runner's bin/*), found through $ORIGIN;
# the programs point RDMAV_DRIVERS at the provider there (lib/flushenv.c).
flush_rt := $(bindir)/.rdma-core
$(flush_objs): CPPFLAGS += -I$(RDMA_CORE)/include
$(flush_bins): LDFLAGS += -L$(RDMA_CORE)/lib -Wl,-rpath,'$$ORIGIN/.rdma-core'
$(flush_bins): | $(flush_rt)/.copied

$(flush_rt)/.copied:
	@mkdir -p $(@D)
	cp -L $(RDMA_CORE)/lib/libibverbs.so.1 $(RDMA_CORE)/lib/librxe-rdmav*.so $(@D)/
	@touch $@
