#!/bin/bash
# The SSD tier on QEMU's emulated NVMe disks: an SSD alone from an offset
# (fio crc32c verify, and the bytes sit on the SSD where the entry and the
# placement map say), two SSDs striped by subblock (the layout checked on
# the raw disks), the
# DRAM cache in front of an SSD (fio verify and the swap workload at half
# its working set), every bad entry refused with its message and nothing
# created or left claimed, an I/O error of the SSD (a device-mapper error
# span under the entry) failing only the requests it touched, zero pages
# reaching no SSD, and an SSD deleted under the device failing I/O without
# a hang. The suite runs the swap workload at half the size of
# EMP_TEST_MATRIX=full (make check-full).
# guests: 1
# timeout: 2400
# memory: 1536
# nvme: 384,256
. "$EMP_REPO/tests/lib/guest.sh"

S=/sys/block/empblk0/emp
MEMVERIFY=$EMP_REPO/build/tests/memverify
F=${EMP_TIME_FACTOR:-1}
N0=/dev/nvme0n1
N1=/dev/nvme1n1
MiB=$((1 << 20))
emp_require_empctl
command -v fio >/dev/null || emp_skip "fio not installed"
[[ -x $MEMVERIFY ]] || emp_fail "$MEMVERIFY not built (make test-progs)"
emp_nvme_wait 2
emp_modprobe_empblk
swapoff -a 2>/dev/null

create() {
	"$EMPCTL" create empblk0 "$@" >/tmp/create.out 2>&1 &&
		emp_wait_for "[ -b /dev/empblk0 ]" 10
}
destroy() { "$EMPCTL" destroy empblk0; }
size_is() { test "$(blockdev --getsize64 /dev/empblk0)" = $(($1 * MiB)); }

# same_bytes DEV OFFSET_BYTES FILE: DEV holds FILE at OFFSET_BYTES
same_bytes() {
	local n
	n=$(stat -c %s "$3")
	dd if="$1" bs=64K skip=$(($2 / 65536)) count=$((n / 65536)) \
		iflag=direct status=none | cmp -s - "$3"
}

dd if=/dev/urandom of=/tmp/p8 bs=1M count=8 status=none

# --- one SSD, used from an offset ---
emp_tap_check "create on /dev/nvme0n1:256:64" create --mem-path "$N0:256:64"
emp_tap_check "its size is the entry's 256 MiB" size_is 256
emp_tap_check "ssds reads 1" test "$(cat $S/ssds)" = 1
emp_tap_check "tiers reads 'zero stripe ssd'" test "$(cat $S/tiers)" = "zero stripe ssd"
# the first write of a fresh device gets the entry's first extents
emp_tap_check "8 MiB written at 192 MiB" dd if=/tmp/p8 of=/dev/empblk0 bs=1M seek=192 oflag=direct status=none
emp_tap_check "... reads back" same_bytes /dev/empblk0 $((192 * MiB)) /tmp/p8
emp_tap_check "backend 0 holds 8 MiB" test "$(cat /sys/block/empblk0/backends/0/used_bytes)" = $((8 * MiB))
emp_tap_check "fio randwrite+verify bs=4k" emp_fio_verify 32M 4k randwrite
emp_tap_check "fio randwrite+verify bs=64k" emp_fio_verify 64M 64k randwrite
emp_tap_check "fio randrw+verify bs=1m" emp_fio_verify 64M 1m randrw --verify_backlog=8
emp_tap_check "a flush passes down (fsync)" bash -c "f0=\$(cat $S/flushes); dd if=/tmp/p8 of=/dev/empblk0 bs=1M count=1 conv=fsync status=none && [ \$(cat $S/flushes) -gt \$f0 ]"
emp_tap_check "the 8 MiB at 192 MiB survived that" same_bytes /dev/empblk0 $((192 * MiB)) /tmp/p8
# zero pages go nowhere: the SSD's own counters do not move
nv_sectors() { awk -v f="$1" '{ print $f }' /sys/block/nvme0n1/stat; }
w0=$(nv_sectors 7)
z0=$(cat $S/zero_page_writes)
dd if=/dev/zero of=/dev/empblk0 bs=1M seek=100 count=4 oflag=direct status=none
emp_tap_check "4 MiB of zeroes are 1024 zero pages" test $(($(cat $S/zero_page_writes) - z0)) = 1024
emp_tap_check "... and wrote nothing to the SSD ($(($(nv_sectors 7) - w0)) sectors)" test "$(nv_sectors 7)" = "$w0"
r0=$(nv_sectors 3)
emp_tap_check "... read back as zeroes" bash -c "dd if=/dev/empblk0 bs=1M skip=100 count=4 iflag=direct status=none | cmp -n $((4 * MiB)) /dev/zero -"
emp_tap_check "... without reading the SSD ($(($(nv_sectors 3) - r0)) sectors)" test "$(nv_sectors 3)" = "$r0"
# a 64 KiB write of zero and data pages over older data
{
	for ((i = 0; i < 16; i++)); do
		if ((i % 2)); then dd if=/tmp/p8 bs=4K skip=$i count=1 status=none; else head -c 4096 /dev/zero; fi
	done
} >/tmp/mix
dd if=/tmp/p8 of=/dev/empblk0 bs=64K seek=$((40 * 16)) count=1 oflag=direct status=none
z0=$(cat $S/zero_page_writes)
dd if=/tmp/mix of=/dev/empblk0 bs=64K seek=$((40 * 16)) count=1 oflag=direct status=none
emp_tap_check "a write of zero and data pages over older data reads back whole" same_bytes /dev/empblk0 $((40 * MiB)) /tmp/mix
emp_tap_check "... its 8 zero pages kept as bits" test $(($(cat $S/zero_page_writes) - z0)) = 8
emp_tap_check "no SSD error" test "$(cat $S/ssd_errors)" = 0
emp_tap_check "destroy" destroy
emp_tap_check "the 8 MiB sit on the SSD at the entry's offset, 64 MiB" same_bytes $N0 $((64 * MiB)) /tmp/p8

# --- two SSDs striped by 16 KiB subblocks ---
emp_tap_check "create on two SSDs, 16K subblocks" create --mem-path "$N0:128:0|$N1:128:0" --subblock-size 16K --block-size 16K
emp_tap_check "its size is 2 x 128 MiB" size_is 256
emp_tap_check "ssds reads 2" test "$(cat $S/ssds)" = 2
dd if=/tmp/p8 of=/dev/empblk0 bs=1M count=1 oflag=direct status=none
emp_tap_check "the first MiB went half to each SSD" bash -c "[ \$(cat /sys/block/empblk0/backends/0/write_bytes) = $((MiB / 2)) ] && [ \$(cat /sys/block/empblk0/backends/1/write_bytes) = $((MiB / 2)) ]"
emp_tap_check "destroy" destroy
# lanes: subblock 2k is in nvme0's first extent at k * 16K, subblock 2k+1
# in nvme1's at k * 16K (the fresh device's first extents)
restripe() {
	local i
	: >/tmp/restriped
	for ((i = 0; i < 64; i++)); do
		dd if="$( ((i % 2)) && echo $N1 || echo $N0)" bs=16K skip=$((i / 2)) count=1 iflag=direct status=none >>/tmp/restriped || return 1
	done
	head -c $MiB /tmp/p8 | cmp -s - /tmp/restriped
}
emp_tap_check "subblocks alternate between the SSDs on disk" restripe
emp_tap_check "create again" create --mem-path "$N0:128:0|$N1:128:0" --subblock-size 16K --block-size 16K
emp_tap_check "fio randwrite+verify bs=4k" emp_fio_verify 32M 4k randwrite
emp_tap_check "fio randrw+verify bs=1m (requests span both SSDs)" emp_fio_verify 128M 1m randrw --verify_backlog=8
emp_tap_check "destroy" destroy

# --- the DRAM cache in front of an SSD ---
emp_tap_check "create dram:16 in front of an SSD, 64K blocks" create --mem-path "dram:16|$N0:256:0" --block-size 64K --subblock-size 16K
emp_tap_check "dram_budget_bytes is 16 MiB" test "$(cat $S/dram_budget_bytes)" = $((16 * MiB))
emp_tap_check "tiers reads 'zero cache stripe ssd'" test "$(cat $S/tiers)" = "zero cache stripe ssd"
emp_tap_check "fio randwrite+verify bs=4k over 4x the cache" emp_fio_verify 64M 4k randwrite
emp_tap_check "fio randrw+verify bs=64k" emp_fio_verify 128M 64k randrw --verify_backlog=16
emp_tap_check "blocks were written back to the SSD" test "$(cat $S/cache_writebacks)" -gt 0
emp_tap_check "... and evicted" test "$(cat $S/cache_evictions)" -gt 0
emp_tap_check "no writeback failed" test "$(cat $S/cache_writeback_errors)" = 0
# the suite's size; EMP_TEST_MATRIX=full (make check-full) twice that
WS_MB=64 ITERS=8000
[ "${EMP_TEST_MATRIX:-quick}" = full ] && WS_MB=128 ITERS=20000
emp_tap_check "mkswap" mkswap /dev/empblk0
emp_tap_check "swapon" swapon /dev/empblk0
emp_swap_verify $S $((WS_MB / F)) $((ITERS / F))
emp_tap_check "swapoff" swapoff /dev/empblk0
emp_tap_check "no SSD error" test "$(cat $S/ssd_errors)" = 0
emp_tap_check "destroy" destroy

# --- writeback sends runs of neighbouring 4K blocks as one I/O ---
emp_tap_check "create dram:16 in front of an SSD, 4K blocks" create --mem-path "dram:16|$N0:256:0" --block-size 4K --subblock-size 4K
emp_tap_check "fio write+verify 64 MiB in order, 4x the cache" emp_fio_verify 64M 64k write
wb=$(cat $S/cache_writebacks)
io=$(cat $S/cache_writeback_ios)
emp_tap_check "writeback merged the blocks: $wb in $io I/Os, 8 or more per I/O" bash -c "[ $io -gt 0 ] && [ $wb -ge $((8 * io)) ]"
emp_tap_check "no writeback failed" test "$(cat $S/cache_writeback_errors)" = 0
emp_tap_check "destroy" destroy

# --- bad entries: refused with a message naming them, nothing created ---
# refused DESC MEM_PATH KMSG_ERE [OPTIONS...]
refused() {
	local desc=$1 mp=$2 re=$3 n0
	shift 3
	n0=$(dmesg | wc -l)
	if create --mem-path "$mp" "$@"; then
		destroy
		emp_tap_not_ok "$desc: '$mp' accepted"
	elif [[ -e /dev/empblk0 || -e /sys/kernel/config/empblk/empblk0 ]]; then
		emp_tap_not_ok "$desc: '$mp' refused but left empblk0 behind"
	elif ! dmesg | tail -n +$((n0 + 1)) | grep -Eq "empblk0: .*$re"; then
		emp_tap_not_ok "$desc: no '$re' in the kernel log: $(dmesg | tail -n 2 | tr '\n' ' ')"
	else
		emp_tap_ok "$desc refused: $(dmesg | tail -n +$((n0 + 1)) | grep -E "empblk0: .*$re" | head -n 1 | sed 's/^\[[^]]*\] //')"
	fi
}
: >/tmp/plain
refused "a character device" "/dev/null:64:0" "SSD /dev/null: not a block device"
refused "a regular file" "/tmp/plain:64:0" "SSD /tmp/plain: not a block device"
refused "a missing path" "/dev/nope:64:0" "SSD /dev/nope: no such file"
refused "offset + size past the end" "$N1:200:100" "SSD $N1: 200 MiB from offset 100 MiB ends past its end \(256 MiB\)"
refused "two entries overlapping on one SSD" "$N0:64:0|$N0:64:32" "overlap on one device"
refused "an entry smaller than one extent" "$N1:1:0" "size 1 MiB is less than one 2 MiB extent"
refused "poll queues with an SSD" "$N1:64:0" "poll_queues needs donors" --poll-queues 1
mkswap -q $N1 >/dev/null && swapon $N1
refused "an SSD that is swapped on" "$N1:64:0" "SSD $N1: in use"
swapoff $N1
mkfs.ext4 -q -F $N1 >/dev/null 2>&1 && mkdir -p /mnt/emp && mount $N1 /mnt/emp
refused "an SSD that is mounted" "$N1:64:0" "SSD $N1: in use"
umount /mnt/emp
# a partition table by hand (no fdisk here): two 32 MiB partitions
# (le32 and mbr_part print printf escapes, interpreted once at the end:
# a command substitution would drop the NUL bytes)
le32() { printf '\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
mbr_part() { echo -n '\x00\x00\x00\x00\x83\x00\x00\x00'"$(le32 "$1")$(le32 "$2")"; }
{
	head -c 446 /dev/zero
	printf "$(mbr_part 2048 65536)$(mbr_part 67584 65536)"
	head -c 32 /dev/zero
	printf '\x55\xaa'
} | dd of=$N1 bs=512 count=1 iflag=fullblock conv=notrunc oflag=direct status=none
blockdev --rereadpt $N1
emp_wait_for "[ -b ${N1}p2 ]" 10
mkfs.ext4 -q -F ${N1}p1 >/dev/null 2>&1 && mount ${N1}p1 /mnt/emp
refused "a mounted partition" "${N1}p1:16:0" "SSD ${N1}p1: in use"
refused "the whole disk of a mounted partition" "$N1:16:128" "SSD $N1: in use"
emp_tap_check "a free partition of that disk is accepted" create --mem-path "${N1}p2:32:0"
emp_tap_check "... and serves (fio verify)" emp_fio_verify 16M 4k randwrite
emp_tap_check "destroy" destroy
umount /mnt/emp
dmsetup create empheld --table "0 $((64 * 2048)) linear $N1 0" && dmsetup mknodes empheld
refused "an SSD held by device-mapper" "$N1:64:0" "SSD $N1: in use"
dmsetup remove empheld
blockdev --setro $N1
refused "a read-only SSD" "$N1:64:0" "SSD $N1: cannot be opened for writing"
blockdev --setrw $N1
emp_tap_check "the refusals left no claim: the SSD is accepted now" create --mem-path "$N1:64:0"
emp_tap_check "destroy" destroy

# --- an SSD error fails only the requests it touched ---
# 1 MiB of errors at 32 MiB of the mapping, the rest passes to nvme1n1
dm=$(emp_dm_error_span emperr $N1 - $((32 * 2048)) 2048) || emp_fail "cannot create the error span"
emp_tap_check "create on $dm" create --mem-path "$dm:128:0"
head -c 4096 /tmp/p8 >/tmp/p4k
w4k() { dd if=/tmp/p4k of=/dev/empblk0 bs=4K seek=$(($1 / 4096)) count=1 oflag=direct status=none 2>/dev/null; }
r4k() { dd if=/dev/empblk0 bs=4K skip=$(($1 / 4096)) count=1 iflag=direct status=none 2>/dev/null | cmp -s - /tmp/p4k; }
e0=$(cat $S/ssd_errors)
# a fresh device hands out extents in order: fill the first 31 MiB so that
# device and SSD offsets match up to the span
emp_tap_check "31 MiB written in order" dd if=/dev/urandom of=/dev/empblk0 bs=1M count=31 oflag=direct status=none
emp_tap_check "a write before the span succeeds" w4k $((31 * MiB))
fails() { ! "$@"; }
emp_tap_check "a write into the span fails" fails w4k $((32 * MiB + 4096))
emp_tap_check "a write after the span succeeds" w4k $((34 * MiB))
emp_tap_check "a read in the span fails" fails dd if=/dev/empblk0 of=/dev/null bs=4K skip=$((32 * MiB / 4096)) count=1 iflag=direct status=none
emp_tap_check "ssd_errors counted them ($(($(cat $S/ssd_errors) - e0)))" test $(($(cat $S/ssd_errors) - e0)) -ge 2
emp_tap_check "the error is logged with the SSD, the operation and its sector" bash -c "dmesg | grep -Eq 'empblk0: SSD $dm: WRITE at its sector 65544 failed: -5'"
emp_tap_check "the data before the span reads back" r4k $((31 * MiB))
emp_tap_check "the data after the span reads back" r4k $((34 * MiB))
emp_tap_check "the device serves the rest (fio verify away from the span)" emp_fio_verify 32M 64k randrw --offset=64M --verify_backlog=16
emp_tap_check "destroy" destroy
emp_tap_check "remove the error span" emp_dm_remove emperr

# --- an SSD that goes away under the device: I/O fails, nothing hangs ---
emp_tap_check "create on $N1" create --mem-path "$N1:64:0"
emp_tap_check "data written" w4k $((8 * MiB))
pci=$(readlink -f /sys/class/nvme/nvme1/device)
emp_tap_check "the SSD's PCI device ${pci##*/} is removed" sh -c "echo 1 > $pci/remove"
emp_tap_check "reads of written data fail at once instead of hanging" fails timeout 60 dd if=/dev/empblk0 of=/dev/null bs=4K skip=$((8 * MiB / 4096)) count=1 iflag=direct status=none
emp_tap_check "writes fail at once instead of hanging" fails timeout 60 dd if=/tmp/p4k of=/dev/empblk0 bs=4K seek=$((8 * MiB / 4096)) count=1 oflag=direct status=none
emp_tap_check "the device can be destroyed" timeout 120 "$EMPCTL" destroy empblk0
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
