#!/bin/bash
# The remote tier: empblk on a compute guest, emp_rdma_target on a donor
# guest, over rxe. fio crc32c verification with one donor and with two
# (two ports of the donor guest, so two sessions, two protection domains),
# bs 4K to 1M; striping spreads the in-use memory evenly; a discard gives
# it all back; a donor that is not there is a clear error. Over rxe reads
# use the local DMA key; over siw (EMP_TEST_RDMA=siw, the debug lane) they
# register their sinks and invalidate them with READ_WITH_INV.
# guests: 2
# timeout: 1200
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

T=/sys/kernel/config/emp_target/ports
emp_rxe_up eth0 rxe0

in_use() { cat $T/$1/bytes_in_use; }

case $EMP_ROLE in
donor)
	emp_modprobe_target
	for p in 0 1; do
		mkdir $T/p$p
		echo "$EMP_SELF_IP" >$T/p$p/addr
		echo $((19675 + p)) >$T/p$p/port
		echo 256 >$T/p$p/budget_mb
		echo 1 >$T/p$p/enable || emp_fail "cannot enable port p$p"
	done
	emp_sync_post target-up

	emp_sync_wait striped 900
	a=$(in_use p0)
	b=$(in_use p1)
	emp_log "in use after random writes: p0 $a, p1 $b"
	emp_tap_check "both donors hold memory ($a, $b bytes)" bash -c "[ $a -gt 0 ] && [ $b -gt 0 ]"
	emp_tap_check "striping spreads: within 10% of each other" bash -c "d=\$(( $a > $b ? $a - $b : $b - $a )); [ \$((d * 10)) -le $(( a > b ? a : b )) ]"
	# per client: one session directory per port, naming the client
	for p in p0 p1; do
		sd=$(ls -d /sys/kernel/emp_target/sessions/$p.* 2>/dev/null)
		emp_tap_check "per-client state for $p: $(echo $sd | wc -w) session, peer $(cat $sd/peer 2>/dev/null), $(cat $sd/bytes_in_use 2>/dev/null) bytes, $(cat $sd/queues 2>/dev/null) queues" \
			bash -c "[ \$(echo $sd | wc -w) = 1 ] && [ \$(cat $sd/peer) = $EMP_PEER_IP ] && [ \$(cat $sd/port) = $p ] && [ \$(cat $sd/bytes_in_use) = \$(cat $T/$p/bytes_in_use) ] && [ \$(cat $sd/chunks_in_use) = \$(cat $T/$p/chunks_in_use) ] && [ \$(cat $sd/queues) -ge 2 ] && [ -n \"\$(cat $sd/rdma_device)\" ]"
	done
	emp_sync_post checked

	emp_sync_wait discarded 900
	emp_tap_check "discard gave every chunk back (p0 $(in_use p0), p1 $(in_use p1))" bash -c "[ \$(cat $T/p0/bytes_in_use) = 0 ] && [ \$(cat $T/p1/bytes_in_use) = 0 ]"
	emp_sync_wait done 900
	emp_tap_check "sessions end when the device is destroyed" bash -c "[ \$(cat $T/p0/sessions) = 0 ] && [ \$(cat $T/p1/sessions) = 0 ]"
	emp_tap_check "and their sysfs directories go" emp_wait_for "[ -z \"\$(ls /sys/kernel/emp_target/sessions)\" ]" 30 1
	for p in 0 1; do rmdir $T/p$p; done
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	command -v fio >/dev/null || emp_skip "fio not installed"
	emp_modprobe_empblk
	emp_sync_wait target-up 300
	D1="$EMP_PEER_IP:128:19675"
	D2="$EMP_PEER_IP:128:19676"
	S=/sys/block/empblk0/emp
	iwarp=0
	[[ ${EMP_TEST_RDMA:-rxe} == siw ]] && iwarp=1

	out=$("$EMPCTL" create empblk1 --mem-path "$EMP_PEER_IP:64:19999" 2>&1); rc=$?
	echo "$out" | sed 's/^/# /'
	emp_tap_check "a donor nobody listens on is refused (exit $rc)" bash -c "[ $rc = 1 ] && grep -q 'connection rejected\|cannot connect' <<<'$out' && [ ! -e /sys/block/empblk1 ]"

	# On the debug kernel under TCG a donor's queue moves 65 KB/s over
	# siw with 1 MiB writes (every frame arrives; the donor acknowledges
	# up to 2 s late and TCP backs off): 32 MiB in flight would wait past
	# io_timeout in the send queue and the donor be declared lost. There
	# the depth is cut to keep at most 2 MiB in flight, as 030 cuts its
	# working set; the data checked is the same.
	fio_verify() {
		local bs=$1 size=$2 depth=16 b
		b=$(numfmt --from=iec "${bs^^}")
		if ((${EMP_TIME_FACTOR:-1} > 1)); then
			depth=$(((1 << 20) / b))
			((depth < 1)) && depth=1
			((depth > 16)) && depth=16
		fi
		fio --name="v-$bs" --filename=/dev/empblk0 --direct=1 --ioengine=libaio \
			--iodepth="$depth" --numjobs=2 --size="$size" --offset_increment=64M \
			--bs="$bs" --rw=randwrite --verify=crc32c --verify_fatal=1 \
			--do_verify=1 --randrepeat=0 --group_reporting \
			--output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; return 1; }
	}

	"$EMPCTL" create empblk0 --mem-path "$D1" >/dev/null || emp_fail "create with one donor failed"
	emp_tap_check "one donor: capacity 128 MiB, donor connected" bash -c "[ \$(blockdev --getsize64 /dev/empblk0) = $((128 << 20)) ] && [ \$(cat $S/donors_connected) = 1 ]"
	if ((iwarp)); then
		emp_tap_check "one donor over iWARP: reads register their sinks" test "$(cat $S/read_sinks)" = registered
	else
		emp_tap_check "one donor over RoCE: reads use the local DMA key" test "$(cat $S/read_sinks)" = local
	fi
	# the suite's sizes; EMP_TEST_MATRIX=full (make check-full) adds more
	runs1="4k:4M 1m:16M" runs2="4k:4M 256k:24M"
	if [ "${EMP_TEST_MATRIX:-quick}" = full ]; then
		runs1="4k:4M 64k:16M 1m:16M" runs2="4k:4M 16k:8M 256k:24M 1m:24M"
	fi
	for run in $runs1; do
		emp_tap_check "one donor: fio randwrite+verify crc32c bs=${run%:*}" fio_verify ${run%:*} ${run#*:}
	done
	emp_tap_check "one donor: unwritten space reads zeroes" bash -c "dd if=/dev/empblk0 bs=1M skip=120 count=4 iflag=direct status=none | cmp -n $((4 << 20)) /dev/zero -"
	# over iWARP one registration per read but the 32 of unwritten space
	regs=$(cat $S/read_sink_registrations)
	reads=$(cat $S/reads)
	if ((iwarp)); then
		emp_tap_check "one donor: each remote read registered its sink ($regs of $reads reads)" \
			bash -c "[ $regs -gt 1000 ] && [ $regs -ge $((reads - 32)) ] && [ $regs -le $reads ]"
	else
		emp_tap_check "one donor: no sink registered ($regs)" test "$regs" = 0
	fi
	emp_tap_check "one donor: no remote errors" test "$(cat $S/remote_errors)" = 0
	"$EMPCTL" destroy empblk0 >/dev/null || emp_fail "destroy failed"

	"$EMPCTL" create empblk0 --mem-path "$D1|$D2" --subblock-size 4K >/dev/null || emp_fail "create with two donors failed"
	emp_tap_check "two donors: capacity 256 MiB, both connected" bash -c "[ \$(blockdev --getsize64 /dev/empblk0) = $((256 << 20)) ] && [ \$(cat $S/donors_connected) = 2 ]"
	if ((iwarp)); then
		emp_tap_check "two donors over iWARP: sinks registered" test "$(cat $S/read_sinks)" = registered
	else
		emp_tap_check "two donors over RoCE: sinks use the local DMA key" bash -c "[ \$(cat $S/read_sinks) = local ] && [ \$(cat $S/read_sink_registrations) = 0 ]"
	fi
	for run in $runs2; do
		emp_tap_check "two donors: fio randwrite+verify crc32c bs=${run%:*}" fio_verify ${run%:*} ${run#*:}
	done
	fio --name=spread --filename=/dev/empblk0 --direct=1 --ioengine=libaio --iodepth=16 \
		--bs=4k --rw=randwrite --size=256M --io_size=8M --randrepeat=0 \
		--output-format=terse >/dev/null 2>&1 || emp_fail "random write run failed"
	emp_sync_post striped
	emp_sync_wait checked 300
	emp_tap_check "remote_bytes_in_use counts the chunks" test "$(cat /sys/block/empblk0/emp/remote_bytes_in_use)" -gt 0
	# discards racing writes into the same chunks: a discard must not let
	# the donor free memory a transfer is still using (for as many
	# seconds more on the debug kernel: a discard there takes about 4 s)
	fio --name=race --filename=/dev/empblk0 --direct=1 --ioengine=libaio --iodepth=8 \
		--bs=4k --rw=randwrite --offset=32M --size=4M --time_based \
		--runtime=$((20 * ${EMP_TIME_FACTOR:-1})) \
		--randrepeat=0 >/dev/null 2>&1 &
	fio_pid=$!
	n=0
	while kill -0 $fio_pid 2>/dev/null; do
		blkdiscard -o $((32 << 20)) -l $((4 << 20)) /dev/empblk0 && n=$((n + 1))
	done
	wait $fio_pid
	emp_tap_check "$n discards raced writes to their chunks: no remote error, both donors connected" \
		bash -c "[ \$(cat /sys/block/empblk0/emp/remote_errors) = 0 ] && [ \$(cat /sys/block/empblk0/emp/donors_connected) = 2 ] && [ $n -gt 5 ]"
	emp_tap_check "blkdiscard of the whole device" blkdiscard /dev/empblk0
	emp_tap_check "remote_bytes_in_use back to 0" test "$(cat /sys/block/empblk0/emp/remote_bytes_in_use)" = 0
	z0=$(cat $S/zero_page_writes)
	zr0=$(cat $S/zero_page_reads)
	emp_tap_check "8 MiB of zeroes written" dd if=/dev/zero of=/dev/empblk0 bs=1M count=8 seek=64 oflag=direct status=none
	emp_tap_check "... are 2048 zero pages ($(($(cat $S/zero_page_writes) - z0)))" test $(($(cat $S/zero_page_writes) - z0)) = 2048
	emp_tap_check "... that took no donor memory" test "$(cat $S/remote_bytes_in_use)" = 0
	emp_tap_check "... and read back as zeroes" bash -c "dd if=/dev/empblk0 bs=1M skip=64 count=8 iflag=direct status=none | cmp -n $((8 << 20)) /dev/zero -"
	emp_tap_check "... from the bitmap ($(($(cat $S/zero_page_reads) - zr0)) pages)" test $(($(cat $S/zero_page_reads) - zr0)) = 2048
	emp_tap_check "blkdiscard forgets them" bash -c "blkdiscard /dev/empblk0 && [ \$(cat $S/zero_pages) = 0 ]"
	emp_sync_post discarded
	emp_tap_check "no remote errors" test "$(cat /sys/block/empblk0/emp/remote_errors)" = 0
	emp_tap_check "empctl destroy" "$EMPCTL" destroy empblk0
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
