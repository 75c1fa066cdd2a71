# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP for the host-side unit tests: source it, call check for each case,
# and tap_done at the end (the plan, the summary line, the exit status).

n=0
passed=0
failed=0
# check NAME CMD...: CMD must succeed
check() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
		passed=$((passed + 1))
	else
		echo "not ok $n - $name"
		failed=$((failed + 1))
	fi
}

tap_done() {
	echo "1..$n"
	echo "$passed passed, $failed failed"
	((failed == 0))
}
