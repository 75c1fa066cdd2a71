#!/bin/bash
# The compute guest's own RDMA device is removed (rdma link delete) under
# I/O to a device striped over a donor and an SSD. The removal does not
# wait for the device to be destroyed: empblk lets go of the RDMA device
# at once (its ib_client), giving the donor up. What the donor held is
# lost and only that: the SSD's half reads back, the donor's fails with
# EIO, nothing reads wrong; its extents move to the SSD's spare room, and
# writing them again makes the whole device good. A new RDMA device on
# the same link then serves a new device; both are destroyed and the
# module unloads.
# guests: 2
# timeout: 900
# nvme: 128
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0
# rxe0, or siw0 over soft-iWARP
L=$_emp_rdma_link

case $EMP_ROLE in
donor)
	emp_target_up $T 256
	emp_sync_wait done 600
	# the first device vanished without ending its session: it waits out
	# its grace period here, and goes with the port
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 1
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	emp_donor_ssd_device
	# reads under way while the device goes (their failures are expected)
	(
		while :; do
			dd if=/dev/empblk0 of=/dev/null bs=64k count=64 iflag=direct status=none 2>/dev/null
		done
	) &
	reader=$!
	sleep 2
	start=$EPOCHSECONDS
	emp_tap_check "rdma link delete $L returns" timeout 120 rdma link delete $L
	emp_log "removal took $((EPOCHSECONDS - start)) s"
	kill $reader
	wait $reader 2>/dev/null
	dmesg | grep 'empblk0:' | sed 's/^/# /'
	emp_tap_check "empblk let go of the device and gave the donor up" \
		bash -c "dmesg | grep -q 'empblk0: RDMA device $L is going away: giving up its donors (1)' &&
			dmesg | grep -q 'empblk0: donor .* lost (its RDMA device was removed): given up'"
	emp_tap_check "the donor's extents moved to the SSD" \
		emp_wait_for "[ \$(cat $B/0/state) = failed ] && [ \$(cat $B/0/used_bytes) = 0 ]" 60 1
	emp_tap_check "lost_bytes is what the donor held" test "$(cat $S/lost_bytes)" = "$held"
	out=$($SCAN /dev/empblk0 /tmp/pat 65536); rc=$?
	echo "# lostscan: $out"
	emp_tap_check "the SSD's 32 MiB read back, the donor's fail, nothing wrong (exit $rc)" \
		bash -c "[ $rc = 0 ] && grep -qx 'good 512 lost 512 wrong 0' <<<'$out'"
	emp_tap_check "the whole device written again" dd if=/tmp/pat of=/dev/empblk0 bs=1M oflag=direct status=none
	emp_tap_check "all of it reads back, nothing lost" \
		bash -c "$SCAN /dev/empblk0 /tmp/pat 65536 | grep -qx 'good 1024 lost 0 wrong 0' && [ \$(cat $S/lost_bytes) = 0 ]"
	emp_tap_check "a new RDMA device on the link" rdma link add $L type ${EMP_TEST_RDMA:-rxe} netdev eth0
	emp_tap_check "serves a new device" \
		bash -c "\"$EMPCTL\" create empblk1 --mem-path '$EMP_PEER_IP:32:19675' >/dev/null &&
			dd if=/tmp/pat of=/dev/empblk1 bs=1M count=32 oflag=direct status=none &&
			cmp -n $((32 << 20)) /tmp/pat /dev/empblk1"
	emp_tap_check "destroy both" bash -c "timeout 60 \"$EMPCTL\" destroy empblk1 && timeout 60 \"$EMPCTL\" destroy empblk0"
	emp_sync_post done
	emp_tap_check "rmmod empblk" timeout 60 rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
