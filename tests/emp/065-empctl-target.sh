#!/bin/bash
# empctl target commands against the real emp_rdma_target: start, show,
# list, refusals that leave nothing behind, stop, and rmmod afterwards.
# guests: 1
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

P=/sys/kernel/config/emp_target/ports
emp_require_empctl
out=$("$EMPCTL" target start -m 64 2>&1); rc=$?
emp_tap_check "start without the module: clear message (exit $rc)" bash -c "[ $rc = 1 ] && grep -q 'modprobe emp_rdma_target' <<<'$out'"
emp_modprobe_target
emp_tap_check "target start -m 64 (wildcard address)" "$EMPCTL" target start -m 64
emp_tap_check "port p19675 listening with a 64 MiB budget" bash -c "[ \$(cat $P/p19675/listening) = 1 ] && [ \$(cat $P/p19675/budget_mb) = 64 ]"
emp_tap_check "show -j carries config and state as numbers" bash -c "\"$EMPCTL\" -j target show -n p19675 | jq -e '.config.budget_mb == 64 and .state.listening == 1 and .state.bytes_in_use == 0' >/dev/null"
emp_tap_check "list -j lists it" bash -c "\"$EMPCTL\" -j target list | jq -e 'map(.name) == [\"p19675\"]' >/dev/null"
out=$("$EMPCTL" target start -m 64 2>&1); rc=$?
emp_tap_check "a second start on the same port is refused (exit $rc)" bash -c "[ $rc = 1 ] && grep -q 'already exists' <<<'$out'"
out=$("$EMPCTL" target start -m 64 -p 19676 -a 10.1.2.300 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
emp_tap_check "a bad address is refused with the kernel's reason (exit $rc)" bash -c "[ $rc = 1 ] && grep -q 'not an IPv4 or IPv6 address' <<<'$out' && [ ! -e $P/p19676 ]"
emp_tap_check "rmmod refused while a port exists" bash -c "! rmmod emp_rdma_target 2>/dev/null"
emp_tap_check "target stop" "$EMPCTL" target stop -n p19675
emp_tap_check "the port is gone" test ! -e $P/p19675
out=$("$EMPCTL" target stop -n p19675 2>&1); rc=$?
emp_tap_check "stop of a missing port fails clearly (exit $rc)" bash -c "[ $rc = 1 ] && grep -q 'no such target port' <<<'$out'"
emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
emp_tap_done
