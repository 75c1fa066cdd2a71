#!/bin/bash
# Harness self-test: in a two-guest test, the donor panics while the compute
# guest waits for it. Must be "not ok", and the waiting guest must be stopped
# soon after the crash rather than at the timeout.
# expect: fail panic
# guests: 2
# timeout: 240
# expect-max-seconds: 150
. "$EMP_REPO/tests/lib/guest.sh"
if [[ $EMP_ROLE == donor ]]; then
	echo "crashing the donor on purpose"
	echo c >/proc/sysrq-trigger
	sleep 60
fi
emp_sync_wait never-posted 600
