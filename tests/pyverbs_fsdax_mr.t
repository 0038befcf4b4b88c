#!/usr/bin/python3
# pyverbs (rdma-core's Python binding, Debian's python3-pyverbs) registers
# an MR over a MAP_SHARED mapping of a file on fsdax, MR(pd, length, access,
# address=...), on rxe0: refused with EOPNOTSUPP while nobody holds a
# layout lease (as on stock), registered once this process holds
# F_LAYOUT|F_EXCLUSIVE (48); while the MR lives, /proc/self/file_pins lists
# the file, a truncate by another process fails with ETXTBSY and F_UNLCK
# with EBUSY; after close() the lease can be dropped and the file is whole.
import ctypes
import errno
import fcntl
import mmap
import os
import subprocess
import sys

from pyverbs.device import Context
from pyverbs.pd import PD
from pyverbs.mr import MR
from pyverbs.pyverbs_error import PyverbsRDMAError
import pyverbs.enums as e

F_SETLEASE = 1024
F_UNBREAKABLE = 48          # F_LAYOUT | F_EXCLUSIVE
SIZE = 2 << 20
ACCESS = (e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE |
          e.IBV_ACCESS_REMOTE_READ)
FS = [('xfs', 'DAXLEASE_XFS'), ('ext4', 'DAXLEASE_EXT4')]
POINTS = 7
npoint = 0
failed = False


def ok(cond, desc):
    global npoint, failed
    npoint += 1
    print(('ok' if cond else 'not ok') + ' %d - %s' % (npoint, desc),
          flush=True)
    failed = failed or not cond
    return cond


def diag(text):
    for line in str(text).splitlines():
        print('# ' + line, flush=True)


def reg_errno(pd, addr):
    """errno of a refused MR(pd, SIZE, ACCESS, address=addr); 0 if it registered."""
    try:
        MR(pd, SIZE, ACCESS, address=addr).close()
        return 0
    except PyverbsRDMAError as ex:
        return ex.error_code


def test_fs(pd, name, mnt):
    path = os.path.join(mnt, 'pyverbs-mr')
    pattern = bytes((i * 7 + 3) & 0xff for i in range(SIZE))
    with open(path, 'wb') as f:
        f.write(pattern)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    view = ctypes.c_char.from_buffer(m)
    addr = ctypes.addressof(view)

    err = reg_errno(pd, addr)
    if err != errno.EOPNOTSUPP:
        diag('MR: %s' % (os.strerror(err) if err else 'registered'))
    ok(err == errno.EOPNOTSUPP,
       '%s: no lease: MR(pd, 2 MiB, access, address=<fsdax mapping>) fails '
       'with EOPNOTSUPP' % name)

    fcntl.fcntl(fd, F_SETLEASE, F_UNBREAKABLE)
    mr = None
    try:
        mr = MR(pd, SIZE, ACCESS, address=addr)
    except PyverbsRDMAError as ex:
        diag('MR: %s' % ex)
    ok(mr is not None and mr.length == SIZE,
       '%s: with this process\'s 48 lease: the MR registers, 2 MiB' % name)

    with open('/proc/self/file_pins') as f:
        pins = f.read()
    ok(mr is not None and path in pins,
       '%s: /proc/self/file_pins lists the file while the MR lives' % name)
    if mr is not None and path not in pins:
        diag(pins)

    t = subprocess.run(['truncate', '-s', '0', path], stderr=subprocess.PIPE,
                       text=True)
    ok(t.returncode != 0 and os.path.getsize(path) == SIZE and
       'Text file busy' in t.stderr,
       '%s: truncate -s 0 by another process fails with ETXTBSY, size kept'
       % name)

    try:
        fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
        busy = 0
    except OSError as ex:
        busy = ex.errno
    ok(busy == errno.EBUSY,
       '%s: F_SETLEASE F_UNLCK while the MR lives fails with EBUSY' % name)

    if mr is not None:
        mr.close()
    try:
        fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
        unlck = True
    except OSError as ex:
        diag('F_UNLCK: %s' % ex)
        unlck = False
    ok(unlck, '%s: after MR.close(): F_UNLCK succeeds' % name)

    same = bytes(m[:]) == pattern
    del view
    m.close()
    os.close(fd)
    os.unlink(path)
    ok(same, '%s: the file still holds its pattern; closed and removed'
       % name)


def main():
    print('1..%d' % (len(FS) * POINTS), flush=True)
    ctx = Context(name=os.environ['DAXLEASE_RXE'])
    pd = PD(ctx)
    for name, var in FS:
        test_fs(pd, name, os.environ[var])
    pd.close()
    ctx.close()
    return 1 if failed else 0


sys.exit(main())
