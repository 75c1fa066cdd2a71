#!/bin/bash
# empblk as swap: a program in a cgroup whose memory.max is half its
# working set writes a pattern over its memory, revisits random pages many
# times and verifies every word: no mismatch, no OOM kill, pages really
# went through the device. While swap is on, disable, destroy and rmmod are
# refused and leave the device serving.
# guests: 1
# timeout: 900
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

CFG=/sys/kernel/config/empblk
S=/sys/block/empblk0/emp
CG=/sys/fs/cgroup/emp-swap
MEMVERIFY=$EMP_REPO/build/tests/memverify
# On the debug kernel (EMP_TIME_FACTOR 4) a quarter of the working set and
# of the revisits: swapping 256 MiB there takes over half an hour, and
# KASAN and lockdep see the same paths with less data.
F=${EMP_TIME_FACTOR:-1}
WS_MB=${EMP_SWAP_WS_MB:-$((256 / F))}
emp_require_empctl
[[ -x $MEMVERIFY ]] || emp_fail "$MEMVERIFY not built (make test-progs)"
emp_modprobe_empblk
"$EMPCTL" create empblk0 --mem-path dram:512 >/dev/null || emp_fail "empctl create failed"
emp_wait_for "[ -b /dev/empblk0 ]" 10 || emp_fail "/dev/empblk0 did not appear"

# no other swap may take the pages
swapoff -a 2>/dev/null
emp_tap_check "mkswap /dev/empblk0" mkswap /dev/empblk0
emp_tap_check "swapon /dev/empblk0" swapon /dev/empblk0
emp_tap_check "listed in /proc/swaps" grep -q '^/dev/empblk0 ' /proc/swaps

# refused while in use, and nothing changes
out=$("$EMPCTL" destroy empblk0 2>&1); rc=$?
emp_tap_check "empctl destroy refused while swapped on (exit $rc)" test "$rc" -ne 0
emp_tap_check "... with a message saying it is in use" grep -qi "in use" <<<"$out"
emp_tap_check "raw disable refused with EBUSY" bash -c "! echo 0 > $CFG/empblk0/enable 2>/tmp/err && grep -qi 'busy' /tmp/err"
emp_tap_check "rmmod empblk refused" sh -c "! rmmod empblk 2>/dev/null"
emp_tap_check "device still enabled and swapping" sh -c "[ \$(cat $CFG/empblk0/enable) = 1 ] && grep -q '^/dev/empblk0 ' /proc/swaps"

# the workload, at half its working set
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $CG
echo $((WS_MB / 2))M >$CG/memory.max
echo max >$CG/memory.swap.max 2>/dev/null
w0=$(cat $S/writes)
r0=$(cat $S/reads)
emp_log "running memverify $WS_MB MiB with memory.max=$((WS_MB / 2))M"
sh -c "echo \$\$ > $CG/cgroup.procs && exec $MEMVERIFY $WS_MB $((40000 / F)) 12345" >/tmp/mv.out 2>&1
rc=$?
cat /tmp/mv.out | sed 's/^/# /'
emp_tap_check "memverify: 0 mismatched words (exit $rc)" test "$rc" = 0
emp_tap_check "no OOM kill in the cgroup" sh -c "[ \$(awk '/^oom_kill /{print \$2}' $CG/memory.events) = 0 ]"
sw=$(($(cat $S/writes) - w0))
sr=$(($(cat $S/reads) - r0))
emp_log "device writes +$sw, reads +$sr, swap peak $(cat $CG/memory.swap.peak 2>/dev/null || echo n/a)"
emp_tap_check "pages were swapped out to empblk0 ($sw writes)" test "$sw" -gt 100
emp_tap_check "pages were swapped in from empblk0 ($sr reads)" test "$sr" -gt 100
emp_tap_check "no write failed" sh -c "[ \$(cat $S/nospace_errors) = 0 ] && [ \$(cat $S/alloc_failures) = 0 ]"

# memory.high throttles instead of capping: same result expected
echo max >$CG/memory.max
echo $((WS_MB / 2))M >$CG/memory.high
sh -c "echo \$\$ > $CG/cgroup.procs && exec $MEMVERIFY $WS_MB $((20000 / F)) 999" >/tmp/mv2.out 2>&1
rc=$?
emp_tap_check "memverify under memory.high: 0 mismatched words (exit $rc)" test "$rc" = 0
rmdir $CG

emp_tap_check "swapoff /dev/empblk0" swapoff /dev/empblk0
emp_tap_check "empctl destroy after swapoff" "$EMPCTL" destroy empblk0
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
