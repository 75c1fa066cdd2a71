#!/bin/bash
# Block and subblock sizes over every mix of backends: for each cell, fio
# crc32c verify (4 KiB random writes, 64 KiB random reads and writes) and
# the swap workload at half its working set, 0 mismatches, no error of
# any tier. Cells: block {4K, 64K, 2M} x subblock {4K, 16K, 128K} (pairs
# with subblock <= block) x {dram+ssd, dram+donor+ssd, dram+2 donors+ssd,
# ssd alone}. The suite runs two cells (the extreme sizes);
# EMP_TEST_MATRIX=full (make check-full) runs all 24.
# guests: 2
# timeout: 5400
# memory: 1024
# nvme: 256
. "$EMP_REPO/tests/lib/guest.sh"

P0=/sys/kernel/config/emp_target/ports/p0
P1=/sys/kernel/config/emp_target/ports/p1
emp_rxe_up eth0 rxe0

case $EMP_ROLE in
donor)
	emp_modprobe_target
	for p in "$P0:19675" "$P1:19676"; do
		d=${p%:*}
		mkdir "$d" && echo "$EMP_SELF_IP" >"$d/addr" && echo "${p##*:}" >"$d/port" &&
			echo 256 >"$d/budget_mb" && echo 1 >"$d/enable" ||
			emp_fail "cannot enable port ${p##*:}"
	done
	emp_sync_post target-up
	emp_sync_wait done 5000
	for d in $P0 $P1; do
		emp_tap_check "sessions on ${d##*/} end with the devices" emp_wait_for "[ \$(cat $d/sessions) = 0 ]" 30 1
		emp_tap_check "${d##*/} holds nothing" test "$(cat $d/bytes_in_use)" = 0
		echo 0 >"$d/enable"
		rmdir "$d"
	done
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	command -v fio >/dev/null || emp_skip "fio not installed"
	S=/sys/block/empblk0/emp
	F=${EMP_TIME_FACTOR:-1}
	N0=/dev/nvme0n1
	D0="$EMP_PEER_IP:64:19675"
	D1="$EMP_PEER_IP:64:19676"
	emp_nvme_wait 1
	emp_modprobe_empblk
	swapoff -a 2>/dev/null
	emp_sync_wait target-up 300

	mix_path() {
		case $1 in
		dram_ssd) echo "dram:8|$N0:96:0" ;;
		dram_donor_ssd) echo "dram:8|$D0|$N0:64:0" ;;
		dram_2donors_ssd) echo "dram:8|$D0|$D1|$N0:64:0" ;;
		ssd) echo "$N0:96:0" ;;
		esac
	}
	no_errors() {
		local f
		for f in remote_errors ssd_errors cache_writeback_errors nospace_errors alloc_failures; do
			[ ! -e $S/$f ] || [ "$(cat $S/$f)" = 0 ] || { echo "# $f: $(cat $S/$f)"; return 1; }
		done
	}
	cell() { # cell MIX BLOCK SUBBLOCK
		local mix=$1 bs=$2 sbs=$3 name="$1 block $2 subblock $3"
		if ! "$EMPCTL" create empblk0 --mem-path "$(mix_path "$mix")" \
			--block-size "$bs" --subblock-size "$sbs" >/tmp/create.out 2>&1 ||
			! emp_wait_for "[ -b /dev/empblk0 ]" 10; then
			sed 's/^/# /' /tmp/create.out
			emp_tap_not_ok "$name: create"
			return
		fi
		emp_tap_check "$name: fio randwrite+verify bs=4k" emp_fio_verify $((32 / F))M 4k randwrite
		emp_tap_check "$name: fio randrw+verify bs=64k" emp_fio_verify $((64 / F))M 64k randrw --verify_backlog=16
		emp_tap_check "$name: mkswap, swapon" bash -c "mkswap /dev/empblk0 >/dev/null && swapon /dev/empblk0"
		emp_swap_verify $S $((48 / F)) $((4000 / F))
		emp_tap_check "$name: swapoff" swapoff /dev/empblk0
		emp_tap_check "$name: no tier counted an error" no_errors
		emp_tap_check "$name: destroy" "$EMPCTL" destroy empblk0
	}

	pairs="4K:4K 64K:4K 64K:16K 2M:4K 2M:16K 2M:128K"
	mixes="dram_ssd dram_donor_ssd dram_2donors_ssd ssd"
	if [ "${EMP_TEST_MATRIX:-quick}" = full ]; then
		for mix in $mixes; do
			for p in $pairs; do
				cell "$mix" "${p%:*}" "${p#*:}"
			done
		done
	else
		# the extremes, on the mixes the other tests do not run
		# (036 runs dram+ssd and ssd alone, 037 dram+donor+ssd, at
		# 64K/16K and 4K/4K)
		cell dram_2donors_ssd 4K 4K
		cell dram_ssd 2M 128K
	fi
	emp_sync_post done
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
