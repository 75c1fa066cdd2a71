#!/bin/bash
# msleep() under a spinlock: the atomic-sleep check must report it,
# and the lane must fail the test on the report.
# kernels: debug
# expect: fail dmesg
. "$EMP_REPO/tests/lib/guest.sh"

emp_tap_check "emp_planted bug=sleep-in-atomic loads" insmod "$EMP_REPO/build/$EMP_KVER/planted/emp_planted.ko" bug=sleep-in-atomic
emp_tap_done
