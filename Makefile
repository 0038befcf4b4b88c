# daxlease: see README.md. The kernel build is cached outside the repo
# (scripts/lib.sh); KDIR overrides the kernel tree the module builds against.

KDIR ?= $(shell scripts/build-kernel)

.PHONY: all deps kernel module tests tools check check-7 check-debug demo bench clean deb
.PHONY: install uninstall install-tools uninstall-tools install-module uninstall-module

# make install-tools: the daxlease command, its man pages and the uapi header.
PREFIX ?= /usr/local
sbindir ?= $(PREFIX)/sbin
mandir ?= $(PREFIX)/share/man
includedir ?= $(PREFIX)/include
libdir ?= $(PREFIX)/lib
preloaddir ?= $(libdir)/daxlease
man_pages := $(wildcard man/man[1-8]/*.[1-8])
installed := $(DESTDIR)$(sbindir)/daxlease \
	$(DESTDIR)$(preloaddir)/libdaxlease-preload.so \
	$(DESTDIR)$(includedir)/linux/daxlease.h \
	$(patsubst man/%,$(DESTDIR)$(mandir)/%,$(man_pages))

all: module tests tools

deps:
	scripts/install-deps

kernel:
	@scripts/build-kernel

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tests:
	$(MAKE) -C tests
	$(MAKE) -C tests/remote

tools: tools/daxlease tools/libdaxlease-preload.so

# CFLAGS, CPPFLAGS and LDFLAGS as a distribution's build sets them
CFLAGS ?= -O2 -g
tool_flags = -Wall -Wextra -Werror $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)

tools/daxlease: tools/daxlease.c include/uapi/linux/daxlease.h
	$(CC) $(tool_flags) -DPRELOAD_DIR='"$(preloaddir)"' -o $@ $<

# LD_PRELOADed by daxlease run into the process tree (tools/preload.c)
tools/libdaxlease-preload.so: tools/preload.c include/uapi/linux/daxlease.h
	$(CC) $(tool_flags) -fPIC -shared -o $@ $< -ldl -lpthread

check:
	scripts/check

# Debian packages daxlease-dkms and daxlease-tools in out/deb, lintian-clean.
deb:
	scripts/build-packages

# The whole suite on the 7.x kernel line (hooks-7/, scripts/lib.sh): a second
# cached kernel; the module is rebuilt against it.
check-7:
	DAXLEASE_LINE=7 scripts/check

# The whole suite on the debug kernel (KASAN, lockdep, kmemleak, fault
# injection): a separate cached kernel build; see README.
check-debug:
	DAXLEASE_KERNEL=debug scripts/check

install-tools: tools/daxlease tools/libdaxlease-preload.so
	install -D -m 0755 tools/daxlease $(DESTDIR)$(sbindir)/daxlease
	install -D -m 0644 tools/libdaxlease-preload.so \
		$(DESTDIR)$(preloaddir)/libdaxlease-preload.so
	install -D -m 0644 include/uapi/linux/daxlease.h \
		$(DESTDIR)$(includedir)/linux/daxlease.h
	for page in $(man_pages); do \
		install -D -m 0644 $$page $(DESTDIR)$(mandir)/$${page#man/} || exit; \
	done

uninstall-tools:
	rm -f $(installed)
	rmdir $(DESTDIR)$(preloaddir) 2>/dev/null || true

demo:
	scripts/demo

# Not part of check: boots three VMs, prints a table of ratios (README,
# "Performance").
bench:
	scripts/bench

# On a real machine, as root: the module through DKMS (scripts/dkms-module),
# for kernel KVER (default: the running one). README: Install on your machine.
install: install-tools install-module
uninstall: uninstall-tools uninstall-module

install-module:
	scripts/dkms-module install $(KVER)

uninstall-module:
	scripts/dkms-module uninstall

clean:
	$(MAKE) -C tests clean
	$(MAKE) -C tests/remote clean
	$(MAKE) -C bench clean
	rm -f tools/daxlease tools/libdaxlease-preload.so
	rm -rf out
	find module -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' | xargs -r rm -f
	rm -f Module.symvers modules.order
