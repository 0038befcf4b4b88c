/* Kernel module state through raw syscalls (no kmod/libkmod dependency). */
#ifndef DAXLEASE_KMOD_H
#define DAXLEASE_KMOD_H

#include <stdbool.h>

#define DAXLEASE_MODULE_NAME "daxlease"

/* True if /sys/module/@name exists. */
bool module_loaded(const char *name);

/* delete_module(@name, O_NONBLOCK): 0, or -1 with errno set. */
int module_unload(const char *name);

/*
 * finit_module() of the module at @path (.ko, or .ko.xz/.zst/.gz as DKMS
 * may install it), no parameters: 0, or -1 with errno.
 */
int module_load(const char *path);

/*
 * For tests of stock-kernel behaviour: unload @name if it is loaded and
 * record in *@was_loaded whether it was. 0 once @name is not loaded, -1
 * (with a diag) otherwise.
 */
int module_stock_begin(const char *name, bool *was_loaded);

/*
 * For tests of daxlease behaviour: load @name from @path unless it is
 * loaded, and record in *@was_loaded whether it was. 0 once @name is
 * loaded, -1 (with a diag) otherwise. module_restore() undoes it.
 */
int module_need(const char *name, const char *path, bool *was_loaded);

/*
 * Bring @name back to the state module_stock_begin() found: reload it from
 * @path if it was loaded, unload it if it was not. 0 on success, -1 with a
 * diag otherwise (e.g. it was loaded but @path is NULL).
 */
int module_restore(const char *name, const char *path, bool was_loaded);

/*
 * delete_module of the daxlease module must fail as "in use" (EWOULDBLOCK,
 * or EBUSY) and leave it loaded; if it went anyway it is loaded again.
 * True if it was refused.
 */
bool module_unload_refused(void);

/*
 * The test point "daxlease module loaded", loading it if needed (bails out
 * if it cannot). Returns whether it was loaded before, for module_end().
 */
bool module_begin(void);

/* The test point "daxlease module state restored": as module_begin() found. */
void module_end(bool was_loaded);

/*
 * A setup step after module_begin() failed: put the module state back as
 * module_begin() found it (no test point) and bail out with @why.
 */
void module_bail_out(bool was_loaded, const char *why)
	__attribute__((noreturn));

#endif
