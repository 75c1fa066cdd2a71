# shellcheck shell=bash
# Guest-side fault injection for empblk tests. Source it after guest.sh:
#
#   emp_fault_setup          # skips the test on a kernel without it
#   emp_fault_sweep /sys/kernel/config/empblk/empblkN [DENSE] [SAMPLES]
#
# emp_fault_sweep makes the allocations on the way through a write of "1"
# to the device's enable attribute fail in turn (/proc/self/fail-nth,
# through failslab and fail_page_alloc): all of the first and the last
# DENSE (default 64), and SAMPLES evenly spaced between (default
# $EMP_TEST_FAULT_SAMPLES, else 100).
# It prints TAP checks: the sweep ran past the end of the path, enable
# failed in the write, each failure left nothing behind (enable reads 0,
# no disk), and each failure past configfs's own buffer for the value
# logged a reason ("empblk: empblkN: ...": a point that failed silently
# is tried again, since the numbering moves by a point or two between
# writes). It leaves the device disabled.
# Only builtins run while fail-nth is set and in the loop (no fork, no
# command substitution): every fault point counted is on the path of the
# write, and on the debug kernel a fork costs a large part of a second.

# emp_fault_setup: GFP_KERNEL and order-0 allocations fail too, quietly.
emp_fault_setup() {
	local dbg=/sys/kernel/debug f
	[[ -e /proc/self/fail-nth ]] ||
		emp_skip "no fault injection in this kernel (CONFIG_FAULT_INJECTION)"
	mountpoint -q $dbg || mount -t debugfs none $dbg || emp_fail "cannot mount debugfs"
	for f in failslab fail_page_alloc; do
		[[ -d $dbg/$f ]] || emp_skip "no $f in this kernel"
		echo N >$dbg/$f/ignore-gfp-wait
		echo 0 >$dbg/$f/verbose # no stack dump per injected failure
	done
	echo 0 >$dbg/fail_page_alloc/min-order
	echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
}

# _emp_fault_try DIR N: write 1 to DIR/enable with this shell's Nth fault
# point failing. Sets _fi_rc (the write's status), _fi_left (fault points
# still unused afterwards; 0: the Nth was reached) and _fi_err (the
# shell's message): the open() of the attribute, then the write.
_emp_fault_try() {
	exec 3>/tmp/fi.err 4>/dev/null
	echo "$2" >/proc/self/fail-nth || emp_fail "cannot set fail-nth"
	# shellcheck disable=SC2320 # the status of echo is the write's
	if echo 1 2>&3 >"$1/enable"; then _fi_rc=0; else _fi_rc=$?; fi
	_fi_left=gone
	read -r _fi_left 2>&4 </proc/self/fail-nth
	echo 0 2>&4 >/proc/self/fail-nth
	exec 3>&- 4>&-
	_fi_err=none
	read -r _fi_err </tmp/fi.err
}

emp_fault_sweep() {
	local d=$1 dense=${2:-64} samples=${3:-${EMP_TEST_FAULT_SAMPLES:-100}} name total stride n tried=0
	local failed=0 tolerated=0 en k w first_logged='' excused=''
	local -a write_errors=() bad=() silent=() late_silent=()
	local -A why=()
	name=${d##*/}

	# How many fault points the whole path has: one enable with a count
	# larger than that, which it leaves partly unused.
	_emp_fault_try "$d" 1000000
	((_fi_rc == 0)) || emp_fail "enable failed with no fault injected: $_fi_err"
	echo 0 >"$d/enable" || emp_fail "cannot disable $name"
	total=$((1000000 - _fi_left))
	stride=$(((total - 2 * dense) / samples))
	((stride < 1)) && stride=1
	emp_log "$total fault points on the path: all of 1..$dense and $((total - dense + 1))..$total, every ${stride}th between"

	n=0
	while ((n < 2 * total)); do
		if ((n < dense || n >= total - dense)); then n=$((n + 1)); else n=$((n + stride)); fi
		tried=$((tried + 1))
		echo "emp-fi: n=$n" >/dev/kmsg
		_emp_fault_try "$d" $n
		if ((_fi_rc == 0)); then
			[[ -b /dev/$name ]] || bad+=("n=$n: enable succeeded, no /dev/$name")
			echo 0 >"$d/enable" || bad+=("n=$n: cannot disable")
			[[ $_fi_left == 0 ]] || break # past the last fault point of the path
			tolerated=$((tolerated + 1))
			continue
		fi
		failed=$((failed + 1))
		# the failure left nothing behind
		read -r en <"$d/enable"
		[[ $en == 0 ]] || bad+=("n=$n: enable reads $en after a failed enable ($_fi_err)")
		[[ ! -e /sys/block/$name ]] || bad+=("n=$n: /sys/block/$name exists after a failed enable ($_fi_err)")
		# past the open(), the write went to configfs and empblk
		[[ $_fi_err == *"write error"* ]] && write_errors+=("$n")
	done
	echo "emp-fi: n=end" >/dev/kmsg
	emp_log "$tried fault points tried: $failed writes failed (${#write_errors[@]} in the write, the rest in the open), $tolerated succeeded despite the failure"
	emp_tap_check "the fault points ran out at $n of about $total" test "$_fi_left" != 0
	# (a tenth at least: the rest fail in the open() or have a fallback)
	emp_tap_check "enable failed at ${#write_errors[@]} of them in the write" test ${#write_errors[@]} -ge $((tried / 10)) -a ${#write_errors[@]} -gt 0
	emp_tap_check "and each failure left nothing behind (${#bad[@]} did not)" test ${#bad[@]} = 0
	((${#bad[@]})) && printf '# %s\n' "${bad[@]:0:20}"

	# A failed write says why in the kernel log, between its marker and the
	# next one. Only the write's first fault points, before empblk's store
	# runs (configfs's buffer for the value), may fail silently.
	dmesg | awk -v tag="empblk: $name: " '
		/emp-fi: n=/ { sub(/.*emp-fi: n=/, ""); cur = $1; next }
		index($0, tag) { if (!(cur in why)) { w = substr($0, index($0, tag) + length(tag)); why[cur] = w } }
		END { for (k in why) print k "\t" why[k] }' >/tmp/fi.why
	while IFS=$'\t' read -r k w; do why[$k]=$w; done </tmp/fi.why
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
	# The numbering moves by a point or two from one write to the next
	# (a slab cache that needs a fresh page counts one more allocation),
	# so a failure just past the first logged one may have hit configfs's
	# buffer after all. Such a point is tried again: it is silent in
	# empblk only if no try of it logs a reason.
	_emp_fault_retry_silent "$d" "${late_silent[@]}"
	emp_tap_check "each failure in empblk logged a reason (silent before empblk ran: ${silent[*]:-none}; after: ${late_silent[*]:-none}${excused:+; logged when tried again: $excused})" \
		test ${#late_silent[@]} = 0 -a -n "$first_logged"
}

# _emp_fault_retry_silent DIR N...: try each fault point N up to three
# more times; those that fail in the write with a reason logged are
# dropped from late_silent and listed in excused.
_emp_fault_retry_silent() {
	local d=$1 k i
	local -a still=()
	excused=
	shift
	(($#)) || return 0
	for k; do
		for i in 1 2 3; do
			echo "emp-fi: n=r$k.$i" >/dev/kmsg
			_emp_fault_try "$d" "$k"
			((_fi_rc == 0)) && echo 0 >"$d/enable"
		done
	done
	echo "emp-fi: n=end" >/dev/kmsg
	dmesg | awk -v tag="empblk: ${d##*/}: " '
		/emp-fi: n=/ { sub(/.*emp-fi: n=/, ""); cur = $1; next }
		index($0, tag) && cur ~ /^r/ { sub(/\..*/, "", cur); print substr(cur, 2) }' |
		sort -u >/tmp/fi.retried
	for k; do
		if grep -qx "$k" /tmp/fi.retried; then excused+="${excused:+ }$k"; else still+=("$k"); fi
	done
	late_silent=("${still[@]}")
}
