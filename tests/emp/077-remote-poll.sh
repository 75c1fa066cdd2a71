#!/bin/bash
# Polled queues: a device with poll_queues reaps its completions from the
# submitting task (io_uring IOPOLL) instead of from an interrupt. The queue
# advertises polling, fio crc32c verification passes on an IOPOLL ring,
# the completions were reaped by polling; a bad count is refused; without
# poll queues the queue does not advertise polling.
# guests: 2
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
CFG=/sys/kernel/config/empblk
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 256
	emp_sync_wait done 900
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	command -v fio >/dev/null || emp_skip "fio not installed"
	S=/sys/block/empblk0/emp
	D="$EMP_PEER_IP:128:19675"
	emp_modprobe_empblk
	emp_sync_wait target-up 300

	mkdir $CFG/empblk1
	emp_tap_check "poll_queues 65 is refused" bash -c "! echo 65 >$CFG/empblk1/poll_queues 2>/dev/null && [ \$(cat $CFG/empblk1/poll_queues) = 0 ] && dmesg | grep -q 'poll_queues \"65\" must be 0..64'"
	emp_tap_check "features lists poll_queues" grep -qw poll_queues $CFG/features
	rmdir $CFG/empblk1

	"$EMPCTL" create empblk0 --mem-path "$D" --poll-queues 2 >/dev/null || emp_fail "create with poll queues failed"
	emp_tap_check "the queue advertises polling" test "$(cat /sys/block/empblk0/queue/io_poll)" = 1
	for run in 4k:8:4M 64k:8:16M 4k:1:2M; do
		IFS=: read -r bs qd size <<<"$run"
		p0=$(cat $S/polled_completions)
		emp_tap_check "fio io_uring IOPOLL randwrite+verify crc32c bs=$bs QD $qd" \
			fio --name="p-$bs-$qd" --filename=/dev/empblk0 --direct=1 \
			--ioengine=io_uring --hipri=1 --iodepth=$qd --size=$size --bs=$bs \
			--rw=randwrite --verify=crc32c --verify_fatal=1 --do_verify=1 \
			--randrepeat=0 --output-format=terse
		emp_tap_check "bs=$bs QD $qd: completions reaped by polling ($(($(cat $S/polled_completions) - p0)))" \
			test $(($(cat $S/polled_completions) - p0)) -gt 100
	done
	emp_tap_check "no remote errors" test "$(cat $S/remote_errors)" = 0
	emp_tap_check "destroy" "$EMPCTL" destroy empblk0

	"$EMPCTL" create empblk0 --mem-path "$D" >/dev/null || emp_fail "create without poll queues failed"
	emp_tap_check "without poll queues the queue does not advertise polling" \
		test "$(cat /sys/block/empblk0/queue/io_poll)" = 0
	emp_tap_check "and interrupt-driven I/O verifies" \
		fio --name=np --filename=/dev/empblk0 --direct=1 --ioengine=io_uring \
		--iodepth=8 --size=4M --bs=4k --rw=randwrite --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=0 --output-format=terse
	emp_tap_check "with nothing polled" test "$(cat $S/polled_completions)" = 0
	emp_tap_check "destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
