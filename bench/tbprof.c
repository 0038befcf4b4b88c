// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU TCG plugin: instructions executed per translation block, counted
 * only in windows that the guest opens and closes by executing one
 * address, e.g. the entry of do_ftruncate: bench/revoke.c's timed
 * truncate is the first of a pair of ftruncate calls, so each window is
 * one timed truncate (and the user-space instructions up to the untimed
 * one). Under -icount the counts add up to the guest clock's nanoseconds
 * of that window, interrupts and other tasks included. Written for where
 * an instruction count comes from, not only how big it is (the 7.x
 * truncate of a 1 MiB MR, README "Performance").
 *
 *   qemu-system-x86_64 ... -icount shift=0,sleep=off \
 *	-plugin bench/bin/tbprof.so,toggle=HEXADDR,out=FILE
 *
 * FILE: per window "R INDEX TOTAL", then "HEXADDR INSNS" per block that
 * ran in it; bench/bin/tbprof-report turns it into functions.
 *
 * Plugin API version 1 (QEMU 7.2, Debian 12). Debian ships no
 * qemu-plugin.h, so the few calls used are declared here as that
 * version's header declares them.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   void (*cb)(qemu_plugin_id_t id,
						      struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  void (*cb)(unsigned int vcpu,
						     void *userdata),
					  enum qemu_plugin_cb_flags flags,
					  void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    void (*cb)(qemu_plugin_id_t id,
					       void *userdata),
				    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* A translation block: a start address and its length in instructions. */
struct block {
	uint64_t vaddr, insns;
	uint64_t runs;		/* in the open window */
	struct block *next;	/* in its hash chain */
	struct block *ran;	/* on the open window's list */
};

#define HASH_SIZE	65536

static struct block *table[HASH_SIZE];
static struct block *ran;	/* blocks with runs in the open window */
static uint64_t toggle, windows;
static int open_window;
static FILE *out;

static struct block *block_get(uint64_t vaddr, uint64_t insns)
{
	struct block **head = &table[(vaddr >> 2) % HASH_SIZE], *b;

	for (b = *head; b; b = b->next)
		if (b->vaddr == vaddr && b->insns == insns)
			return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->vaddr = vaddr;
	b->insns = insns;
	b->next = *head;
	*head = b;
	return b;
}

/* Write the window that closes and forget its counts. */
static void window_close(void)
{
	uint64_t total = 0;
	struct block *b;

	for (b = ran; b; b = b->ran)
		total += b->runs * b->insns;
	fprintf(out, "R %" PRIu64 " %" PRIu64 "\n", windows++, total);
	while (ran) {
		b = ran;
		fprintf(out, "%" PRIx64 " %" PRIu64 "\n", b->vaddr,
			b->runs * b->insns);
		ran = b->ran;
		b->ran = NULL;
		b->runs = 0;
	}
	fflush(out);
}

static void block_exec(unsigned int vcpu, void *userdata)
{
	struct block *b = userdata;

	(void)vcpu;
	if (b->vaddr == toggle) {
		if (open_window)
			window_close();
		open_window = !open_window;
	}
	if (!open_window)
		return;
	if (!b->runs++) {
		b->ran = ran;
		ran = b;
	}
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec,
					     QEMU_PLUGIN_CB_NO_REGS,
					     block_get(qemu_plugin_tb_vaddr(tb),
						       qemu_plugin_tb_n_insns(tb)));
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
	(void)id;
	(void)userdata;
	fclose(out);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	const char *path = NULL;
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "toggle=", 7))
			toggle = strtoull(argv[i] + 7, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	}
	if (!toggle || !path) {
		fprintf(stderr, "tbprof: needs toggle=HEXADDR,out=FILE\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
