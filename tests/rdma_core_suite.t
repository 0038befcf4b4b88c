#!/usr/bin/python3
# rdma-core's own test suite (Debian's python3-pyverbs ships it under
# /usr/share/doc/rdma-core/tests, some files gzipped) as a regression gate
# for the hook in ib_umem_get(): its MR, QP and device tests run on rxe0
# with the daxlease module loaded and again with it unloaded, and every
# test must end the same way in both runs (passed, skipped, failed,
# errored). The suite skips what rxe cannot do; a test that fails on rxe
# without the module must fail the same way with it.
#
# Each run is a child python3 (`rdma_core_suite.t --run DIR OUT`) that
# loads the suite as run_tests.py does and writes one line per test:
# "<test id> <outcome>".
import gzip
import os
import shutil
import subprocess
import sys
import unittest

SRC = '/usr/share/doc/rdma-core/tests'
MODULES = ['test_mr', 'test_qp', 'test_device']
RUN_S = 120
npoint = 0
failed = False


def ok(cond, desc):
    global npoint, failed
    npoint += 1
    print(('ok' if cond else 'not ok') + ' %d - %s' % (npoint, desc),
          flush=True)
    if not cond:
        failed = True
    return cond


def diag(text):
    for line in str(text).splitlines():
        print('# ' + line, flush=True)


class Recorder(unittest.TextTestResult):
    """unittest's result, also keeping each test's outcome by id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome = {}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcome[test.id()] = 'passed'

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcome[test.id()] = 'failed'

    def addError(self, test, err):
        super().addError(test, err)
        self.outcome[test.id()] = 'error'

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcome[test.id()] = 'skipped'

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.outcome[test.id()] = 'expected-failure'

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcome[test.id()] = 'unexpected-success'


def run_suite(workdir, out):
    """The child: run MODULES from the copy in @workdir, outcomes to @out."""
    from importlib.machinery import SourceFileLoader
    sys.path.insert(0, os.path.join(workdir, 'tests'))
    os.chdir(os.path.join(workdir, 'tests'))
    sys.argv = ['run_tests.py', '--dev', os.environ['DAXLEASE_RXE']]
    from args_parser import parser
    parser.parse_args()
    tests = SourceFileLoader('tests', os.path.join(workdir, 'tests',
                                                   '__init__.py')).load_module()
    suite = unittest.TestLoader().loadTestsFromNames(MODULES, tests)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2,
                                     resultclass=Recorder)
    result = runner.run(suite)
    with open(out, 'w') as f:
        for name in sorted(result.outcome):
            f.write('%s %s\n' % (name, result.outcome[name]))
    return 0


def run_child(workdir, out):
    """One run in a fresh python3; the outcomes, or None with a diag."""
    if os.path.exists(out):
        os.unlink(out)
    try:
        p = subprocess.run([sys.executable, __file__, '--run', workdir, out],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=RUN_S, text=True)
    except subprocess.TimeoutExpired:
        diag('the run took longer than %d s' % RUN_S)
        return None
    if p.returncode or not os.path.exists(out):
        diag('the run exited with status %d:' % p.returncode)
        diag(p.stdout[-4000:])
        return None
    with open(out) as f:
        return dict(line.split() for line in f if line.strip())


def summary(outcome):
    counts = {}
    for v in outcome.values():
        counts[v] = counts.get(v, 0) + 1
    return ', '.join('%d %s' % (n, k) for k, n in sorted(counts.items()))


def module(load):
    """Load or unload daxlease as guest-setup did; True on success."""
    path = os.environ.get('DAXLEASE_MODULE', '')
    if load:
        cmd = (['modprobe', 'daxlease'] if path.startswith('/lib/modules/')
               else ['insmod', path])
    else:
        cmd = ['rmmod', 'daxlease']
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode:
        diag('%s: %s' % (' '.join(cmd), p.stdout))
    return p.returncode == 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--run':
        return run_suite(sys.argv[2], sys.argv[3])

    print('1..7', flush=True)
    work = os.path.join(os.environ['DAXLEASE_TMP'], 'rdma-core-suite')
    shutil.rmtree(work, ignore_errors=True)
    dst = os.path.join(work, 'tests')
    shutil.copytree(SRC, dst)
    unzipped = 0
    for fn in os.listdir(dst):
        if fn.endswith('.gz'):
            path = os.path.join(dst, fn)
            with gzip.open(path) as g, open(path[:-3], 'wb') as f:
                shutil.copyfileobj(g, f)
            os.unlink(path)
            unzipped += 1
    ok(unzipped > 0 and all(os.path.exists(os.path.join(dst, m + '.py'))
                            for m in MODULES),
       'copy rdma-core\'s tests from %s, gunzip %d files: %s are there'
       % (SRC, unzipped, ', '.join(m + '.py' for m in MODULES)))

    loaded = os.path.isdir('/sys/module/daxlease')
    ok(loaded, 'daxlease module loaded')
    with_mod = run_child(work, os.path.join(work, 'with-module'))
    if with_mod:
        diag('module loaded: %d tests: %s' % (len(with_mod),
                                              summary(with_mod)))
        # what rxe cannot do and the suite does not skip: the same without
        for k in sorted(k for k, v in with_mod.items()
                        if v in ('error', 'failed')):
            diag('  %s: %s' % (k, with_mod[k]))
    ok(with_mod and sum(1 for k, v in with_mod.items()
                        if v == 'passed' and '.test_mr.' in k) > 0,
       'module loaded: %s ran on rxe0, test_mr\'s registrations among the '
       'passed tests' % ', '.join(MODULES))

    ok(module(False), 'rmmod daxlease')
    without = run_child(work, os.path.join(work, 'without-module'))
    if without:
        diag('module not loaded: %d tests: %s' % (len(without),
                                                  summary(without)))
    ok(without and sum(1 for k, v in without.items()
                       if v == 'passed' and '.test_mr.' in k) > 0,
       'module not loaded: the same tests ran, test_mr\'s registrations '
       'among the passed tests')
    same = with_mod is not None and with_mod == without
    if with_mod and without and not same:
        for k in sorted(set(with_mod) | set(without)):
            if with_mod.get(k) != without.get(k):
                diag('%s: %s with the module, %s without' %
                     (k, with_mod.get(k, 'not run'),
                      without.get(k, 'not run')))
    ok(same, 'every test ended the same way with and without the module')
    ok(os.path.isdir('/sys/module/daxlease') or module(True),
       'daxlease module loaded again')
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


sys.exit(main())
