#!/bin/bash
# Two mutexes taken in both orders: lockdep must report it,
# and the lane must fail the test on the report.
# kernels: debug
# expect: fail dmesg
. "$EMP_REPO/tests/lib/guest.sh"

emp_tap_check "emp_planted bug=lock-inversion loads" insmod "$EMP_REPO/build/$EMP_KVER/planted/emp_planted.ko" bug=lock-inversion
emp_tap_done
