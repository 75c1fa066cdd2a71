#!/bin/bash
# A discard right behind a write must not free the donor chunk before the
# write's data is there. Over iWARP (siw) an RDMA WRITE completes once it
# is handed to TCP; the chunk free goes on another connection and, with
# the write's tail still in TCP's send queue, can reach the donor first:
# the donor then gets the data for an unregistered chunk and terminates
# the queue pair. A 300 ms delay on the compute guest's egress keeps TCP
# congestion-window bound, so the tail of every 1 MiB write is still
# unsent when the write completes, and wrdiscard sends the discard right
# behind it. empblk flushes the queues with a
# zero-length RDMA READ before each free over iWARP (chunk_free_flushes);
# over RoCE a WRITE completes only once acknowledged, and it need not.
# guests: 2
# timeout: 900
# memory: 1024
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports
emp_rxe_up eth0 rxe0
rounds=8

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $T/p0
	echo "$EMP_SELF_IP" >$T/p0/addr
	echo 19675 >$T/p0/port
	echo 64 >$T/p0/budget_mb
	echo 1 >$T/p0/enable || emp_fail "cannot enable port p0"
	emp_sync_post target-up
	emp_sync_wait raced 600
	emp_tap_check "every chunk given back ($(cat $T/p0/bytes_in_use) bytes in use)" \
		test "$(cat $T/p0/bytes_in_use)" = 0
	emp_sync_post checked
	emp_sync_wait done 300
	emp_tap_check "the session ends with the device" emp_wait_for "[ \$(cat $T/p0/sessions) = 0 ]" 30 1
	rmdir $T/p0
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	WRDISCARD=$EMP_REPO/build/tests/wrdiscard
	[[ -x $WRDISCARD ]] || emp_fail "$WRDISCARD not built (make test-progs)"
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	S=/sys/block/empblk0/emp
	iwarp=0
	[[ ${EMP_TEST_RDMA:-rxe} == siw ]] && iwarp=1
	"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675" >/dev/null ||
		emp_fail "create with one donor failed"
	head -c $((1 << 20)) /dev/urandom >/tmp/data
	modprobe sch_netem || emp_fail "no netem"
	tc qdisc add dev eth0 root netem delay 300ms || emp_fail "tc netem failed"

	# each round: 1 MiB into a fresh 2 MiB chunk, then at once (no
	# process start between) a discard of the chunk
	out=$("$WRDISCARD" /dev/empblk0 $rounds $((1 << 20)) $((2 << 20)) 2>&1)
	rc=$?
	emp_tap_check "$rounds writes each followed by a discard of its chunk (exit $rc: $out)" test $rc = 0
	emp_tap_check "no remote error, the donor still connected" \
		bash -c "[ \$(cat $S/remote_errors) = 0 ] && [ \$(cat $S/donors_connected) = 1 ]"
	emp_tap_check "the device gave every chunk back" test "$(cat $S/remote_bytes_in_use)" = 0
	flushes=$(cat $S/chunk_free_flushes)
	if ((iwarp)); then
		emp_tap_check "over iWARP each free was flushed first ($flushes flushes)" test "$flushes" = $rounds
	else
		emp_tap_check "over RoCE no free needs a flush ($flushes)" test "$flushes" = 0
	fi
	emp_tap_check "written after the races, the data reads back" bash -c "
		dd if=/tmp/data of=/dev/empblk0 bs=1M seek=20 count=1 oflag=direct status=none &&
		dd if=/dev/empblk0 bs=1M skip=20 count=1 iflag=direct status=none | cmp - /tmp/data"
	emp_tap_check "a discarded chunk reads back zeroes" bash -c "
		dd if=/dev/empblk0 bs=1M skip=2 count=1 iflag=direct status=none | cmp -n $((1 << 20)) /dev/zero -"
	blkdiscard -o $((20 << 20)) -l $((2 << 20)) /dev/empblk0
	emp_tap_check "no remote errors" test "$(cat $S/remote_errors)" = 0
	emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0

	# polled queues nobody polls (these writes are not polled): the
	# flush reaps their completion queues itself
	"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675" --poll-queues 1 >/dev/null ||
		emp_fail "create with a poll queue failed"
	out=$("$WRDISCARD" /dev/empblk0 2 $((1 << 20)) $((2 << 20)) 2>&1)
	rc=$?
	flushes=$(cat $S/chunk_free_flushes)
	want=0
	((iwarp)) && want=2
	emp_tap_check "with a poll queue: 2 rounds (exit $rc: $out), $flushes flushes, no remote error" \
		bash -c "[ $rc = 0 ] && [ $flushes = $want ] && [ \$(cat $S/remote_errors) = 0 ] && [ \$(cat $S/donors_connected) = 1 ]"
	tc qdisc del dev eth0 root
	emp_sync_post raced
	emp_sync_wait checked 300
	emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
