#!/bin/bash
# A donor machine dies: its guest's QEMU is killed outright (SIGKILL, no
# shutdown, not a packet more) in the middle of the swap workload on a
# device that keeps each extent on the donor and on an SSD (replicas 2),
# with a second SSD entry as spare capacity. The device finds the donor
# silent, sends I/O to the SSD copies while it tries to reconnect (no
# I/O held), gives it up after loss_timeout (15 s), reports "degraded"
# and rebuilds the lost copies onto the spare SSD entry; then it is "ok"
# again (change uevents for both). The workload runs on until then and
# after: 0 mismatched words, no OOM kill, nothing lost, no I/O error.
# guests: 2
# timeout: 1200
# nvme: 80,80
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
S=/sys/block/empblk0/emp
[[ ${EMP_TEST_RDMA:-rxe} == rxe ]] || emp_skip "over iWARP a silent donor is given up at once, not reconnected (095 shows replicas then)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 128
	emp_sync_wait swapping 600
	emp_tap_check "swap-outs reach the donor" emp_wait_for "[ \$(cat $T/bytes_in_use) -gt $((8 << 20)) ]" 300 1
	emp_log "this machine dies now"
	emp_kill_me
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 2
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	# a short ACK timeout: the transport notices the silence within a second
	emp_tap_check "create empblk0: donor:64|ssd:80|ssd:80 --replicas 2 --size 64" \
		"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675|/dev/nvme0n1:80:0|/dev/nvme1n1:80:0" \
		--replicas 2 --size 64 --block-size 16K --subblock-size 16K \
		--reconnect-delay 1 --loss-timeout 15 --ack-timeout 14 ||
		emp_fail "no empblk0 to test"
	emp_tap_check "rebuild_rate_mb 0: no cap" bash -c "echo 0 >/sys/kernel/config/empblk/empblk0/rebuild_rate_mb"
	emp_tap_check "mkswap and swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	emp_health_uevents_start
	emp_post_when_used /sys/block/empblk0/backends/0/used_bytes 8 swapping
	# on until the donor is given up and its copies rebuilt, and after
	emp_swap_until $S "[ \$(cat $S/backends_failed) = 1 ] && [ \$(cat $S/health) = ok ] && [ \$(cat $S/rebuild_state) = idle ]" /tmp/mv.until
	emp_swap_verify $S 48 2000 4242 /tmp/mv.until
	wait $emp_poster_pid $emp_until_pid
	emp_tap_check "swapoff" swapoff /dev/empblk0
	dmesg | grep 'empblk0:' | sed 's/^/# /'
	emp_tap_check "the donor was found silent, and given up after loss_timeout" \
		bash -c "dmesg | grep -q 'empblk0: donor .* lost (.*): I/O goes to the other copies, and its copies miss writes, while it reconnects, for up to 15 s' &&
			dmesg | grep -q 'empblk0: donor .* lost (not back within loss_timeout): given up, the device goes on without it' &&
			[ \$(cat $S/backends_failed) = 1 ]"
	emp_tap_check "its copies were rebuilt onto the spare SSD entry: health ok" \
		bash -c "[ \$(cat $S/health) = ok ] && [ \$(cat $S/degraded_bytes) = 0 ] && [ \$(cat $S/rebuild_bytes) -gt 0 ] &&
			[ \$(cat /sys/block/empblk0/backends/0/used_bytes) = 0 ] &&
			dmesg | grep -q 'empblk0: rebuild done: .* MiB copied in .* ms; every extent has its copies'"
	emp_health_uevents_seen degraded ok
	emp_tap_nothing_lost $S
	emp_tap_check "destroy empblk0" timeout 60 "$EMPCTL" destroy empblk0
	emp_tap_check "rmmod empblk" timeout 60 rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
