#!/bin/bash
# Data integrity on the raw device: fio with crc32c verification at block
# sizes 4K..1M, random write and mixed read/write; discard, write-zeroes and
# flush, with the device's statistics checked against what was done.
# guests: 1
# timeout: 900
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

DEV=/dev/empblk0
S=/sys/block/empblk0/emp
emp_require_empctl
command -v fio >/dev/null || emp_skip "fio not installed"
emp_modprobe_empblk
"$EMPCTL" create empblk0 --mem-path dram:512 >/dev/null || emp_fail "empctl create failed"
emp_wait_for "[ -b $DEV ]" 10 || emp_fail "$DEV did not appear"
emp_tap_check "tiers reads 'zero dram'" test "$(cat $S/tiers)" = "zero dram"

# fio_verify BS RW [EXTRA]: two jobs, each on its own 64 MiB range; small
# blocks cover less of it, so that every run is about 2000 I/Os a job
fio_verify() {
	local bs=$1 rw=$2 extra=${3:-} size=48M
	case $bs in 4k) size=8M ;; 16k) size=24M ;; esac
	# shellcheck disable=SC2086
	fio --name="v-$bs-$rw" --filename=$DEV --direct=1 --ioengine=libaio \
		--iodepth=16 --numjobs=2 --size=$size --offset_increment=64M \
		--bs="$bs" --rw="$rw" --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=0 --group_reporting $extra \
		--output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; return 1; }
}

for bs in 4k 16k 64k 256k 1m; do
	emp_tap_check "fio randwrite+verify crc32c bs=$bs" fio_verify "$bs" randwrite
done
emp_tap_check "fio randrw+verify_backlog crc32c bs=4k" fio_verify 4k randrw "--verify_backlog=64"
emp_tap_check "fio randrw+verify_backlog crc32c bs=1m" fio_verify 1m randrw "--verify_backlog=8"
emp_tap_check "reads and writes counted" bash -c "[ \$(cat $S/reads) -gt 0 ] && [ \$(cat $S/writes) -gt 0 ] && [ \$(cat $S/read_bytes) -gt 0 ]"
emp_tap_check "no write failed" bash -c "[ \$(cat $S/nospace_errors) = 0 ] && [ \$(cat $S/alloc_failures) = 0 ]"

# discard and write-zeroes free memory and read back as zeroes
blkdiscard $DEV
emp_tap_check "discarding everything frees all DRAM" test "$(cat $S/dram_used_bytes)" = 0
dd if=/dev/urandom of=/tmp/p16 bs=1M count=16 status=none
dd if=/tmp/p16 of=$DEV bs=1M oflag=direct status=none
used=$(cat $S/dram_used_bytes)
emp_tap_check "16 MiB written uses 16 MiB" test "$used" = $((16 << 20))
# zero pages are a bit each: no DRAM, and read back with no copy
z0=$(cat $S/zero_page_writes)
zr0=$(cat $S/zero_page_reads)
dd if=/dev/zero of=$DEV bs=1M seek=32 count=4 oflag=direct status=none
emp_tap_check "4 MiB of zeroes are 1024 zero pages" bash -c "[ \$((\$(cat $S/zero_page_writes) - $z0)) = 1024 ] && [ \$(cat $S/zero_pages) = 1024 ]"
emp_tap_check "... and take no DRAM" test "$(cat $S/dram_used_bytes)" = $((16 << 20))
emp_tap_check "... read back as zeroes from the bitmap" bash -c "dd if=$DEV bs=1M skip=32 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero - && [ \$((\$(cat $S/zero_page_reads) - $zr0)) = 1024 ]"
# zeroes over data: the page reads zero and its DRAM stays until discarded
dd if=/dev/zero of=$DEV bs=4K seek=1 count=1 oflag=direct status=none
emp_tap_check "a zero page written over data reads back zero" bash -c "dd if=$DEV bs=4K skip=1 count=1 iflag=direct status=none | cmp -n 4096 /dev/zero -"
emp_tap_check "... and the pages around it keep their data" bash -c "dd if=$DEV bs=4K count=1 iflag=direct status=none | cmp -n 4096 /tmp/p16 - && dd if=$DEV bs=4K skip=2 count=1 iflag=direct status=none | cmp -n 4096 -i 8192:0 /tmp/p16 -"
emp_tap_check "data written over a zero page reads back" bash -c "dd if=/tmp/p16 of=$DEV bs=4K skip=1 seek=1 count=1 oflag=direct status=none && dd if=$DEV bs=4K count=2 iflag=direct status=none | cmp -n 8192 /tmp/p16 - && [ \$(cat $S/zero_pages) = 1024 ]"
blkdiscard -o $((32 << 20)) -l $((4 << 20)) $DEV
emp_tap_check "discard forgets zero pages" test "$(cat $S/zero_pages)" = 0
uw0=$(cat $S/unwritten_reads)
emp_tap_check "reading an unwritten range returns zeroes" bash -c "dd if=$DEV bs=1M skip=100 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero -"
emp_tap_check "unwritten_reads counts 1024 pages" test $(($(cat $S/unwritten_reads) - uw0)) = 1024
d0=$(cat $S/discards)
blkdiscard -o $((4 << 20)) -l $((4 << 20)) $DEV
emp_tap_check "discard of 4 MiB frees 4 MiB" test "$(cat $S/dram_used_bytes)" = $((12 << 20))
emp_tap_check "discards counted" test "$(cat $S/discards)" -gt "$d0"
emp_tap_check "discarded range reads zeroes" bash -c "dd if=$DEV bs=1M skip=4 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero -"
emp_tap_check "data around it intact" bash -c "dd if=$DEV bs=1M count=4 iflag=direct status=none | cmp -n $((4 << 20)) /tmp/p16 - && dd if=$DEV bs=1M count=16 iflag=direct status=none | cmp -i $((8 << 20)) -n $((8 << 20)) /tmp/p16 -"
z0=$(cat $S/write_zeroes)
# punching a hole is a write-zeroes that may unmap: it frees the pages
fallocate --punch-hole --keep-size -o $((8 << 20)) -l $((4 << 20)) $DEV
emp_tap_check "write-zeroes (punch hole) of 4 MiB frees 4 MiB" test "$(cat $S/dram_used_bytes)" = $((8 << 20))
emp_tap_check "write-zeroes counted" test "$(cat $S/write_zeroes)" -gt "$z0"
emp_tap_check "zeroed range reads zeroes" bash -c "dd if=$DEV bs=1M skip=8 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero -"
# BLKZEROOUT is a write-zeroes with REQ_NOUNMAP: zero in place, keep pages
blkdiscard -z -o $((12 << 20)) -l $((4 << 20)) $DEV
emp_tap_check "write-zeroes with NOUNMAP (blkdiscard -z) keeps its 4 MiB" test "$(cat $S/dram_used_bytes)" = $((8 << 20))
emp_tap_check "... and reads zeroes" bash -c "dd if=$DEV bs=1M skip=12 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero -"
f0=$(cat $S/flushes)
dd if=/tmp/p16 of=$DEV bs=1M count=1 conv=fsync status=none
emp_tap_check "fsync sends a flush" test "$(cat $S/flushes)" -gt "$f0"
emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
