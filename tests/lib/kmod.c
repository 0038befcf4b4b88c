/* Kernel module state: see kmod.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "env.h"
#include "kmod.h"
#include "tap.h"

bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

int module_unload(const char *name)
{
	/* O_NONBLOCK: fail with EWOULDBLOCK if in use rather than wait. */
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -1 : 0;
}

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

int module_load(const char *path)
{
	const char *ext = strrchr(path, '.');
	int fd, ret, err, flags = 0;

	/* DKMS compresses modules for kernels that load compressed ones */
	if (ext && (!strcmp(ext, ".xz") || !strcmp(ext, ".zst") ||
		    !strcmp(ext, ".gz")))
		flags = MODULE_INIT_COMPRESSED_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", flags);
	err = errno;
	close(fd);
	errno = err;
	return ret ? -1 : 0;
}

int module_stock_begin(const char *name, bool *was_loaded)
{
	*was_loaded = module_loaded(name);
	if (!*was_loaded)
		return 0;
	if (module_unload(name)) {
		diag("unloading %s: %s", name, errno_name(errno));
		return -1;
	}
	if (module_loaded(name)) {
		diag("%s still in /sys/module after unloading", name);
		return -1;
	}
	diag("unloaded %s, will reload it at the end", name);
	return 0;
}

int module_need(const char *name, const char *path, bool *was_loaded)
{
	*was_loaded = module_loaded(name);
	if (*was_loaded)
		return 0;
	if (!path) {
		diag("%s is not loaded and DAXLEASE_MODULE is not set", name);
		return -1;
	}
	if (module_load(path)) {
		diag("loading %s: %s", path, errno_name(errno));
		return -1;
	}
	if (!module_loaded(name)) {
		diag("%s not in /sys/module after loading %s", name, path);
		return -1;
	}
	diag("loaded %s, will unload it at the end", path);
	return 0;
}

int module_restore(const char *name, const char *path, bool was_loaded)
{
	bool loaded = module_loaded(name);

	if (loaded == was_loaded)
		return 0;
	if (loaded) {
		if (!module_unload(name))
			return 0;
		diag("unloading %s: %s", name, errno_name(errno));
		return -1;
	}
	if (!path) {
		diag("cannot reload %s: DAXLEASE_MODULE is not set", name);
		return -1;
	}
	if (module_load(path)) {
		diag("loading %s: %s", path, errno_name(errno));
		return -1;
	}
	return 0;
}

bool module_unload_refused(void)
{
	int ret = module_unload(DAXLEASE_MODULE_NAME), err = errno;
	bool loaded = module_loaded(DAXLEASE_MODULE_NAME);

	if (!ret)
		diag("delete_module succeeded");
	else if (err != EWOULDBLOCK && err != EBUSY)
		diag("delete_module: %s", errno_name(err));
	if (!loaded) {
		diag("module gone: loading it again");
		if (!env_module() || module_load(env_module()))
			diag("reloading failed");
	}
	return ret && (err == EWOULDBLOCK || err == EBUSY) && loaded;
}

bool module_begin(void)
{
	bool was_loaded;

	if (!ok(!module_need(DAXLEASE_MODULE_NAME, env_module(), &was_loaded),
		"daxlease module loaded"))
		bail_out("cannot load the daxlease module");
	return was_loaded;
}

void module_end(bool was_loaded)
{
	ok(!module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded),
	   "daxlease module state restored (%s)",
	   was_loaded ? "still loaded" : "unloaded again");
}

void module_bail_out(bool was_loaded, const char *why)
{
	module_restore(DAXLEASE_MODULE_NAME, env_module(), was_loaded);
	bail_out("%s", why);
}
