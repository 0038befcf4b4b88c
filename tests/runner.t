#!/bin/bash
# The test runner (tests/run) itself: run a copy of it on made-up tests and
# check that it fails each way a test can go missing or pass by doing
# nothing: a manifest test not built, a built test not in the manifest, a
# "1..0" plan, a plan below the manifest's floor, a skip for a reason that
# is not accepted, and a lease left behind after the test ended; and that
# it passes a good test and an accepted skip.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
[ ! -r /run/daxlease/env ] || . /run/daxlease/env
n=0 failed=0
ok() { # cond-status description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
echo "1..9"

tmp=$(mktemp -d "${DAXLEASE_TMP:-/tmp}/runner.XXXXXX")
holder=
cleanup() {
	[ -z "$holder" ] || kill "$holder" 2>/dev/null
	[ -z "${lease_file:-}" ] || rm -f "$lease_file"
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/tests/bin" "$tmp/res"
cp "$top/tests/run" "$tmp/tests/run"

fake() { # name tap-lines...
	local f=$tmp/tests/bin/$1
	shift
	printf '#!/bin/sh\n' >"$f"
	printf 'echo "%s"\n' "$@" >>"$f"
	chmod +x "$f"
}
fake good "1..2" "ok 1 - a" "ok 2 - b"
fake empty "1..0"
fake shrunk "1..1" "ok 1 - a"
fake unlisted "1..1" "ok 1 - a"
fake skipper "1..1" "ok 1 - a # SKIP setup failed"
fake accepted "1..1" "ok 1 - a # SKIP debug kernel only"

# A test that leaves a process holding an unbreakable lease behind.
lease_file=${DAXLEASE_XFS:-/nonexistent}/runner-lease.$$
cat >"$tmp/tests/bin/leaver" <<LEAVER
#!/bin/sh
head -c 65536 /dev/zero >"$lease_file" || exit 1
setsid "$top/tools/daxlease" run --lease "$lease_file" -- sleep 300 \
	</dev/null >/dev/null 2>&1 &
echo \$! >"$tmp/holder"
# wait until the lease is there
for i in \$(seq 50); do grep -q runner-lease /proc/daxlease && break; sleep 0.1; done
echo "1..1"
echo "ok 1 - holds a lease"
LEAVER
chmod +x "$tmp/tests/bin/leaver"

cat >"$tmp/tests/manifest" <<'MANIFEST'
good 2
missing 1
empty 1
shrunk 3
skipper 1
accepted 1
leaver 1
MANIFEST

DAXLEASE_RESULTS=$tmp/res DAXLEASE_TEST_TIMEOUT=60 "$tmp/tests/run" \
	>"$tmp/out" 2>&1
rc=$?
holder=$(cat "$tmp/holder" 2>/dev/null)
sed 's/^/# /' "$tmp/out"
res=$tmp/res/results

only_pass() { ! grep -q "^FAIL	$1	" "$res" && grep -q "^PASS	$1	" "$res"; }
fails() { grep -q "^FAIL	$1	$2" "$res"; }

only_pass good
ok $? "a good test passes"
fails missing "no such test"
ok $? "a manifest test that was not built fails"
fails unlisted "not in tests/manifest"
ok $? "a built test missing from the manifest fails"
fails empty "planned no tests"
ok $? "a 1..0 plan fails"
fails shrunk "planned 1 tests, tests/manifest expects at least 3"
ok $? "a plan below the manifest's floor fails"
fails skipper "skipped: "
ok $? "a skip for a reason not accepted fails"
grep -q "^SKIP	accepted	" "$res" && ! grep -q "^FAIL	accepted	" "$res"
ok $? "a skip for an accepted reason is a skip"
fails leaver "left a lease or pin behind"
ok $? "a lease left behind fails the test that left it"
[ $rc -ne 0 ]
ok $? "the runner exits non-zero"
exit $failed
