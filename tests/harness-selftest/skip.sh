#!/bin/bash
# Harness self-test: emp_skip (exit 4) must be reported as "ok ... # SKIP".
# expect: skip
# timeout: 120
. "$EMP_REPO/tests/lib/guest.sh"
emp_skip "skipping on purpose"
