#!/bin/bash
# The link to a donor goes down for 15 s in the middle of the swap
# workload, then comes back (every packet the donor sends is dropped
# meanwhile; soft-RoCE merely pauses while a link is down). With the
# defaults (reconnect_delay 10 s, loss_timeout 600 s) the device holds
# the I/O that needs the donor, reconnects and resumes its session on the
# donor, whose memory is as it was: no I/O error, no process killed, every
# word of the workload verifies, and the reconnect is counted on both
# sides. A second device on the same donor with loss_timeout 3 s and a
# short ACK timeout gives it up during the same outage: its reads fail
# with a clear message. (The short ACK timeout makes its transport notice
# the outage within a second: with the RDMA CM's RoCE default, 2 s per
# try on 6.1, the retries alone outlast the outage, the keep-alive finds
# the loss after up to 12.5 s, and a reconnect begun within loss_timeout
# of that may well see the link back and resume.)
# Destroying the devices ends their sessions on the donor at once.
# guests: 2
# timeout: 1200
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
S=/sys/block/empblk0/emp
S1=/sys/block/empblk1/emp
F=${EMP_TIME_FACTOR:-1}
# a completed WRITE over iWARP may not be placed: such a donor is never resumed
[[ ${EMP_TEST_RDMA:-rxe} == rxe ]] || emp_skip "over iWARP a lost donor is given up, not resumed (091 shows it)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 256
	emp_sync_wait swapping 600
	# cut once swap-outs reach the donor
	emp_tap_check "swap-outs reach the donor" emp_wait_for "[ \$(cat $T/bytes_in_use) -gt $((8 << 20)) ]" 300 1
	modprobe sch_netem || emp_fail "no netem"
	tc qdisc add dev eth0 root netem loss 100% || emp_fail "tc netem failed"
	emp_log "eth0 drops everything for 15 s"
	emp_sync_post cut
	sleep 15
	tc qdisc del dev eth0 root
	emp_log "eth0 back"
	emp_sync_post back
	emp_sync_wait verified 1200
	emp_tap_check "the session was resumed, not recreated" \
		bash -c "[ \$(cat $T/sessions_resumed) -ge 1 ] && [ \$(cat $T/sessions_total) = 2 ]"
	emp_sync_wait done 600
	emp_tap_check "destroying the devices ended their sessions (no grace period)" \
		emp_wait_for "[ \$(cat $T/sessions) = 0 ] && [ \$(cat $T/bytes_in_use) = 0 ]" 10
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	emp_tap_check "create empblk0 with the default loss handling" "$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:128:19675"
	emp_tap_check "reconnect_delay 10 and loss_timeout 600 by default" \
		bash -c "[ \$(cat /sys/kernel/config/empblk/empblk0/reconnect_delay) = 10 ] && [ \$(cat /sys/kernel/config/empblk/empblk0/loss_timeout) = 600 ]"
	emp_tap_check "create empblk1 with loss_timeout 3" "$EMPCTL" create empblk1 --mem-path "$EMP_PEER_IP:16:19675" --reconnect-delay 1 --loss-timeout 3 --ack-timeout 14
	dd if=/dev/urandom of=/dev/empblk1 bs=1M count=4 oflag=direct status=none || emp_fail "write to empblk1 failed"
	C=/sys/kernel/config/empblk/empblk9
	emp_tap_check "loss_timeout 86401 and reconnect_delay 0 refused with their messages" \
		bash -c "mkdir $C && ! echo 86401 >$C/loss_timeout 2>/dev/null && ! echo 0 >$C/reconnect_delay 2>/dev/null &&
			dmesg | grep -q 'empblk9: loss_timeout \"86401\" must be 0..86400 seconds' &&
			dmesg | grep -q 'empblk9: reconnect_delay \"0\" must be 1..3600 seconds' && rmdir $C"
	emp_tap_check "mkswap and swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	# empblk1 reads in a loop from the start of the outage until they fail
	(
		emp_sync_wait cut 600
		start=$EPOCHSECONDS
		while dd if=/dev/empblk1 of=/dev/null bs=64k count=1 iflag=direct status=none 2>/dev/null; do
			((EPOCHSECONDS - start < 300)) || break
			sleep 0.2
		done
		echo $((EPOCHSECONDS - start)) >/tmp/empblk1.failed
	) &
	reader=$!
	# the workload runs on until the donor has reconnected, and after
	emp_swap_until $S "[ \$(cat $S/donor_reconnects) != 0 ]" /tmp/mv.until
	emp_sync_post swapping
	emp_swap_verify $S 64 $((4000 / F)) 4242 /tmp/mv.until
	wait $reader $emp_until_pid
	took=$(cat /tmp/empblk1.failed)
	emp_tap_check "swapoff" swapoff /dev/empblk0
	emp_tap_check "no I/O error on empblk0" bash -c "[ \$(cat $S/remote_errors) = 0 ] && ! dmesg | grep -q 'empblk0: .*fails'"
	emp_tap_check "the outage was seen and the donor reconnected" \
		bash -c "dmesg | grep -q 'empblk0: donor .* lost (.*): its I/O is held while it reconnects, for up to 600 s' && dmesg | grep -q 'empblk0: donor .* reconnected after'"
	emp_tap_check "donor_reconnects counted ($(cat $S/donor_reconnects))" test "$(cat $S/donor_reconnects)" -ge 1
	emp_tap_check "requests were held and run again ($(cat $S/retried_requests))" test "$(cat $S/retried_requests)" -gt 0
	emp_tap_check "the donor is connected again" \
		bash -c "[ \$(cat $S/donors_connected) = 1 ] && [ \$(cat $S/donors_reconnecting) = 0 ]"
	emp_tap_check "empblk1 (loss_timeout 3) gave the donor up: its reads failed after ${took}s" \
		bash -c "[ $took -lt 300 ] && [ \$(cat $S1/donors_connected) = 0 ] && dmesg | grep -q 'empblk1: donor .* lost (not back within loss_timeout)'"
	emp_tap_check "empblk0 still reads and writes" bash -c "dd if=/dev/urandom of=/dev/empblk0 bs=64k count=16 oflag=direct status=none && dd if=/dev/empblk0 of=/dev/null bs=64k count=16 iflag=direct status=none"
	emp_sync_post verified
	emp_tap_check "destroy empblk0" timeout 60 "$EMPCTL" destroy empblk0
	emp_tap_check "destroy empblk1" timeout 60 "$EMPCTL" destroy empblk1
	emp_sync_post done
	emp_tap_check "rmmod empblk" timeout 60 rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
