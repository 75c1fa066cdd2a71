# shellcheck shell=bash
# Guest-side library for empblk tests. Source it at the top of a test:
#
#   . "$EMP_REPO/tests/lib/guest.sh"
#
# The harness exports (see tests/README.md):
#   EMP_ROLE       single | donor | compute, and donor2 in three-guest tests
#   EMP_SELF_IP    this guest's address on eth0 (10.77.0.1 donor/single, .2
#                  compute, .3 donor2)
#   EMP_PEER_IP    the other guest's address: the compute guest's for the
#                  donors, the donor's for the compute guest
#   EMP_PEER2_IP   donor2's address (10.77.0.3; the compute guest of a
#                  three-guest test only)
#   EMP_SHARED     directory shared by the guests (/emp-shared), empty if one guest
#   EMP_RESULTS    per-guest results directory on the host (/emp-results)
#   EMP_KVER       kernel release under test
#   EMP_REPO       repository root (host path, visible read-only in the guest)
#   EMPCTL         path of the empctl binary ($EMP_REPO/build/empctl)
#   EMP_NVME       sizes (MiB, comma-separated) of this guest's emulated NVMe
#                  disks ("# nvme:" header; single or compute guest), or empty
#
# Exit status of a test: 0 pass, 4 skip, anything else fail.

EMP_REPO=${EMP_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EMPCTL=${EMPCTL:-$EMP_REPO/build/empctl}
EMP_ROLE=${EMP_ROLE:-single}
EMP_SHARED=${EMP_SHARED:-}
EMP_RESULTS=${EMP_RESULTS:-/emp-results}
EMP_KVER=${EMP_KVER:-$(uname -r)}
EMP_SYNC_TIMEOUT=${EMP_SYNC_TIMEOUT:-180}
export EMP_REPO EMPCTL EMP_ROLE EMP_SHARED EMP_RESULTS EMP_KVER

EMP_SKIP_RC=4

# The host-side check's patterns and its fault-injection exemption.
# shellcheck source=tests/lib/kmsg.sh
. "$EMP_REPO/tests/lib/kmsg.sh"

# ---------------------------------------------------------------------------
# Messages and results

emp_log() {
	local up _
	read -r up _ </proc/uptime
	echo "# [$up] $*"
}

emp_kmsg() { echo "emp-test: $*" >/dev/kmsg 2>/dev/null || true; }

# On the first failure of a test that brought up an RDMA link: the state
# of its queue pairs and of the link, which is gone once the guest exits
# (a stalled QP over rxe or siw is otherwise invisible afterwards).
_emp_diag_done=0
_emp_rdma_diag() {
	[[ -n ${_emp_rdma_link:-} ]] && ((!_emp_diag_done)) || return 0
	_emp_diag_done=1
	{
		echo "--- rdma res show qp"
		rdma res show qp 2>&1 | head -n 40
		echo "--- rdma statistic (non-zero)"
		rdma statistic show link "$_emp_rdma_link/1" 2>/dev/null | tr ' ' '\n' | paste - - | grep -v '	0$' | head -n 40
		echo "--- tcp (siw)"
		[[ $_emp_rdma_link == siw* ]] && ss -tinm 2>&1 | head -n 40
		echo "--- link"
		ip -s link show 2>&1 | grep -A5 'eth0:'
		nstat -az 2>/dev/null | grep -E 'Drop|Prune|RcvbufErrors|InErrors|Retrans|TCPTimeouts' | grep -v ' 0 '
		# frames held back in this guest (qdisc backlog, bytes the NIC
		# has not completed) and memory left for receive buffers
		tc -s qdisc show dev eth0 2>&1 | grep -E 'qdisc|Sent|backlog' | head -n 6
		grep -H . /sys/class/net/eth0/queues/tx-*/byte_queue_limits/inflight 2>/dev/null
		grep -E '^(MemFree|MemAvailable):' /proc/meminfo
		# is the peer reachable at all? (a closed port answers at once)
		if [[ -n ${EMP_PEER_IP:-} ]]; then
			timeout 5 bash -c "echo >/dev/tcp/$EMP_PEER_IP/9" 2>/dev/null
			case $? in
			124) echo "peer $EMP_PEER_IP: no answer in 5 s (the link is down, or the peer has stopped)" ;;
			*) echo "peer $EMP_PEER_IP: answers" ;;
			esac
		fi
		echo "--- inflight"
		grep -H . /sys/block/empblk*/inflight 2>/dev/null
	} | sed 's/^/# diag: /'
}

# emp_fail MSG: fail the test now (and tell a two-guest peer).
emp_fail() {
	_emp_rdma_diag
	echo "FAIL: $*"
	emp_kmsg "FAIL: $*"
	[[ -n $EMP_SHARED && -d $EMP_SHARED ]] && echo "$*" >"$EMP_SHARED/.fail.$EMP_ROLE" 2>/dev/null
	exit 1
}

# emp_skip MSG: skip the test (exit status 4).
emp_skip() {
	echo "SKIP: $*"
	[[ -d $EMP_RESULTS ]] && echo "$*" >"$EMP_RESULTS/skip_reason" 2>/dev/null
	[[ -n $EMP_SHARED && -d $EMP_SHARED ]] && echo "$*" >"$EMP_SHARED/.skip.$EMP_ROLE" 2>/dev/null
	exit "$EMP_SKIP_RC"
}

# ---------------------------------------------------------------------------
# TAP sub-results. The host echoes these lines into its own TAP stream as
# "#   ok 1 - ..." diagnostics.
#
#   emp_tap_plan 3                    # optional, "1..3"
#   emp_tap_check "configfs" mountpoint -q /sys/kernel/config
#   emp_tap_ok "thing worked"; emp_tap_not_ok "other thing"
#   emp_tap_skip "needs X" "no X here"
#   emp_tap_done                      # exit 0, or 1 if anything failed

_emp_tap_n=0
_emp_tap_failed=0
_emp_tap_planned=0

emp_tap_plan() {
	_emp_tap_planned=$1
	echo "1..$1"
}

emp_tap_ok() {
	_emp_tap_n=$((_emp_tap_n + 1))
	echo "ok $_emp_tap_n - $*"
}

emp_tap_not_ok() {
	_emp_tap_n=$((_emp_tap_n + 1))
	_emp_tap_failed=$((_emp_tap_failed + 1))
	echo "not ok $_emp_tap_n - $*"
	emp_kmsg "not ok $_emp_tap_n - $*"
	_emp_rdma_diag
}

emp_tap_skip() {
	_emp_tap_n=$((_emp_tap_n + 1))
	echo "ok $_emp_tap_n - $1 # SKIP ${2:-}"
}

# emp_tap_check DESC CMD [ARGS...]: run CMD, ok if it succeeds. The command's
# output is shown (indented) only if it fails.
emp_tap_check() {
	local desc=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		emp_tap_ok "$desc"
	else
		emp_tap_not_ok "$desc (exit $rc: $*)"
		[[ -n $out ]] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/#     /'
	fi
	return "$rc"
}

# emp_kill_me: this guest's machine dies here, for the tests of a lost
# donor. Its part ends as emp_tap_done would end it (the plan, and its
# status and kernel log written as the init writes them), then the host
# kills its QEMU outright (SIGKILL: no shutdown, not a packet more).
emp_kill_me() {
	local rc=0
	((_emp_tap_planned)) || echo "1..$_emp_tap_n"
	((_emp_tap_failed == 0)) || rc=1
	dmesg >"$EMP_RESULTS/dmesg.txt" 2>&1
	echo "$rc" >"$EMP_RESULTS/status.tmp" && mv "$EMP_RESULTS/status.tmp" "$EMP_RESULTS/status"
	sync
	sleep 1	# output.txt's tee writes the plan
	echo "$EMP_ROLE" >"$EMP_SHARED/.kill.$EMP_ROLE"
	sleep 60
	emp_fail "emp_kill_me: the host did not kill this guest"
}

# emp_tap_done: print the plan if none was printed, exit 1 if any failed.
emp_tap_done() {
	((_emp_tap_planned)) || echo "1..$_emp_tap_n"
	if ((_emp_tap_planned && _emp_tap_planned != _emp_tap_n)); then
		echo "# planned $_emp_tap_planned sub-tests, ran $_emp_tap_n"
		exit 1
	fi
	((_emp_tap_failed == 0)) || emp_fail "$_emp_tap_failed of $_emp_tap_n sub-tests failed"
	exit 0
}

# ---------------------------------------------------------------------------
# Waiting
#
# The waits fork nothing of their own: on the debug kernel under TCG a
# fork and exec costs from tens of milliseconds of guest CPU to seconds
# when guests share the host's CPUs, and a loop running date(1) and
# sleep(1) five times a second took a third of both guests' CPU away from
# the I/O under test.

# emp_sleep SECONDS: sleep without a fork: a read with a timeout on the
# FIFO nobody writes to that guest-init.sh's bsleep() also uses.
_emp_sleep_fd=
emp_sleep() {
	if [[ -z $_emp_sleep_fd ]]; then
		[[ -p /run/emp-sleep.fifo ]] || mkfifo /run/emp-sleep.fifo 2>/dev/null
		exec {_emp_sleep_fd}<>/run/emp-sleep.fifo || { _emp_sleep_fd=; sleep "$1"; return 0; }
	fi
	read -rt "$1" -u "$_emp_sleep_fd" _ || :
}

# emp_wait_for COND [TIMEOUT_S=30] [INTERVAL_S=0.2]: evaluate COND (a shell
# command string) until it succeeds; return 1 on timeout. Timeouts here and
# in emp_sync_wait are written for Debian's kernels and multiplied by
# EMP_TIME_FACTOR, which the harness sets for the slower debug kernel.
emp_wait_for() {
	local cond=$1 tmo=${2:-30} iv=${3:-0.2} end
	end=$((EPOCHSECONDS + tmo * ${EMP_TIME_FACTOR:-1}))
	while :; do
		eval "$cond" && return 0
		((EPOCHSECONDS >= end)) && return 1
		emp_sleep "$iv"
	done
}

# ---------------------------------------------------------------------------
# Modules

# emp_have_module NAME: the module is in the guest's module tree (or built in).
emp_have_module() {
	modinfo "$1" >/dev/null 2>&1 || grep -qE "/$1\.ko" "/lib/modules/$EMP_KVER/modules.builtin" 2>/dev/null
}

# emp_require_module NAME: skip the test if NAME is not available.
emp_require_module() {
	emp_have_module "$1" || emp_skip "module $1 not available for $EMP_KVER"
}

# emp_modprobe_empblk [PARAM=VALUE...]: load empblk (fails the test if the
# module was not built for this kernel).
emp_modprobe_empblk() {
	emp_have_module empblk ||
		emp_fail "empblk.ko not built for $EMP_KVER (expected $EMP_REPO/build/$EMP_KVER/drivers/empblk/empblk.ko; run make KDIR=/usr/src/linux-headers-$EMP_KVER)"
	local args=("$@") n=0
	# The debug kernel is slower: give requests as much more time, and
	# the transport's ACKs too (the RDMA CM's 17 on RoCE, times the
	# factor rounded up to a power of two).
	if ((${EMP_TIME_FACTOR:-1} > 1)); then
		[[ " $* " == *" io_timeout="* ]] || args+=("io_timeout=$((30 * EMP_TIME_FACTOR))")
		while (((1 << n) < EMP_TIME_FACTOR)); do n=$((n + 1)); done
		((17 + n <= 31)) || n=14
		[[ " $* " == *" ack_timeout="* ]] || args+=("ack_timeout=$((17 + n))")
	fi
	modprobe empblk "${args[@]}" || emp_fail "modprobe empblk ${args[*]} failed"
}

# emp_modprobe_target [PARAM=VALUE...]: load emp_rdma_target.
emp_modprobe_target() {
	emp_have_module emp_rdma_target ||
		emp_fail "emp_rdma_target.ko not built for $EMP_KVER (expected $EMP_REPO/build/$EMP_KVER/drivers/emp-rdma-target/emp_rdma_target.ko)"
	modprobe emp_rdma_target "$@" || emp_fail "modprobe emp_rdma_target $* failed"
}

# emp_target_up PORT_DIR BUDGET_MB: the donor side of a two-guest test:
# load emp_rdma_target, create the configfs port PORT_DIR listening on this
# guest's address with BUDGET_MB, enable it and post "target-up".
emp_target_up() {
	emp_modprobe_target
	mkdir "$1" || emp_fail "cannot create port $1"
	echo "$EMP_SELF_IP" >"$1/addr"
	echo "$2" >"$1/budget_mb"
	echo 1 >"$1/enable" || emp_fail "cannot enable the port"
	# the second donor of a three-guest test says so apart
	if [[ $EMP_ROLE == donor2 ]]; then
		emp_sync_post target-up-donor2
	else
		emp_sync_post target-up
	fi
}

# emp_target_restart PORT_DIR BUDGET_MB: a new incarnation of the donor's
# target under its clients: the port removed, emp_rdma_target unloaded (a
# TAP check) and loaded again, and the port enabled again on the same
# address and the default port, empty, with a budget of BUDGET_MB.
emp_target_restart() {
	echo 0 >"$1/enable" && rmdir "$1" || emp_fail "cannot remove the port"
	emp_tap_check "rmmod emp_rdma_target" rmmod emp_rdma_target
	emp_modprobe_target
	mkdir "$1" && echo "$EMP_SELF_IP" >"$1/addr" && echo "$2" >"$1/budget_mb" &&
		echo 1 >"$1/enable" || emp_fail "cannot enable the port again"
	emp_log "the target is back, empty"
}

# emp_donor_ssd_device [EMPCTL_ARGS...]: the compute side of a test that
# loses a donor (093, 094): empblk0 over donor:64|/dev/nvme0n1:64 (64 MiB,
# 64 KiB blocks and subblocks), 64 MiB of random data written and kept in
# /tmp/pat, half on the donor and half on the SSD. Sets S and B (the
# device's emp/ and backends/ directories), SCAN (lostscan) and held (the
# donor's bytes). Fails the test when the device cannot be had.
emp_donor_ssd_device() {
	S=/sys/block/empblk0/emp
	B=/sys/block/empblk0/backends
	SCAN=$EMP_REPO/build/tests/lostscan
	emp_tap_check "create donor:64|ssd:64, 64 MiB, 64K blocks and subblocks" \
		"$EMPCTL" create empblk0 --mem-path "$EMP_PEER_IP:64:19675|/dev/nvme0n1:64:0" \
		--size 64 --block-size 64K --subblock-size 64K "$@" ||
		emp_fail "no device to test"
	head -c $((64 << 20)) /dev/urandom >/tmp/pat
	emp_tap_check "64 MiB written" dd if=/tmp/pat of=/dev/empblk0 bs=1M oflag=direct status=none
	held=$(cat $B/0/used_bytes)
	emp_tap_check "half on the donor ($held bytes), half on the SSD" \
		bash -c "[ $held = $((32 << 20)) ] && [ \$(cat $B/1/used_bytes) = $((32 << 20)) ]"
}

# emp_require_empctl: fail if the empctl binary was not built.
emp_require_empctl() {
	[[ -x $EMPCTL ]] || emp_fail "empctl not built ($EMPCTL missing; run make)"
}

# ---------------------------------------------------------------------------
# Emulated NVMe disks. A "# nvme: SIZE[,SIZE...]" header (MiB) gives the
# single or compute guest one QEMU NVMe controller per size, serial
# empnvmeI for the I-th size; EMP_NVME holds the sizes.

# emp_nvme_wait [N=all of EMP_NVME]: load nvme and wait until /dev/nvme0n1
# .. /dev/nvme<N-1>n1 exist, nvmeI being the controller with serial
# empnvmeI and as large as the header says; fails the test otherwise. The
# nvme driver probes its controllers asynchronously, so the instance
# numbers could come out in another order: then they are unbound and bound
# again one at a time, in serial order.
emp_nvme_wait() {
	local -a sizes
	local n=${1:-} i
	IFS=, read -ra sizes <<<"${EMP_NVME:-}"
	[[ -n $n ]] || n=${#sizes[@]}
	((${#sizes[@]})) ||
		emp_fail "emp_nvme_wait: this guest ($EMP_ROLE) has no NVMe disks (a '# nvme: SIZE[,SIZE...]' header gives the single or compute guest some)"
	[[ $n =~ ^[1-9][0-9]*$ ]] || emp_fail "emp_nvme_wait $n: want a number of disks (1 or more)"
	((n <= ${#sizes[@]})) || emp_fail "emp_nvme_wait $n: this guest has ${#sizes[@]} NVMe disks ('# nvme: $EMP_NVME')"
	[[ -d /sys/module/nvme ]] || modprobe nvme || emp_fail "modprobe nvme failed"
	if ! emp_wait_for "_emp_nvme_present $n" 60 0.1; then
		emp_fail "NVMe disks did not appear within 60 s: want $n, have: $(_emp_nvme_list)"
	fi
	if ! _emp_nvme_ordered "$n"; then
		emp_log "nvme instances out of serial order ($(_emp_nvme_list)); binding them again in order"
		_emp_nvme_rebind "$n"
	fi
	local sz want
	for ((i = 0; i < n; i++)); do
		read -r sz <"/sys/block/nvme${i}n1/size"
		want=$((10#${sizes[i]} * 2048))
		((sz == want)) || emp_fail "/dev/nvme${i}n1 has $sz sectors, want $want ('# nvme: ${EMP_NVME}')"
	done
	emp_log "NVMe disks ready: $(_emp_nvme_list)"
}

# the controllers there are, as "nvme0=empnvme0 nvme1=empnvme1"
_emp_nvme_list() {
	local c s out=
	for c in /sys/class/nvme/nvme*; do
		[[ -e $c/serial ]] || continue
		read -r s <"$c/serial" || s='?'
		out+="${out:+ }${c##*/}=$s"
	done
	echo "${out:-none}"
}

# the first N controllers (with serial empnvme*) and their disks are there
_emp_nvme_present() {
	local n=$1 c s k=0
	for c in /sys/class/nvme/nvme*; do
		[[ -e $c/serial ]] || continue
		read -r s <"$c/serial" || continue
		[[ $s == empnvme* && -b /dev/${c##*/}n1 ]] && k=$((k + 1))
	done
	((k >= n))
}

# nvmeI has serial empnvmeI for I < N
_emp_nvme_ordered() {
	local n=$1 i s
	for ((i = 0; i < n; i++)); do
		read -r s <"/sys/class/nvme/nvme$i/serial" 2>/dev/null || return 1
		[[ $s == "empnvme$i" ]] || return 1
	done
}

# unbind every empnvme* controller, then bind them back in serial order,
# waiting for each (a bind probes synchronously: the lowest free instance)
_emp_nvme_rebind() {
	local n=$1 c s i bdf drv=/sys/bus/pci/drivers/nvme
	local -A bdf_of=()
	for c in /sys/class/nvme/nvme*; do
		read -r s <"$c/serial" 2>/dev/null || continue
		[[ $s == empnvme* ]] || continue
		bdf=$(realpath "$c/device") || emp_fail "no PCI device for ${c##*/}"
		bdf_of[$s]=${bdf##*/}
	done
	for bdf in "${bdf_of[@]}"; do
		echo "$bdf" >"$drv/unbind" || emp_fail "cannot unbind $bdf from nvme"
	done
	emp_wait_for "! compgen -G '/sys/class/nvme/nvme*' >/dev/null" 30 0.1 ||
		emp_fail "nvme controllers still there after unbinding: $(_emp_nvme_list)"
	for ((i = 0; i < n; i++)); do
		bdf=${bdf_of[empnvme$i]:-}
		[[ -n $bdf ]] || emp_fail "no controller with serial empnvme$i"
		echo "$bdf" >"$drv/bind" || emp_fail "cannot bind $bdf to nvme"
		emp_wait_for "[[ -b /dev/nvme${i}n1 ]]" 60 0.1 ||
			emp_fail "/dev/nvme${i}n1 did not appear after binding $bdf: $(_emp_nvme_list)"
	done
	_emp_nvme_ordered "$n" || emp_fail "nvme instances still out of order after binding them again: $(_emp_nvme_list)"
	# the ones past N go back too, in any order
	for s in "${!bdf_of[@]}"; do
		[[ -e $drv/${bdf_of[$s]} ]] || echo "${bdf_of[$s]}" >"$drv/bind"
	done
}

# ---------------------------------------------------------------------------
# Device-mapper (error injection under a block device). These run in
# command substitutions: on failure they print why on stderr and return 1
# (the caller fails or skips), e.g.
#
#   dm=$(emp_dm_error_span bad /dev/nvme0n1 - 2048 8) || emp_fail "no dm"

# _emp_dm_init [TARGET]: dm-mod (linear and error are part of it; "modprobe
# dm-mod" on Debian's 6.1 and 6.12) and dmsetup; TARGET's module if it
# has one (flakey: dm-flakey)
_emp_dm_init() {
	[[ -e /dev/mapper/control ]] || modprobe dm-mod || { echo "modprobe dm-mod failed" >&2; return 1; }
	[[ -e /dev/mapper/control ]] || { echo "no /dev/mapper/control after modprobe dm-mod" >&2; return 1; }
	command -v dmsetup >/dev/null ||
		{ echo "dmsetup is not installed on the host (tests/install-deps installs it)" >&2; return 1; }
	[[ -z ${1:-} ]] || dmsetup targets | grep -q "^$1 " || modprobe "dm-$1" ||
		{ echo "device-mapper target $1 not available (modprobe dm-$1 failed)" >&2; return 1; }
}

# _emp_dm_sectors DEV TOTAL: TOTAL, or DEV's size in sectors if TOTAL is -
_emp_dm_sectors() {
	local dev=$1 total=$2
	[[ -b $dev ]] || { echo "$dev is not a block device" >&2; return 1; }
	[[ $total == - ]] && { total=$(blockdev --getsz "$dev") || return 1; }
	if [[ ! $total =~ ^[0-9]+$ ]] || ((total == 0)); then
		echo "bad sector count '$total'" >&2
		return 1
	fi
	echo "$total"
}

# _emp_dm_create NAME TABLE: create /dev/mapper/NAME and print its path
_emp_dm_create() {
	local name=$1 table=$2
	# no udev in the guest: libdevmapper makes the /dev/mapper node itself
	dmsetup create "$name" <<<"$table" >&2 || { echo "dmsetup create $name failed; table: $table" >&2; return 1; }
	[[ -b /dev/mapper/$name ]] || dmsetup mknodes "$name" >&2
	[[ -b /dev/mapper/$name ]] || { echo "/dev/mapper/$name missing after dmsetup create" >&2; return 1; }
	echo "/dev/mapper/$name"
}

# emp_dm_error_span NAME DEV TOTAL_SECTORS ERR_START ERR_LEN: create
# /dev/mapper/NAME, TOTAL_SECTORS long (- = all of DEV), mapping DEV
# linearly except sectors [ERR_START, ERR_START+ERR_LEN), which fail every
# I/O (the error target); print its path
emp_dm_error_span() {
	local name=$1 dev=$2 total=$3 start=$4 len=$5 end table=
	_emp_dm_init || return 1
	total=$(_emp_dm_sectors "$dev" "$total") || return 1
	if [[ ! $start =~ ^[0-9]+$ || ! $len =~ ^[0-9]+$ ]] || ((len == 0 || start + len > total)); then
		echo "emp_dm_error_span: bad span $start+$len of $total sectors" >&2
		return 1
	fi
	end=$((start + len))
	((start == 0)) || table+="0 $start linear $dev 0"$'\n'
	table+="$start $len error"$'\n'
	((end == total)) || table+="$end $((total - end)) linear $dev $end"$'\n'
	_emp_dm_create "$name" "$table"
}

# emp_dm_flakey NAME DEV TOTAL_SECTORS UP_S DOWN_S [FEATURE...]: create
# /dev/mapper/NAME over DEV (TOTAL_SECTORS, - = all) with the flakey target:
# UP_S seconds of normal I/O, then DOWN_S seconds in which I/O fails (or
# what the FEATUREs say: drop_writes, error_writes, corrupt_bio_byte ...);
# UP_S 0 = always down. Print its path. Returns 1 if dm-flakey is missing.
emp_dm_flakey() {
	local name=$1 dev=$2 total=$3 up=$4 down=$5
	shift 5
	_emp_dm_init flakey || return 1
	total=$(_emp_dm_sectors "$dev" "$total") || return 1
	_emp_dm_create "$name" "0 $total flakey $dev 0 $up $down${*:+ $# $*}"
}

# emp_dm_remove NAME: remove /dev/mapper/NAME (retrying while it is busy)
emp_dm_remove() {
	dmsetup remove --retry "$1" || return 1
	[[ ! -e /dev/mapper/$1 ]] || rm -f "/dev/mapper/$1"
}

# emp_fio_verify SIZE BS RW [FIO OPTION...]: fio over SIZE of /dev/empblk0
# (or $EMP_FIO_DEV) in BS blocks with the RW pattern, every block verified
# with crc32c (at the end, or as it goes with --verify_backlog); fio's
# output on failure.
emp_fio_verify() {
	local size=$1 bs=$2 rw=$3 dev=${EMP_FIO_DEV:-/dev/empblk0}
	shift 3
	# never let fio create a plain file where the device should be
	[ -b "$dev" ] || { echo "# $dev is not a block device"; return 1; }
	fio --name="v-$bs-$rw" --filename="$dev" \
		--direct=1 --ioengine=libaio --iodepth=16 --size="$size" \
		--bs="$bs" --rw="$rw" --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=0 --output-format=terse "$@" \
		>/tmp/fio.out 2>&1 || { sed 's/^/# /' /tmp/fio.out; return 1; }
}

# emp_swap_verify STATS_DIR WS_MB ITERS [SEED [UNTIL]]: the swap workload.
# memverify fills a WS_MB working set with a pattern, revisits random pages
# ITERS times (with UNTIL, and then until the file UNTIL exists) and
# checks every word, in a fresh cgroup whose memory.max is half
# the working set, so that its cold pages go to whatever swap is on. TAP
# checks: 0 mismatched words, no OOM kill, and pages swapped out and in
# by the device whose emp/ directory is STATS_DIR (its writes and reads).
# emp_swap_until STATS_DIR COND FILE: in the background, once the shell
# condition COND holds and the device whose emp/ directory is STATS_DIR
# has read 2000 requests more, create FILE: emp_swap_verify's UNTIL, for a
# workload that must span an event and go on after it. After 900 s FILE
# is created all the same (the test's own checks of the event fail then).
# Sets emp_until_pid.
emp_swap_until() {
	local s=$1 cond=$2 file=$3
	rm -f "$file"
	(
		start=$EPOCHSECONDS
		until eval "$cond" || ((EPOCHSECONDS - start >= 900)); do sleep 1; done
		r=$(cat "$s/reads")
		while (($(cat "$s/reads") - r < 2000)) && ((EPOCHSECONDS - start < 900)); do sleep 1; done
		touch "$file"
	) &
	emp_until_pid=$!
}

emp_swap_verify() {
	local s=$1 ws=$2 iters=$3 seed=${4:-4242} until=${5:-} rc w r
	local cg=/sys/fs/cgroup/emp-swap-verify
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $cg
	echo $((ws / 2))M >$cg/memory.max
	echo max >$cg/memory.swap.max 2>/dev/null
	w=$(cat "$s/writes")
	r=$(cat "$s/reads")
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $EMP_REPO/build/tests/memverify $ws $iters $seed $until" >/tmp/mv.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/mv.out
	w=$(($(cat "$s/writes") - w))
	r=$(($(cat "$s/reads") - r))
	emp_tap_check "memverify at half its $ws MiB working set: 0 mismatched words (exit $rc)" test "$rc" = 0
	emp_tap_check "no OOM kill" sh -c "[ \$(awk '/^oom_kill /{print \$2}' $cg/memory.events) = 0 ]"
	emp_tap_check "pages were swapped out ($w writes)" test "$w" -gt 100
	emp_tap_check "pages were swapped in ($r reads)" test "$r" -gt 100
	rmdir $cg
}

# emp_post_when_used FILE MIB NAME: in the background, post NAME once the
# number in FILE (a backend's used_bytes) reaches MIB MiB, or after 600 s
# (the peer then finds what it waits for missing); sets emp_poster_pid.
emp_post_when_used() {
	(
		local start=$EPOCHSECONDS
		while (($(cat "$1") < ($2 << 20))) && ((EPOCHSECONDS - start < 600)); do sleep 1; done
		emp_sync_post "$3"
	) &
	emp_poster_pid=$!
}

# emp_health_uevents_start: record the block subsystem's uevents in
# /tmp/uevents, for emp_health_uevents_seen.
emp_health_uevents_start() {
	udevadm monitor --kernel --property --subsystem-match=block >/tmp/uevents 2>&1 &
	emp_uevents_pid=$!
}

# emp_health_uevents_seen H1 [H2...]: a TAP check that change uevents said
# EMPBLK_HEALTH=H1, then H2..., in that order (waits up to 10 s); ends the
# recording.
emp_health_uevents_seen() {
	local want="EMPBLK_HEALTH=$1" desc="change uevents said $1" h
	shift
	for h; do
		want+=" .*EMPBLK_HEALTH=$h"
		desc+=", then $h"
	done
	emp_tap_check "$desc" \
		emp_wait_for "grep '^EMPBLK_HEALTH=' /tmp/uevents | tr '\\n' ' ' | grep -q '$want'" 10 1
	kill "$emp_uevents_pid" 2>/dev/null
}

# emp_tap_nothing_lost S: a TAP check that the device of sysfs directory S
# (/sys/block/empblkN/emp) lost nothing and failed no I/O: lost_bytes,
# lost_reads and nospace_errors 0, no "I/O error, dev empblk" logged.
emp_tap_nothing_lost() {
	emp_tap_check "nothing lost, no I/O error" \
		bash -c "[ \$(cat $1/lost_bytes) = 0 ] && [ \$(cat $1/lost_reads) = 0 ] && [ \$(cat $1/nospace_errors) = 0 ] &&
			! dmesg | grep -q 'I/O error, dev empblk'"
}

# ---------------------------------------------------------------------------
# RDMA


# emp_rxe_up [NETDEV=eth0] [NAME=rxe0]: create a soft-RoCE device on NETDEV
# and wait until its port is ACTIVE. Also loads the user-space access modules
# (ib_uverbs, rdma_ucm) so that librdmacm programs (rping) work.
emp_rxe_up() {
	local dev=${1:-eth0} name=${2:-rxe0} type=${EMP_TEST_RDMA:-rxe}
	# EMP_TEST_RDMA=siw (the debug lane's iWARP pass): soft-iWARP instead
	case $type in
	rxe) modprobe rdma_rxe || emp_fail "modprobe rdma_rxe failed" ;;
	siw)
		modprobe siw 2>/dev/null || [[ -d /sys/module/siw ]] ||
			emp_skip "soft-iWARP (siw) is not built for this kernel"
		name=siw${name#rxe}
		;;
	*) emp_fail "EMP_TEST_RDMA=$type: want rxe or siw" ;;
	esac
	_emp_rdma_link=$name
	modprobe -q ib_uverbs 2>/dev/null
	modprobe -q rdma_ucm 2>/dev/null
	ip link set "$dev" up
	if ! rdma link show "$name/1" >/dev/null 2>&1; then
		rdma link add "$name" type "$type" netdev "$dev" || emp_fail "rdma link add $name type $type netdev $dev failed"
	fi
	emp_wait_for "rdma link show $name/1 2>/dev/null | grep -q 'state ACTIVE'" 30 ||
		emp_fail "$name did not become ACTIVE: $(rdma link show 2>&1)"
	emp_wait_for "[ -e /dev/infiniband/rdma_cm ]" 10 || emp_fail "/dev/infiniband/rdma_cm missing"
	emp_log "rdma link $name ($type) on $dev is ACTIVE"
}

# emp_rxe_down [NAME=rxe0]: the link emp_rxe_up made
emp_rxe_down() {
	rdma link delete "${_emp_rdma_link:-${1:-rxe0}}" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Two-guest synchronisation through the shared 9p directory.
#
#   donor:   ...start server...; emp_sync_post server-up
#   compute: emp_sync_wait server-up; ...connect...
#
# A wait aborts early (failing the test) if the peer failed or skipped.

_emp_sync_check() {
	[[ -n $EMP_SHARED && -d $EMP_SHARED ]] || emp_fail "emp_sync_* needs a two-guest test (# guests: 2)"
}

# emp_sync_post NAME [CONTENT]
emp_sync_post() {
	_emp_sync_check
	printf '%s\n' "${2:-$EMP_ROLE}" >"$EMP_SHARED/.tmp.$1.$EMP_ROLE" &&
		mv "$EMP_SHARED/.tmp.$1.$EMP_ROLE" "$EMP_SHARED/$1"
}

# emp_sync_wait NAME [TIMEOUT_S=$EMP_SYNC_TIMEOUT]
emp_sync_wait() {
	local name=$1 tmo=${2:-$EMP_SYNC_TIMEOUT} end f
	_emp_sync_check
	tmo=$((tmo * ${EMP_TIME_FACTOR:-1}))
	end=$((EPOCHSECONDS + tmo))
	while [[ ! -e $EMP_SHARED/$name ]]; do
		for f in "$EMP_SHARED"/.fail.* "$EMP_SHARED"/.skip.*; do
			[[ -e $f && $f != *".$EMP_ROLE" ]] || continue
			emp_fail "peer ${f##*.} gave up while we waited for '$name': $(cat "$f" 2>/dev/null)"
		done
		((EPOCHSECONDS >= end)) && emp_fail "timed out after ${tmo}s waiting for '$name' from the peer"
		emp_sleep 0.2
	done
}

# emp_sync_get NAME: print what the peer posted.
emp_sync_get() { cat "$EMP_SHARED/$1"; }

# ---------------------------------------------------------------------------
# Kernel log

# emp_dmesg_check: print offending kernel-log lines, return 1 if any. The
# host-side check after the test is authoritative; this is for early exits.
emp_dmesg_check() {
	local bad
	bad=$(dmesg 2>/dev/null | emp_kmsg_offenders)
	[[ -z $bad ]] && return 0
	printf '%s\n' "$bad" | sed 's/^/# dmesg: /'
	return 1
}
