#!/bin/bash
# Swap onto donor memory: a workload in a cgroup with memory.max at 50% and
# then 25% of its working set writes a pattern, revisits random pages and
# verifies every word: 0 mismatches, no OOM kill, pages really went to the
# donor; after swapoff and a discard the donor holds nothing.
# guests: 2
# timeout: 1500
# memory: 1024
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 512
	emp_sync_wait swapped 1400
	emp_tap_check "the donor held swapped pages ($(cat $T/bytes_in_use) bytes)" test "$(cat $T/bytes_in_use)" -gt 0
	emp_sync_post checked
	emp_sync_wait released 600
	emp_tap_check "after swapoff and discard the donor holds nothing" test "$(cat $T/bytes_in_use)" = 0
	emp_sync_wait done 600
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	MEMVERIFY=$EMP_REPO/build/tests/memverify
	CG=/sys/fs/cgroup/emp-swap
	S=/sys/block/empblk0/emp
	WS=64
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:512:19675" >/dev/null || emp_fail "create failed"
	swapoff -a 2>/dev/null
	emp_tap_check "mkswap and swapon the remote device" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $CG
	echo max >$CG/memory.swap.max 2>/dev/null
	for pct in 50 25; do
		echo $((WS * pct / 100))M >$CG/memory.max
		w0=$(cat $S/writes)
		r0=$(cat $S/reads)
		bash -c "echo \$\$ > $CG/cgroup.procs && exec $MEMVERIFY $WS 2000 $pct" >/tmp/mv.out 2>&1
		rc=$?
		sed 's/^/# /' /tmp/mv.out
		emp_tap_check "memory.max at $pct%: 0 mismatched words (exit $rc)" test "$rc" = 0
		emp_tap_check "memory.max at $pct%: no OOM kill" bash -c "[ \$(awk '/^oom_kill /{print \$2}' $CG/memory.events) = 0 ]"
		emp_tap_check "memory.max at $pct%: pages went out and came back over RDMA" bash -c "[ \$((\$(cat $S/writes) - $w0)) -gt 100 ] && [ \$((\$(cat $S/reads) - $r0)) -gt 100 ]"
	done
	rmdir $CG
	emp_tap_check "no remote errors" test "$(cat $S/remote_errors)" = 0
	emp_sync_post swapped
	emp_sync_wait checked 300
	emp_tap_check "swapoff" swapoff /dev/empblk0
	emp_tap_check "blkdiscard after swapoff" blkdiscard /dev/empblk0
	emp_sync_post released
	emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
