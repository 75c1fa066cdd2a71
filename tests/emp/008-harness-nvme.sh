#!/bin/bash
# shellcheck disable=SC2317 # functions called through emp_tap_check
# Harness: the "# nvme:" header's emulated NVMe disks (there, in order, the
# right sizes, a direct-I/O round trip) and the device-mapper helpers for
# error injection over them (an error span, flakey, removal); a controller
# order scrambled by rebinding is put back by emp_nvme_wait.
# guests: 1
# nvme: 64,32
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

MIB=$((1 << 20))

emp_nvme_wait 2

serial() { local s; read -r s <"/sys/class/nvme/$1/serial" && echo "$s"; }
size_is() { # size_is DEV BYTES
	local got
	got=$(blockdev --getsize64 "$1") || return 1
	[[ $got == "$2" ]] || { echo "$1: $got bytes, want $2"; return 1; }
}
emp_tap_check "nvme0 is serial empnvme0, nvme1 empnvme1" \
	test "$(serial nvme0) $(serial nvme1)" = "empnvme0 empnvme1"
emp_tap_check "/dev/nvme0n1 is 64 MiB" size_is /dev/nvme0n1 $((64 * MIB))
emp_tap_check "/dev/nvme1n1 is 32 MiB" size_is /dev/nvme1n1 $((32 * MIB))

# A 1 MiB pattern at 3 MiB of nvme0n1, written and read back with direct I/O
# (the page cache is not what answers).
head -c 1M /dev/urandom >/tmp/pat
roundtrip() {
	dd if=/tmp/pat of=/dev/nvme0n1 bs=1M seek=3 count=1 oflag=direct conv=fsync status=none &&
		dd if=/dev/nvme0n1 of=/tmp/back bs=1M skip=3 count=1 iflag=direct status=none &&
		cmp /tmp/pat /tmp/back
}
emp_tap_check "1 MiB written to nvme0n1 with O_DIRECT reads back identical" roundtrip

# Sector reads and writes through a mapped device, with direct I/O.
rd() { dd if="$1" of=/dev/null bs=512 skip="$2" count="${3:-1}" iflag=direct status=none; }
wr() { dd if=/dev/zero of="$1" bs=512 seek="$2" count=1 oflag=direct status=none; }
fails() { ! "$@"; }

# nvme0n1 (131072 sectors) with an error span at [8192, 10240) = 4-5 MiB
if dm=$(emp_dm_error_span empbad /dev/nvme0n1 - 8192 2048); then
	emp_tap_ok "emp_dm_error_span created $dm"
	emp_tap_check "$dm has 131072 sectors" test "$(blockdev --getsz "$dm")" = 131072
	emp_tap_check "table: linear, error, linear" \
		test "$(dmsetup table empbad | awk '{ printf "%s%s", s, $3; s = "," }')" = "linear,error,linear"
	emp_tap_check "read of the first error sector (8192) fails" fails rd "$dm" 8192
	emp_tap_check "read of the last error sector (10239) fails" fails rd "$dm" 10239
	emp_tap_check "read of 1 MiB inside the span fails" fails rd "$dm" 8192 2048
	emp_tap_check "write inside the span fails" fails wr "$dm" 9000
	emp_tap_check "read of sector 8191 (before the span) succeeds" rd "$dm" 8191
	emp_tap_check "read of sector 10240 (after the span) succeeds" rd "$dm" 10240
	emp_tap_check "read of the last sector succeeds" rd "$dm" 131071
	emp_tap_check "the linear part maps 1:1 (the pattern at 3 MiB)" \
		sh -c "dd if=$dm bs=1M skip=3 count=1 iflag=direct status=none | cmp - /tmp/pat"
	emp_tap_check "dmsetup remove empbad" emp_dm_remove empbad
	emp_tap_check "/dev/mapper/empbad is gone" test ! -e /dev/mapper/empbad
	emp_tap_check "dmsetup knows no empbad" fails dmsetup info empbad
else
	emp_tap_not_ok "emp_dm_error_span empbad /dev/nvme0n1 - 8192 2048"
fi
emp_tap_check "bad span refused (past the end)" fails emp_dm_error_span empbad2 /dev/nvme0n1 - 131000 100
emp_tap_check "nothing left mapped" test -z "$(dmsetup ls | grep -v 'No devices found')"

# flakey over nvme1n1, always down (up 0 s): reads fail
if ! _emp_dm_init flakey 2>/dev/null; then
	emp_tap_skip "dm-flakey: reads fail while down" "no dm-flakey for $EMP_KVER"
elif fl=$(emp_dm_flakey empflaky /dev/nvme1n1 - 0 3600); then
	emp_tap_check "dm-flakey (always down): reads fail" fails rd "$fl" 0
	emp_tap_check "dmsetup remove empflaky" emp_dm_remove empflaky
else
	emp_tap_not_ok "emp_dm_flakey empflaky /dev/nvme1n1 - 0 3600"
fi

# Bind the controllers again in reverse order (nvme0 becomes empnvme1):
# emp_nvme_wait puts them back in serial order.
drv=/sys/bus/pci/drivers/nvme
b0=$(realpath /sys/class/nvme/nvme0/device) b1=$(realpath /sys/class/nvme/nvme1/device)
echo "${b0##*/}" >"$drv/unbind"
echo "${b1##*/}" >"$drv/unbind"
emp_wait_for "! compgen -G '/sys/class/nvme/nvme*' >/dev/null" 30 0.1
echo "${b1##*/}" >"$drv/bind"
emp_wait_for "[[ -b /dev/nvme0n1 ]]" 60 0.1
echo "${b0##*/}" >"$drv/bind"
emp_wait_for "[[ -b /dev/nvme1n1 ]]" 60 0.1
emp_tap_check "rebinding in reverse order scrambles the instances" \
	test "$(serial nvme0) $(serial nvme1)" = "empnvme1 empnvme0"
emp_nvme_wait 2
emp_tap_check "emp_nvme_wait put them back in serial order" \
	test "$(serial nvme0) $(serial nvme1)" = "empnvme0 empnvme1"
emp_tap_check "the pattern is still on nvme0n1" \
	sh -c "dd if=/dev/nvme0n1 bs=1M skip=3 count=1 iflag=direct status=none | cmp - /tmp/pat"

emp_dmesg_check || emp_fail "kernel log has errors"
emp_tap_done
