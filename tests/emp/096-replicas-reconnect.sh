#!/bin/bash
# Replicas while a donor reconnects: a swap device keeps each extent on a
# donor and on an SSD (replicas 2), and the link to the donor goes down
# for 15 s in the middle of the swap workload (every packet the donor
# sends is dropped), then comes back. The device does not hold its I/O
# for the donor meanwhile: swap-ins go on from the SSD copies and
# swap-outs to them, the donor's copies that miss writes are marked
# stale (health "degraded", a change uevent). Once the donor has
# reconnected with its memory as it was, the rebuild copies the good data
# over the stale copies where they are, and the device is "ok" again
# (another uevent). The workload
# verifies every word, also reading what was resynced (reads prefer the
# donor's copies); no I/O error, no OOM kill.
# guests: 2
# timeout: 1200
# nvme: 64
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
S=/sys/block/empblk0/emp
F=${EMP_TIME_FACTOR:-1}
# a completed WRITE over iWARP may not be placed: such a donor is never resumed
[[ ${EMP_TEST_RDMA:-rxe} == rxe ]] || emp_skip "over iWARP a lost donor is given up, not resumed (095 shows replicas then)"
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 128
	emp_sync_wait swapping 600
	emp_tap_check "swap-outs reach the donor" emp_wait_for "[ \$(cat $T/bytes_in_use) -gt $((8 << 20)) ]" 300 1
	modprobe sch_netem || emp_fail "no netem"
	tc qdisc add dev eth0 root netem loss 100% || emp_fail "tc netem failed"
	emp_log "eth0 drops everything for 15 s"
	emp_sync_post cut
	sleep 15
	tc qdisc del dev eth0 root
	emp_log "eth0 back"
	emp_sync_post back
	emp_sync_wait done 1200
	emp_tap_check "the session was resumed, not recreated" \
		bash -c "[ \$(cat $T/sessions_resumed) -ge 1 ] && [ \$(cat $T/sessions_total) = 1 ]"
	emp_tap_check "destroying the device ended its session" \
		emp_wait_for "[ \$(cat $T/sessions) = 0 ] && [ \$(cat $T/bytes_in_use) = 0 ]" 10
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 1
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	# a short ACK timeout: the transport notices the outage within a second
	emp_tap_check "create empblk0: donor:64|ssd:64 --replicas 2" \
		"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675|/dev/nvme0n1:64:0" \
		--replicas 2 --block-size 16K --subblock-size 16K --reconnect-delay 1 --ack-timeout 14 ||
		emp_fail "no empblk0 to test"
	emp_tap_check "mkswap and swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	emp_health_uevents_start
	# what the device did while the donor was away
	(
		emp_sync_wait cut 900
		emp_wait_for "[ \$(cat $S/donors_reconnecting) = 1 ]" 60 1 || exit 1
		r=$(cat $S/reads) w=$(cat $S/writes) health=
		for _ in $(seq 100); do
			[ "$(cat $S/health)" = degraded ] && health=degraded
			[ -e "$EMP_SHARED/back" ] && break
			[ "$(cat $S/donors_reconnecting)" = 0 ] && break
			sleep 0.2
		done
		echo "$(($(cat $S/reads) - r)) $(($(cat $S/writes) - w)) ${health:-ok}" >/tmp/outage
	) &
	sampler=$!
	emp_post_when_used /sys/block/empblk0/backends/0/used_bytes 8 swapping
	# on until the donor is back and its copies resynced, and after
	emp_swap_until $S "[ \$(cat $S/donor_reconnects) != 0 ] && [ \$(cat $S/health) = ok ] && [ \$(cat $S/rebuild_state) = idle ]" /tmp/mv.until
	emp_swap_verify $S 48 $((4000 / F)) 4242 /tmp/mv.until
	wait $emp_poster_pid $emp_until_pid
	wait $sampler
	read -r ins outs health </tmp/outage
	emp_tap_check "swapoff" swapoff /dev/empblk0
	dmesg | grep 'empblk0:' | sed 's/^/# /'
	emp_tap_check "the donor was lost and reconnected with its memory" \
		bash -c "dmesg | grep -q 'empblk0: donor .* lost (.*): I/O goes to the other copies, and its copies miss writes, while it reconnects, for up to 600 s' &&
			dmesg | grep -q 'empblk0: donor .* reconnected after .* its memory as it was' && [ \$(cat $S/donor_reconnects) -ge 1 ]"
	emp_tap_check "swap-ins went on while it was away ($ins)" test "${ins:-0}" -gt 50
	emp_tap_check "swap-outs too ($outs)" test "${outs:-0}" -gt 20
	emp_tap_check "health was degraded meanwhile" test "$health" = degraded
	emp_tap_check "its stale copies were resynced: health ok, rebuild idle" \
		bash -c "[ \$(cat $S/health) = ok ] && [ \$(cat $S/degraded_bytes) = 0 ] && [ \$(cat $S/rebuild_state) = idle ] && [ \$(cat $S/rebuild_bytes) -gt 0 ]"
	emp_tap_check "the resync is logged" \
		bash -c "dmesg | grep -q 'empblk0: rebuild waits for a backend that is reconnecting' &&
			dmesg | grep -q 'empblk0: rebuild done: .* MiB copied in .* ms; every extent has its copies'"
	emp_health_uevents_seen degraded ok
	emp_tap_nothing_lost $S
	emp_tap_check "no backend given up" test "$(cat $S/backends_failed)" = 0
	emp_tap_check "destroy empblk0" timeout 60 "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" timeout 60 rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
