#!/bin/bash
# Replicas: devices keep each extent on two backends (replicas 2), and
# the donor's target module is removed and loaded again in the middle of
# the swap workload on one of them. The devices see the new incarnation
# and give the donor up; nothing is lost.
# - empblk0 (dram:8, a donor and an SSD as a write-through copy; swap):
#   the workload finishes with 0 mismatched words and no OOM kill; the
#   device serves from its SSD copies, health "degraded" (sysfs, a change
#   uevent, empctl list), and its rebuild says "no-space": no third
#   backend to take the lost copies.
# - empblk1 (a donor and two SSD entries, data written before the loss):
#   it rebuilds the lost copies onto the SSD entry that lacks them, and
#   is "ok" again (a change uevent, empctl show), lost_bytes 0; every
#   byte reads back (lostscan), and reads back again once one of the SSDs
#   is removed, from the copies on the other: the rebuilt copies hold
#   the data.
# Bad replicas and rebuild_rate_mb settings are refused with their
# reasons.
# guests: 2
# timeout: 1200
# nvme: 64,80,80
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 128
	emp_sync_wait swapping 600
	# empblk1's share of 66 extents over three backends, and 8 MiB of empblk0's
	emp_tap_check "the donor holds copies of both devices' data" \
		test "$(cat $T/bytes_in_use)" -gt $((24 << 20))
	emp_target_restart $T 128
	emp_sync_wait done 900
	emp_tap_check "the devices' new sessions ended with them" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 30 1
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target again" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	emp_nvme_wait 3
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	S=/sys/block/empblk0/emp
	B=/sys/block/empblk0/backends
	S1=/sys/block/empblk1/emp
	B1=/sys/block/empblk1/backends
	SCAN=$EMP_REPO/build/tests/lostscan
	D="$EMP_PEER_IP:64:19675"
	C=/sys/kernel/config/empblk/empblk9

	# --- bad settings ---
	emp_tap_check "replicas 3 and 0 refused with their message" \
		bash -c "mkdir $C && ! echo 3 >$C/replicas 2>/dev/null && ! echo 0 >$C/replicas 2>/dev/null &&
			dmesg | grep -q 'empblk9: replicas \"3\" must be 1..2' && rmdir $C"
	emp_tap_check "replicas 2 over one backend refused" \
		bash -c "! \"$EMPCTL\" create empblk9 --mem-path /dev/nvme0n1:64:0 --replicas 2 2>/tmp/err &&
			grep -q 'replicas 2 needs at least 2 backends (donors and SSDs); mem_path has 1' /tmp/err &&
			[ ! -e $C ]"
	emp_tap_check "size_mb past what two copies give refused" \
		bash -c "! \"$EMPCTL\" create empblk9 --mem-path '$D|/dev/nvme0n1:64:0' --replicas 2 --size 96 2>/tmp/err &&
			grep -q 'size_mb 96 is larger than the 64 MiB the donors and SSDs give with replicas' /tmp/err"

	emp_tap_check "three backends of one extent each refused: no whole row for two copies" \
		bash -c "! \"$EMPCTL\" create empblk9 --mem-path '$EMP_PEER_IP:2:19675|/dev/nvme0n1:2:0|/dev/nvme1n1:2:0' --replicas 2 2>/tmp/err &&
			grep -q 'replicas 2: the donors and SSDs give no whole row of 3 extents with a copy on each of 2 of them' /tmp/err"

	emp_tap_check "rebuild_rate_mb past its range refused with its message" \
		bash -c "mkdir $C && ! echo 2000000 >$C/rebuild_rate_mb 2>/dev/null && [ \$(cat $C/rebuild_rate_mb) = 256 ] &&
			dmesg | grep -q 'empblk9: rebuild_rate_mb \"2000000\" must be 0..1048576 MiB/s' && rmdir $C"

	# --- empblk1: data written before the loss ---
	emp_tap_check "create empblk1: donor:64|ssd:80|ssd:80 --replicas 2 --size 64, 64K subblocks" \
		"$EMPCTL" create empblk1 --mem-path "$D|/dev/nvme1n1:80:0|/dev/nvme2n1:80:0" \
		--replicas 2 --size 64 --block-size 64K --subblock-size 64K --reconnect-delay 1 ||
		emp_fail "no empblk1 to test"
	emp_tap_check "capacity 64 MiB" test "$(blockdev --getsize64 /dev/empblk1)" = $((64 << 20))
	emp_tap_check "replicas reads 2, health ok, rebuild idle" \
		bash -c "[ \$(cat $S1/replicas) = 2 ] && [ \$(cat $S1/health) = ok ] && [ \$(cat $S1/rebuild_state) = idle ]"
	# 8 MiB/s: a 2 MiB extent each 250 ms at most
	emp_tap_check "rebuild_rate_mb changes while enabled" \
		bash -c "echo 8 >/sys/kernel/config/empblk/empblk1/rebuild_rate_mb && [ \$(cat /sys/kernel/config/empblk/empblk1/rebuild_rate_mb) = 8 ]"
	head -c $((64 << 20)) /dev/urandom >/tmp/pat
	emp_tap_check "64 MiB written" dd if=/tmp/pat of=/dev/empblk1 bs=1M oflag=direct status=none
	# 11 rows of 3 lanes' 2 MiB extents, all written: 66 MiB, twice
	used() { echo $(($(cat $B1/0/used_bytes) + $(cat $B1/1/used_bytes) + $(cat $B1/2/used_bytes))); }
	emp_tap_check "two copies of each extent, on every backend some" \
		bash -c "[ $(used) = $((132 << 20)) ] && [ \$(cat $B1/0/used_bytes) -gt 0 ] && [ \$(cat $B1/1/used_bytes) -gt 0 ] && [ \$(cat $B1/2/used_bytes) -gt 0 ]"
	emp_tap_check "all of it reads back" bash -c "$SCAN /dev/empblk1 /tmp/pat 65536 | grep -qx 'good 1024 lost 0 wrong 0'"

	# --- empblk0: swap, with the donor restarted under it ---
	emp_tap_check "create empblk0: dram:8|donor:64|ssd:64 --replicas 2, 64K blocks" \
		"$EMPCTL" create empblk0 --mem-path "dram:8|$D|/dev/nvme0n1:64:0" \
		--replicas 2 --block-size 64K --subblock-size 16K --reconnect-delay 1 ||
		emp_fail "no empblk0 to test"
	emp_tap_check "mkswap and swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	udevadm monitor --kernel --property --subsystem-match=block >/tmp/uevents 2>&1 &
	monitor=$!
	(
		# the donor restarts once swap-outs reach it
		start=$EPOCHSECONDS
		while (($(cat $B/0/used_bytes) < (8 << 20))) && ((EPOCHSECONDS - start < 600)); do sleep 1; done
		emp_sync_post swapping
	) &
	poster=$!
	# the workload runs on until the donor is given up, and after
	emp_swap_until $S "[ \$(cat $S/backends_failed) != 0 ]" /tmp/mv.until
	emp_swap_verify $S 48 2000 4242 /tmp/mv.until
	wait $poster $emp_until_pid
	emp_tap_check "swapoff" swapoff /dev/empblk0
	dmesg | grep 'empblk[01]:' | sed 's/^/# /'
	for s in $S $S1; do
		n=${s#/sys/block/}
		n=${n%/emp}
		emp_tap_check "$n gave the donor up, nothing lost" \
			emp_wait_for "[ \$(cat $s/backends_failed) = 1 ] && [ \$(cat $s/lost_bytes) = 0 ]" 60 1
		emp_tap_check "$n: the lost copy is logged, nothing lost" \
			bash -c "dmesg | grep -q '$n: .* MiB lost a copy with a failed backend; served from the other copy, nothing lost' &&
				! dmesg | grep -q '$n: .*data lost with a failed backend'"
	done
	# empblk0: no backend left to take the copies
	emp_tap_check "empblk0 stays degraded: its rebuild has no room" \
		emp_wait_for "[ \$(cat $S/health) = degraded ] && [ \$(cat $S/degraded_bytes) -gt 0 ] && [ \$(cat $S/rebuild_state) = no-space ]" 60 1
	emp_tap_check "empblk0: no room for the rebuild is logged" \
		bash -c "dmesg | grep -q 'empblk0: .* MiB have one copy, and no other backend has room for a second'"
	emp_tap_check "no I/O failed" bash -c "[ \$(cat $S/lost_reads) = 0 ] && [ \$(cat $S1/lost_reads) = 0 ] && [ \$(cat $S/nospace_errors) = 0 ] && ! dmesg | grep -q 'I/O error, dev empblk'"
	emp_tap_check "a change uevent said so" emp_wait_for "grep -q '^EMPBLK_HEALTH=degraded' /tmp/uevents" 10 1
	emp_tap_check "empctl list shows it" bash -c "\"$EMPCTL\" list | grep -Eq '^empblk0 +enabled +degraded '"
	# empblk1: its lost copies go to the SSD entry that lacks them
	emp_tap_check "empblk1 rebuilt its lost copies: health ok, rebuild idle" \
		emp_wait_for "[ \$(cat $S1/health) = ok ] && [ \$(cat $S1/degraded_bytes) = 0 ] && [ \$(cat $S1/rebuild_state) = idle ]" 300 1
	rebuilt=$(cat $S1/rebuild_bytes)
	echo "# empblk1 rebuilt $rebuilt bytes; backends: $(cat $B1/0/used_bytes) $(cat $B1/1/used_bytes) $(cat $B1/2/used_bytes)"
	emp_tap_check "empblk1: what the donor held was copied, on the SSD entries now" \
		bash -c "[ $rebuilt -gt 0 ] && [ $((rebuilt % (2 << 20))) = 0 ] &&
			[ \$((\$(cat $B1/1/used_bytes) + \$(cat $B1/2/used_bytes))) = $((132 << 20)) ]"
	ms=$(dmesg | sed -n 's/.*empblk1: rebuild done: [0-9]* MiB copied in \([0-9]*\) ms; every extent has its copies.*/\1/p' | tail -n 1)
	emp_tap_check "empblk1: the rebuild is logged" \
		bash -c "dmesg | grep -q 'empblk1: rebuilding the second copy of $((rebuilt >> 20)) MiB' && [ -n '$ms' ]"
	emp_tap_check "empblk1: at no more than rebuild_rate_mb (${ms:-?} ms for $((rebuilt >> 20)) MiB at 8 MiB/s)" \
		test "${ms:-0}" -ge $(((rebuilt / (2 << 20) - 1) * 250))
	emp_tap_check "a change uevent said it is ok again" \
		emp_wait_for "grep -B10 '^EMPBLK_HEALTH=ok' /tmp/uevents | grep -q 'empblk1'" 10 1
	kill $monitor 2>/dev/null
	emp_tap_check "empctl show says so, and how much it rebuilt" \
		bash -c "\"$EMPCTL\" show empblk1 >/tmp/show && head -n 1 /tmp/show | grep -qx 'empblk1 (enabled)' &&
			grep -Eq '^ +rebuild_state: +idle$' /tmp/show && grep -Eq '^ +rebuild_bytes: +$rebuilt( |$)' /tmp/show"
	out=$($SCAN /dev/empblk1 /tmp/pat 65536); rc=$?
	echo "# lostscan: $out"
	emp_tap_check "empblk1 reads back everything written before the loss (exit $rc)" \
		bash -c "[ $rc = 0 ] && grep -qx 'good 1024 lost 0 wrong 0' <<<'$out'"
	head -c $((16 << 20)) /dev/urandom >/tmp/pat2
	emp_tap_check "and takes new writes, to both copies" \
		bash -c "dd if=/tmp/pat2 of=/dev/empblk1 bs=1M oflag=direct status=none &&
			dd if=/dev/empblk1 bs=1M count=16 iflag=direct status=none | cmp - /tmp/pat2"
	# one SSD gone: every read is served by the copies on the other
	{ cat /tmp/pat2; tail -c +$((16 * 1048576 + 1)) /tmp/pat; } >/tmp/pat3
	emp_tap_check "remove the second SSD (its PCI device)" \
		bash -c "for c in /sys/class/nvme/nvme*; do [ \$(cat \$c/serial) = empnvme2 ] && echo 1 >\$c/device/remove && exit 0; done; exit 1"
	out=$($SCAN /dev/empblk1 /tmp/pat3 65536); rc=$?
	echo "# lostscan without nvme2n1: $out; ssd_errors $(cat $S1/ssd_errors)"
	emp_tap_check "empblk1 reads everything back from the other SSD's copies (exit $rc)" \
		bash -c "[ $rc = 0 ] && grep -qx 'good 1024 lost 0 wrong 0' <<<'$out' && [ \$(cat $S1/ssd_errors) -gt 0 ]"
	emp_tap_check "destroy empblk0" "$EMPCTL" destroy empblk0
	emp_tap_check "destroy empblk1" "$EMPCTL" destroy empblk1
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
