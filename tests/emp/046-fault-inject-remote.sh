#!/bin/bash
# Allocation failures while a device connects to its donor: the
# allocations the enabling task makes on the way through a write of "1" to
# enable (the protection domain, completion queues and queue pairs of
# every queue, READ sink pools over iWARP, the admin buffers, and the block
# layer's as in 045) fail in turn (tests/lib/fault.sh): the first and last
# eight and forty spread over the path, as each one past the block layer's
# costs a connect and a disconnect on the debug kernel. Each failure tears
# down what was already connected and logs why; the donor ends every
# session it was given and holds no memory afterwards; the device then
# connects and keeps what is written to it. Needs CONFIG_FAULT_INJECTION:
# runs on the debug kernel only (Debian's kernels have none).
# guests: 2
# kernels: debug
# timeout: 1500
. "$EMP_REPO/tests/lib/guest.sh"
. "$EMP_REPO/tests/lib/fault.sh"

emp_fault_setup
T=/sys/kernel/config/emp_target/ports
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $T/p0
	echo "$EMP_SELF_IP" >$T/p0/addr
	echo 64 >$T/p0/budget_mb
	echo 1 >$T/p0/enable || emp_fail "cannot enable port p0"
	emp_sync_post target-up
	emp_sync_wait swept 1500
	emp_tap_check "every session the failed connects opened has ended" \
		emp_wait_for "[ \$(cat $T/p0/sessions) = 0 ]" 60 1
	emp_tap_check "the donor holds no memory" test "$(cat $T/p0/bytes_in_use)" = 0
	emp_sync_post checked
	emp_sync_wait done 600
	rmdir $T/p0
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	D=/sys/kernel/config/empblk/empblk1
	mkdir $D || emp_fail "mkdir $D"
	echo "$EMP_PEER_IP:64:19675" >$D/mem_path || emp_fail "mem_path"
	emp_fault_sweep $D 8 40
	emp_sync_post swept
	emp_sync_wait checked 300
	emp_tap_check "enable after the failures" bash -c "echo 1 >$D/enable && [ -b /dev/empblk1 ]"
	emp_tap_check "a write and a read back" bash -c "
		head -c 4M /dev/urandom >/tmp/pat &&
		dd if=/tmp/pat of=/dev/empblk1 bs=1M oflag=direct status=none &&
		dd if=/dev/empblk1 bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"
	emp_tap_check "no remote errors" test "$(cat /sys/block/empblk1/emp/remote_errors)" = 0
	emp_tap_check "disable and remove" bash -c "echo 0 >$D/enable && rmdir $D"
	emp_tap_check "rmmod empblk" rmmod empblk
	emp_sync_post done
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
