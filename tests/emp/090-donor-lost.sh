#!/bin/bash
# A donor that stops answering mid-run (every packet it would send is
# dropped, as when its host hangs or its link dies; soft-RoCE merely
# pauses while a link is down, so the link stays up and netem drops
# everything). Three devices on that donor show both ways the loss is
# detected: empblk0, busy when the loss begins, through the transport's
# bounded retries; empblk1, whose requests start after it with a 1 s
# io_timeout, through the block layer's timeout, which moves the donor's
# queues to the error state; over RoCE, empblk2, created with an ACK
# timeout (ack_timeout 25: 137 s) that outlasts its io_timeout, through
# the block layer's timeout too, although that is longer than the
# transport's default give-up time. The devices have loss_timeout 0, so a
# lost donor is given up at once (092 shows what the default, reconnecting,
# does). Either way I/O fails cleanly with ratelimited
# messages, nothing hangs or crashes, the devices can be destroyed and the
# module unloaded. The donor ends the sessions once the client is gone.
# guests: 2
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 256
	emp_sync_wait writing 600
	sleep 2
	# the donor disappears from the network
	modprobe sch_netem || emp_fail "no netem"
	tc qdisc add dev eth0 root netem loss 100% || emp_fail "tc netem failed"
	emp_log "eth0 drops everything"
	emp_sync_post lossy
	emp_sync_wait lost-seen 600
	tc qdisc del dev eth0 root
	emp_sync_post gone
	emp_sync_wait done 600
	# the client is gone for good: its sessions must end and free memory
	emp_tap_check "the donor ends the dead sessions" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 120 1
	emp_tap_check "and frees their memory" test "$(cat $T/bytes_in_use)" = 0
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	devs=(0 1 2)
	# iWARP has no ACK timeout (TCP times its retransmissions), and
	# empblk2's phase would make the partition 80 s longer: long enough
	# for the compute's orphaned TCP connections to give up without
	# telling the donor, which then keeps their sessions (a known
	# problem: Documentation/testing.rst)
	[[ ${EMP_TEST_RDMA:-rxe} == rxe ]] || devs=(0 1)
	for n in "${devs[@]}"; do
		# given up at once: 092 shows the reconnection
		args=(--loss-timeout 0)
		((n == 2)) && args+=(--ack-timeout 25)
		"$EMPCTL" create empblk$n --mem-path "$EMP_PEER_IP:64:19675" "${args[@]}" >/dev/null ||
			emp_fail "create empblk$n failed"
		dd if=/dev/urandom of=/dev/empblk$n bs=1M count=16 oflag=direct status=none ||
			emp_fail "initial write to empblk$n failed"
	done
	emp_sync_post writing
	start=$(date +%s)
	# empblk0: keep writing and reading until the donor is gone
	for i in $(seq 200); do
		dd if=/dev/urandom of=/dev/empblk0 bs=64k count=16 seek=$((i % 256)) oflag=direct status=none 2>/dev/null || break
		dd if=/dev/empblk0 of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null || break
	done
	took=$(($(date +%s) - start))
	emp_log "empblk0: I/O failed after $i rounds, ${took}s"
	emp_tap_check "empblk0: I/O to the lost donor fails instead of hanging (${took}s)" test "$i" -lt 200
	emp_tap_check "empblk0: the device reports the donor lost" emp_wait_for "[ \$(cat /sys/block/empblk0/emp/donors_connected) = 0 ]" 60 1
	emp_tap_check "empblk0: later reads fail at once" bash -c "! timeout 20 dd if=/dev/empblk0 of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null"
	emp_tap_check "empblk0: a clear message in the kernel log" bash -c "dmesg | grep -q 'empblk0: donor .* lost'"
	emp_tap_check "empblk0: remote_errors counted" test "$(cat /sys/block/empblk0/emp/remote_errors)" -gt 0
	if [[ ${EMP_TEST_RDMA:-rxe} == rxe ]]; then
		# over iWARP TCP retries for minutes: io_timeout notices first
		emp_tap_check "empblk0: lost by the transport's retries" bash -c "dmesg | grep -q 'empblk0: donor .* lost (transport retry counter exceeded)'"
	fi

	# empblk1: requests started after the loss, with a short timeout
	emp_sync_wait lossy 120
	echo 1000 >/sys/block/empblk1/queue/io_timeout
	start=$(date +%s)
	emp_tap_check "empblk1: a read from the silent donor fails" bash -c "! timeout 60 dd if=/dev/empblk1 of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null"
	emp_log "empblk1: read failed after $(($(date +%s) - start))s"
	emp_tap_check "empblk1: the timeout is logged" bash -c "dmesg | grep -q 'empblk1: read of .* timed out after 1000 ms'"
	emp_tap_check "empblk1: the donor is declared lost by the timeout" bash -c "dmesg | grep -q 'empblk1: donor .* lost (request timed out)'"
	emp_tap_check "empblk1: the device reports the donor lost" test "$(cat /sys/block/empblk1/emp/donors_connected)" = 0

	# empblk2: its ACK timeout outlasts io_timeout, which is longer than
	# the transport would take with the default ACK timeout (about 4 s,
	# as empblk0 shows): the timeout notices first
	if ((${#devs[@]} == 3)); then
		to=$((20 * ${EMP_TIME_FACTOR:-1}))
		echo $((to * 1000)) >/sys/block/empblk2/queue/io_timeout
		start=$(date +%s)
		emp_tap_check "empblk2: a read from the silent donor fails" bash -c "! timeout $((to * 3)) dd if=/dev/empblk2 of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null"
		emp_log "empblk2: read failed after $(($(date +%s) - start))s"
		emp_tap_check "empblk2: lost by io_timeout, not by the transport (ack_timeout 25)" bash -c \
			"dmesg | grep -q 'empblk2: read of .* timed out after $((to * 1000)) ms' && dmesg | grep -q 'empblk2: donor .* lost (request timed out)' && ! dmesg | grep -q 'empblk2: donor .* lost (transport'"
		emp_tap_check "empblk2: the device reports the donor lost" test "$(cat /sys/block/empblk2/emp/donors_connected)" = 0
	fi
	emp_sync_post lost-seen
	emp_sync_wait gone 600
	emp_tap_check "empblk0 can be destroyed" timeout 60 "$EMPCTL" destroy empblk0
	emp_tap_check "empblk1 can be destroyed" timeout 60 "$EMPCTL" destroy empblk1
	((${#devs[@]} < 3)) || emp_tap_check "empblk2 can be destroyed" timeout 60 "$EMPCTL" destroy empblk2
	emp_tap_check "the module unloads" timeout 60 rmmod empblk
	emp_sync_post done
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
