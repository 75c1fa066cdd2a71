#!/bin/bash
# A device larger than its DRAM budget: writes past the budget fail with
# ENOSPC and a clear ratelimited message, data already written stays
# intact, and discarding makes room again. Removing the configfs directory
# of an open device keeps the disk serving ("orphaned") until its last
# close, then deletes it; enabling the name again right after that close
# waits for the teardown instead of failing.
# guests: 1
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

CFG=/sys/kernel/config/empblk
# kernel messages since the last mark (never dmesg -C: the host checks the
# whole log for warnings afterwards)
kmsg_mark() { export KMSG_MARK; KMSG_MARK=$(dmesg | wc -l); }
kmsg_new() { dmesg | tail -n +$((KMSG_MARK + 1)); }
export -f kmsg_new
S=/sys/block/empblk0/emp
emp_require_empctl
emp_modprobe_empblk

"$EMPCTL" create empblk0 --mem-path dram:16 --size 64M >/dev/null || emp_fail "empctl create failed"
emp_wait_for "[ -b /dev/empblk0 ]" 10 || emp_fail "/dev/empblk0 did not appear"
emp_tap_check "capacity is size_mb (64 MiB), budget is 16 MiB" sh -c \
	"[ \$(blockdev --getsize64 /dev/empblk0) = $((64 << 20)) ] && [ \$(cat $S/dram_budget_bytes) = $((16 << 20)) ]"
dd if=/dev/urandom of=/tmp/p16 bs=1M count=16 status=none
emp_tap_check "16 MiB fit in the budget" dd if=/tmp/p16 of=/dev/empblk0 bs=1M oflag=direct status=none
kmsg_mark
emp_tap_check "writing past the budget fails" bash -c "! dd if=/dev/urandom of=/dev/empblk0 bs=1M seek=16 count=8 oflag=direct status=none 2>/dev/null"
emp_tap_check "... with ENOSPC counted" test "$(cat $S/nospace_errors)" -gt 0
emp_tap_check "... and a clear message" bash -c "kmsg_new | grep -q 'empblk0: DRAM budget of 16 MiB is full and no further tier is configured'"
emp_tap_check "used DRAM stays at the budget" test "$(cat $S/dram_used_bytes)" = $((16 << 20))
emp_tap_check "data written before is intact" bash -c "dd if=/dev/empblk0 bs=1M count=16 iflag=direct status=none | cmp /tmp/p16 -"
blkdiscard -o 0 -l $((8 << 20)) /dev/empblk0
emp_tap_check "after a discard, 8 MiB more can be written" dd if=/tmp/p16 of=/dev/empblk0 bs=1M seek=32 count=8 oflag=direct status=none
emp_tap_check "... and read back" bash -c "dd if=/dev/empblk0 bs=1M skip=32 count=8 iflag=direct status=none | cmp -n $((8 << 20)) /tmp/p16 -"

# orphan: rmdir while open
exec 3</dev/empblk0
emp_tap_check "rmdir of an open, enabled device succeeds" rmdir $CFG/empblk0
emp_tap_check "the disk stays, state orphaned" bash -c "[ -b /dev/empblk0 ] && [ \$(cat $S/state) = orphaned ]"
emp_tap_check "the open disk still reads its data" bash -c "dd bs=1M skip=32 count=8 status=none <&3 | cmp -n $((8 << 20)) /tmp/p16 -"
mkdir $CFG/empblk0
echo dram:8 >$CFG/empblk0/mem_path
kmsg_mark
emp_tap_check "re-enabling the name while the orphan lives fails" bash -c "! echo 1 > $CFG/empblk0/enable 2>/dev/null && kmsg_new | grep -q 'still exists'"
exec 3<&-
emp_tap_check "last close deletes the orphan" emp_wait_for "[ ! -e /sys/block/empblk0 ]" 10
emp_tap_check "then the name can be enabled again" bash -c "echo 1 > $CFG/empblk0/enable && [ \$(blockdev --getsize64 /dev/empblk0) = $((8 << 20)) ]"
# again, enabling the name the moment the orphan's last close returns:
# its teardown may still be running (its disk may have left /sys/block
# already), and enable waits for it instead of failing with EEXIST
dd if=/dev/urandom of=/dev/empblk0 bs=1M count=8 oflag=direct status=none || emp_fail "fill failed"
exec 3</dev/empblk0
rmdir $CFG/empblk0 || emp_fail "rmdir of the open device failed"
mkdir $CFG/empblk0
echo dram:4 >$CFG/empblk0/mem_path
kmsg_mark
exec 3<&-
emp_tap_check "enabled at once after the orphan's last close" bash -c "echo 1 > $CFG/empblk0/enable && [ \$(blockdev --getsize64 /dev/empblk0) = $((4 << 20)) ] && [ \$(cat $S/state) = live ]"
emp_tap_check "... with no EEXIST on the way" bash -c "! kmsg_new | grep -q 'still exists'"
"$EMPCTL" destroy empblk0 >/dev/null
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
