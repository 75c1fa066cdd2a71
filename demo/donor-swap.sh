#!/bin/bash
# Demo (runs inside two guests): a donor guest exports 512 MiB of its DRAM
# with emp_rdma_target; a compute guest swaps a real workload onto it over
# soft-RoCE and shows what went where and how long it took.
# guests: 2
# timeout: 1500
# memory: 1024
. "$EMP_REPO/tests/lib/guest.sh"

say() { printf '\n==> [%s] %s\n' "$EMP_ROLE" "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
T=/sys/kernel/config/emp_target/ports/p0

say "Soft-RoCE on eth0"
emp_rxe_up eth0 rxe0
show rdma link show

case $EMP_ROLE in
donor)
	say "Export 512 MiB of this guest's DRAM on $EMP_SELF_IP:19675"
	show modprobe emp_rdma_target
	if "$EMPCTL" help 2>&1 | grep -q target; then
		show "$EMPCTL" target start -m 512 -a "$EMP_SELF_IP"
	else
		mkdir $T
		echo "$EMP_SELF_IP" >$T/addr
		echo 512 >$T/budget_mb
		echo 1 >$T/enable
	fi
	emp_sync_post target-up
	emp_sync_wait swapped 1400
	say "What the compute guest put here"
	for f in sessions bytes_in_use chunks_allocated; do
		printf '%-18s %s\n' "$f" "$(cat $T/$f)"
	done
	emp_sync_post shown
	emp_sync_wait done 600
	say "Stop exporting"
	echo 0 >$T/enable
	rmdir $T
	show rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	CG=/sys/fs/cgroup/demo
	S=/sys/block/empblk0/emp
	show modprobe empblk
	emp_sync_wait target-up 300
	say "Create empblk0 on the donor's memory, with 16 MiB of local DRAM in front as a cache"
	show "$EMPCTL" create empblk0 --mem-path "dram:16|$EMP_PEER_IP:512:19675"
	show "$EMPCTL" list
	swapoff -a 2>/dev/null
	show mkswap /dev/empblk0 >/dev/null
	show swapon --priority 100 /dev/empblk0
	show cat /proc/swaps

	say "A workload needing 128 MiB in a cgroup limited to 64 MiB"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $CG
	echo 64M >$CG/memory.max
	start=$(date +%s.%N)
	if command -v stress-ng >/dev/null; then
		show sh -c "echo \$\$ > $CG/cgroup.procs && exec stress-ng --vm 1 --vm-bytes 128M --vm-keep --verify --vm-ops 1 --timeout 600s --metrics-brief" ||
			emp_fail "stress-ng failed"
	fi
	show sh -c "echo \$\$ > $CG/cgroup.procs && exec $EMP_REPO/build/tests/memverify 128 10000" ||
		emp_fail "memverify found corrupted memory"
	end=$(date +%s.%N)
	[[ $(awk '/^oom_kill /{print $2}' $CG/memory.events) == 0 ]] || emp_fail "the workload was OOM-killed"
	rmdir $CG

	say "What went where"
	printf '%-28s %s\n' "swapped out (device writes)" "$(cat $S/write_bytes) bytes in $(cat $S/writes) requests"
	printf '%-28s %s\n' "swapped in (device reads)" "$(cat $S/read_bytes) bytes in $(cat $S/reads) requests"
	printf '%-28s %s\n' "DRAM cache" "$(cat $S/dram_used_bytes) of $(cat $S/dram_budget_bytes) bytes in use, $(cat $S/dram_dirty_bytes) not yet on the donor"
	printf '%-28s %s\n' "  writes into DRAM" "$(cat $S/cache_write_hits) blocks ($(cat $S/cache_write_around) went around a full cache)"
	printf '%-28s %s\n' "  reads from DRAM" "$(cat $S/cache_read_hits) blocks ($(cat $S/cache_read_misses) from the donor)"
	printf '%-28s %s\n' "  written back" "$(cat $S/cache_writebacks) blocks"
	printf '%-28s %s\n' "held on the donor" "$(cat $S/remote_bytes_in_use) bytes (2 MiB chunks)"
	printf '%-28s %s\n' "remote errors" "$(cat $S/remote_errors)"
	printf '%-28s %.1f s (TCG-emulated guests: slow in absolute terms)\n' "workload time" "$(echo "$end - $start" | bc)"
	emp_sync_post swapped
	emp_sync_wait shown 300
	show "$EMPCTL" show empblk0

	say "Tear down"
	show swapoff /dev/empblk0
	show "$EMPCTL" destroy empblk0
	show rmmod empblk
	emp_sync_post done
	say "Demo complete: the workload ran at half its memory, its cold pages on the donor, every word verified"
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
