#!/bin/bash
# Benchmark: one swap workload (build/tests/memverify in a cgroup whose
# memory.max is half its working set) with four swap devices, in the same
# two guests: (a) the emulated NVMe disk itself, (b) empblk with a 16 MiB
# DRAM cache in front of that disk, (c) empblk with the same cache in front
# of a donor's DRAM over soft-RoCE, (d) the cache in front of a donor and
# the disk, placed by the default policy (distribute). Wall time, pages swapped out and in, and
# the device's counters of each run are "# RESULT key=value" lines
# (bench/run collects them). Passes when every step ran and memverify found
# 0 mismatched words: no timing asserts.
# Sizes on the kernel command line (bench/run sets them): emp.bench_swap_ws
# (MiB, default 192), emp.bench_swap_revisits (default 20000),
# emp.bench_swap_rounds (1 or 2, default 2: the second round runs the rows
# in the reverse order), emp.bench_swap_seed (default 4242). Under TCG a
# round of the defaults takes about 4-5 minutes.
# guests: 2
# timeout: 3000
# memory: 1024
# nvme: 1024
# shellcheck source=tests/lib/guest.sh
. "$EMP_REPO/tests/lib/guest.sh"

# ---------------------------------------------------------------------------
# Parameters

F=${EMP_TIME_FACTOR:-1}
WS_MB=$((192 / F))
REVISITS=$((20000 / F))
ROUNDS=2
SEED=4242
read -r _cmdline </proc/cmdline
for _w in $_cmdline; do
	case $_w in
	emp.bench_swap_ws=*) WS_MB=${_w#*=} ;;
	emp.bench_swap_revisits=*) REVISITS=${_w#*=} ;;
	emp.bench_swap_rounds=*) ROUNDS=${_w#*=} ;;
	emp.bench_swap_seed=*) SEED=${_w#*=} ;;
	esac
done
if ! [[ $WS_MB =~ ^[0-9]+$ ]] || ((WS_MB < 16)); then
	emp_fail "emp.bench_swap_ws=$WS_MB: want MiB, 16 or more"
fi
[[ $REVISITS =~ ^[0-9]+$ ]] || emp_fail "emp.bench_swap_revisits=$REVISITS: want a number"
[[ $ROUNDS =~ ^[12]$ ]] || emp_fail "emp.bench_swap_rounds=$ROUNDS: want 1 or 2"
[[ $SEED =~ ^[0-9]+$ ]] || emp_fail "emp.bench_swap_seed=$SEED: want a number"

EMP_PORT=19675 # emp_rdma_target port
SWAP_MB=512    # the swap area of every row; the donor budget and the SSD entry
CACHE_MB=16    # the DRAM cache of the empblk rows
NVME=/dev/nvme0n1
LONG=$((3600 * F))

T=/sys/kernel/config/emp_target/ports/bench

declare -A RES=()
result() { RES[$1]=$2; echo "# RESULT $1=$2"; }

emp_log "working set $WS_MB MiB, memory.max $((WS_MB / 2)) MiB, $REVISITS revisits, seed $SEED, $ROUNDS round(s), role $EMP_ROLE"
emp_rxe_up eth0 rxe0

# ---------------------------------------------------------------------------
# Donor: serves the (c) rows, then checks that it holds nothing

donor_setup() {
	# shellcheck disable=SC2119 # no module parameters
	emp_modprobe_target
	mkdir $T || return 1
	echo "$EMP_SELF_IP" >$T/addr &&
		echo $EMP_PORT >$T/port &&
		echo $SWAP_MB >$T/budget_mb &&
		echo 1 >$T/enable
}

# ---------------------------------------------------------------------------
# Compute

MEMVERIFY=$EMP_REPO/build/tests/memverify
CG=/sys/fs/cgroup/emp-bench-swap
S=/sys/block/empblk0/emp
E=/sys/kernel/config/empblk/empblk0
ROWS=(nvme dram_ssd dram_donor dram_donor_ssd)
# the device's counters reported per run (deltas over the workload)
DEV_COUNTERS=(writes reads write_bytes read_bytes cache_read_hits cache_read_misses
	cache_write_hits cache_evictions cache_writebacks cache_writeback_ios cache_writeback_errors
	zero_page_writes zero_page_reads ssd_errors remote_errors nospace_errors alloc_failures)

declare -A C=()

mem_path() { # mem_path ROW
	case $1 in
	nvme) echo "$NVME" ;;
	dram_ssd) echo "dram:$CACHE_MB|$NVME:$SWAP_MB:0" ;;
	dram_donor) echo "dram:$CACHE_MB|$EMP_PEER_IP:$SWAP_MB:$EMP_PORT" ;;
	dram_donor_ssd) echo "dram:$CACHE_MB|$EMP_PEER_IP:$SWAP_MB:$EMP_PORT|$NVME:$SWAP_MB:0" ;;
	esac
}

# snap TAG: /proc/vmstat swap counts, the NVMe disk's I/O counts and, if
# empblk0 exists, its counters, into C[TAG.name]. Builtins only.
snap() {
	local tag=$1 k v n rest
	local -a f
	while read -r k v; do
		case $k in pswpin | pswpout) C[$tag.$k]=$v ;; esac
	done </proc/vmstat
	# /sys/block/X/stat: reads, merged, sectors, ms, writes, merged, sectors, ...
	read -ra f <"/sys/block/${NVME#/dev/}/stat"
	C[$tag.nvme_reads]=${f[0]}
	C[$tag.nvme_read_sectors]=${f[2]}
	C[$tag.nvme_writes]=${f[4]}
	C[$tag.nvme_write_sectors]=${f[6]}
	for n in "${DEV_COUNTERS[@]}" remote_bytes_in_use dram_used_bytes; do
		if [[ -r $S/$n ]] && read -r v rest <"$S/$n"; then
			C[$tag.$n]=$v
		else
			unset "C[$tag.$n]"
		fi
	done
}
delta() { # delta NAME: after - before, or n/a
	local a=${C[after.$1]:-} b=${C[before.$1]:-}
	if [[ -n $a && -n $b ]]; then echo $((a - b)); else echo n/a; fi
}

no_swap() { # nothing in /proc/swaps but its header
	local n=0
	while read -r _; do n=$((n + 1)); done </proc/swaps
	((n <= 1))
}

create_empblk() { # create_empblk MEM_PATH: empctl create; its output in /tmp/create.out
	"$EMPCTL" create empblk0 --mem-path "$1" >/tmp/create.out 2>&1 &&
		emp_wait_for "[ -b /dev/empblk0 ]" 10
}

destroy_empblk() {
	"$EMPCTL" destroy empblk0
}

# run_row ROW ROUND: set up ROW's swap device, run the workload, tear down.
run_row() {
	local row=$1 r=$2 key="$1_r$2" mp dev rc t0 t1 ms n v oom swaps rot
	mp=$(mem_path "$row")
	emp_log "round $r: row $row: $mp"
	swapoff -a 2>/dev/null
	if ! no_swap; then
		emp_tap_not_ok "$key: swapoff -a left swap on: $(tail -n +2 /proc/swaps | tr '\n' ' ')"
		return 1
	fi

	# the device
	case $row in
	nvme) dev=$NVME ;;
	*)
		if ! create_empblk "$mp"; then
			emp_tap_not_ok "$key: empctl create empblk0 --mem-path $mp"
			sed 's/^/#   /' /tmp/create.out
			return 1
		fi
		dev=/dev/empblk0
		;;
	esac
	# The same swap area on every device: SWAP_MB (mkswap's size is in KiB).
	if ! mkswap -q "$dev" $((SWAP_MB * 1024)) >/tmp/mkswap.out 2>&1 || ! swapon "$dev"; then
		emp_tap_not_ok "$key: mkswap and swapon $dev"
		sed 's/^/#   /' /tmp/mkswap.out
		[[ $dev == /dev/empblk0 ]] && destroy_empblk
		return 1
	fi
	read -r swaps < <(awk -v d="$dev" '$1 == d { print $3 }' /proc/swaps)
	read -r rot <"/sys/block/${dev#/dev/}/queue/rotational"
	result "${key}_swap_kib" "${swaps:-n/a}"
	emp_log "$key: swapon $dev: ${swaps:-?} KiB, rotational $rot"

	# the workload
	mkdir -p $CG
	echo $((WS_MB / 2))M >$CG/memory.max
	echo max >$CG/memory.swap.max 2>/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
	snap before
	emp_kmsg "bench: $key start" # bench/run tags kernel messages with the run
	t0=$(date +%s%N)
	sh -c "echo \$\$ >$CG/cgroup.procs && exec $MEMVERIFY $WS_MB $REVISITS $SEED" >"/tmp/mv.$key" 2>&1
	rc=$?
	t1=$(date +%s%N)
	emp_kmsg "bench: $key end"
	snap after
	ms=$(((t1 - t0) / 1000000))
	sed 's/^/# /' "/tmp/mv.$key"
	cp "/tmp/mv.$key" "$EMP_RESULTS/memverify-$key.txt" 2>/dev/null
	oom=$(awk '/^oom_kill /{ print $2 }' $CG/memory.events)

	result "${key}_ms" "$ms"
	result "${key}_pswpout" "$(delta pswpout)"
	result "${key}_pswpin" "$(delta pswpin)"
	for n in nvme_reads nvme_read_sectors nvme_writes nvme_write_sectors; do
		result "${key}_$n" "$(delta $n)"
	done
	if [[ $dev == /dev/empblk0 ]]; then
		for n in "${DEV_COUNTERS[@]}"; do
			v=$(delta "$n")
			[[ $v == n/a ]] || result "${key}_$n" "$v"
		done
		for n in remote_bytes_in_use dram_used_bytes; do
			[[ -n ${C[after.$n]:-} ]] && result "${key}_$n" "${C[after.$n]}"
		done
	fi
	if [[ -r $CG/memory.swap.peak ]]; then
		read -r v <$CG/memory.swap.peak
		result "${key}_swap_peak_kib" $((v / 1024))
	fi

	emp_tap_check "$key: memverify $WS_MB MiB at memory.max $((WS_MB / 2))M: 0 mismatched words (exit $rc, $ms ms)" \
		test "$rc" = 0
	emp_tap_check "$key: no OOM kill" test "${oom:-x}" = 0
	emp_tap_check "$key: pages went out to swap and came back (pswpout +$(delta pswpout), pswpin +$(delta pswpin))" \
		test "$(delta pswpout)" -gt 100 -a "$(delta pswpin)" -gt 100
	if [[ $dev == /dev/empblk0 ]]; then
		emp_tap_check "$key: empblk0 served them (writes +$(delta writes), reads +$(delta reads))" \
			test "$(delta writes)" -gt 100 -a "$(delta reads)" -gt 100
		emp_tap_check "$key: no device errors (ssd_errors +$(delta ssd_errors), remote_errors +$(delta remote_errors), cache_writeback_errors +$(delta cache_writeback_errors), nospace_errors +$(delta nospace_errors))" \
			test "$(delta ssd_errors)$(delta remote_errors)$(delta cache_writeback_errors)$(delta nospace_errors)" = 0000
	else
		emp_tap_check "$key: the NVMe disk served them (writes +$(delta nvme_writes), reads +$(delta nvme_reads))" \
			test "$(delta nvme_writes)" -gt 100 -a "$(delta nvme_reads)" -gt 100
	fi

	# teardown: the cgroup, swap, the device
	emp_wait_for "rmdir $CG 2>/dev/null" 10 || emp_tap_not_ok "$key: rmdir $CG"
	emp_tap_check "$key: swapoff $dev" swapoff "$dev"
	if [[ $dev == /dev/empblk0 ]]; then
		emp_tap_check "$key: empctl destroy empblk0" destroy_empblk
	fi
	return 0
}

# ---------------------------------------------------------------------------

case $EMP_ROLE in
donor)
	donor_setup || emp_fail "emp_rdma_target port setup failed: $(dmesg | tail -n 5)"
	emp_tap_ok "donor: emp_rdma_target port $EMP_SELF_IP:$EMP_PORT, budget $SWAP_MB MiB"
	emp_sync_post target-up
	emp_sync_wait "finished" "$LONG"
	emp_tap_check "donor: every empblk session ended" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 60 0.5
	emp_tap_check "donor: holds nothing once the devices are destroyed" \
		emp_wait_for "[ \$(cat $T/bytes_in_use) = 0 ]" 60 0.5
	emp_tap_check "donor: bad_messages 0, alloc_failures 0" \
		bash -c "[ \$(cat $T/bad_messages) = 0 ] && [ \$(cat $T/alloc_failures) = 0 ]"
	result donor_bytes_in_use_end "$(cat $T/bytes_in_use)"
	result donor_sessions_total "$(cat $T/sessions_total 2>/dev/null || echo n/a)"
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "donor: rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_require_empctl
	[[ -x $MEMVERIFY ]] || emp_fail "$MEMVERIFY not built (make test-progs)"
	emp_nvme_wait 1
	# shellcheck disable=SC2119 # the module's defaults
	emp_modprobe_empblk
	swapoff -a 2>/dev/null
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control

	# Write the swap region of the disk once: its image on the host is a
	# sparse file, and whichever row wrote a block first would pay the
	# host file system's allocation.
	t0=$(date +%s%N)
	if dd if=/dev/zero of=$NVME bs=1M count=$SWAP_MB oflag=direct status=none; then
		emp_tap_ok "wrote the $SWAP_MB MiB swap region of $NVME once ($((($(date +%s%N) - t0) / 1000000)) ms)"
	else
		emp_tap_not_ok "write the $SWAP_MB MiB swap region of $NVME"
	fi
	emp_sync_wait target-up 300

	for ((r = 1; r <= ROUNDS; r++)); do
		order=("${ROWS[@]}")
		((r % 2)) || order=(dram_donor_ssd dram_donor dram_ssd nvme)
		for row in "${order[@]}"; do
			run_row "$row" "$r"
			swapoff -a 2>/dev/null
			[[ -e $E ]] && destroy_empblk >/dev/null 2>&1
		done
	done

	# Summary: times per row and round, their mean, and the ratios to (a).
	result kernel "$EMP_KVER"
	result ws_mib "$WS_MB"
	result memory_max_mib $((WS_MB / 2))
	result revisits "$REVISITS"
	result seed "$SEED"
	result rounds "$ROUNDS"
	result swap_mib "$SWAP_MB"
	result cache_mib "$CACHE_MB"
	result donor "$EMP_PEER_IP:$EMP_PORT"
	v() { echo "${RES[$1]:-n/a}"; }
	dv() { if [[ $1 == nvme ]]; then echo -; else v "$2"; fi; } # an empblk counter
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
	for row in "${ROWS[@]}"; do
		sum=0 n=0
		for ((r = 1; r <= ROUNDS; r++)); do
			ms=$(v "${row}_r${r}_ms")
			[[ $ms =~ ^[0-9]+$ ]] && sum=$((sum + ms)) n=$((n + 1))
		done
		((n == ROUNDS)) && result "${row}_ms" $((sum / n))
	done
	for row in dram_ssd dram_donor dram_donor_ssd; do
		for ((r = 1; r <= ROUNDS; r++)); do
			[[ -n ${RES[${row}_r${r}_ms]:-} ]] &&
				result "ratio_${row}_over_nvme_r$r" "$(ratio "$(v "${row}_r${r}_ms")" "$(v "nvme_r${r}_ms")")"
		done
		[[ -n ${RES[${row}_ms]:-} ]] && result "ratio_${row}_over_nvme" "$(ratio "$(v "${row}_ms")" "$(v nvme_ms)")"
	done

	label() {
		case $1 in
		nvme) echo "(a) nvme" ;;
		dram_ssd) echo "(b) dram+ssd" ;;
		dram_donor) echo "(c) dram+donor" ;;
		dram_donor_ssd) echo "(d) dram+donor+ssd" ;;
		esac
	}
	echo "#"
	echo "# swap workload: memverify $WS_MB MiB, $REVISITS revisits, seed $SEED, cgroup memory.max $((WS_MB / 2)) MiB; swap area $SWAP_MB MiB"
	printf '# %-19s %9s %9s %9s %8s  %s\n' row "r1 ms" "r2 ms" "mean ms" "/ (a)" mem_path
	for row in "${ROWS[@]}"; do
		rat=$(v "ratio_${row}_over_nvme")
		[[ $row == nvme ]] && rat=1.00
		r2=-
		((ROUNDS > 1)) && r2=$(v "${row}_r2_ms")
		printf '# %-19s %9s %9s %9s %8s  %s\n' "$(label "$row")" "$(v "${row}_r1_ms")" \
			"$r2" "$(v "${row}_ms")" "x$rat" "$(mem_path "$row")"
	done
	echo "# (time: wall clock of the memverify run; / (a): lower is faster than the NVMe disk as swap)"
	printf '# %-19s %5s %8s %8s %8s %8s %9s %13s %9s %8s %12s\n' row round pswpout pswpin \
		"writes" "reads" "c.hits" "c.wrback/io" "zero_wr" "ssd/rem.e" "nvme0 w/r"
	for ((r = 1; r <= ROUNDS; r++)); do
		for row in "${ROWS[@]}"; do
			k=${row}_r$r
			[[ -n ${RES[${k}_ms]:-} ]] || continue
			errs=-
			[[ $row != nvme ]] && errs="$(v "${k}_ssd_errors")/$(v "${k}_remote_errors")"
			printf '# %-19s %5s %8s %8s %8s %8s %9s %13s %9s %8s %12s\n' "$(label "$row")" "$r" \
				"$(v "${k}_pswpout")" "$(v "${k}_pswpin")" \
				"$(dv "$row" "${k}_writes")" "$(dv "$row" "${k}_reads")" \
				"$(dv "$row" "${k}_cache_read_hits")" "$(dv "$row" "${k}_cache_writebacks")/$(dv "$row" "${k}_cache_writeback_ios")" \
				"$(dv "$row" "${k}_zero_page_writes")" \
				"$errs" "$(v "${k}_nvme_writes")/$(v "${k}_nvme_reads")"
		done
	done
	echo "#"

	emp_sync_post "finished"
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
