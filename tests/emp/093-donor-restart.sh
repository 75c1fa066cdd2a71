#!/bin/bash
# The donor's target module is removed and loaded again under a device
# striped over the donor and an SSD, without replicas: the device sees
# the new incarnation (the donor no longer has its session) and gives the
# donor up. What the donor held is lost, and only that: every 64 KiB of
# the device reads either exactly what was written or fails with EIO,
# never stale data or zeroes; the failures add up to what the donor held
# (lost_bytes, one message for the loss, none per page). The donor's
# extents move to the SSD's spare room, so writing them again makes them
# good: afterwards the whole device reads back, lost_bytes is 0, and no
# write failed. The device keeps serving throughout.
# guests: 2
# timeout: 900
# nvme: 128
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 128
	emp_sync_wait written 600
	emp_tap_check "the donor holds 32 MiB of the device" test "$(cat $T/bytes_in_use)" = $((32 << 20))
	emp_target_restart $T 128
	emp_sync_post restarted
	emp_sync_wait done 600
	emp_tap_check "the device's new session ended with it" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 30 1
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target again" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 1
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	emp_donor_ssd_device --reconnect-delay 1
	emp_tap_check "all of it reads back" bash -c "$SCAN /dev/empblk0 /tmp/pat 65536 | grep -qx 'good 1024 lost 0 wrong 0'"
	emp_tap_check "nothing lost yet" bash -c "[ \$(cat $S/lost_bytes) = 0 ] && [ \$(cat $S/backends_failed) = 0 ] && [ \$(cat $B/0/state) = ok ]"
	emp_sync_post written
	emp_sync_wait restarted 600
	emp_tap_check "the donor's restart is seen and it is given up" \
		emp_wait_for "[ \$(cat $S/backends_failed) = 1 ] && [ \$(cat $B/0/state) = failed ]" 120 1
	dmesg | grep 'empblk0:' | sed 's/^/# /'
	emp_tap_check "the loss is logged once, with the reason" \
		bash -c "[ \$(dmesg | grep -c 'empblk0: donor .* lost (it \(restarted\|no longer has our session\).*: given up, the device goes on without it') = 1 ]"
	emp_tap_check "its extents moved to the SSD" \
		emp_wait_for "dmesg | grep -q 'empblk0: 32 MiB of data lost with a failed backend; 16 extents moved to other backends, 0 left'" 60 1
	emp_tap_check "lost_bytes is what the donor held" test "$(cat $S/lost_bytes)" = "$held"
	lr=$(cat $S/lost_reads)
	out=$($SCAN /dev/empblk0 /tmp/pat 65536); rc=$?
	echo "# lostscan: $out"
	emp_tap_check "no unit reads anything but its data or EIO (exit $rc)" test $rc = 0
	emp_tap_check "exactly the donor's 32 MiB fail, the SSD's 32 MiB read back" \
		bash -c "grep -qx 'good 512 lost 512 wrong 0' <<<'$out'"
	emp_tap_check "lost reads counted ($(($(cat $S/lost_reads) - lr)))" test $(($(cat $S/lost_reads) - lr)) -ge 512
	emp_tap_check "no message per lost page" bash -c "! dmesg | grep -q 'empblk0: .*read.* fails\|I/O error, dev empblk0'"
	emp_tap_check "the whole device written again" dd if=/tmp/pat of=/dev/empblk0 bs=1M oflag=direct status=none
	emp_tap_check "nothing is lost any more" test "$(cat $S/lost_bytes)" = 0
	emp_tap_check "all of it reads back" bash -c "$SCAN /dev/empblk0 /tmp/pat 65536 | grep -qx 'good 1024 lost 0 wrong 0'"
	emp_tap_check "the SSD holds it all now" test "$(cat $B/1/used_bytes)" = $((64 << 20))
	emp_tap_check "no write failed" bash -c "[ \$(cat $S/nospace_errors) = 0 ] && [ \$(cat $S/ssd_errors) = 0 ]"
	emp_tap_check "destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
