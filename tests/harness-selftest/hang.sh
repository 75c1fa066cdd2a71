#!/bin/bash
# Harness self-test: a test that never finishes must be killed at its timeout
# and reported as "not ok" without hanging the suite.
# expect: fail timeout
# timeout: 30
. "$EMP_REPO/tests/lib/guest.sh"
echo "sleeping forever on purpose"
while :; do sleep 1000; done
