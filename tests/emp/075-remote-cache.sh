#!/bin/bash
# The DRAM tier as a static write-back cache in front of a donor
# ("dram:8|IP:MB:PORT"): small writes stay in local DRAM (the donor holds
# nothing) and read back from it; fio crc32c verification through a cache
# four times smaller than the data (writeback, eviction, write-around all
# run); swap through the cache under memory.max with every word verified;
# a discard empties cache and donor; a block size the cache cannot serve
# is refused with a clear message.
# guests: 2
# timeout: 1500
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports/p0
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_modprobe_target
	mkdir $T
	echo "$EMP_SELF_IP" >$T/addr
	echo 512 >$T/budget_mb
	echo 1 >$T/enable || emp_fail "cannot enable the port"
	emp_sync_post target-up
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

	out=$("$EMPCTL" create empblk1 --mem-path "dram:8|$D" --block-size 256K --subblock-size 4K 2>&1); rc=$?
	echo "$out" | sed 's/^/# /'
	emp_tap_check "a cache block larger than a request is refused (exit $rc)" bash -c "[ $rc != 0 ] && grep -q 'needs block_size <= 131072' <<<'$out' && [ ! -e /sys/block/empblk1 ]"

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
	bash -c "echo \$\$ > $CG/cgroup.procs && exec $MEMVERIFY 48 1500" >/tmp/mv.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/mv.out
	emp_tap_check "swap at 50% of a 48 MiB working set: 0 mismatched words (exit $rc)" test "$rc" = 0
	emp_tap_check "no OOM kill" bash -c "[ \$(awk '/^oom_kill /{print \$2}' $CG/memory.events) = 0 ]"
	emp_tap_check "swap-outs landed in DRAM" test $(($(cat $S/cache_write_hits) - w0)) -gt 100
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
