#!/bin/bash
# A donor guest killed mid-run: while the compute guest writes and reads,
# the donor's machine powers off at once (no module unload, no
# disconnect: its QEMU process exits). The device holds its I/O while it
# tries to reconnect, every 2 s, and gives the donor up when its
# loss_timeout (10 s) runs out: then the compute guest logs clean errors,
# stays alive, fails I/O to the lost donor at once (what it held is lost,
# counted in lost_bytes; this one-donor device has nowhere to move it),
# and can destroy the device and unload the module.
# guests: 2
# timeout: 600
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 128
	emp_sync_wait writing 300
	emp_tap_check "the client holds memory here" test "$(cat $T/bytes_in_use)" -gt 0
	sleep 2
	emp_log "powering off with the client attached"
	emp_tap_done
	# the harness powers the guest off as soon as this returns
	;;
compute)
	emp_require_empctl
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:128:19675" --reconnect-delay 2 --loss-timeout 10 >/dev/null ||
		emp_fail "create failed"
	dd if=/dev/urandom of=/dev/empblk0 bs=1M count=16 oflag=direct status=none || emp_fail "initial write failed"
	emp_sync_post writing
	start=$(date +%s)
	for i in $(seq 400); do
		dd if=/dev/urandom of=/dev/empblk0 bs=64k count=16 seek=$((i % 256)) oflag=direct status=none 2>/dev/null || break
		dd if=/dev/empblk0 of=/dev/null bs=64k count=16 iflag=direct status=none 2>/dev/null || break
	done
	took=$(($(date +%s) - start))
	emp_log "I/O failed after $i rounds, ${took}s"
	emp_tap_check "I/O to the killed donor fails instead of hanging (${took}s)" test "$i" -lt 400
	emp_tap_check "the device reports the donor lost" emp_wait_for "[ \$(cat /sys/block/empblk0/emp/donors_connected) = 0 ]" 60 1
	# (not zeroes: a zero page is kept as a bit and needs no donor)
	emp_tap_check "later writes fail at once" bash -c "! timeout 20 dd if=/dev/urandom of=/dev/empblk0 bs=4k count=1 oflag=direct status=none 2>/dev/null"
	if [[ ${EMP_TEST_RDMA:-rxe} == rxe ]]; then
		emp_tap_check "a clear message in the kernel log" bash -c "dmesg | grep -q 'empblk0: donor .* lost (.*): its I/O is held while it reconnects, for up to 10 s'"
		emp_tap_check "given up after loss_timeout" bash -c "dmesg | grep -q 'empblk0: donor .* lost (not back within loss_timeout)'"
	else
		# over iWARP a completed WRITE may not be placed: never resumed
		emp_tap_check "given up at once over iWARP" bash -c "dmesg | grep -q 'empblk0: donor .* lost (.*): given up' && ! dmesg | grep -q 'empblk0: .*reconnects'"
	fi
	emp_tap_check "no reconnect counted" test "$(cat /sys/block/empblk0/emp/donor_reconnects)" = 0
	S=/sys/block/empblk0/emp
	# what the donor held is lost: the writes the loss held, run again,
	# find no other backend (nospace_errors); reads of it fail (lost_reads)
	emp_tap_check "what it held is lost, and counted ($(cat $S/lost_bytes) bytes)" \
		bash -c "[ \$(cat $S/backends_failed) = 1 ] && [ \$(cat $S/lost_bytes) -ge $((16 << 20)) ] && [ \$(cat $S/nospace_errors) -gt 0 ]"
	emp_tap_check "a read of it fails, counted" \
		bash -c "! dd if=/dev/empblk0 of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null && [ \$(cat $S/lost_reads) -gt 0 ]"
	emp_tap_check "the guest still works" bash -c "echo alive >/tmp/x && grep -q alive /tmp/x"
	emp_tap_check "the device can be destroyed" timeout 120 "$EMPCTL" destroy empblk0
	emp_tap_check "the module unloads" timeout 60 rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
