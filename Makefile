# daxlease: see README.md. The kernel build is cached outside the repo
# (scripts/lib.sh); KDIR overrides the kernel tree the module builds against.

KDIR ?= $(shell scripts/build-kernel)

.PHONY: all deps kernel module tests tools check demo clean
.PHONY: install uninstall install-module uninstall-module

all: module tests tools

deps:
	scripts/install-deps

kernel:
	@scripts/build-kernel

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tests:
	$(MAKE) -C tests

tools: tools/daxlease

tools/daxlease: tools/daxlease.c include/uapi/linux/daxlease.h
	$(CC) -Wall -Wextra -Werror -O2 -o $@ $<

check:
	scripts/check

demo:
	scripts/demo

# On a real machine, as root: the module through DKMS (scripts/dkms-module),
# for kernel KVER (default: the running one). README: Install on your machine.
install: install-module
uninstall: uninstall-module

install-module:
	scripts/dkms-module install $(KVER)

uninstall-module:
	scripts/dkms-module uninstall

clean:
	$(MAKE) -C tests clean
	rm -f tools/daxlease
	rm -rf out
	find module -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' | xargs -r rm -f
	rm -f Module.symvers modules.order
