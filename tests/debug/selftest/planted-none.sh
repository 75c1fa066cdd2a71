#!/bin/bash
# The control: the scratch module without a bug loads and unloads with a
# clean kernel log, so the other self-tests fail because of their bugs.
# kernels: debug
# expect: pass
. "$EMP_REPO/tests/lib/guest.sh"

emp_tap_check "emp_planted bug=none loads" insmod "$EMP_REPO/build/$EMP_KVER/planted/emp_planted.ko" bug=none
emp_tap_check "and unloads" rmmod emp_planted
emp_tap_done
