#!/bin/bash
# Allocation failures on the way to a disk. The allocations made while "1"
# is written to a device's enable attribute fail in turn (fault
# injection's /proc/self/fail-nth, through failslab and fail_page_alloc,
# GFP_KERNEL included): all of empblk's own and the first and last of the
# block layer's, a sample of the thousand or so between. Each such write
# either fails with an errno, a
# reason in the kernel log and nothing of the device left (no disk, enable
# reads 0), or succeeds because the failed allocation had a fallback.
# Afterwards the same device enables and keeps what is written to it.
# KASAN, lockdep and kmemleak (the harness scans after the test) watch
# every error ladder on the way. Needs CONFIG_FAULT_INJECTION (the debug
# kernel); skipped on Debian's kernels, which have none.
# guests: 1
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"

[[ -e /proc/self/fail-nth ]] || emp_skip "no fault injection in this kernel (CONFIG_FAULT_INJECTION)"
DBG=/sys/kernel/debug
mountpoint -q $DBG || mount -t debugfs none $DBG || emp_fail "cannot mount debugfs"
for f in failslab fail_page_alloc; do
	[[ -d $DBG/$f ]] || emp_skip "no $f in this kernel"
	echo N >$DBG/$f/ignore-gfp-wait  # fail GFP_KERNEL allocations too
	echo 0 >$DBG/$f/verbose          # no stack dump per injected failure
done
echo 0 >$DBG/fail_page_alloc/min-order
echo N >$DBG/fail_page_alloc/ignore-gfp-highmem

emp_modprobe_empblk
CFG=/sys/kernel/config/empblk
D=$CFG/empblk1
mkdir $D || emp_fail "mkdir $D"
echo dram:8 >$D/mem_path || emp_fail "mem_path"

# try_enable N: write 1 to enable with the Nth fault point of this shell
# failing. Sets rc (the write's status), left (fault points still unused
# afterwards; 0: the Nth one was reached) and err (the shell's message).
# Only builtins run while fail-nth is set (no fork, no command
# substitution), so every fault point counted is on the path of the write:
# the open() of the attribute, then the write. The loop forks nothing
# either: on the debug kernel a fork costs a large part of a second.
try_enable() {
	exec 3>/tmp/fi.err 4>/dev/null
	echo "$1" >/proc/self/fail-nth || emp_fail "cannot set fail-nth"
	# shellcheck disable=SC2320 # the status of echo is the write's
	if echo 1 2>&3 >$D/enable; then rc=0; else rc=$?; fi
	left=gone
	read -r left 2>&4 </proc/self/fail-nth
	echo 0 2>&4 >/proc/self/fail-nth
	exec 3>&- 4>&-
	err=none
	read -r err </tmp/fi.err
}

# How many fault points the whole path has: one enable with a count
# larger than that, which it leaves partly unused.
try_enable 1000000
((rc == 0)) || emp_fail "enable failed with no fault injected: $err"
echo 0 >$D/enable || emp_fail "cannot disable"
total=$((1000000 - left))
# Every point of empblk's own allocations (the device, its index, the
# statistics, the DRAM tier) and the start of the tag set's comes first:
# all of the first $dense. Past them the block layer's own (the tag set's
# requests, the queue, the disk's kobjects, sysfs and debugfs files) run to
# about a thousand, most of them tolerated, each costing a whole enable and
# disable on the debug kernel: every ${stride}th of those, and the last
# $dense again (the end of add_disk).
dense=64
stride=$(((total - 2 * dense) / 100))
((stride < 1)) && stride=1
emp_log "$total fault points on the path: all of 1..$dense and $((total - dense + 1))..$total, every ${stride}th between"

n=0
tried=0
failed=0
tolerated=0
write_errors=()
bad=()
while ((n < 2 * total)); do
	if ((n < dense || n >= total - dense)); then n=$((n + 1)); else n=$((n + stride)); fi
	tried=$((tried + 1))
	echo "emp-fi: n=$n" >/dev/kmsg
	try_enable $n
	if ((rc == 0)); then
		[[ -b /dev/empblk1 ]] || bad+=("n=$n: enable succeeded, no /dev/empblk1")
		echo 0 >$D/enable || bad+=("n=$n: cannot disable")
		[[ $left == 0 ]] || break   # past the last fault point of the path
		tolerated=$((tolerated + 1))
		continue
	fi
	failed=$((failed + 1))
	# the failure left nothing behind
	read -r en <$D/enable
	[[ $en == 0 ]] || bad+=("n=$n: enable reads $en after a failed enable ($err)")
	[[ ! -e /sys/block/empblk1 ]] || bad+=("n=$n: /sys/block/empblk1 exists after a failed enable ($err)")
	# past the open(), the write went to configfs and empblk
	[[ $err == *"write error"* ]] && write_errors+=("$n")
done
echo "emp-fi: n=end" >/dev/kmsg
emp_log "$tried fault points tried: $failed writes failed (${#write_errors[@]} in the write, the rest in the open), $tolerated succeeded despite the failure"
emp_tap_check "the fault points ran out at $n of about $total" test "$left" != 0
emp_tap_check "enable failed at ${#write_errors[@]} of them in the write" test ${#write_errors[@]} -gt 10
emp_tap_check "and each failure left nothing behind (${#bad[@]} did not)" test ${#bad[@]} = 0
((${#bad[@]})) && printf '# %s\n' "${bad[@]:0:20}"

# A failed write says why in the kernel log, between its marker and the
# next one. Only the write's first fault points, before empblk's store
# runs (configfs's buffer for the value), may fail silently.
dmesg | awk '
	/emp-fi: n=/ { sub(/.*emp-fi: n=/, ""); cur = $1; next }
	/empblk: empblk1: / { if (!(cur in why)) { w = $0; sub(/.*empblk1: /, "", w); why[cur] = w } }
	END { for (k in why) print k "\t" why[k] }' >/tmp/fi.why
declare -A why
while IFS=$'\t' read -r k w; do why[$k]=$w; done </tmp/fi.why
silent=()
late_silent=()
first_logged=
for k in "${write_errors[@]}"; do
	if [[ -n ${why[$k]:-} ]]; then
		first_logged=${first_logged:-$k}
	else
		silent+=("$k")
		[[ -n $first_logged ]] && late_silent+=("$k")
	fi
done
for k in "${write_errors[@]}"; do [[ -n ${why[$k]:-} ]] && echo "${why[$k]}"; done |
	sed 's/-\?[0-9]\+$/N/' | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/# reason: /'
emp_tap_check "each failure in empblk logged a reason (silent before empblk ran: ${silent[*]:-none}; after: ${late_silent[*]:-none})" \
	test ${#late_silent[@]} = 0 -a -n "$first_logged"

# the device still works: enable, a write, a read back
emp_tap_check "enable after the failures" bash -c "echo 1 >$D/enable && [ -b /dev/empblk1 ]"
emp_tap_check "a write and a read back" bash -c "
	head -c 4M /dev/urandom >/tmp/pat &&
	dd if=/tmp/pat of=/dev/empblk1 bs=1M oflag=direct status=none &&
	dd if=/dev/empblk1 bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"
emp_tap_check "disable and remove" bash -c "echo 0 >$D/enable && rmdir $D"
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
