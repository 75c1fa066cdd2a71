#!/bin/bash
# Harness smoke test: the guest runs the kernel under test, the usual
# filesystems are mounted and modules load from the prepared module tree.
# guests: 1
# timeout: 120
. "$EMP_REPO/tests/lib/guest.sh"

emp_tap_plan 9
emp_tap_check "uname -r is $EMP_KVER (got $(uname -r))" test "$(uname -r)" = "$EMP_KVER"
emp_tap_check "root is an overlay" sh -c "findmnt -no FSTYPE / | grep -qx overlay"
emp_tap_check "modprobe configfs" modprobe configfs
emp_tap_check "configfs mounted on /sys/kernel/config" sh -c "findmnt -no FSTYPE /sys/kernel/config | grep -qx configfs"
emp_tap_check "cgroup2 mounted on /sys/fs/cgroup" sh -c "findmnt -no FSTYPE /sys/fs/cgroup | grep -qx cgroup2"
emp_tap_check "debugfs mounted" mountpoint -q /sys/kernel/debug
if emp_tap_check "modprobe brd rd_nr=1 rd_size=16384" modprobe brd rd_nr=1 rd_size=16384; then
	emp_tap_check "/dev/ram0 is 16 MiB" sh -c "emp_wait() { for i in \$(seq 50); do [ -b /dev/ram0 ] && return 0; sleep 0.1; done; return 1; }; emp_wait && [ \$(blockdev --getsize64 /dev/ram0) -eq 16777216 ]"
	emp_tap_check "rmmod brd" rmmod brd
else
	emp_tap_skip "/dev/ram0 is 16 MiB" "brd did not load"
	emp_tap_skip "rmmod brd" "brd did not load"
fi
emp_dmesg_check || emp_fail "kernel log has errors"
emp_tap_done
