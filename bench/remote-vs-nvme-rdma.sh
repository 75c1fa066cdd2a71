#!/bin/bash
# Benchmark: 4 KiB random reads from donor DRAM, empblk (one-sided RDMA
# READ, emp_rdma_target) against nvme-rdma (nvmet-rdma exporting a brd
# ramdisk), in the same two guests over the same rxe link, with fio's rdma
# engine (user-space RDMA READ) as the floor. QD1 p50/p99 completion latency
# and QD32 IOPS. Numbers are printed as "# RESULT key=value" lines (bench/run
# collects them). Passes when every measurement ran: no timing asserts.
# Runtime per measurement: emp.bench_runtime=N on the kernel command line
# (bench/run sets it; default 20 s).
# guests: 2
# timeout: 1800
# memory: 1536
. "$EMP_REPO/tests/lib/guest.sh"

# ---------------------------------------------------------------------------
# Parameters

RUNTIME=20
read -r _cmdline </proc/cmdline
for _w in $_cmdline; do
	case $_w in
	emp.bench_runtime=*) RUNTIME=${_w#emp.bench_runtime=} ;;
	esac
done
[[ $RUNTIME =~ ^[0-9]+$ ]] && ((RUNTIME > 0)) || RUNTIME=20

EMP_PORT=19675          # emp_rdma_target port
EMP_BUDGET_MB=512       # donor budget and empblk capacity
RD_SIZE_KB=524288       # brd ramdisk, 512 MiB
NVME_PORT=4420
NQN=nqn.2026-11.io.empblk:bench-ram0
RDMA_FIO_PORT=19800     # fio rdma engine (raw RDMA READ floor)
REGION=256M             # what is written first and then read
RDMA_ATTEMPTS=5
# Long waits: the compute guest works for several minutes between flags.
LONG=$((RUNTIME * 12 + 900))

T=/sys/kernel/config/emp_target/ports/bench
NVMET=/sys/kernel/config/nvmet
FIO_DIR=$EMP_RESULTS/fio
mkdir -p "$FIO_DIR"

declare -A RES=()
result() { RES[$1]=$2; echo "# RESULT $1=$2"; }

command -v fio >/dev/null || emp_skip "fio not installed"
command -v jq >/dev/null || emp_skip "jq not installed"
fio --enghelp 2>/dev/null | grep -qw rdma || emp_skip "this fio has no rdma engine"
for m in brd nvmet nvmet_rdma nvme_rdma rdma_rxe; do
	emp_require_module $m
done

emp_log "runtime per measurement ${RUNTIME}s, region $REGION, role $EMP_ROLE"
emp_rxe_up eth0 rxe0

# ---------------------------------------------------------------------------
# Donor

donor_setup_emp() {
	emp_modprobe_target
	mkdir $T || return 1
	echo "$EMP_SELF_IP" >$T/addr &&
		echo $EMP_PORT >$T/port &&
		echo $EMP_BUDGET_MB >$T/budget_mb &&
		echo 1 >$T/enable
}

donor_setup_nvmet() {
	local s=$NVMET/subsystems/$NQN p=$NVMET/ports/1
	modprobe brd rd_nr=1 rd_size=$RD_SIZE_KB || return 1
	[[ -b /dev/ram0 ]] || emp_wait_for "[ -b /dev/ram0 ]" 10 || return 1
	modprobe -a nvmet nvmet-rdma || return 1
	mkdir "$s" &&
		echo 1 >"$s/attr_allow_any_host" &&
		mkdir "$s/namespaces/1" &&
		echo /dev/ram0 >"$s/namespaces/1/device_path" &&
		echo 1 >"$s/namespaces/1/enable" &&
		mkdir "$p" &&
		echo rdma >"$p/addr_trtype" &&
		echo ipv4 >"$p/addr_adrfam" &&
		echo "$EMP_SELF_IP" >"$p/addr_traddr" &&
		echo $NVME_PORT >"$p/addr_trsvcid" &&
		ln -s "$s" "$p/subsystems/$NQN"
}

donor_teardown_nvmet() {
	local s=$NVMET/subsystems/$NQN p=$NVMET/ports/1
	rm -f "$p/subsystems/$NQN" && rmdir "$p" &&
		echo 0 >"$s/namespaces/1/enable" &&
		rmdir "$s/namespaces/1" && rmdir "$s" &&
		modprobe -r nvmet-rdma nvmet && modprobe -r brd
}

# The fio rdma engine's server (a job with rw=read and no hostname) serves
# one client and exits; the client's connect is refused unless the server
# already listens. One attempt: the client posts rdma-go-N, we start a
# server and post rdma-listen-N once it listens, the client runs and posts
# rdma-result-N (ok or fail; on fail both sides try again).
log_has() { # log_has TEXT FILE: without forking (execs are slow under TCG)
	local l
	while IFS= read -r l; do
		[[ $l == *"$1"* ]] && return 0
	done <"$2"
	return 1
}

donor_serve_rdma() {
	local a pid log go t0
	for ((a = 1; a <= RDMA_ATTEMPTS; a++)); do
		emp_sync_wait "rdma-go-$a" "$LONG"
		go=$(emp_sync_get "rdma-go-$a")
		[[ $go == go ]] || { emp_log "client does not run the rdma measurement: $go"; return 0; }
		log=$FIO_DIR/rdma-srv-$a.log
		# stdout line-buffered: "waiting for connection" shows at once
		timeout $((RUNTIME + 120)) stdbuf -oL fio --name=rdma-srv --ioengine=rdma --port=$RDMA_FIO_PORT \
			--rw=read --bs=4k --size=$REGION --iodepth=32 >"$log" 2>&1 &
		pid=$!
		t0=$EPOCHREALTIME
		if emp_wait_for "log_has 'waiting for connection' $log" 60 0.1; then
			emp_sync_post "rdma-listen-$a" listening
			emp_log "rdma server attempt $a listening after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
		else
			emp_sync_post "rdma-listen-$a" "no-listener"
			emp_log "rdma server attempt $a: not listening after 60 s; the client tries anyway"
		fi
		emp_sync_wait "rdma-result-$a" $((RUNTIME + 300))
		if [[ $(emp_sync_get "rdma-result-$a") == ok ]]; then
			emp_wait_for "! kill -0 $pid 2>/dev/null" 30 0.5 || kill "$pid" 2>/dev/null
			wait "$pid"
			emp_log "rdma server attempt $a: done (exit $?)"
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid"
		emp_log "rdma server attempt $a failed; its output:"
		sed 's/^/#   /' "$log"
	done
	return 1
}

# ---------------------------------------------------------------------------
# Compute

# bench_fio NAME ARGS...: fio with JSON output to $FIO_DIR/NAME.json.
bench_fio() {
	local name=$1 rc=0
	shift
	emp_kmsg "bench: $name start" # bench/run tags kernel messages with the phase
	fio --name="$name" --output-format=json --output="$FIO_DIR/$name.json" "$@" \
		>"$FIO_DIR/$name.log" 2>&1 || rc=$?
	emp_kmsg "bench: $name end"
	if ((rc)) || [[ $(fio_json "$name" '.jobs[0].error') != 0 ]]; then
		echo "# fio $name failed (exit $rc):"
		sed 's/^/#   /' "$FIO_DIR/$name.log" | tail -n 20
		return 1
	fi
	return 0
}

# fio_json NAME FILTER: jq on the JSON (fio may print lines before it).
fio_json() {
	sed -n '/^{/,$p' "$FIO_DIR/$1.json" 2>/dev/null | jq -r "$2" 2>/dev/null
}

us() { awk -v n="$1" 'BEGIN { if (n == "" || n == "null") print "n/a"; else printf "%.1f", n / 1000 }'; }

# qd1_report KEY NAME DDIR: RESULT KEY_qd1_{p50,p99,lat_p50,mean}_us from
# the JSON of fio run NAME (DDIR: where fio put the stats, read or write).
qd1_report() {
	local key=$1 name=$2 dd=$3 p50 p99 lp50 mean n
	p50=$(us "$(fio_json "$name" ".jobs[0].$dd.clat_ns.percentile[\"50.000000\"]")")
	p99=$(us "$(fio_json "$name" ".jobs[0].$dd.clat_ns.percentile[\"99.000000\"]")")
	lp50=$(us "$(fio_json "$name" ".jobs[0].$dd.lat_ns.percentile[\"50.000000\"]")")
	mean=$(us "$(fio_json "$name" ".jobs[0].$dd.clat_ns.mean")")
	n=$(fio_json "$name" ".jobs[0].$dd.total_ios")
	result "${key}_qd1_p50_us" "$p50"
	result "${key}_qd1_p99_us" "$p99"
	result "${key}_qd1_lat_p50_us" "$lp50"
	result "${key}_qd1_mean_us" "$mean"
	result "${key}_qd1_ios" "$n"
	if [[ $p50 == n/a || $p99 == n/a || ${n:-0} == 0 ]]; then
		emp_tap_not_ok "$key: QD1 4k random read: no latency numbers in the fio output"
		return 1
	fi
	emp_tap_ok "$key: QD1 4k read ${RUNTIME}s: clat p50 $p50 us, p99 $p99 us ($n I/Os)"
}

# measure_qd1 KEY NAME ARGS...: a QD1 randread run and its report.
measure_qd1() {
	local key=$1 name=$2
	shift 2
	if ! bench_fio "$name" "$@"; then
		emp_tap_not_ok "$key: QD1 4k random read"
		return 1
	fi
	qd1_report "$key" "$name" read
}

# measure_qd32 KEY NAME ARGS...
measure_qd32() {
	local key=$1 name=$2 iops p50
	shift 2
	if ! bench_fio "$name" "$@"; then
		emp_tap_not_ok "$key: QD32 4k random read"
		return 1
	fi
	iops=$(fio_json "$name" '.jobs[0].read.iops | floor')
	p50=$(us "$(fio_json "$name" '.jobs[0].read.clat_ns.percentile["50.000000"]')")
	result "${key}_qd32_iops" "$iops"
	result "${key}_qd32_p50_us" "$p50"
	if [[ -z $iops || $iops == null || $iops == 0 ]]; then
		emp_tap_not_ok "$key: QD32 4k random read: no IOPS in the fio output"
		return 1
	fi
	emp_tap_ok "$key: QD32 4k random read ${RUNTIME}s: $iops IOPS (clat p50 $p50 us)"
}

# prefill KEY DEV: write the whole region once so that every read is remote.
prefill() {
	local key=$1 dev=$2 mbps
	if ! bench_fio "$key-prefill" --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=write --bs=1M --iodepth=8 --size=$REGION; then
		emp_tap_not_ok "$key: write the $REGION region"
		return 1
	fi
	mbps=$(fio_json "$key-prefill" '.jobs[0].write.bw_bytes / 1048576 | . * 10 | floor / 10')
	result "${key}_prefill_MiBps" "$mbps"
	emp_tap_ok "$key: wrote the $REGION region ($mbps MiB/s)"
}

randread() { # randread DEV QD: the common fio arguments
	echo "--filename=$1 --direct=1 --ioengine=libaio --rw=randread --bs=4k --size=$REGION"
	echo "--iodepth=$2 --numjobs=1 --time_based --runtime=$RUNTIME --lat_percentiles=1"
}

# nvme_connect: connect to the donor's subsystem; sets NVME_CTRL (nvmeN)
# and NVME_DEV (/dev/nvmeXnY).
NVME_CTRL=
NVME_DEV=
nvme_connect() {
	local fd resp c dev
	modprobe nvme-rdma || return 1
	if command -v nvme >/dev/null; then
		nvme connect -t rdma -a "$EMP_PEER_IP" -s $NVME_PORT -n "$NQN" || return 1
	else
		# What nvme-cli does: the options to /dev/nvme-fabrics, read
		# back "instance=N,cntlid=M".
		exec {fd}<>/dev/nvme-fabrics || return 1
		if ! printf '%s' "transport=rdma,traddr=$EMP_PEER_IP,trsvcid=$NVME_PORT,nqn=$NQN" >&"$fd"; then
			exec {fd}>&-
			return 1
		fi
		read -r -u "$fd" resp
		exec {fd}>&-
		emp_log "nvme-fabrics: $resp"
	fi
	for c in /sys/class/nvme/nvme*; do
		[[ $(cat "$c/subsysnqn" 2>/dev/null) == "$NQN" ]] && NVME_CTRL=${c##*/}
	done
	[[ -n $NVME_CTRL ]] || return 1
	# This guest has no other NVMe device. nvmeXcYnZ are hidden paths.
	emp_wait_for "compgen -G '/sys/block/nvme*n1' >/dev/null" 30 || return 1
	for dev in /sys/block/nvme*n*; do
		[[ ${dev##*/} == *c* ]] && continue
		emp_wait_for "[ -b /dev/${dev##*/} ]" 10 || return 1
		NVME_DEV=/dev/${dev##*/}
		return 0
	done
	return 1
}

# One raw RDMA READ measurement with fio's rdma engine (client: a "write"
# job with verb=read; the stats are under .write). See donor_serve_rdma.
measure_rdma() {
	local a st
	for ((a = 1; a <= RDMA_ATTEMPTS; a++)); do
		emp_sync_post "rdma-go-$a" go
		emp_sync_wait "rdma-listen-$a" 120
		st=$(emp_sync_get "rdma-listen-$a")
		[[ $st == listening ]] || emp_log "rdma attempt $a: server says $st; trying anyway"
		# shellcheck disable=SC2046
		if bench_fio rdma-read-qd1 --ioengine=rdma --hostname="$EMP_PEER_IP" --port=$RDMA_FIO_PORT \
			--verb=read --rw=write --bs=4k --size=$REGION --iodepth=1 \
			--time_based --runtime="$RUNTIME" --lat_percentiles=1; then
			emp_sync_post "rdma-result-$a" ok
			result rdma_read_attempts "$a"
			qd1_report rdma_read rdma-read-qd1 write
			return $?
		fi
		emp_sync_post "rdma-result-$a" fail
		sleep 1
	done
	emp_tap_not_ok "rdma_read: QD1 RDMA READ (fio rdma engine), $RDMA_ATTEMPTS attempts"
	return 1
}

# ---------------------------------------------------------------------------

case $EMP_ROLE in
donor)
	donor_setup_emp || emp_fail "emp_rdma_target port setup failed"
	emp_tap_ok "donor: emp_rdma_target port $EMP_SELF_IP:$EMP_PORT, budget $EMP_BUDGET_MB MiB"
	donor_setup_nvmet || emp_fail "nvmet-rdma setup failed: $(dmesg | tail -n 5)"
	emp_tap_ok "donor: nvmet-rdma $NQN on $EMP_SELF_IP:$NVME_PORT, brd /dev/ram0 $((RD_SIZE_KB / 1024)) MiB"
	emp_sync_post target-up

	emp_sync_wait prefilled "$LONG"
	emp_log "donor memory after the writes: emp target $(cat $T/bytes_in_use) bytes in $(cat $T/chunks_in_use) chunks, $(grep -E 'MemFree|Shmem:' /proc/meminfo | tr -s ' ' | paste -sd' ')"
	result donor_emp_bytes_in_use "$(cat $T/bytes_in_use)"

	if donor_serve_rdma; then
		emp_tap_ok "donor: served the fio rdma client"
	else
		emp_tap_not_ok "donor: fio rdma server, $RDMA_ATTEMPTS attempts"
	fi

	emp_sync_wait "done" "$LONG"
	emp_tap_check "donor: nvmet teardown" donor_teardown_nvmet
	emp_tap_check "donor: the empblk session ended" emp_wait_for "[ \$(cat $T/sessions) = 0 ]" 60 0.5
	emp_tap_check "donor: bad_messages 0, alloc_failures 0" \
		bash -c "[ \$(cat $T/bad_messages) = 0 ] && [ \$(cat $T/alloc_failures) = 0 ]"
	echo 0 >$T/enable
	rmdir $T
	emp_tap_check "donor: rmmod emp_rdma_target" rmmod emp_rdma_target
	;;
compute)
	emp_modprobe_empblk
	emp_sync_wait target-up 300

	# empblk0 on the donor, through configfs.
	E=/sys/kernel/config/empblk/empblk0
	EMP_DEV=/dev/empblk0
	if mkdir $E && echo "$EMP_PEER_IP:$EMP_BUDGET_MB:$EMP_PORT" >$E/mem_path && echo 1 >$E/enable &&
		emp_wait_for "[ -b $EMP_DEV ]" 10; then
		emp_tap_ok "empblk0 on $EMP_PEER_IP:$EMP_BUDGET_MB:$EMP_PORT ($(cat /sys/block/empblk0/emp/donors_connected) donor connected)"
	else
		emp_tap_not_ok "create empblk0 on $EMP_PEER_IP:$EMP_BUDGET_MB:$EMP_PORT"
		dmesg | tail -n 10 | sed 's/^/#   /'
		EMP_DEV=
	fi

	if nvme_connect; then
		emp_tap_ok "nvme-rdma: $NQN connected as $NVME_CTRL, namespace $NVME_DEV ($(($(blockdev --getsize64 "$NVME_DEV") >> 20)) MiB)"
	else
		emp_tap_not_ok "nvme-rdma connect to $EMP_PEER_IP:$NVME_PORT $NQN"
		dmesg | tail -n 10 | sed 's/^/#   /'
		NVME_DEV=
	fi

	# The network under everything: ICMP round trips on eth0 (what rxe uses).
	if out=$(busybox ping -c 20 -i 0.2 -q "$EMP_PEER_IP" 2>&1) &&
		rtt=$(sed -n 's|.*min/avg/max = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\).*|\1 \2 \3|p' <<<"$out") && [[ -n $rtt ]]; then
		read -r rmin ravg rmax <<<"$rtt"
		result ping_rtt_min_us "$(awk -v n="$rmin" 'BEGIN { printf "%.0f", n * 1000 }')"
		result ping_rtt_avg_us "$(awk -v n="$ravg" 'BEGIN { printf "%.0f", n * 1000 }')"
		result ping_rtt_max_us "$(awk -v n="$rmax" 'BEGIN { printf "%.0f", n * 1000 }')"
		emp_log "ping $EMP_PEER_IP: rtt min/avg/max $rmin/$ravg/$rmax ms"
	else
		emp_log "ping $EMP_PEER_IP failed: $out"
	fi

	[[ -n $EMP_DEV ]] && prefill empblk $EMP_DEV
	[[ -n $NVME_DEV ]] && prefill nvme "$NVME_DEV"
	emp_sync_post prefilled

	S=/sys/block/empblk0/emp
	if [[ -n $EMP_DEV ]]; then
		unwritten0=$(cat $S/unwritten_reads)
		reads0=$(cat $S/reads)
	fi

	# QD1: empblk, nvme-rdma, raw RDMA READ; then QD32: empblk, nvme-rdma.
	# shellcheck disable=SC2046
	[[ -n $EMP_DEV ]] && measure_qd1 empblk empblk-qd1 $(randread $EMP_DEV 1)
	# shellcheck disable=SC2046
	[[ -n $NVME_DEV ]] && measure_qd1 nvme nvme-qd1 $(randread "$NVME_DEV" 1)
	measure_rdma
	# shellcheck disable=SC2046
	[[ -n $EMP_DEV ]] && measure_qd32 empblk empblk-qd32 $(randread $EMP_DEV 32)
	# shellcheck disable=SC2046
	[[ -n $NVME_DEV ]] && measure_qd32 nvme nvme-qd32 $(randread "$NVME_DEV" 32)

	if [[ -n $EMP_DEV ]]; then
		nreads=$(($(cat $S/reads) - reads0))
		nunwritten=$(($(cat $S/unwritten_reads) - unwritten0))
		result empblk_reads "$nreads"
		result empblk_unwritten_reads "$nunwritten"
		result empblk_remote_errors "$(cat $S/remote_errors)"
		emp_tap_check "empblk: all $nreads reads went to the donor (unwritten_reads +$nunwritten)" test "$nunwritten" = 0
		emp_tap_check "empblk: remote_errors 0" test "$(cat $S/remote_errors)" = 0
	fi

	# Summary table.
	result runtime_s "$RUNTIME"
	result kernel "$EMP_KVER"
	v() { echo "${RES[$1]:-n/a}"; }
	ratio() { awk -v a="$(v "$1")" -v b="$(v "$2")" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
	result ratio_qd1_p50_empblk_over_nvme "$(ratio empblk_qd1_p50_us nvme_qd1_p50_us)"
	result ratio_qd1_p99_empblk_over_nvme "$(ratio empblk_qd1_p99_us nvme_qd1_p99_us)"
	result ratio_qd32_iops_empblk_over_nvme "$(ratio empblk_qd32_iops nvme_qd32_iops)"
	result ratio_qd1_p50_empblk_over_rdma_read "$(ratio empblk_qd1_p50_us rdma_read_qd1_p50_us)"
	result ratio_qd1_p50_nvme_over_rdma_read "$(ratio nvme_qd1_p50_us rdma_read_qd1_p50_us)"
	row() { printf '# %-10s %12s %12s %14s %11s\n' "$@"; }
	echo "#"
	echo "# 4k random read of a $REGION region written beforehand (no cache in front of the donor), ${RUNTIME}s each"
	row device "QD1 p50 us" "QD1 p99 us" "QD1 lat p50" "QD32 IOPS"
	for k in empblk nvme rdma_read; do
		row "$(case $k in nvme) echo nvme-rdma ;; rdma_read) echo rdma-read ;; *) echo $k ;; esac)" \
			"$(v ${k}_qd1_p50_us)" "$(v ${k}_qd1_p99_us)" "$(v ${k}_qd1_lat_p50_us)" \
			"$(if [[ $k == rdma_read ]]; then echo -; else v ${k}_qd32_iops; fi)"
	done
	echo "# empblk/nvme-rdma: QD1 p50 x$(v ratio_qd1_p50_empblk_over_nvme), QD1 p99 x$(v ratio_qd1_p99_empblk_over_nvme) (lower is better); QD32 IOPS x$(v ratio_qd32_iops_empblk_over_nvme) (higher is better)"
	echo "# empblk/rdma-read QD1 p50: x$(v ratio_qd1_p50_empblk_over_rdma_read) (nvme-rdma/rdma-read: x$(v ratio_qd1_p50_nvme_over_rdma_read))"
	echo "#"

	emp_kmsg "bench: teardown start"
	if [[ -n $NVME_CTRL ]]; then
		emp_tap_check "nvme-rdma: disconnect $NVME_CTRL" bash -c "echo 1 >/sys/class/nvme/$NVME_CTRL/delete_controller"
	fi
	if [[ -n $EMP_DEV ]]; then
		emp_tap_check "empblk: disable and remove empblk0" bash -c "echo 0 >$E/enable && rmdir $E"
	fi
	emp_sync_post "done"
	emp_tap_check "rmmod empblk" rmmod empblk
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
