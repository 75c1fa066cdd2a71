#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit test of the debug lane's kernel choice (vm_debug_deb,
# vm_debug_own_deb, vm_debug_has_fixes in tests/lib/vm.sh) and of the
# extraction key (vm_deb_key), on fake packages: no kernel is built,
# extracted or booted. The lane takes EMP_DEBUG_KERNEL_DEB, else the
# lane's own build while its stamp is current (it carries the siw fixes),
# else a prebuilt package; a build made from other patches, or one that
# did not finish, is not taken. Prints TAP.

set -eEuo pipefail
export LC_ALL=C

EMP_REPO=$(cd "$(dirname "$0")/../.." && pwd)
TAP_LIB=$EMP_REPO/tests/unit/tap.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/test-kernel-choice.XXXXXX")
trap 'rm -rf "$T"' EXIT
# a repository of our own: its patches can change without touching the real one
mkdir -p "$T/repo/tests/debug/patches"
cp "$EMP_REPO/tests/debug/debug.config" "$T/repo/tests/debug/"
echo "a patch" >"$T/repo/tests/debug/patches/0001-a.patch"
echo "a source package" >"$T/linux-source.tar.xz"
export EMP_CACHE=$T/cache EMP_SHARED_KERNELS=$T/shared EMP_DEBUG_SRC_TARBALL=$T/linux-source.tar.xz
unset EMP_DEBUG_KERNEL_DEB
mkdir -p "$EMP_CACHE/debug-kernel" "$EMP_SHARED_KERNELS"
# shellcheck source=tests/lib/vm.sh
. "$EMP_REPO/tests/lib/vm.sh"
EMP_REPO=$T/repo

# shellcheck source=tests/unit/tap.sh
. "$TAP_LIB"
is() { [[ $1 == "$2" ]] || { echo "# got '$1', expected '$2'"; return 1; }; }
chosen() { vm_debug_deb || echo none; }
no_fixes() { ! vm_debug_has_fixes; }

own=$EMP_CACHE/debug-kernel/linux-image-6.12.118-empdbg_6.12.118-empdbg1_amd64.deb
pre=$EMP_SHARED_KERNELS/linux-image-6.12.117-empdbg_6.12.117-3_amd64.deb

echo "TAP version 13"
check "no package: no debug kernel" is "$(chosen)" none
touch "$pre"
check "only a prebuilt package: it is taken" is "$(chosen)" "$pre"
check "a prebuilt package has not the lane's fixes" no_fixes
touch "$own"
check "an own build that did not finish is not taken" is "$(chosen)" "$pre"
touch "$EMP_CACHE/debug-kernel/.complete-$(emp_debug_stamp "$EMP_REPO")"
check "a finished own build is preferred to the prebuilt one" is "$(chosen)" "$own"
check "and has the lane's fixes" vm_debug_has_fixes
echo "another patch" >"$T/repo/tests/debug/patches/0002-b.patch"
check "an own build from other patches is not taken" is "$(chosen)" "$pre"
check "nor counted as having the fixes" no_fixes
rm "$T/repo/tests/debug/patches/0002-b.patch"
check "the same patches again: it is taken again" is "$(chosen)" "$own"
mv "$EMP_DEBUG_SRC_TARBALL" "$T/gone"
check "without the source package the build cannot be checked: not taken" is "$(chosen)" "$pre"
mv "$T/gone" "$EMP_DEBUG_SRC_TARBALL"
pinned() { local EMP_DEBUG_KERNEL_DEB=$pre; "$@"; }
check "EMP_DEBUG_KERNEL_DEB comes first" is "$(pinned chosen)" "$pre"
check "the prebuilt one named by EMP_DEBUG_KERNEL_DEB has not the fixes" pinned no_fixes
k1=$(vm_deb_key "$own")
touch -d '1 hour ago' "$own"
k2=$(vm_deb_key "$own")
check "a rebuild of the same name changes the extraction key" test "$k2" != "$k1"
check "the key starts with the package's name" is "${k2%% *}" "${own##*/}"

tap_done
