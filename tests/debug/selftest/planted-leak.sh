#!/bin/bash
# A kmalloc()ed buffer whose only reference is dropped: kmemleak must report it at the scan after the test,
# and the lane must fail the test on the report.
# kernels: debug
# expect: fail dmesg
. "$EMP_REPO/tests/lib/guest.sh"

emp_tap_check "emp_planted bug=leak loads" insmod "$EMP_REPO/build/$EMP_KVER/planted/emp_planted.ko" bug=leak
# kmemleak reports only objects older than 5 s
sleep 6
emp_tap_done
