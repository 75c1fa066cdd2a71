#!/bin/bash
# emp_rdma_target on a donor guest, probed from a compute guest over rxe
# with a userspace client of the wire protocol (tests/src/empprobe.c):
# chunks are zeroed, reachable by one-sided RDMA and returned; a wrong
# version, a missing magic, an I/O queue of no session and garbage
# messages are rejected and counted; the budget is enforced; clients that
# go away with requests in flight leave nothing behind; an I/O queue
# kept after its session's admin queue ended is ended too; rmmod is
# refused while a port exists; disabling the port drops clients and gives
# all their memory back.
# guests: 2
# timeout: 600
. "$EMP_REPO/tests/lib/guest.sh"

PROBE=$EMP_REPO/build/tests/empprobe
P=/sys/kernel/config/emp_target/ports/p0
[[ -x $PROBE ]] || emp_fail "$PROBE not built (make test-progs)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $P
	emp_tap_check "bad port number refused" bash -c "! echo 0 > $P/port 2>/dev/null"
	emp_tap_check "enable refused without a budget" bash -c "! echo 1 > $P/enable 2>/dev/null && [ \$(cat $P/enable) = 0 ]"
	echo "$EMP_SELF_IP" >$P/addr
	echo 64 >$P/budget_mb
	emp_tap_check "port enabled" bash -c "echo 1 > $P/enable && [ \$(cat $P/listening) = 1 ]"
	emp_tap_check "configuration immutable while enabled" bash -c "! echo 128 > $P/budget_mb 2>/dev/null && [ \$(cat $P/budget_mb) = 64 ]"
	emp_tap_check "default port is 19675" test "$(cat $P/port)" = 19675
	emp_sync_post target-up

	emp_sync_wait holding 300
	# the sessions of the clients that left mid-request end on their own
	emp_tap_check "one live session" emp_wait_for "[ \$(cat $P/sessions) = 1 ]" 60 1
	emp_tap_check "3 chunks held: 6 MiB in use" test "$(cat $P/bytes_in_use)" = $((6 << 20))
	emp_tap_check "bad connects counted (>= 3)" test "$(cat $P/rejected_connects)" -ge 3
	emp_tap_check "bad messages counted (>= 2)" test "$(cat $P/bad_messages)" -ge 2
	emp_tap_check "rmmod refused while a port exists" bash -c "! rmmod emp_rdma_target 2>/dev/null"
	emp_tap_check "disable with a client attached" bash -c "echo 0 > $P/enable"
	emp_tap_check "all memory returned after disable" bash -c "[ \$(cat $P/bytes_in_use) = 0 ] && [ \$(cat $P/sessions) = 0 ]"
	emp_tap_check "every chunk handed out was freed" bash -c "[ \$(cat $P/chunks_allocated) = \$(cat $P/chunks_freed) ]"
	emp_sync_post disabled
	emp_sync_wait done 120
	emp_tap_check "port removed" rmdir $P
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_sync_wait target-up 300
	port=19675
	emp_tap_check "admin connect accepted" "$PROBE" "$EMP_PEER_IP" $port connect
	emp_tap_check "wrong protocol version rejected" "$PROBE" "$EMP_PEER_IP" $port badversion
	emp_tap_check "connect without magic rejected" "$PROBE" "$EMP_PEER_IP" $port nomagic
	emp_tap_check "I/O queue of an unknown session rejected" "$PROBE" "$EMP_PEER_IP" $port nosession
	emp_tap_check "garbage messages rejected, session survives" "$PROBE" "$EMP_PEER_IP" $port garbage
	emp_tap_check "4 chunks: zeroed, RDMA WRITE/READ verified, freed" "$PROBE" "$EMP_PEER_IP" $port chunks 4
	out=$("$PROBE" "$EMP_PEER_IP" $port exhaust 2>&1)
	echo "$out" | sed 's/^/# /'
	emp_tap_check "budget of 64 MiB gives exactly 32 chunks" grep -q "32 chunks (64 MiB) before NO_SPACE" <<<"$out"
	# its output says how many rounds the transport cut short (iWARP)
	rc=0
	out=$("$PROBE" "$EMP_PEER_IP" $port abandon 40 2>&1) || rc=$?
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	emp_tap_check "40 clients leave with allocations in flight; the next is served (exit 0, got $rc)" \
		test "$rc" = 0
	rc=0
	out=$("$PROBE" "$EMP_PEER_IP" $port orphan $((30 * ${EMP_TIME_FACTOR:-1})) 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	emp_tap_check "an I/O queue ends with its session's admin queue (exit 0, got $rc)" \
		test "$rc" = 0
	"$PROBE" "$EMP_PEER_IP" $port hold 3 120 >/tmp/hold.out 2>&1 &
	holder=$!
	emp_wait_for "grep -q holding /tmp/hold.out" 120 || { cat /tmp/hold.out; emp_fail "hold did not start"; }
	emp_sync_post holding
	emp_sync_wait disabled 300
	wait $holder
	rc=$?
	sed 's/^/# /' /tmp/hold.out
	emp_tap_check "client sees the disconnect cleanly (exit 3, got $rc)" test "$rc" = 3
	emp_sync_post done
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
