# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# What tests/debug/build-kernel builds the lane's own debug kernel from,
# shared by build-kernel and the harness (tests/lib/vm.sh): a finished
# build leaves .complete-<stamp> beside its packages, and the harness takes
# it for the lane's own kernel only while the stamp is still current.

EMP_DEBUG_SRC_TARBALL=${EMP_DEBUG_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

# emp_debug_patches TOP: the kernel fixes the lane carries, in order
emp_debug_patches() {
	local f
	for f in "$1"/tests/debug/patches/*.patch; do
		[[ -f $f ]] && echo "$f"
	done
	return 0
}

# emp_debug_stamp TOP: 16 hex digits over debug.config, the patches and
# the source package; fails when the source package is not installed.
emp_debug_stamp() {
	local top=$1 p=()
	[[ -f $EMP_DEBUG_SRC_TARBALL ]] || return 1
	mapfile -t p < <(emp_debug_patches "$top")
	cat "$top/tests/debug/debug.config" "${p[@]}" "$EMP_DEBUG_SRC_TARBALL" |
		sha256sum | cut -c1-16
}
