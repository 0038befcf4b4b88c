/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * daxlease: layout leases on fsdax files, set with fcntl(F_SETLEASE).
 *
 *   fcntl(fd, F_SETLEASE, F_LAYOUT)
 *	breakable layout lease: a layout change by another process (truncate,
 *	hole punch, ...) sends the usual lease break (SIGIO, or the F_SETSIG
 *	signal) and proceeds after the lease is released or after
 *	/proc/sys/fs/lease-break-time seconds.
 *   fcntl(fd, F_SETLEASE, F_LAYOUT | F_EXCLUSIVE), or F_UNBREAKABLE
 *	unbreakable layout lease, regular files on fsdax ext4/XFS only; needed
 *	to pin the file's pages long-term (ibv_reg_mr()).  Layout changes fail
 *	with ETXTBSY, or EDEADLK in a process that holds such a lease.
 *	Several processes may hold one on the same file.
 *   fcntl(fd, F_SETLEASE, F_UNLCK)
 *	releases either; EBUSY while pages pinned under the lease remain.
 *   fcntl(fd, F_GETLEASE)
 *	F_LAYOUT | F_EXCLUSIVE (48) or F_LAYOUT (16) for these leases.
 *
 * Needs the daxlease module; without it the kernel answers EINVAL.
 * F_SETLEASE and F_GETLEASE come from <fcntl.h> (_GNU_SOURCE).
 */
#ifndef _UAPI_LINUX_DAXLEASE_H
#define _UAPI_LINUX_DAXLEASE_H

#ifndef F_LAYOUT
#define F_LAYOUT	16	/* layout lease (F_SETLEASE/F_GETLEASE arg) */
#endif

#ifndef F_EXCLUSIVE
#define F_EXCLUSIVE	32	/* with F_LAYOUT: unbreakable layout lease */
#endif

#ifndef F_UNBREAKABLE
#define F_UNBREAKABLE	(F_LAYOUT | F_EXCLUSIVE)	/* 48 */
#endif

#endif /* _UAPI_LINUX_DAXLEASE_H */
