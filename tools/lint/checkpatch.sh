#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict and kernel-doc -Wall over every kernel source file
# of the project.
# Both scripts come from Debian's linux-source package (the header packages
# do not ship them); they are unpacked once into .cache/.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${EMP_CACHE:-$top/.cache}
dir=$cache/checkpatch

if [[ ! -x $dir/scripts/checkpatch.pl || ! -f $dir/scripts/kernel-doc ]]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-6.1.tar.xz 2>/dev/null | head -n1 || true)
	if [[ -z $tarball ]]; then
		echo "checkpatch: apt-get install linux-source-6.12 first" >&2
		exit 1
	fi
	mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' '*/scripts/kernel-doc'
fi

mapfile -t files < <(cd "$top" && git ls-files 'drivers/*.c' 'drivers/*.h' 'include/*.h' 2>/dev/null || \
	find drivers include -name '*.[ch]')
# compat.h is the one file per module allowed to test the kernel version
# (see its header comment); checkpatch's rule is for in-tree code.
extra_ignores() {
	case $1 in
	*/compat.h) echo "--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON" ;;
	esac
}

cd "$top"
fail=0
for f in "${files[@]}"; do
	if ! out=$("$dir/scripts/checkpatch.pl" --strict --no-tree --terse \
			--show-types --ignore FILE_PATH_CHANGES $(extra_ignores "$f") -f "$f" 2>&1); then
		echo "$out"
		fail=1
	elif grep -q -E 'WARNING|ERROR|CHECK' <<<"$out"; then
		echo "$out"
		fail=1
	fi
done
# the kernel patches the debug lane carries, checked as patches (their
# Fixes: ids name commits of a tree that is not here)
mapfile -t patches < <(git ls-files 'tests/debug/patches/*.patch' 2>/dev/null || ls tests/debug/patches/*.patch)
for f in "${patches[@]}"; do
	if ! out=$("$dir/scripts/checkpatch.pl" --strict --no-tree --terse \
			--show-types --ignore UNKNOWN_COMMIT_ID - <"$f" 2>&1) ||
		grep -q -E 'WARNING|ERROR|CHECK' <<<"$out"; then
		echo "$f:"
		echo "$out"
		fail=1
	fi
done
# kernel-doc: every documented function, struct and member complete
if ! out=$(perl "$dir/scripts/kernel-doc" -none -Wall "${files[@]}" 2>&1) || [[ -n $out ]]; then
	echo "$out"
	echo "kernel-doc: incomplete or malformed comments" >&2
	fail=1
fi
if [[ $fail -ne 0 ]]; then
	echo "checkpatch: problems found" >&2
	exit 1
fi
echo "checkpatch: ${#files[@]} files and ${#patches[@]} kernel patches clean (checkpatch --strict, kernel-doc -Wall)"
