#!/bin/bash
# empblk harness stage 2: PID 1 inside the guest, after the initramfs switched
# root into the host's root filesystem (9p, read-only) under a tmpfs overlay.
#
# Mounts the usual pseudo filesystems, binds the prepared module tree, sets up
# the network, runs the test named in /emp-results/emp.env, then writes
# output.txt, dmesg.txt and status into /emp-results and powers off.
# The host treats a missing status file as a crash or hang.
#
# Under TCG every exec of a dynamically linked program costs 0.1-0.5 s, so
# this script sticks to bash builtins and the static busybox where it can.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
umask 022
BB=/bin/busybox
[[ -x $BB ]] || BB=

read -r _cmdline </proc/cmdline
if [[ " $_cmdline " == *" emp.trace "* ]]; then
	exec 2>/dev/console
	PS4='+ [${SECONDS}] '
	set -x
fi

log() { echo "emp-guest: $*" >/dev/console; }

uptime_s() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

# sleep without fork: read with a timeout on a FIFO nobody writes to
_sleep_fd=
bsleep() {
	if [[ -z $_sleep_fd ]]; then
		$BB mkfifo /run/emp-sleep.fifo 2>/dev/null
		exec {_sleep_fd}<>/run/emp-sleep.fifo
	fi
	read -rt "$1" -u "$_sleep_fd" _ || :
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	bsleep 15
	echo b >/proc/sysrq-trigger
	bsleep 1000
}

fatal() {
	log "FATAL: $*"
	echo "emp-init: FATAL: $*" >/dev/kmsg 2>/dev/null
	[[ -d /emp-results ]] && dmesg >/emp-results/dmesg.txt 2>/dev/null
	power_off
}

is_mounted() {
	local _a _b _c _d mp _rest
	while read -r _a _b _c _d mp _rest; do
		[[ $mp == "$1" ]] && return 0
	done </proc/self/mountinfo
	return 1
}

m() { # m TYPE SRC DST [OPTS]: mount unless already mounted
	local type=$1 src=$2 dst=$3 opts=${4:-}
	[[ -d $dst ]] || $BB mkdir -p "$dst"
	is_mounted "$dst" && return 0
	$BB mount -t "$type" ${opts:+-o "$opts"} "$src" "$dst"
}

m tmpfs emp-run /run mode=0755
m tmpfs emp-tmp /tmp mode=1777
m devpts devpts /dev/pts gid=5,mode=620,ptmxmode=666
m tmpfs shm /dev/shm mode=1777
[[ -e /dev/ptmx ]] || $BB ln -sf pts/ptmx /dev/ptmx
# what udev makes on a real system; bash's <(...) opens /dev/fd/N
[[ -e /dev/fd ]] || $BB ln -sf /proc/self/fd /dev/fd
for _n in 0:stdin 1:stdout 2:stderr; do
	[[ -e /dev/${_n#*:} ]] || $BB ln -sf "/proc/self/fd/${_n%%:*}" "/dev/${_n#*:}"
done
m 9p empres /emp-results trans=virtio,version=9p2000.L,msize=512000 ||
	fatal "cannot mount the results share"
[[ -f /emp-results/emp.env ]] || fatal "no /emp-results/emp.env"
# shellcheck disable=SC1091
source /emp-results/emp.env

echo "${EMP_HOSTNAME:-emp-vm}" >/proc/sys/kernel/hostname
echo "${EMP_HOSTNAME:-emp-vm}" >/etc/hostname 2>/dev/null

# Module tree prepared on the host (kernel modules + ours + depmod output).
[[ -d $EMP_MODTREE ]] || fatal "module tree $EMP_MODTREE missing"
[[ -d /lib/modules/$EMP_KVER ]] || $BB mkdir -p "/lib/modules/$EMP_KVER"
$BB mount --bind "$EMP_MODTREE" "/lib/modules/$EMP_KVER" || fatal "cannot bind $EMP_MODTREE"

# One modprobe for everything the setup needs (each exec is slow under TCG).
modprobe -qa configfs virtio_net 2>/dev/null

m configfs configfs /sys/kernel/config
m debugfs debugfs /sys/kernel/debug
m tracefs tracefs /sys/kernel/tracing
m cgroup2 cgroup2 /sys/fs/cgroup nsdelegate
# Enable the controllers for tests that create child cgroups.
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
	read -ra _ctrls </sys/fs/cgroup/cgroup.controllers
	for c in "${_ctrls[@]}"; do
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	done
fi

if [[ -n ${EMP_SHARED:-} ]]; then
	m 9p empshared "$EMP_SHARED" trans=virtio,version=9p2000.L,msize=512000 ||
		fatal "cannot mount the shared dir"
fi

ulimit -l unlimited 2>/dev/null
ulimit -c 0
echo 1 >/proc/sys/kernel/sysrq
[[ -e /proc/sys/kernel/hung_task_timeout_secs ]] && echo 120 >/proc/sys/kernel/hung_task_timeout_secs

# Network: loopback, and eth0 (virtio-net) with the role's address.
for _ in {1..50}; do
	[[ -e /sys/class/net/eth0 ]] && break
	bsleep 0.1
done
{
	echo "link set lo up"
	if [[ -e /sys/class/net/eth0 && -n ${EMP_SELF_IP:-} ]]; then
		echo "addr add $EMP_SELF_IP/${EMP_NET_PREFIX:-24} dev eth0"
		echo "link set eth0 up"
	fi
} | ip -batch - || log "network setup failed"

boot=$(uptime_s)
echo "$boot" >/emp-results/boot_s
log "ready after ${boot}s: kernel $EMP_KVER, role $EMP_ROLE, test $EMP_TEST"
echo "emp: starting test $EMP_TEST (role $EMP_ROLE)" >/dev/kmsg

export EMP_RESULTS=/emp-results EMPCTL=$EMP_REPO/build/empctl
export EMP_ROLE EMP_SELF_IP EMP_PEER_IP EMP_PEER2_IP EMP_SHARED EMP_KVER EMP_REPO EMP_TEST

# Run the test; its output goes to output.txt and the console. The test is
# waited for by pid (not through the pipe), so a background process it left
# behind holding stdout does not keep us waiting.
$BB mkfifo /run/emp-out.fifo
$BB tee /emp-results/output.txt </run/emp-out.fifo >/dev/console &
teepid=$!
(
	set +x
	cd "$EMP_REPO" || exit 1
	exec bash "$EMP_TEST"
) </dev/null >/run/emp-out.fifo 2>&1 &
tpid=$!

# Soft deadline: shortly before the host kills us, dump blocked tasks and the
# kernel log so that a hang leaves something to read. No status is written:
# the host reports the hang.
deadline=$((${EMP_TIMEOUT:-300} - 10))
dumped=0
while kill -0 "$tpid" 2>/dev/null; do
	if ((!dumped)); then
		up=$(uptime_s)
		if ((${up%.*} >= deadline)); then
			dumped=1
			log "test still running after ${up}s: dumping blocked tasks"
			echo w >/proc/sysrq-trigger
			dmesg >/emp-results/dmesg.txt 2>/dev/null
			echo hung >/emp-results/hung
		fi
	fi
	bsleep 0.5
done
rc=0
wait "$tpid" || rc=$?
# Let tee drain; leftovers of the test may keep the pipe open: don't wait.
for _ in {1..20}; do
	kill -0 "$teepid" 2>/dev/null || break
	bsleep 0.1
done
log "test exited with status $rc after $(uptime_s)s"
echo "emp: test $EMP_TEST finished with status $rc" >/dev/kmsg

# Kernels with kmemleak (the debug kernel): one scan after the test; leaks
# show up in the kernel log ("kmemleak: N new suspected memory leaks") and
# fail the test on the host.
if [[ ${EMP_KMEMLEAK:-1} != 0 && -w /sys/kernel/debug/kmemleak ]]; then
	# Two scans: a scan only reports objects whose contents did not change
	# since the previous one, so a leak made during the test is marked on
	# the first and reported on the second (the planted-leak self-test
	# showed one scan finds nothing).
	log "kmemleak scan (twice)"
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	$BB cat /sys/kernel/debug/kmemleak >/emp-results/kmemleak.txt 2>/dev/null
	[[ -s /emp-results/kmemleak.txt ]] || $BB rm -f /emp-results/kmemleak.txt
fi

dmesg >/emp-results/dmesg.txt 2>&1
echo "$rc" >/emp-results/status.tmp && $BB mv /emp-results/status.tmp /emp-results/status
power_off
