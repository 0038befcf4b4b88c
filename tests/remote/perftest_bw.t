#!/bin/bash
# Two machines, unchanged perftest: ib_write_bw and ib_read_bw between B
# (client) and A (server), A's buffer anonymous memory or a leased fsdax
# file (`daxlease run --lease FILE -- ib_*_bw --mmap=FILE`) on XFS and
# ext4. A checks that each server ran to the end, B that each run reported
# a bandwidth; B's summary gives the bandwidths and the fsdax/anonymous
# ratio (README, "Two machines"). Run by tests/run-remote in both guests.
#
# DAXLEASE_BW_SIZE (65536) and DAXLEASE_BW_ITERS (1000) set the message
# size and count.
set -uo pipefail
. /run/daxlease/env

size=${DAXLEASE_BW_SIZE:-65536}
iters=${DAXLEASE_BW_ITERS:-1000}
PATH=$(cd "$(dirname "$0")/../.." && pwd)/tools:$PATH
opts=(-d rxe0 -x 1 -s "$size" -n "$iters" -F)
cases=()
for op in write read; do
	for buf in anon xfs ext4; do
		cases+=("$op $buf")
	done
done
echo "1..${#cases[@]}"

n=0
declare -A bw
if [ "$DAXLEASE_ROLE" = A ]; then
	for c in "${cases[@]}"; do
		read -r op buf <<<"$c"
		n=$((n + 1))
		if [ "$buf" = anon ]; then
			timeout 150 "ib_${op}_bw" "${opts[@]}" >/tmp/bw.out 2>&1
		else
			var=DAXLEASE_${buf^^}
			file=${!var}/perftest-buffer
			dd if=/dev/zero of="$file" bs=1M count=4 status=none
			timeout 150 daxlease run --lease "$file" -- \
				"ib_${op}_bw" "${opts[@]}" --mmap="$file" >/tmp/bw.out 2>&1
		fi
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok $n - ib_${op}_bw server, buffer $buf: ran to the end"
		else
			echo "not ok $n - ib_${op}_bw server, buffer $buf: ran to the end"
			echo "# exit status $rc"
			sed 's/^/# /' /tmp/bw.out
		fi
		[ "$buf" = anon ] || rm -f "$file"
	done
	exit 0
fi

# B: a client, retried until A's next server listens (at most 120 s).
client() { # op
	local i
	for i in $(seq 120); do
		timeout 150 "ib_$1_bw" "${opts[@]}" "$DAXLEASE_PEER" >/tmp/bw.out 2>&1 &&
			return 0
		grep -qiE "couldn't connect|Unable to init the socket connection" /tmp/bw.out ||
			return 1
		sleep 1
	done
	return 1
}

for c in "${cases[@]}"; do
	read -r op buf <<<"$c"
	n=$((n + 1))
	t0=$(date +%s.%N)
	client "$op"
	rc=$?
	t1=$(date +%s.%N)
	# "#bytes #iterations BW peak[MB/sec] BW average[MB/sec] MsgRate[Mpps]"
	avg=$(awk -v s="$size" '$1 == s && NF >= 5 { print $4 }' /tmp/bw.out)
	if [ $rc -eq 0 ] && [ -n "$avg" ]; then
		bw[$c]=$avg
		printf 'ok %d - ib_%s_bw to A, A'"'"'s buffer %s: %s MB/s (%.1f s)\n' \
			"$n" "$op" "$buf" "$avg" "$(echo "$t1 - $t0" | bc)"
	else
		echo "not ok $n - ib_${op}_bw to A, A's buffer $buf: a bandwidth"
		echo "# exit status $rc"
		sed 's/^/# /' /tmp/bw.out
	fi
done
ratio() { # op fs
	local a=${bw["$1 anon"]:-} f=${bw["$1 $2"]:-}
	[ -n "$a" ] && [ -n "$f" ] && echo "scale=2; $f / $a" | bc || echo "-"
}
for op in write read; do
	echo "# summary: ib_${op}_bw ${size} B x $iters: anon ${bw["$op anon"]:-"-"} MB/s, xfs ${bw["$op xfs"]:-"-"} ($(ratio $op xfs)x), ext4 ${bw["$op ext4"]:-"-"} ($(ratio $op ext4)x)"
done
exit 0
