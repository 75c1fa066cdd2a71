#!/bin/bash
# Allocation failures on the way to a disk. The allocations made while "1"
# is written to a DRAM device's enable attribute fail in turn (fault
# injection's /proc/self/fail-nth through failslab and fail_page_alloc,
# GFP_KERNEL included; tests/lib/fault.sh): all of empblk's own, the first
# and last of the block layer's, and a hundred of the thousand or so
# between. Each such write either fails with an errno, a reason in the
# kernel log and nothing of the device left (no disk, enable reads 0), or
# succeeds because the failed allocation had a fallback. Afterwards the
# same device enables and keeps what is written to it. KASAN, lockdep and
# kmemleak (the harness scans after the test) watch every error ladder on
# the way. Needs CONFIG_FAULT_INJECTION: runs on the debug kernel only
# (Debian's kernels have none).
# guests: 1
# kernels: debug
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"
. "$EMP_REPO/tests/lib/fault.sh"

emp_fault_setup
emp_modprobe_empblk
D=/sys/kernel/config/empblk/empblk1
mkdir $D || emp_fail "mkdir $D"
echo dram:8 >$D/mem_path || emp_fail "mem_path"

emp_fault_sweep $D

# the device still works: enable, a write, a read back
emp_tap_check "enable after the failures" bash -c "echo 1 >$D/enable && [ -b /dev/empblk1 ]"
emp_tap_check "a write and a read back" bash -c "
	head -c 4M /dev/urandom >/tmp/pat &&
	dd if=/tmp/pat of=/dev/empblk1 bs=1M oflag=direct status=none &&
	dd if=/dev/empblk1 bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"
emp_tap_check "disable and remove" bash -c "echo 0 >$D/enable && rmdir $D"
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
