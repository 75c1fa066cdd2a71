#!/bin/bash
# Bad input through raw configfs writes and through empctl: each is
# rejected with a clear message (errno and the kernel's reason) and leaves
# the device exactly as it was.
# guests: 1
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

CFG=/sys/kernel/config/empblk
# Each check here runs in the shell itself, with one fork (dmesg) per
# rejected write: on the debug kernel under TCG a fork+exec costs up to
# seconds, and this test makes about forty of them.
#
# kernel messages since the last mark (never dmesg -C: the host checks the
# whole log for warnings afterwards). kmsg_new sets KMSG_NEW to the lines
# logged since the previous kmsg_mark or kmsg_new, and moves the mark past
# them.
KMSG_MARK=0
KMSG_NEW=()
KMSG_LAST=
kmsg_mark() {
	local all
	mapfile -t all < <(dmesg)
	KMSG_MARK=${#all[@]}
}
kmsg_new() {
	local all
	mapfile -t all < <(dmesg)
	KMSG_NEW=("${all[@]:KMSG_MARK}")
	KMSG_MARK=${#all[@]}
	# the last two of them, for a failure message
	KMSG_LAST="${KMSG_NEW[*]:(${#KMSG_NEW[@]} > 2 ? ${#KMSG_NEW[@]} - 2 : 0)}"
}
# kmsg_find ERE: KMSG_HIT is the first line of KMSG_NEW that matches
kmsg_find() {
	local l
	KMSG_HIT=
	for l in "${KMSG_NEW[@]}"; do
		[[ $l =~ $1 ]] && { KMSG_HIT=$l; return 0; }
	done
	return 1
}
emp_require_empctl
emp_modprobe_empblk
ERRF=$(mktemp)
trap 'rm -f "$ERRF"' EXIT

# raw_reject ATTR VALUE ERRNO_TEXT KMSG_REGEX: the write fails with that
# errno, the attribute keeps its value, the kernel logged the reason.
raw_reject() {
	local attr=$1 val=$2 err=$3 re="empblk: empblk1: .*$4" d=$CFG/empblk1 before='' after='' out=''
	read -r before <"$d/$attr"
	if { echo "$val" >"$d/$attr"; } 2>"$ERRF"; then
		kmsg_new
		emp_tap_not_ok "$attr='$val' accepted"
		return
	fi
	read -r out <"$ERRF"
	read -r after <"$d/$attr"
	kmsg_new
	if [[ ${out,,} != *"${err,,}"* ]]; then
		emp_tap_not_ok "$attr='$val': expected '$err', got '$out'"
	elif [[ $after != "$before" ]]; then
		emp_tap_not_ok "$attr='$val' changed the attribute to '$after'"
	elif ! kmsg_find "$re"; then
		emp_tap_not_ok "$attr='$val': no reason in the kernel log ($KMSG_LAST)"
	else
		emp_tap_ok "$attr='$val' rejected: ${KMSG_HIT#*empblk: }"
	fi
}

mkdir $CFG/empblk1
echo dram:64 >$CFG/empblk1/mem_path
kmsg_mark
raw_reject mem_path "dram:" "invalid argument" "not a number"
raw_reject mem_path "dram:-1" "invalid argument" "not a number"
raw_reject mem_path "dram:abc" "invalid argument" "not a number"
raw_reject mem_path "dram:0" "invalid argument" "must be 1"
raw_reject mem_path "foo:1" "invalid argument" "unrecognised entry"
raw_reject mem_path "" "invalid argument" "empty mem_path"
raw_reject mem_path "dram:1,dram:2" "invalid argument" "more than one dram"
raw_reject mem_path "dram:1,,dram:2" "invalid argument" "empty entry"
raw_reject mem_path "dram:99999999999" "invalid argument" "must be 1"
raw_reject mem_path "10.0.0.300:64:7000" "invalid argument" "neither dram"
raw_reject mem_path "10.0.0.1:64:70000" "invalid argument" "port"
raw_reject mem_path "dram:16|dram:8|10.0.0.1:64:7000" "invalid argument" "more than one dram"
raw_reject mem_path "10.0.0.1:1:7000|/dev/nvme0n1:64:0" "invalid argument" "size 1 MiB is less than one 2 MiB extent"
raw_reject placement "bogus" "invalid argument" "placement .bogus. must be distribute, sequential or fastest-first"
raw_reject mem_path "/dev/nvme0n1:0:0" "invalid argument" "size .0. must be 1"
raw_reject mem_path "/dev/nvme0n1:64:x" "invalid argument" "SSD offset"
raw_reject block_size 3000 "invalid argument" "power of two"
raw_reject block_size 65537 "invalid argument" "power of two"
raw_reject block_size 1K "invalid argument" "power of two in 4096"
raw_reject block_size 4M "invalid argument" "power of two in 4096..2097152"
raw_reject block_size abc "invalid argument" "not a size"
raw_reject subblock_size 256K "invalid argument" "power of two in 4096..131072"
raw_reject subblock_size 12K "invalid argument" "power of two"
raw_reject queue_depth 0 "invalid argument" "queue_depth"
raw_reject queue_depth 5000 "invalid argument" "queue_depth"
raw_reject size_mb -1 "invalid argument" "size_mb"
raw_reject enable 2 "invalid argument" "enable takes 0 or 1"

# block smaller than subblock: each value is valid alone, enable refuses
echo 4K >$CFG/empblk1/block_size
echo 16K >$CFG/empblk1/subblock_size
kmsg_new
if { echo 1 >$CFG/empblk1/enable; } 2>/dev/null; then
	emp_tap_not_ok "enable accepted with block_size 4K < subblock_size 16K"
else
	emp_tap_ok "enable refused when block_size < subblock_size"
fi
kmsg_new
read -r en <$CFG/empblk1/enable
if ! kmsg_find 'subblock_size 16384 is larger than block_size 4096'; then
	emp_tap_not_ok "... no reason in the kernel log ($KMSG_LAST)"
elif [[ -e /sys/block/empblk1 || $en != 0 ]]; then
	emp_tap_not_ok "... but a disk exists or enable reads '$en'"
else
	emp_tap_ok "... logged, and no disk was created"
fi
echo 64K >$CFG/empblk1/block_size
# attr_is FILE VALUE: FILE reads VALUE (a builtin read, no fork)
attr_is() {
	local v=''
	read -r v <"$1"
	[[ $v == "$2" ]] || { echo "$1 reads '$v', want '$2'"; return 1; }
}
limits_accepted() {
	echo 1 >$CFG/empblk1/enable &&
		attr_is /sys/block/empblk1/emp/block_size 65536 &&
		attr_is /sys/block/empblk1/emp/subblock_size 16384 &&
		echo 0 >$CFG/empblk1/enable &&
		echo 2M >$CFG/empblk1/block_size &&
		echo 128K >$CFG/empblk1/subblock_size &&
		attr_is $CFG/empblk1/block_size 2097152
}
emp_tap_check "block 64K, subblock 16K, 2M/128K limits accepted" limits_accepted

# reconfiguring an enabled device
echo 1 >$CFG/empblk1/enable
kmsg_new
raw_reject mem_path "dram:128" "busy" "cannot change mem_path while the device is enabled"
raw_reject block_size 8K "busy" "cannot change block_size while the device is enabled"
raw_reject size_mb 8 "busy" "cannot change size_mb while the device is enabled"
# /sys/block/*/size counts 512-byte sectors
emp_tap_check "enabled device unchanged (64 MiB, dram:64)" eval \
	"attr_is /sys/block/empblk1/size $((64 << 11)) && attr_is /sys/block/empblk1/emp/mem_path dram:64"

# bad device names
mkdir_refused() { ! mkdir "$CFG/$1" 2>/dev/null && [[ ! -e $CFG/$1 ]]; }
for n in foo empblk01 empblk1024 empblk-1 empblk; do
	emp_tap_check "mkdir $n refused" mkdir_refused "$n"
done

# empctl: clear message, exit 1, no device left behind
# ctl_reject [-2] DESC REGEX ARGS...: exit 1 (2 with -2: a usage error)
ctl_reject() {
	local want=1 desc re out rc
	[[ $1 == -2 ]] && { want=2; shift; }
	desc=$1 re=$2
	shift 2
	out=$("$EMPCTL" "$@" 2>&1)
	rc=$?
	if ((rc != want)); then
		emp_tap_not_ok "empctl $desc: exit $rc, want $want ($out)"
	elif ! [[ $out =~ $re ]]; then
		emp_tap_not_ok "empctl $desc: message does not match '$re': $out"
	elif [[ -e $CFG/empblk2 || -e /sys/block/empblk2 ]]; then
		emp_tap_not_ok "empctl $desc: left empblk2 behind"
	else
		emp_tap_ok "empctl $desc: ${out%%$'\n'*}"
	fi
}
ctl_reject "mem-path dram:" "invalid mem_path" create empblk2 --mem-path "dram:"
ctl_reject "mem-path dram:-1" "invalid mem_path \"dram:-1\"" create empblk2 --mem-path "dram:-1"
ctl_reject "mem-path dram:abc" "not a number" create empblk2 --mem-path "dram:abc"
ctl_reject "mem-path foo:1" "unrecognised entry" create empblk2 --mem-path "foo:1"
ctl_reject -2 "empty mem-path" "mem.path" create empblk2 --mem-path ""
ctl_reject "block-size 3000" "power of two" create empblk2 --mem-path dram:16 --block-size 3000
ctl_reject "block-size 4M" "4096..2097152" create empblk2 --mem-path dram:16 --block-size 4M
ctl_reject "subblock-size 256K" "4096..131072" create empblk2 --mem-path dram:16 --subblock-size 256K
ctl_reject "block < subblock" "larger than block_size" create empblk2 --mem-path dram:16 --block-size 4K --subblock-size 64K
ctl_reject "a donor entry under one extent" "less than one 2 MiB extent" create empblk2 --mem-path "dram:16|10.0.0.1:1:7000"
ctl_reject "placement bogus" "must be distribute, sequential or fastest-first" create empblk2 --mem-path dram:16 --placement bogus
# no RDMA link in this guest: with a DRAM cache too, enable says so
ctl_reject "DRAM cache, unreachable donor" "no route over RDMA" create empblk2 --mem-path "dram:16|10.0.0.1:64:7000"
# no RDMA link in this guest: the donor cannot be reached, enable says so
ctl_reject "unreachable donor" "no route over RDMA" create empblk2 --mem-path 10.0.0.1:64:7000
ctl_reject "destroy of a missing device" "no such device" destroy empblk2
out=$("$EMPCTL" create empblk1 --mem-path dram:8 2>&1)
rc=$?
if [[ $rc == 1 && $out == *"already exists"* ]]; then
	emp_tap_ok "empctl create of an existing device fails: ${out%%$'\n'*}"
else
	emp_tap_not_ok "empctl create of an existing device: exit $rc, want 1 and 'already exists' ($out)"
fi
emp_tap_check "... and leaves it unchanged" eval \
	"attr_is $CFG/empblk1/enable 1 && attr_is $CFG/empblk1/mem_path dram:64"
out=$("$EMPCTL" create foo0 --mem-path dram:8 2>&1)
rc=$?
if ((rc != 0)) && [[ ! -e $CFG/foo0 ]]; then
	emp_tap_ok "empctl rejects a bad name (exit $rc): ${out%%$'\n'*}"
else
	emp_tap_not_ok "empctl accepted the name foo0 (exit $rc) or left $CFG/foo0 ($out)"
fi

"$EMPCTL" destroy empblk1 >/dev/null
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
