#!/bin/bash
# Donor sessions that outlive their connections (protocol 1.1), probed
# from a compute guest with tests/src/empprobe.c: a client that vanishes
# leaves a detached session whose memory is kept; the client reattaches
# with its cookie and finds its chunks, data and keys as they were, and a
# repeated allocation is answered from the donor's memory of it rather
# than with a new chunk; CLOSE ends a session at once; a session not
# resumed within its grace period is freed and a late reattach refused; a
# reattach while the old connection still looks alive ends that
# connection first; keep-alives keep a session up and silence ends it;
# disabling the port frees detached sessions at once.
# guests: 2
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

PROBE=$EMP_REPO/build/tests/empprobe
P=/sys/kernel/config/emp_target/ports/p0
SESS=/sys/kernel/emp_target/sessions
F=${EMP_TIME_FACTOR:-1}
[[ -x $PROBE ]] || emp_fail "$PROBE not built (make test-progs)"
emp_rxe_up eth0 rxe0

# probe DESC CMD...: run empprobe against the donor, its output as comments
probe() {
	local desc=$1 rc=0 out
	shift
	out=$("$PROBE" "$EMP_PEER_IP" 19675 "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	emp_tap_check "$desc (exit $rc)" test "$rc" = 0
}

# the only session's file NAME
sess_file() { cat $SESS/*/"$1" 2>/dev/null; }

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $P
	emp_tap_check "max_grace_s defaults to 600" test "$(cat $P/max_grace_s)" = 600
	emp_tap_check "max_grace_s 86401 refused with a message" \
		bash -c "! echo 86401 > $P/max_grace_s 2>/dev/null && dmesg | grep -q 'max_grace_s \"86401\" must be 0..86400 s'"
	echo "$EMP_SELF_IP" >$P/addr
	echo 64 >$P/budget_mb
	emp_tap_check "port enabled" bash -c "echo 1 > $P/enable"
	emp_sync_post target-up

	emp_sync_wait detached 300
	emp_tap_check "the vanished client's session is detached" \
		emp_wait_for "[ \"\$(cat $SESS/*/state 2>/dev/null)\" = detached ]" 30
	emp_tap_check "its grace period is the 30 s it asked for" test "$(sess_file grace_s)" = 30
	emp_tap_check "with no queue left" test "$(sess_file queues)" = 0
	emp_tap_check "and its 2 chunks kept" test "$(cat $P/bytes_in_use)" = $((4 << 20))
	emp_sync_post checked-detached
	emp_sync_wait reattached 300
	emp_tap_check "one session resumed" test "$(cat $P/sessions_resumed)" = 1
	emp_tap_check "CLOSE ended it at once: nothing kept" \
		emp_wait_for "[ \$(cat $P/sessions) = 0 ] && [ \$(cat $P/bytes_in_use) = 0 ]" 30
	emp_sync_post checked-reattached

	emp_sync_wait expired 300
	emp_tap_check "the session not resumed in time was freed" \
		bash -c "[ \$(cat $P/sessions_expired) = 1 ] && [ \$(cat $P/sessions) = 0 ] && [ \$(cat $P/bytes_in_use) = 0 ]"
	emp_tap_check "... and logged" bash -c "dmesg | grep -q 'not resumed within 3 s: its 1 chunks are freed'"
	emp_sync_post checked-expired

	emp_sync_wait taken-over 300
	emp_tap_check "takeover: resumed, then closed" \
		emp_wait_for "[ \$(cat $P/sessions_resumed) = 2 ] && [ \$(cat $P/sessions) = 0 ]" 30
	emp_sync_post checked-taken-over

	emp_sync_wait kept-alive 300
	emp_tap_check "a silent client was disconnected (keepalive_timeouts 1)" test "$(cat $P/keepalive_timeouts)" = 1
	emp_tap_check "... logged with its address" bash -c "dmesg | grep -q 'client .* sent nothing for 4 s: disconnecting it'"
	emp_tap_check "without a grace period its session ended" emp_wait_for "[ \$(cat $P/sessions) = 0 ]" 30
	emp_sync_post checked-kept-alive

	emp_sync_wait held 300
	emp_tap_check "a client gone with 600 s of grace: detached" \
		emp_wait_for "[ \"\$(cat $SESS/*/state 2>/dev/null)\" = detached ]" 30
	emp_tap_check "disable frees the detached session at once" \
		bash -c "echo 0 > $P/enable && [ \$(cat $P/sessions) = 0 ] && [ \$(cat $P/bytes_in_use) = 0 ] && [ -z \"\$(ls $SESS)\" ]"
	emp_tap_check "every chunk handed out was freed" bash -c "[ \$(cat $P/chunks_allocated) = \$(cat $P/chunks_freed) ]"
	emp_sync_post disabled
	emp_tap_check "port removed" rmdir $P
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_sync_wait target-up 300
	probe "a client with 30 s of grace writes 2 chunks and vanishes" detach 30 2 /tmp/s1
	emp_sync_post detached
	emp_sync_wait checked-detached 300
	probe "it reattaches: same incarnation, data and keys kept, repeated allocation answered as before" \
		reattach /tmp/s1
	emp_sync_post reattached
	emp_sync_wait checked-reattached 300

	probe "a client with 3 s of grace vanishes" detach 3 1 /tmp/s2
	sleep $((3 * F + 5))
	probe "its reattach after the grace period is refused: NO_SESSION" gone /tmp/s2
	emp_sync_post expired
	emp_sync_wait checked-expired 300

	probe "a reattach while the old connection is up ends it and resumes" takeover 30
	emp_sync_post taken-over
	emp_sync_wait checked-taken-over 300

	probe "keep-alives hold a session 12 s; silence ends it" keepalive 4
	emp_sync_post kept-alive
	emp_sync_wait checked-kept-alive 300

	probe "a client with 600 s of grace vanishes" detach 600 1 /tmp/s3
	emp_sync_post held
	emp_sync_wait disabled 300
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
