#!/bin/bash
# The DRAM tier as a static write-back cache in front of a donor
# ("dram:8|IP:MB:PORT"): small writes stay in local DRAM (the donor holds
# nothing) and read back from it; fio crc32c verification through a cache
# four times smaller than the data (writeback, eviction, write-around all
# run); swap through the cache under memory.max with every word verified;
# a discard empties cache and donor; a cache of 256 KiB blocks fetches a
# block whole when a read misses part of it, and its other pages then hit.
# guests: 2
# timeout: 1500
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_target_up $T 512
	emp_sync_wait small-written 300
	emp_tap_check "writes absorbed by the cache leave the donor empty" test "$(cat $T/bytes_in_use)" = 0
	emp_sync_post small-checked
	emp_sync_wait discarded 1200
	emp_tap_check "after the discard the donor holds nothing" test "$(cat $T/bytes_in_use)" = 0
	emp_sync_wait done 300
	emp_tap_check "sessions end when the device is destroyed" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 30 1
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	command -v fio >/dev/null || emp_skip "fio not installed"
	MEMVERIFY=$EMP_REPO/build/tests/memverify
	CG=/sys/fs/cgroup/emp-cache
	S=/sys/block/empblk0/emp
	D="$EMP_PEER_IP:256:19675"
	emp_modprobe_empblk
	emp_sync_wait target-up 300

	# 256 KiB blocks: a read of one page fetches its whole block, and
	# the reads of the block's other pages hit. At 64 MiB, away from
	# what udev reads when the disk appears.
	S1=/sys/block/empblk1/emp
	emp_tap_check "a cache of 256 KiB blocks" "$EMPCTL" create empblk1 --mem-path "dram:8|$D" --block-size 256K --subblock-size 16K
	udevadm settle 2>/dev/null	# what udev reads of a new disk is read
	head -c $((1 << 20)) /dev/urandom >/tmp/b1m
	a0=$(cat $S1/cache_write_around)
	emp_tap_check "1 MiB written at 64 MiB, around the cache (no write covers a block)" bash -c "dd if=/tmp/b1m of=/dev/empblk1 bs=128k seek=512 oflag=direct status=none && [ \$((\$(cat $S1/cache_write_around) - $a0)) = 8 ]"
	f0=$(cat $S1/cache_fetches)
	d0=$(cat $S1/cache_fetched)
	r0=$(cat $S1/cache_fetch_drops)
	page_ok() { dd if=/dev/empblk1 bs=4k skip=$((16384 + $1)) count=1 iflag=direct status=none | cmp -s - <(dd if=/tmp/b1m bs=4k skip=$1 count=1 status=none); }
	emp_tap_check "a 4 KiB read in the second block reads right" page_ok 65
	others() { local i; for i in $(seq 64 127); do [ $i = 65 ] || page_ok $i || return 1; done; }
	if [ "$(cat $S1/read_sinks)" = registered ]; then
		# iWARP: page I/O has no registered READ sinks yet; a fetch
		# from the donor is refused and dropped, and fetching stops
		# (udev's fetches of unwritten blocks, all zeroes, succeed)
		emp_tap_check "iWARP: no fetch of it completes, at most one is dropped" emp_wait_for "[ \$((\$(cat $S1/cache_fetched) - $d0)) = 0 ] && [ \$((\$(cat $S1/cache_fetch_drops) - $r0)) -le 1 ] && [ \$((\$(cat $S1/cache_fetch_drops) - $r0)) = \$((\$(cat $S1/cache_fetches) - $f0)) ]" 30 1
		h0=$(cat $S1/cache_read_hits)
		emp_tap_check "the block's 63 other pages read right, from the donor" others
		emp_tap_check "... none from DRAM" test "$(cat $S1/cache_read_hits)" = "$h0"
	else
		emp_tap_check "... and fetches its block whole, in the background" emp_wait_for "[ \$((\$(cat $S1/cache_fetches) - $f0)) = 1 ] && [ \$((\$(cat $S1/cache_fetched) - $d0)) = 1 ]" 30 1
		h0=$(cat $S1/cache_read_hits)
		emp_tap_check "the block's 63 other pages read right" others
		emp_tap_check "... all from DRAM ($(($(cat $S1/cache_read_hits) - h0)) hits)" test $(($(cat $S1/cache_read_hits) - h0)) = 63
		emp_tap_check "no fetch dropped" test "$(cat $S1/cache_fetch_drops)" = "$r0"
	fi
	emp_tap_check "the whole MiB reads back" bash -c "dd if=/dev/empblk1 bs=64k skip=1024 count=16 iflag=direct status=none | cmp - /tmp/b1m"
	emp_tap_check "destroy it" "$EMPCTL" destroy empblk1

	"$EMPCTL" create empblk0 --mem-path "dram:8|$D" >/dev/null || emp_fail "create failed"
	emp_tap_check "capacity is the donor's 256 MiB, cache 8 MiB" bash -c "[ \$(blockdev --getsize64 /dev/empblk0) = $((256 << 20)) ] && [ \$(cat $S/dram_budget_bytes) = $((8 << 20)) ]"
	emp_tap_check "tiers reads 'zero cache stripe remote'" test "$(cat $S/tiers)" = "zero cache stripe remote"

	head -c $((4 << 20)) /dev/urandom >/tmp/small
	dd if=/tmp/small of=/dev/empblk0 bs=64k oflag=direct status=none || emp_fail "small write failed"
	emp_tap_check "4 MiB written: all dirty in DRAM" bash -c "[ \$(cat $S/dram_dirty_bytes) = $((4 << 20)) ] && [ \$(cat $S/cache_write_hits) -ge 1024 ]"
	emp_tap_check "nothing on the donor yet" test "$(cat $S/remote_bytes_in_use)" = 0
	h0=$(cat $S/cache_read_hits)
	emp_tap_check "reads back identical" bash -c "dd if=/dev/empblk0 bs=64k count=64 iflag=direct status=none | cmp - /tmp/small"
	emp_tap_check "from DRAM" bash -c "[ \$((\$(cat $S/cache_read_hits) - $h0)) -ge 1024 ]"
	emp_sync_post small-written
	emp_sync_wait small-checked 300

	for run in 4k:16M 64k:32M; do
		bs=${run%:*}
		emp_tap_check "fio randwrite+verify crc32c bs=$bs, ${run#*:} through the 8 MiB cache" \
			fio --name="c-$bs" --filename=/dev/empblk0 --direct=1 --ioengine=libaio \
			--iodepth=16 --size=${run#*:} --offset=64M --bs=$bs --rw=randwrite \
			--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 \
			--output-format=terse
	done
	emp_tap_check "the first 4 MiB survived all that" bash -c "dd if=/dev/empblk0 bs=64k count=64 iflag=direct status=none | cmp - /tmp/small"
	for f in cache_writebacks cache_evictions cache_read_misses; do
		emp_tap_check "$f counted ($(cat $S/$f))" test "$(cat $S/$f)" -gt 0
	done
	emp_tap_check "blocks went to the donor" test "$(cat $S/remote_bytes_in_use)" -gt 0
	emp_tap_check "dirty data stays within the cache" test "$(cat $S/dram_dirty_bytes)" -le $((8 << 20))

	swapoff -a 2>/dev/null
	emp_tap_check "mkswap and swapon through the cache" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $CG
	echo max >$CG/memory.swap.max 2>/dev/null
	echo 24M >$CG/memory.max
	w0=$(cat $S/cache_write_hits)
	wb0=$(cat $S/cache_writebacks)
	io0=$(cat $S/cache_writeback_ios)
	bash -c "echo \$\$ > $CG/cgroup.procs && exec $MEMVERIFY 48 1500" >/tmp/mv.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/mv.out
	emp_tap_check "swap at 50% of a 48 MiB working set: 0 mismatched words (exit $rc)" test "$rc" = 0
	emp_tap_check "no OOM kill" bash -c "[ \$(awk '/^oom_kill /{print \$2}' $CG/memory.events) = 0 ]"
	emp_tap_check "swap-outs landed in DRAM" test $(($(cat $S/cache_write_hits) - w0)) -gt 100
	wb=$(($(cat $S/cache_writebacks) - wb0))
	io=$(($(cat $S/cache_writeback_ios) - io0))
	emp_tap_check "writeback sent swap's neighbouring blocks together ($wb blocks in $io RDMA page I/Os)" \
		bash -c "[ $io -gt 0 ] && [ $wb -gt $io ]"
	rmdir $CG
	emp_tap_check "swapoff" swapoff /dev/empblk0
	emp_tap_check "blkdiscard of the whole device" blkdiscard /dev/empblk0
	emp_tap_check "the cache is empty" bash -c "[ \$(cat $S/dram_used_bytes) = 0 ] && [ \$(cat $S/dram_dirty_bytes) = 0 ]"
	emp_tap_check "the donor's memory is given back" test "$(cat $S/remote_bytes_in_use)" = 0
	emp_tap_check "no remote errors" bash -c "[ \$(cat $S/remote_errors) = 0 ] && [ \$(cat $S/cache_writeback_errors) = 0 ]"
	emp_sync_post discarded
	emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
