#!/bin/bash
# Harness self-test: a kernel panic must be reported as "not ok" (no status
# file; the console shows the panic). Not part of the default test set.
# expect: fail panic
# timeout: 120
. "$EMP_REPO/tests/lib/guest.sh"
echo "crashing the kernel on purpose"
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
sleep 60
echo "still alive after sysrq-c?!"
exit 0
