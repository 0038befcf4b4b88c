# Shared by the scripts: where the cached kernel lives and how it is keyed.
# Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${DAXLEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/daxlease}
kernel_config=${DAXLEASE_KCONFIG:-$top/scripts/config/test.config}

# Kernel line (DAXLEASE_LINE): 6.12, Debian 12's linux-source-6.12 with
# hooks/; or 7, the 7.x line: Debian 13 backports' source package, pinned
# here and fetched without installing it (scripts/fetch-kernel-7), with
# hooks-7/ and scripts/config/test-7.config on top of test.config. Each line
# has its own cache prefix and build lock. The module source is the same.
kernel_line=${DAXLEASE_LINE:-6.12}
kernel7_series=linux-source-7.3
kernel7_version=7.3.4-1~bpo13+1
kernel7_tarball() {
	echo "$cache_root/src/${kernel7_series}_$kernel7_version/usr/src/$kernel7_series.tar.xz"
}
case $kernel_line in
6.12)
	hooks_dir=$top/hooks
	source_name=linux-source-6.12
	source_tarball=/usr/src/$source_name.tar.xz
	kernel_prefix=kernel
	line_configs=()
	fixes_dir=
	;;
7)
	hooks_dir=$top/hooks-7
	source_name=$kernel7_series
	source_tarball=$(kernel7_tarball)
	kernel_prefix=kernel7
	line_configs=("$top/scripts/config/test-7.config")
	# stock bugs the test kernel fixes (hooks-7/test-kernel/series)
	fixes_dir=$top/hooks-7/test-kernel
	;;
*)
	printf '[daxlease] error: DAXLEASE_LINE is 6.12 or 7, not %s\n' "$kernel_line" >&2
	exit 1
	;;
esac
# DAXLEASE_KERNEL_VARIANT=nohooks: the same patched source and config with
# CONFIG_DAXLEASE_HOOKS off (and its own LOCALVERSION), the baseline that
# make bench compares the hooks against. Its fragment is derived, so it
# follows test.config and gets its own cache key.
if [ "${DAXLEASE_KERNEL_VARIANT:-}" = nohooks ]; then
	mkdir -p "$cache_root"
	nohooks_config=$cache_root/nohooks.config
	sed -e 's/^CONFIG_DAXLEASE_HOOKS=y$/# CONFIG_DAXLEASE_HOOKS is not set/' \
		-e 's/^CONFIG_LOCALVERSION="\(.*\)"$/CONFIG_LOCALVERSION="\1-nohooks"/' \
		"$kernel_config" >"$nohooks_config.$$"
	mv "$nohooks_config.$$" "$nohooks_config"
	kernel_config=$nohooks_config
fi
# DAXLEASE_KERNEL=debug adds the debug fragment (KASAN, lockdep, kmemleak,
# fault injection) on top: a separate cached build, module built against it.
case ${DAXLEASE_KERNEL:-test} in
test) kernel_configs=("$kernel_config" "${line_configs[@]}") ;;
debug) kernel_configs=("$kernel_config" "${line_configs[@]}" "$top/scripts/config/debug.config") ;;
*) printf '[daxlease] error: DAXLEASE_KERNEL is test or debug, not %s\n' "$DAXLEASE_KERNEL" >&2; exit 1 ;;
esac


log() { printf '[daxlease] %s\n' "$*" >&2; }
die() { printf '[daxlease] error: %s\n' "$*" >&2; exit 1; }

# The hook patches named by the line's series (hooks/series), in order.
hook_patches() {
	local p
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$hooks_dir/series" | while read -r p; do
		echo "$hooks_dir/$p"
	done
}

# The test kernel's fixes of stock bugs, after the hooks (7.x only so far).
fix_patches() {
	local p
	[ -n "$fixes_dir" ] || return 0
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$fixes_dir/series" | while read -r p; do
		echo "$fixes_dir/$p"
	done
}

# Version of the line's source package.
source_version() {
	if [ "$kernel_line" = 7 ]; then
		echo "$kernel7_version"
	else
		dpkg-query -W -f='${Version}' linux-source-6.12 ||
			die "linux-source-6.12 is not installed (run scripts/install-deps)"
	fi
}

# Key of a kernel build: source package version + series + patches + config.
kernel_key() {
	local version
	version=$(source_version)
	{
		echo "$version"
		cat "$hooks_dir/series"
		hook_patches | xargs -r cat
		fix_patches | xargs -r cat
		cat "${kernel_configs[@]}"
	} | sha256sum | cut -c1-16 | sed "s/^/$version-/"
}

kernel_dir() { echo "$cache_root/$kernel_prefix-$(kernel_key)"; }

# The config fragments in order, with a symbol set again by a later fragment
# kept only at its last setting (that is what Kconfig applies).
kernel_fragment() {
	cat "${kernel_configs[@]}" | awk '
		{ line[NR] = $0; sym = "" }
		/^CONFIG_/ { sym = $0; sub(/=.*/, "", sym) }
		/^# CONFIG_/ { sym = $2 }
		sym != "" { last[sym] = NR; at[NR] = sym }
		END { for (i = 1; i <= NR; i++) if (!(i in at) || last[at[i]] == i) print line[i] }'
}

# Release of Debian's stock 6.12 kernel that install-deps installed (headers
# and image, via the linux-headers-6.12-amd64 metapackage), e.g.
# 6.12.117+deb12-amd64: the module is built and refused there.
stock_kver() {
	dpkg-query -W -f='${Depends}' linux-headers-6.12-amd64 2>/dev/null |
		sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p' | grep . ||
		die "linux-headers-6.12-amd64 is not installed (run scripts/install-deps)"
}

# What DKMS and out-of-tree builds need of the repo (dkms.conf, Kbuild, the
# module, include/), copied to @1: /usr/src/daxlease-<version> for DKMS, a
# scratch tree for the build against stock headers.
copy_module_source() {
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$top" && cp --parents dkms.conf Kbuild module/Kbuild module/*.[ch] \
		module/compat/probe.sh module/compat/probes/*.c \
		$(find include -name '*.h') "$1"/)
}

# PACKAGE_VERSION of dkms.conf.
dkms_version() {
	sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf"
}
