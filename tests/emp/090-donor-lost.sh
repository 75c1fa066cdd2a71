#!/bin/bash
# A donor that vanishes mid-run (every packet it would receive is dropped,
# as when the donor host dies; soft-RoCE merely pauses while a link is
# down, so the link stays up and netem drops everything): the compute
# guest's I/O fails cleanly with ratelimited messages, nothing hangs or
# crashes, the device can be destroyed and the module unloaded. The donor
# ends the session once the client is gone.
# guests: 2
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
# OPEN BUG: with the donor dropping every packet, the compute guest stops
# making any progress (no console output, no hung-task report) on 6.1 and
# 6.12 until the harness kills it at the timeout; the root cause is not
# found yet (suspects: rxe retransmission under total loss, or the
# client's 8k-WR queue sizing). Until it is, run this test on purpose:
# EMP_TEST_DONOR_LOSS=1 tests/run tests/emp/090-donor-lost.sh
[[ ${EMP_TEST_DONOR_LOSS:-0} == 1 ]] ||
	emp_skip "open bug: a vanished donor freezes the compute guest (set EMP_TEST_DONOR_LOSS=1 to run)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $T
	echo "$EMP_SELF_IP" >$T/addr
	echo 256 >$T/budget_mb
	echo 1 >$T/enable || emp_fail "cannot enable the port"
	emp_sync_post target-up
	emp_sync_wait writing 600
	sleep 2
	# the donor disappears from the network
	modprobe sch_netem || emp_fail "no netem"
	tc qdisc add dev eth0 root netem loss 100% || emp_fail "tc netem failed"
	emp_log "eth0 drops everything"
	emp_sync_wait lost-seen 600
	tc qdisc del dev eth0 root
	emp_sync_post gone
	emp_sync_wait done 600
	# the client is gone for good: its session must end and free memory
	emp_tap_check "the donor ends the dead session" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 120 1
	emp_tap_check "and frees its memory" test "$(cat $T/bytes_in_use)" = 0
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:256:19675" >/dev/null || emp_fail "create failed"
	dd if=/dev/urandom of=/dev/empblk0 bs=1M count=16 oflag=direct status=none || emp_fail "initial write failed"
	emp_sync_post writing
	start=$(date +%s)
	# keep writing and reading until the donor is gone
	for i in $(seq 200); do
		dd if=/dev/urandom of=/dev/empblk0 bs=64k count=16 seek=$((i % 256)) oflag=direct status=none 2>/dev/null || break
		dd if=/dev/empblk0 of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null || break
	done
	took=$(($(date +%s) - start))
	emp_log "I/O failed after $i rounds, ${took}s"
	emp_tap_check "I/O to the lost donor fails instead of hanging (${took}s)" test "$i" -lt 200
	emp_tap_check "the device reports the donor lost" emp_wait_for "[ \$(cat /sys/block/empblk0/emp/donors_connected) = 0 ]" 60 1
	emp_tap_check "later reads fail at once" bash -c "! timeout 20 dd if=/dev/empblk0 of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null"
	emp_tap_check "a clear message in the kernel log" bash -c "dmesg | grep -q 'empblk0: donor .* lost'"
	emp_tap_check "remote_errors counted" test "$(cat /sys/block/empblk0/emp/remote_errors)" -gt 0
	emp_sync_post lost-seen
	emp_sync_wait gone 600
	emp_tap_check "the device can be destroyed" timeout 60 "$EMPCTL" destroy empblk0
	emp_tap_check "the module unloads" timeout 60 rmmod empblk
	emp_sync_post done
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
