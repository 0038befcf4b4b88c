# daxlease: see README.md. The kernel build is cached outside the repo
# (scripts/lib.sh); KDIR overrides the kernel tree the module builds against.

KDIR ?= $(shell scripts/build-kernel)

.PHONY: all deps kernel module tests check demo clean

all: module tests

deps:
	scripts/install-deps

kernel:
	@scripts/build-kernel

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tests:
	$(MAKE) -C tests

check:
	scripts/check

demo:
	scripts/demo

clean:
	$(MAKE) -C tests clean
	rm -rf out
	find module -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' | xargs -r rm -f
	rm -f Module.symvers modules.order
