/*
 * PID 1 of the initramfs that boots Debian's stock kernel in the test VM
 * (scripts/stock-kernel builds it): the stock kernel has 9p as modules, so
 * this loads the modules listed in /modules (one file name a line, in
 * dependency order), mounts the 9p root named by root= with rootfstype= and
 * rootflags= from the kernel command line, moves it over / and execs its
 * init= (scripts/guest-init), as a kernel with built-in 9p would.
 * Static, no shell: the initramfs holds only this, the list and the modules.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static void fail(const char *what)
{
	fprintf(stderr, "stock-init: %s: %s\n", what, strerror(errno));
	/* PID 1 must not exit: the kernel would panic with a less clear text */
	for (;;)
		pause();
}

/* Value of @key= on the kernel command line @cmdline, or NULL. */
static const char *cmdline_get(char *cmdline, const char *key, char *buf,
			       size_t size)
{
	size_t len = strlen(key);
	char *p;

	for (p = cmdline; (p = strstr(p, key)); p += len) {
		if ((p != cmdline && p[-1] != ' ') || p[len] != '=')
			continue;
		snprintf(buf, size, "%.*s", (int)strcspn(p + len + 1, " \n"),
			 p + len + 1);
		return buf;
	}
	return NULL;
}

static void load_modules(void)
{
	char name[256];
	FILE *list = fopen("/modules", "r");

	if (!list)
		fail("/modules");
	while (fgets(name, sizeof(name), list)) {
		int fd, flags;

		name[strcspn(name, "\n")] = '\0';
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(name);
		flags = strstr(name, ".ko.") ? MODULE_INIT_COMPRESSED_FILE : 0;
		if (syscall(SYS_finit_module, fd, "", flags) && errno != EEXIST)
			fail(name);
		close(fd);
	}
	fclose(list);
}

int main(void)
{
	char cmdline[4096] = "", root[256], type[64], flags[512], init[512];
	int fd, tries;
	ssize_t len;

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/newroot", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL))
		fail("mount /dev");
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (mount("proc", "/proc", "proc", 0, NULL))
		fail("mount /proc");
	fd = open("/proc/cmdline", O_RDONLY);
	len = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);
	if (len <= 0)
		fail("/proc/cmdline");
	cmdline[len] = '\0';
	close(fd);
	if (!cmdline_get(cmdline, "root", root, sizeof(root)) ||
	    !cmdline_get(cmdline, "rootfstype", type, sizeof(type)) ||
	    !cmdline_get(cmdline, "init", init, sizeof(init))) {
		errno = EINVAL;
		fail("kernel command line needs root=, rootfstype= and init=");
	}
	if (!cmdline_get(cmdline, "rootflags", flags, sizeof(flags)))
		flags[0] = '\0';

	load_modules();

	/* the transport's device may be probed just after its module loads */
	for (tries = 0; mount(root, "/newroot", type, MS_RDONLY, flags); tries++) {
		if (tries == 50)
			fail("mount root");
		usleep(100000);
	}
	umount("/proc");
	umount("/dev");
	if (chdir("/newroot") || mount(".", "/", NULL, MS_MOVE, NULL) ||
	    chroot(".") || chdir("/"))
		fail("switch to the new root");
	execl(init, init, (char *)NULL);
	fail(init);
	return 1;
}
