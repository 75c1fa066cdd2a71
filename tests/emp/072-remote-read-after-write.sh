#!/bin/bash
# Read-after-write across CPUs, on every transport: a thread on CPU 0
# writes 4 KiB and 64 KiB blocks to a donor-backed device, and as soon as
# each write returns a thread on CPU 1 reads it back (build/tests/xcpu):
# the READ goes on another queue pair than the WRITE. No round may read
# anything but what was just written. Over iWARP (siw, the debug lane's
# second pass) a WRITE completes once TCP has it, so every remote write
# ends with a fence READ that completes once the donor placed it
# (write_fences counts them); over RoCE none is needed, and none is sent.
# The same through a 1 MiB DRAM cache: its writebacks to the donor are
# fenced over iWARP too.
# guests: 2
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 256
	emp_sync_wait done 900
	emp_tap_check "the sessions end with the devices" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 30 1
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	S=/sys/block/empblk0/emp
	X=$EMP_REPO/build/tests/xcpu
	F=${EMP_TIME_FACTOR:-1}
	iwarp=0
	[[ ${EMP_TEST_RDMA:-rxe} == siw ]] && iwarp=1
	fences_ok() { # fences_ok WRITES_BEFORE FENCES_BEFORE
		local w=$(($(cat $S/writes) - $1)) f=$(($(cat $S/write_fences) - $2))
		echo "# $w writes, $f fences"
		if ((iwarp)); then
			# one per write request at least (more when it spans donors)
			((f >= w && w > 0))
		else
			((f == 0))
		fi
	}
	emp_tap_check "create a device on the donor" \
		"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675" --block-size 16K --subblock-size 16K ||
		emp_fail "no device to test"
	for bs in 4096 65536; do
		w=$(cat $S/writes) f=$(cat $S/write_fences)
		out=$($X /dev/empblk0 $((500 / F)) $bs); rc=$?
		echo "# xcpu $bs: $out"
		emp_tap_check "${bs}-byte writes read back at once from the other CPU ($out)" test $rc = 0
		emp_tap_check "fenced over iWARP only" fences_ok "$w" "$f"
	done
	emp_tap_check "destroy" "$EMPCTL" destroy empblk0

	# through the cache: its writebacks are page I/O, fenced the same way
	emp_tap_check "create dram:1|donor, 4K blocks" \
		"$EMPCTL" create empblk0 --mem-path "dram:1|$EMP_PEER_IP:64:19675" ||
		emp_fail "no cached device to test"
	w=$(cat $S/cache_writebacks) f=$(cat $S/write_fences)
	out=$($X /dev/empblk0 $((500 / F)) 65536); rc=$?
	echo "# xcpu through the cache: $out"
	emp_tap_check "through a 1 MiB cache: every round reads back ($out)" test $rc = 0
	wb=$(($(cat $S/cache_writebacks) - w)) fences=$(($(cat $S/write_fences) - f))
	emp_tap_check "blocks were written back ($wb), fenced over iWARP only ($fences)" \
		bash -c "[ $wb -gt 0 ] && if [ $iwarp = 1 ]; then [ $fences -gt 0 ]; else [ $fences = 0 ]; fi"
	emp_tap_check "no remote errors" test "$(cat $S/remote_errors)" = 0
	emp_tap_check "destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
