#!/bin/bash
# Demo (runs inside the guest): swap a real workload onto a DRAM-backed
# empblk0 and show what the device did.
# guests: 1
# timeout: 900
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

CG=/sys/fs/cgroup/demo
say() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

emp_require_empctl
say "Load empblk and create a 512 MiB device backed by local DRAM"
show modprobe empblk
show "$EMPCTL" create empblk0 --mem-path dram:512 --block-size 64K --subblock-size 16K
emp_wait_for "[ -b /dev/empblk0 ]" 10 || emp_fail "/dev/empblk0 did not appear"
show "$EMPCTL" list

say "Use it as swap"
swapoff -a 2>/dev/null
show mkswap /dev/empblk0 >/dev/null
show swapon --priority 100 /dev/empblk0
show cat /proc/swaps

say "Run a workload that needs 384 MiB in a cgroup limited to 192 MiB"
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $CG
echo 192M >$CG/memory.max
echo "memory.max = $(cat $CG/memory.max)"
if command -v stress-ng >/dev/null; then
	# stress-ng's vm stressor writes patterns and verifies them (--verify)
	show sh -c "echo \$\$ > $CG/cgroup.procs && exec stress-ng --vm 1 --vm-bytes 384M --vm-keep --verify --vm-ops 2 --timeout 600s --metrics-brief" ||
		emp_fail "stress-ng failed"
fi
show sh -c "echo \$\$ > $CG/cgroup.procs && exec $EMP_REPO/build/tests/memverify 384 200000" ||
	emp_fail "memverify found corrupted memory"
echo "cgroup memory.events: $(tr '\n' ' ' <$CG/memory.events)"
[[ $(awk '/^oom_kill /{print $2}' $CG/memory.events) == 0 ]] || emp_fail "the workload was OOM-killed"
rmdir $CG

say "What the device did"
show "$EMPCTL" show empblk0
say "Same, as JSON for scripts"
show "$EMPCTL" -j show empblk0
echo

say "Tear down"
show swapoff /dev/empblk0
show "$EMPCTL" destroy empblk0
show rmmod empblk
say "Demo complete: the workload ran at half its memory with every word verified"
