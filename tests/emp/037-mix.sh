#!/bin/bash
# Donors and an SSD in one device, the seed's own mem_path shape: capacity
# is the sum of the backends; each placement policy puts data where it
# says, by the per-backend counters in /sys/block/empblk0/backends/;
# fio crc32c verify and the swap workload over dram+donor+ssd, with
# 64 KiB blocks fetched whole on partial read misses; a discard
# gives every backend's space back; fastest-first overflows to the SSD
# when the donor's budget is spent, where a donor-only device of the same
# budget fails with ENOSPC. The suite runs the swap and fio parts
# smaller; EMP_TEST_MATRIX=full (make check-full) at full size.
# guests: 2
# timeout: 2400
# memory: 1536
# nvme: 256
. "$EMP_REPO/tests/lib/guest.sh"

P0=/sys/kernel/config/emp_target/ports/p0	# 512 MiB budget
P1=/sys/kernel/config/emp_target/ports/p1	# 16 MiB budget
emp_rxe_up eth0 rxe0

port() { # port DIR PORT BUDGET_MB
	mkdir "$1" && echo "$EMP_SELF_IP" >"$1/addr" && echo "$2" >"$1/port" &&
		echo "$3" >"$1/budget_mb" && echo 1 >"$1/enable"
}

case $EMP_ROLE in
donor)
	emp_modprobe_target
	port $P0 19675 512 || emp_fail "cannot enable port 19675"
	port $P1 19676 16 || emp_fail "cannot enable port 19676"
	emp_sync_post target-up
	emp_sync_wait discarded 1800
	emp_tap_check "after the discard the donor holds nothing" test "$(cat $P0/bytes_in_use)" = 0
	emp_sync_post discard-checked
	emp_sync_wait overflowed 1800
	emp_tap_check "fastest-first spent the small port's whole budget" test "$(cat $P1/bytes_in_use)" = $((16 << 20))
	emp_sync_post overflow-checked
	emp_sync_wait done 1200
	for p in $P0 $P1; do
		emp_tap_check "sessions on ${p##*/} end with the devices" emp_wait_for "[ \$(cat $p/sessions) = 0 ]" 30 1
		echo 0 >$p/enable
		rmdir $p
	done
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	command -v fio >/dev/null || emp_skip "fio not installed"
	S=/sys/block/empblk0/emp
	B=/sys/block/empblk0/backends
	F=${EMP_TIME_FACTOR:-1}
	MiB=$((1 << 20))
	N0=/dev/nvme0n1
	# distribute's fio and swap sizes: a 64K block is fetched whole for
	# every 4K swap-in, the suite's longest run under TCG
	# (and fastest-first's swap: past the donor's 16 MiB either way)
	if [ "${EMP_TEST_MATRIX:-quick}" = full ]; then
		FIO4K_MB=64 FIO_MB=192 WS_MB=96 ITERS=20000 FF_WS_MB=96 FF_ITERS=20000
	else
		FIO4K_MB=32 FIO_MB=48 WS_MB=32 ITERS=4000 FF_WS_MB=48 FF_ITERS=5000
	fi
	D0="$EMP_PEER_IP:128:19675"
	D1="$EMP_PEER_IP:128:19676"
	emp_nvme_wait 1
	emp_modprobe_empblk
	swapoff -a 2>/dev/null
	emp_sync_wait target-up 300

	create() {
		"$EMPCTL" create empblk0 "$@" >/tmp/create.out 2>&1 ||
			{ sed 's/^/# /' /tmp/create.out; return 1; }
		emp_wait_for "[ -b /dev/empblk0 ]" 10
	}
	destroy() { "$EMPCTL" destroy empblk0; }
	used() { cat $B/$1/used_bytes; }

	# --- distribute: the seed's shape, dram + donor + SSD ---
	emp_tap_check "create dram:16|donor:128|ssd:128, 64K blocks, 16K subblocks" \
		create --mem-path "dram:16|$D0|$N0:128:0" --block-size 64K --subblock-size 16K
	emp_tap_check "capacity is the sum, 256 MiB" test "$(blockdev --getsize64 /dev/empblk0)" = $((256 * MiB))
	emp_tap_check "tiers reads 'zero cache stripe remote ssd'" test "$(cat $S/tiers)" = "zero cache stripe remote ssd"
	emp_tap_check "placement reads distribute" test "$(cat $S/placement)" = distribute
	emp_tap_check "backend 0 is the donor" bash -c "[ \$(cat $B/0/kind) = donor ] && [ \$(cat $B/0/target) = $EMP_PEER_IP:19675 ] && [ \$(cat $B/0/size_bytes) = $((128 * MiB)) ]"
	emp_tap_check "backend 1 is the SSD" bash -c "[ \$(cat $B/1/kind) = ssd ] && [ \$(cat $B/1/target) = $N0 ]"
	"$EMPCTL" show empblk0 | sed 's/^/# /'
	emp_tap_check "empctl show -j lists both backends" bash -c "\"$EMPCTL\" -j show empblk0 | jq -e '.backends | length == 2 and .[0].kind == \"donor\" and .[1].kind == \"ssd\"' >/dev/null"
	emp_tap_check "fio randwrite+verify bs=4k over $((FIO4K_MB / 16))x the cache" emp_fio_verify ${FIO4K_MB}M 4k randwrite
	emp_tap_check "fio randrw+verify bs=128k (requests span both backends)" emp_fio_verify ${FIO_MB}M 128k randrw --verify_backlog=16
	emp_tap_check "both backends hold data (donor $(used 0), SSD $(used 1))" bash -c "[ $(used 0) -gt 0 ] && [ $(used 1) -gt 0 ]"
	emp_tap_check "in proportion to their sizes: within one extent" bash -c "d=\$(( $(used 0) - $(used 1) )); [ \${d#-} -le $((2 * MiB)) ]"
	emp_tap_check "both were written (donor $(cat $B/0/write_bytes), SSD $(cat $B/1/write_bytes) bytes)" bash -c "[ \$(cat $B/0/write_bytes) -gt 0 ] && [ \$(cat $B/1/write_bytes) -gt 0 ]"
	emp_tap_check "reads of 4 KiB fetched whole 64 KiB blocks from both ($(cat $S/cache_fetched) blocks)" test "$(cat $S/cache_fetched)" -gt 0
	emp_tap_check "mkswap, swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	emp_swap_verify $S $((WS_MB / F)) $((ITERS / F))
	emp_tap_check "swapoff" swapoff /dev/empblk0
	emp_tap_check "blkdiscard of the whole device" blkdiscard /dev/empblk0
	emp_tap_check "every backend's space is given back" bash -c "[ $(used 0) = 0 ] && [ $(used 1) = 0 ] && [ \$(cat $S/remote_bytes_in_use) = 0 ]"
	emp_tap_check "no errors" bash -c "[ \$(cat $S/remote_errors) = 0 ] && [ \$(cat $S/ssd_errors) = 0 ] && [ \$(cat $S/cache_writeback_errors) = 0 ] && [ \$(cat $B/0/errors) = 0 ]"
	emp_sync_post discarded
	emp_sync_wait discard-checked 300
	emp_tap_check "destroy" destroy

	# --- sequential: the donor fills first, then the SSD ---
	emp_tap_check "create donor:64|ssd:64 --placement sequential" \
		create --mem-path "$EMP_PEER_IP:64:19675|$N0:64:0" --placement sequential
	emp_tap_check "placement reads sequential" test "$(cat $S/placement)" = sequential
	dd if=/dev/urandom of=/tmp/d96 bs=1M count=96 status=none
	emp_tap_check "32 MiB written" dd if=/tmp/d96 of=/dev/empblk0 bs=1M count=32 oflag=direct status=none
	emp_tap_check "all of it on the donor" bash -c "[ $(used 0) = $((32 * MiB)) ] && [ $(used 1) = 0 ]"
	emp_tap_check "64 MiB more" dd if=/tmp/d96 of=/dev/empblk0 bs=1M skip=32 seek=32 count=64 oflag=direct status=none
	emp_tap_check "the donor is full, the rest on the SSD" bash -c "[ $(used 0) = $((64 * MiB)) ] && [ $(used 1) = $((32 * MiB)) ]"
	emp_tap_check "96 MiB read back" bash -c "dd if=/dev/empblk0 bs=1M count=96 iflag=direct status=none | cmp - /tmp/d96"
	emp_tap_check "destroy" destroy

	# --- fastest-first: the donor while it has room, then the SSD ---
	emp_tap_check "create dram:8|donor(16 MiB budget)|ssd --placement fastest-first" \
		create --mem-path "dram:8|$D1|$N0:128:0" --placement fastest-first
	# 12 MiB through an 8 MiB cache: some written around or back, all of
	# it within the donor's 16 MiB
	emp_tap_check "12 MiB written" dd if=/tmp/d96 of=/dev/empblk0 bs=1M count=12 oflag=direct status=none
	emp_tap_check "what left the cache went to the donor only (donor $(used 0), SSD $(used 1))" bash -c "[ $(used 0) -gt 0 ] && [ $(used 1) = 0 ]"
	emp_tap_check "mkswap, swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
	emp_swap_verify $S $((FF_WS_MB / F)) $((FF_ITERS / F))
	emp_tap_check "swapoff" swapoff /dev/empblk0
	emp_tap_check "the donor's budget is spent: $(used 0) bytes there" test "$(used 0)" = $((16 * MiB))
	emp_tap_check "the rest overflowed to the SSD: $(used 1) bytes" test "$(used 1)" -gt 0
	emp_tap_check "no write failed for space" test "$(cat $S/nospace_errors)" = 0
	emp_sync_post overflowed
	emp_sync_wait overflow-checked 300
	emp_tap_check "destroy" destroy

	# --- the same donor budget without an SSD: ENOSPC ---
	emp_tap_check "create dram:8|donor(16 MiB budget)" create --mem-path "dram:8|$D1"
	out=$(dd if=/tmp/d96 of=/dev/empblk0 bs=1M count=48 oflag=direct,sync status=none 2>&1); rc=$?
	echo "# $out"
	emp_tap_check "a 48 MiB write fails for space (exit $rc)" bash -c "[ $rc != 0 ] && [ \$(cat $S/nospace_errors) -gt 0 ]"
	emp_tap_check "the failure is logged" bash -c "dmesg | grep -q 'empblk0: write at sector [0-9]* fails: no backend has room left'"
	emp_tap_check "destroy" destroy
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
