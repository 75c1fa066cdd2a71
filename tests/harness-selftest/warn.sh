#!/bin/bash
# Harness self-test: a test that exits 0 but leaves a "WARNING:" line in the
# kernel log must be reported as "not ok" by the host-side dmesg check.
# expect: fail dmesg
# timeout: 120
. "$EMP_REPO/tests/lib/guest.sh"
echo 'WARNING: test (harness self-test, expected)' >/dev/kmsg
emp_tap_ok "wrote a WARNING: line to /dev/kmsg"
emp_tap_done
