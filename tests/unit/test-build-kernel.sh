#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit test of tests/debug/build-kernel's reuse and resume
# decisions, with a stand-in make and dpkg-query on PATH and a tiny source
# tarball: no kernel is built. A finished build is reused; a build stopped
# midway (its tree configured and stamped, no packages) is resumed in the
# same tree, less the objects a killed compile may have cut short; a tree
# configured from other patches, or --force, starts from a fresh tree; a
# build that fails leaves no stamp of completion.
# Prints TAP.

set -eEuo pipefail
export LC_ALL=C

EMP_REPO=$(cd "$(dirname "$0")/../.." && pwd)
TAP_LIB=$EMP_REPO/tests/unit/tap.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/test-build-kernel.XXXXXX")
trap 'rm -rf "$T"' EXIT
# a repository of our own, with build-kernel and its library, whose
# patches can change without touching the real one
R=$T/repo
mkdir -p "$R/tests/debug/patches" "$R/tests/lib"
cp "$EMP_REPO/tests/debug/build-kernel" "$R/tests/debug/"
cp "$EMP_REPO/tests/lib/debugkernel.sh" "$R/tests/lib/"
printf 'CONFIG_KASAN=y\nCONFIG_RDMA_SIW=y\n' >"$R/tests/debug/debug.config"
mkdir -p "$T/tree/scripts/kconfig"
echo original >"$T/tree/file"
# the fragment merged into .config (the real script merges it)
cat >"$T/tree/scripts/kconfig/merge_config.sh" <<'EOF'
#!/bin/sh
cat "$3" >>"$2"
EOF
chmod +x "$T/tree/scripts/kconfig/merge_config.sh"
tar -cJf "$T/linux-source.tar.xz" -C "$T" tree
export EMP_CACHE=$T/cache EMP_DEBUG_SRC_TARBALL=$T/linux-source.tar.xz
out=$EMP_CACHE/debug-kernel
# make: logs its targets; bindeb-pkg writes packages beside the tree,
# unless $T/fail says the build fails
mkdir -p "$T/bin"
cat >"$T/bin/make" <<EOF
#!/bin/bash
echo "\$*" >>"$T/make.log"
case " \$* " in
*" kernelversion "*) echo 6.12.999 ;;
*" x86_64_defconfig "*) : >.config ;;
*" bindeb-pkg "*)
	[[ -e $T/fail ]] && { echo "error: stand-in build fails"; exit 2; }
	touch ../linux-image-6.12.999-empdbg_6.12.999-empdbg1_amd64.deb \\
		../linux-headers-6.12.999-empdbg_6.12.999-empdbg1_amd64.deb ;;
esac
exit 0
EOF
printf '#!/bin/sh\necho "install ok installed"\n' >"$T/bin/dpkg-query"
chmod +x "$T/bin/make" "$T/bin/dpkg-query"
export PATH=$T/bin:$PATH

# shellcheck source=tests/unit/tap.sh
. "$TAP_LIB"
# bk ARGS...: run build-kernel, its messages in $T/bk.log, make's in $T/make.log
bk() {
	: >"$T/make.log"
	"$R/tests/debug/build-kernel" "$@" >"$T/bk.log" 2>&1
}
said() { grep -q "$1" "$T/bk.log" || { sed 's/^/# /' "$T/bk.log"; return 1; }; }
not_said() { ! grep -q "$1" "$T/bk.log"; }
made() { grep -q "$1" "$T/make.log"; }
not_made() { ! grep -q "$1" "$T/make.log"; }
stamp() { bash -c ". $R/tests/lib/debugkernel.sh && emp_debug_stamp $R"; }
packages() { compgen -G "$out/linux-image-*-empdbg_*.deb" >/dev/null; }
no_packages() { ! packages; }
bk_fails() { ! bk "$@"; }

echo "TAP version 13"
check "a first build succeeds" bk
check "it unpacks and configures a fresh tree" said "unpacking"
check "and stamps the tree with its inputs" test "$(cat "$out/src/.empdbg-stamp")" = "$(stamp)"
check "and marks itself complete" test -f "$out/.complete-$(stamp)"
check "a second run reuses the packages" bk
check "without building" said "reusing"
check "and runs no make" not_made "bindeb-pkg"

# a build stopped midway: configured, objects in the tree, no packages;
# kbuild's .NAME.cmd is written once NAME is complete
rm -f "$out"/linux-*.deb "$out"/.complete-*
echo object >"$out/src/half-built.o"
touch "$out/src/.half-built.o.cmd"
mkdir -p "$out/src/sub"
echo trunc >"$out/src/sub/cut-short.o"
echo trunc >"$out/src/sub/cut-later.o"
touch -d '1 minute ago' "$out/src/sub/.cut-later.o.cmd"
check "a stopped build is taken up again" bk
check "in the same tree" said "resuming the build"
check "without unpacking it again" not_said "unpacking"
check "keeping its finished objects" test -f "$out/src/half-built.o"
check "but not one whose compile did not finish" test ! -e "$out/src/sub/cut-short.o"
check "nor one newer than its record of completion" test ! -e "$out/src/sub/cut-later.o"
check "and says so" said "removed 2 objects"
check "and without configuring it again" not_made "x86_64_defconfig"
check "it builds the packages" made "bindeb-pkg"
check "and marks itself complete" test -f "$out/.complete-$(stamp)"

# a tree configured from other patches is not resumed
rm -f "$out"/linux-*.deb "$out"/.complete-*
echo "another patch" >"$R/tests/debug/patches/0001-b.patch"
check "a tree from other inputs: a fresh tree" bk_fails
check "it is unpacked again (the patch then fails to apply)" said "unpacking"
check "the old tree's objects are gone" test ! -e "$out/src/half-built.o"
rm "$R/tests/debug/patches/0001-b.patch"

# --force starts from a fresh tree even with a current stamp
check "the same inputs again: a finished build" bk
echo object >"$out/src/half-built.o"
check "--force rebuilds a finished build" bk --force
check "from a fresh tree" said "unpacking"
check "without the old objects" test ! -e "$out/src/half-built.o"

# a build that fails says so and is not marked complete
touch "$T/fail" "$out/src/half-built.o" "$out/src/.half-built.o.cmd"
rm -f "$out"/linux-*.deb "$out"/.complete-*
check "a failed build fails" bk_fails
check "and says where its log is" said "build failed (log:"
check "and is not marked complete" test ! -e "$out/.complete-$(stamp)"
check "nor leaves packages" no_packages
rm "$T/fail"
check "the next run resumes the failed build's tree" bk
check "in the same tree" said "resuming the build"
check "and finishes it" packages

tap_done
