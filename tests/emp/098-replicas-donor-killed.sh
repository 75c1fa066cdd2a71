#!/bin/bash
# Replicas over two donor machines, one of which dies: a swap device
# keeps each extent on two backends of donor 1, donor 2 and an SSD entry
# (replicas 2, fastest-first: the copies go to the donors while they
# have room, the SSD entry is spare capacity). In the middle of the swap
# workload donor 2's guest is killed outright (QEMU SIGKILLed). The
# device sends the I/O to the other copies while it tries to reconnect,
# gives donor 2 up after loss_timeout (15 s), reports "degraded", and
# rebuilds the lost copies onto donor 1 and the SSD entry; then it is
# "ok" again (change uevents for both). The workload runs on until then
# and after: 0 mismatched words, no OOM kill, nothing lost, no I/O
# error. Donor 1 serves throughout and frees everything once the device
# is destroyed.
# guests: 3
# timeout: 1500
# nvme: 32
# kernels: none-until-ethhub-switches
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
S=/sys/block/empblk0/emp
B=/sys/block/empblk0/backends
[[ ${EMP_TEST_RDMA:-rxe} == rxe ]] || emp_skip "over iWARP a silent donor is given up at once, not reconnected (095 shows replicas then)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 96
	emp_sync_wait done 1500
	emp_tap_check "donor 1 held copies, and freed them with the device" \
		emp_wait_for "[ \$(cat $T/sessions) = 0 ] && [ \$(cat $T/bytes_in_use) = 0 ] && [ \$(cat $T/sessions_total) = 1 ]" 30 1
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
donor2)
	emp_target_up $T 96
	emp_sync_wait swapping 900
	emp_tap_check "swap-outs reach donor 2" emp_wait_for "[ \$(cat $T/bytes_in_use) -gt $((4 << 20)) ]" 300 1
	emp_log "this machine dies now"
	emp_kill_me
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 1
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	emp_sync_wait target-up-donor2 300
	D1="$EMP_PEER_IP:64:19675"
	D2="$EMP_PEER2_IP:64:19675"
	# a short ACK timeout: the transport notices the silence within a second
	emp_tap_check "create empblk0: donor1:64|donor2:64|ssd:32 --replicas 2 --placement fastest-first --size 24" \
		"$EMPCTL" create empblk0 --mem-path "$D1|$D2|/dev/nvme0n1:32:0" \
		--replicas 2 --placement fastest-first --size 24 --block-size 16K --subblock-size 16K \
		--reconnect-delay 1 --loss-timeout 15 --ack-timeout 14 ||
		emp_fail "no empblk0 to test"
	emp_tap_check "rebuild_rate_mb 0: no cap" bash -c "echo 0 >/sys/kernel/config/empblk/empblk0/rebuild_rate_mb"
	emp_tap_check "mkswap and swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	emp_health_uevents_start
	emp_post_when_used $B/1/used_bytes 4 swapping
	# on until donor 2 is given up and its copies rebuilt, and after
	emp_swap_until $S "[ \$(cat $S/backends_failed) = 1 ] && [ \$(cat $S/health) = ok ] && [ \$(cat $S/rebuild_state) = idle ]" /tmp/mv.until
	emp_swap_verify $S 32 2000 4242 /tmp/mv.until
	wait $emp_poster_pid $emp_until_pid
	emp_tap_check "swapoff" swapoff /dev/empblk0
	dmesg | grep 'empblk0:' | sed 's/^/# /'
	echo "# backends: $(cat $B/0/used_bytes) $(cat $B/1/used_bytes) $(cat $B/2/used_bytes); rebuilt $(cat $S/rebuild_bytes)"
	emp_tap_check "donor 2 was found silent, and given up after loss_timeout" \
		bash -c "dmesg | grep -q 'empblk0: donor $EMP_PEER2_IP:19675 lost (.*): I/O goes to the other copies, and its copies miss writes, while it reconnects, for up to 15 s' &&
			dmesg | grep -q 'empblk0: donor $EMP_PEER2_IP:19675 lost (not back within loss_timeout): given up, the device goes on without it' &&
			[ \$(cat $S/backends_failed) = 1 ] && ! dmesg | grep -q 'empblk0: donor $EMP_PEER_IP:19675 lost'"
	emp_tap_check "its copies were rebuilt onto donor 1 and the SSD entry: health ok" \
		bash -c "[ \$(cat $S/health) = ok ] && [ \$(cat $S/degraded_bytes) = 0 ] && [ \$(cat $S/rebuild_bytes) -gt 0 ] &&
			[ \$(cat $B/1/used_bytes) = 0 ] && [ \$(cat $B/2/used_bytes) -gt 0 ] &&
			dmesg | grep -q 'empblk0: rebuild done: .* MiB copied in .* ms; every extent has its copies'"
	emp_health_uevents_seen degraded ok
	emp_tap_nothing_lost $S
	emp_tap_check "destroy empblk0" timeout 60 "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" timeout 60 rmmod empblk
	;;
*) emp_skip "needs three guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
