# shellcheck shell=bash
# Host-side library of the empblk QEMU test harness. Sourced by tests/run.
#
# Provides: kernel discovery and selection, kernel image fetch/extract
# (apt-get download + dpkg-deb -x, never dpkg -i), module tree preparation
# (depmod -b on the host; nothing is ever loaded into the host kernel),
# busybox initramfs build, accelerator probe and QEMU launch for one- and
# two-guest topologies.
#
# Callers must set EMP_REPO (absolute path of the repository) before sourcing.

: "${EMP_REPO:?EMP_REPO must be set before sourcing vm.sh}"
EMP_CACHE=${EMP_CACHE:-$EMP_REPO/.cache}
EMP_VERBOSE=${EMP_VERBOSE:-0}
EMP_MEMORY_DEFAULT=${EMP_MEMORY_DEFAULT:-1024}
EMP_SMP=${EMP_SMP:-2}
EMP_TIMEOUT_DEFAULT=${EMP_TIMEOUT_DEFAULT:-300}
EMP_CMDLINE_EXTRA=${EMP_CMDLINE_EXTRA:-}
# Guest kernel command line:
#  panic=-1    a panic reboots at once, and -no-reboot makes qemu exit
#  norandmaps  no user-space ASLR: TCG can reuse translated code across
#              execs (an exec of a dynamically linked binary is 2-5x faster)
#  pci=noacpi  no _PRT evaluation: under the KASAN/lockdep debug kernel the
#              AML interpreter hits its 30 s loop timeout three times
EMP_CMDLINE_BASE=${EMP_CMDLINE_BASE:-console=ttyS0 panic=-1 norandmaps pci=noacpi}
EMP_QEMU=${EMP_QEMU:-qemu-system-x86_64}
# TCG runs all vCPUs of a guest in one host thread (EMP_TCG_THREAD=multi for
# one thread per vCPU). Under multi-threaded TCG on a loaded host, 6.12
# guests twice ran stale code after a live text patch (static keys): an
# "Oops: int3" in get_page_from_freelist and a SIGSEGV that killed init.
# With one thread, a vCPU never runs while another rewrites code, and on
# two host cores running several guests nothing is lost in speed.
EMP_TCG_THREAD=${EMP_TCG_THREAD:-single}

# Guest-side addresses of the two-guest topology (and of the single guest's
# isolated NIC).
EMP_NET_DONOR_IP=10.77.0.1
EMP_NET_COMPUTE_IP=10.77.0.2
EMP_NET_PREFIX=24
# three-guest tests: the second donor, on the same link (a hub)
EMP_NET_DONOR2_IP=10.77.0.3

# Kernel-log patterns and the fault-injection exemption, shared with the
# guest side.
# shellcheck source=tests/lib/kmsg.sh
. "$EMP_REPO/tests/lib/kmsg.sh"
# shellcheck source=tests/lib/debugkernel.sh
. "$EMP_REPO/tests/lib/debugkernel.sh"

_vm_pids=()      # timeout(1) pids of running guests
_vm_disks=()     # backing files of the running guests' emulated NVMe disks

# TAP diagnostics go to fd EMP_TAP_FD (the runner dups its stdout there), so
# that functions whose stdout is captured can still report.
vm_diag() { # print a TAP diagnostic line
	local l
	for l in "$@"; do printf '# %s\n' "$l" >&"${EMP_TAP_FD:-2}"; done
}

vm_debug() { ((EMP_VERBOSE)) && vm_diag "$@"; return 0; }

vm_die() { # TAP bail-out; exits (the subshell, if called in one)
	printf 'Bail out! %s\n' "$*" >&"${EMP_TAP_FD:-1}"
	exit 2
}

vm_now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

vm_fmt_ms() { # 12345 -> 12.3
	local ms=$1
	printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100))
}

# Kill every guest we started. Installed as a trap by run.
vm_cleanup() {
	local p
	for p in "${_vm_pids[@]}"; do
		[[ -n $p ]] && kill -TERM "$p" 2>/dev/null
	done
	for p in "${_vm_pids[@]}"; do
		[[ -n $p ]] || continue
		# timeout(1) forwards TERM to qemu; give it a moment, then KILL
		# its child (qemu) and itself.
		local i
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$p" 2>/dev/null; then
			pkill -KILL -P "$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
		fi
	done
	_vm_pids=()
	vm_nvme_remove
}

# Serialise cache preparation between concurrent runs.
vm_lock() {
	mkdir -p "$EMP_CACHE"
	exec {_vm_lock_fd}>"$EMP_CACHE/.lock"
	flock "$_vm_lock_fd"
}
vm_unlock() {
	[[ -n ${_vm_lock_fd:-} ]] || return 0
	flock -u "$_vm_lock_fd"
	exec {_vm_lock_fd}>&-
	_vm_lock_fd=
}

# ---------------------------------------------------------------------------
# Kernels

# Debian kernel releases with installed headers: /usr/src/linux-headers-*-amd64
vm_discover_kernels() {
	local d kver
	for d in /usr/src/linux-headers-*-amd64; do
		[[ -f $d/Makefile ]] || continue
		kver=${d#/usr/src/linux-headers-}
		echo "$kver"
	done | sort -V
}

# The image package of the lane's own build (tests/debug/build-kernel),
# once that build has finished, from the fragment, patches and source it
# would be built from now: it carries tests/debug/patches/.
vm_debug_own_deb() {
	local out=$EMP_CACHE/debug-kernel f deb="" stamp
	stamp=$(emp_debug_stamp "$EMP_REPO") || return 1
	[[ -f $out/.complete-$stamp ]] || return 1
	for f in "$out"/linux-image-*-empdbg_*.deb; do
		[[ -f $f && $f != *-dbg_* ]] && deb=$f
	done
	[[ -n $deb ]] || return 1
	echo "$deb"
}

# The debug kernel's image package: $EMP_DEBUG_KERNEL_DEB, else the lane's
# own finished build (it has the fixes the lane carries), else a shared
# prebuilt one (../shared/kernels/, without those fixes).
vm_debug_deb() {
	local deb=${EMP_DEBUG_KERNEL_DEB:-} f
	[[ -n $deb ]] || deb=$(vm_debug_own_deb) || deb=
	if [[ -z $deb ]]; then
		for f in "${EMP_SHARED_KERNELS:-$EMP_REPO/../shared/kernels}"/linux-image-*-empdbg_*.deb; do
			[[ -f $f ]] && deb=$f
		done
	fi
	[[ -n $deb && -f $deb ]] || return 1
	echo "$deb"
}

# Whether the debug kernel in use carries tests/debug/patches/: only the
# lane's own build is known to.
vm_debug_has_fixes() {
	local deb own
	deb=$(vm_debug_deb) || return 1
	own=$(vm_debug_own_deb) || return 1
	[[ $deb -ef $own ]]
}

vm_debug_kver() {
	local deb b
	deb=$(vm_debug_deb) || return 1
	b=${deb##*/}
	b=${b#linux-image-}
	echo "${b%%_*}"
}

vm_is_debug_kver() { [[ $1 == *-empdbg ]]; }

# Map selectors (all, debug, 6.1, 6.12, full kver) to kernel releases.
vm_select_kernels() {
	local sel k found out=()
	local -a avail
	mapfile -t avail < <(vm_discover_kernels)
	for sel in "$@"; do
		case $sel in
		all)
			((${#avail[@]})) || vm_die "no /usr/src/linux-headers-*-amd64 found (run tests/install-deps)"
			out+=("${avail[@]}")
			;;
		debug)
			k=$(vm_debug_kver) || vm_die "debug kernel .deb not found (set EMP_DEBUG_KERNEL_DEB)"
			out+=("$k")
			;;
		*)
			found=0
			for k in "${avail[@]}"; do
				if [[ $k == "$sel" || $k == "$sel".* || $k == "$sel"-* ]]; then
					out+=("$k")
					found=1
				fi
			done
			if ((!found)); then
				if [[ $sel == *-empdbg ]]; then
					out+=("$sel")
				elif [[ $sel == *-* ]]; then
					out+=("$sel") # explicit kver without installed headers
				else
					vm_die "no installed kernel headers match '$sel' (have: ${avail[*]:-none})"
				fi
			fi
			;;
		esac
	done
	printf '%s\n' "${out[@]}" | awk '!seen[$0]++'
}

# Does kernel kver match a test's "# kernels:" header value?
vm_kernel_matches() {
	local kver=$1 spec=$2 s
	[[ -z $spec ]] && return 0
	for s in ${spec//,/ }; do
		case $s in
		all) return 0 ;;
		debug) vm_is_debug_kver "$kver" && return 0 ;;
		*) [[ $kver == "$s" || $kver == "$s".* || $kver == "$s"-* ]] && return 0 ;;
		esac
	done
	return 1
}

vm_kernel_dir() { echo "$EMP_CACHE/kernels/$1"; }

# What an extraction is keyed by: the package's name, size and mtime (a
# rebuild of the lane's own kernel keeps the name).
vm_deb_key() { echo "${1##*/} $(stat -c '%s %Y' "$1")"; }

# Download (Debian) or take (debug) the kernel image package and extract it.
# For Debian kernels the image version matching the installed headers package
# is preferred (same ABI name can be reused by a rebuild).
vm_fetch_kernel() {
	local kver=$1 dir deb tmp name want f
	dir=$(vm_kernel_dir "$kver")
	if vm_is_debug_kver "$kver"; then
		deb=$(vm_debug_deb) || { vm_diag "debug kernel .deb not found"; return 1; }
	else
		want=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null || true)
		if [[ -e $dir/.complete ]] && { [[ -z $want ]] || grep -qF "_${want}_" "$dir/.complete"; }; then
			return 0
		fi
		deb=
		mkdir -p "$EMP_CACHE/debs"
		local try v
		for try in cache download; do
			for v in ${want:+"$want"} ""; do
				for name in "linux-image-$kver" "linux-image-$kver-unsigned"; do
					if [[ $try == download ]]; then
						(cd "$EMP_CACHE/debs" && apt-get download -q "$name${v:+=$v}") \
							>>"$EMP_CACHE/debs/apt.log" 2>&1 || continue
					fi
					for f in "$EMP_CACHE/debs/${name}_"*.deb; do
						[[ -f $f && ( -z $v || ${f##*/} == "${name}_${v}_"* ) ]] && deb=$f
					done
					[[ -n $deb ]] && break 3
				done
			done
			if [[ $try == cache ]]; then
				vm_diag "fetching linux-image-$kver${want:+ $want} with apt-get download"
				: >"$EMP_CACHE/debs/apt.log"
			fi
		done
		if [[ -z $deb ]]; then
			# Maybe the package lists are missing or stale.
			apt-get update -q >>"$EMP_CACHE/debs/apt.log" 2>&1 || true
			for name in "linux-image-$kver" "linux-image-$kver-unsigned"; do
				(cd "$EMP_CACHE/debs" && apt-get download -q "$name") >>"$EMP_CACHE/debs/apt.log" 2>&1 || continue
				for f in "$EMP_CACHE/debs/${name}_"*.deb; do
					[[ -f $f ]] && deb=$f
				done
				[[ -n $deb ]] && break
			done
		fi
		if [[ -z $deb ]]; then
			vm_diag "apt-get download linux-image-${kver}[-unsigned] failed:"
			sed 's/^/#   /' "$EMP_CACHE/debs/apt.log" | tail -n 5 >&"${EMP_TAP_FD:-2}"
			return 1
		fi
	fi
	if [[ -e $dir/.complete ]] && grep -qxF "$(vm_deb_key "$deb")" "$dir/.complete"; then
		return 0
	fi
	vm_diag "extracting ${deb##*/}"
	mkdir -p "$EMP_CACHE/kernels"
	# leftovers of interrupted extractions
	find "$EMP_CACHE/kernels" -maxdepth 1 -name '.tmp-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
	tmp=$(mktemp -d "$EMP_CACHE/kernels/.tmp-XXXXXX")
	chmod 755 "$tmp"
	if ! dpkg-deb -x "$deb" "$tmp"; then
		rm -rf "$tmp"
		return 1
	fi
	# Future-proof: usr-merged packages ship /usr/lib/modules.
	if [[ ! -d $tmp/lib/modules/$kver && -d $tmp/usr/lib/modules/$kver ]]; then
		mkdir -p "$tmp/lib/modules"
		mv "$tmp/usr/lib/modules/$kver" "$tmp/lib/modules/"
	fi
	if [[ ! -f $tmp/boot/vmlinuz-$kver || ! -d $tmp/lib/modules/$kver ]]; then
		vm_diag "${deb##*/} has no boot/vmlinuz-$kver or lib/modules/$kver"
		rm -rf "$tmp"
		return 1
	fi
	vm_deb_key "$deb" >"$tmp/.complete"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# Kernel build directory (KDIR) for kver; extracts the debug headers .deb.
vm_kdir() {
	local kver=$1 deb hdeb dir
	if ! vm_is_debug_kver "$kver"; then
		[[ -d /usr/src/linux-headers-$kver ]] || return 1
		echo "/usr/src/linux-headers-$kver"
		return 0
	fi
	dir=$EMP_CACHE/kernels/$kver-headers
	deb=$(vm_debug_deb) || return 1
	# the headers of the same build: linux-headers-<kver>_<version>_<arch>.deb
	hdeb=${deb%/*}/linux-headers-${deb##*/linux-image-}
	[[ -f $hdeb ]] || return 1
	# keyed by the package: the prebuilt kernel and the lane's own build
	# can have the same release, and a rebuild the same name
	if ! grep -qxF "$(vm_deb_key "$hdeb")" "$dir/.complete" 2>/dev/null; then
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$hdeb" "$dir" || return 1
		vm_deb_key "$hdeb" >"$dir/.complete"
	fi
	echo "$dir/usr/src/linux-headers-$kver"
}

# ---------------------------------------------------------------------------
# Module tree: extracted kernel modules (hard links) + our .ko files under
# updates/emp/, indexed with depmod -b on the host (depmod -b only writes
# files; nothing is loaded into the host kernel).
#
# One tree per content: <cache>/modtree/<kver>/<id>/lib/modules/<kver>/, id =
# hash of the kernel and of our .ko files. A rebuild makes a new tree, so a
# run that is still using the old one (another shell) is not disturbed.
# Trees unused for EMP_MODTREE_KEEP_MIN minutes are removed.

declare -A _vm_modtrees=()
EMP_MODTREE_KEEP_MIN=${EMP_MODTREE_KEEP_MIN:-360}

vm_modtree() { # the tree prepared by vm_prepare_modtree for kver
	echo "${_vm_modtrees[$1]:?vm_prepare_modtree $1 not run}"
}

vm_our_modules() {
	local kver=$1 b=$EMP_REPO/build/$1
	[[ -d $b ]] || return 0
	# the debug lane's planted-bug module is loaded by path, never by name
	find "$b" -name '*.ko' -type f -not -path '*/.tmp*' -not -path '*/planted/*' 2>/dev/null | sort
}

vm_prepare_modtree() {
	local kver=$1 kdir src base id mt tmp mdir f
	kdir=$(vm_kernel_dir "$kver")
	src=$kdir/lib/modules/$kver
	base=$EMP_CACHE/modtree/$kver
	local -a kos
	mapfile -t kos < <(vm_our_modules "$kver")
	id=$( {
		echo "v2 $kver $(stat -c %Y "$kdir/.complete")"
		for f in "${kos[@]}"; do sha256sum "$f"; done
	} | sha256sum | cut -c1-12)
	mt=$base/$id
	if [[ -e $mt/.complete ]]; then
		touch "$mt/.complete"
		_vm_modtrees[$kver]=$mt
		return 0
	fi
	mkdir -p "$base"
	tmp=$(mktemp -d "$base/.tmp-XXXXXX")
	chmod 755 "$tmp"
	mdir=$tmp/lib/modules/$kver
	mkdir -p "$mdir"
	for f in "$src"/* "$src"/.[!.]*; do
		[[ -e $f ]] || continue
		if [[ -d $f ]]; then
			cp -al "$f" "$mdir/" 2>/dev/null || cp -a "$f" "$mdir/"
		else
			cp -a "$f" "$mdir/" # depmod rewrites modules.*: no shared inodes
		fi
	done
	rm -rf "$mdir/updates/emp"
	mkdir -p "$mdir/updates/emp"
	local -A seen=()
	for f in "${kos[@]}"; do
		local b=${f##*/}
		if [[ -n ${seen[$b]:-} ]]; then
			vm_diag "warning: duplicate module $b ($f and ${seen[$b]}); using the first"
			continue
		fi
		seen[$b]=$f
		cp "$f" "$mdir/updates/emp/$b"
	done
	vm_debug "depmod -b $mt $kver (${#kos[@]} project modules)"
	if ! depmod -b "$tmp" "$kver" 2>"$tmp/depmod.log"; then
		vm_diag "depmod failed:"
		sed 's/^/#   /' "$tmp/depmod.log" >&"${EMP_TAP_FD:-2}"
		rm -rf "$tmp"
		return 1
	fi
	touch "$tmp/.complete"
	rm -rf "$mt"
	mv "$tmp" "$mt"
	_vm_modtrees[$kver]=$mt
	# Garbage-collect trees (and leftovers) nobody used for a while.
	for f in "$base"/* "$base"/.tmp-* "$base"/.base-complete "$base"/.emp-stamp; do
		[[ -e $f && $f != "$mt" ]] || continue
		if [[ -n $(find "$f" -maxdepth 0 -mmin +"$EMP_MODTREE_KEEP_MIN" 2>/dev/null) ]] &&
			{ [[ ! -e $f/.complete ]] || [[ -n $(find "$f/.complete" -mmin +"$EMP_MODTREE_KEEP_MIN" 2>/dev/null) ]]; }; then
			rm -rf "$f"
		fi
	done
	return 0
}

# Print, in load order, the module files (relative to the module dir) needed
# for the given module names; built-in modules are skipped. Uses the
# modules.dep produced by vm_prepare_modtree.
vm_resolve_modules() {
	local kver=$1
	shift
	local mdir
	mdir=$(vm_modtree "$kver")/lib/modules/$kver
	awk -v want="$*" '
		function norm(s) { sub(/.*\//, "", s); sub(/\.ko(\.(xz|gz|zst))?$/, "", s); gsub(/-/, "_", s); return s }
		FILENAME ~ /modules\.builtin$/ { builtin[norm($1)] = 1; next }
		{
			mod = $1; sub(/:$/, "", mod)
			n = norm(mod); path[n] = mod; ndeps[n] = NF - 1
			for (i = 2; i <= NF; i++) dep[n, i - 1] = $i
		}
		END {
			split(want, w, " ")
			for (j = 1; j in w; j++) {
				m = w[j]; gsub(/-/, "_", m)
				if (m in builtin) continue
				if (!(m in path)) { print "MISSING " m; continue }
				for (i = ndeps[m]; i >= 1; i--) emit(dep[m, i])
				emit(path[m])
			}
		}
		function emit(p) { if (!(p in done)) { done[p] = 1; print p } }
	' "$mdir/modules.builtin" "$mdir/modules.dep"
}

# ---------------------------------------------------------------------------
# Initramfs (busybox-static + the modules needed to mount the 9p root)

EMP_INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

vm_init_script() {
	cat <<'EOF'
#!/bin/busybox sh
# empblk harness stage 1 (initramfs): mount the host root over 9p with a tmpfs
# overlay and switch_root into tests/lib/guest-init.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "emp-init: $*" >/dev/console; }
die() {
	say "FATAL: $*"
	echo "emp-init: FATAL: $*" >/dev/kmsg
	sleep 1
	echo o >/proc/sysrq-trigger
	sleep 10
	echo b >/proc/sysrq-trigger
}
EMP_INIT=
for w in $(cat /proc/cmdline); do
	case $w in
	emp.init=*) EMP_INIT=${w#emp.init=} ;;
	esac
done
[ -n "$EMP_INIT" ] || die "no emp.init= on the kernel command line"
if [ -f /modules/order ]; then
	for m in $(cat /modules/order); do
		insmod "/modules/$m" || die "insmod $m failed"
	done
fi
mkdir -p /mnt/lower /mnt/rw /newroot
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 emproot /mnt/lower; do
	i=$((i + 1))
	[ $i -ge 50 ] && die "cannot mount the host root (9p tag emproot)"
	sleep 0.1
done
mount -t tmpfs -o mode=0755 emp-rw /mnt/rw || die "tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work emp-root /newroot ||
	die "cannot mount the overlay root"
[ -f "/newroot$EMP_INIT" ] || die "stage 2 $EMP_INIT not found in the host root"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
say "switching root after $(cut -d' ' -f1 /newroot/proc/uptime)s"
exec switch_root /newroot /bin/bash "$EMP_INIT"
die "switch_root failed"
EOF
}

# Build (or reuse) the initramfs for kver; prints its path.
vm_initramfs() {
	local kver=$1 mdir busybox key out stage m
	mdir=$(vm_modtree "$kver")/lib/modules/$kver
	busybox=$(command -v busybox) || {
		vm_diag "busybox not found (apt-get install busybox-static)"
		return 1
	}
	local -a mods
	mapfile -t mods < <(vm_resolve_modules "$kver" "${EMP_INITRAMFS_MODULES[@]}")
	for m in "${mods[@]}"; do
		if [[ $m == MISSING* ]]; then
			vm_diag "initramfs: module ${m#MISSING } not found for $kver"
			return 1
		fi
	done
	key=$( {
		echo "v3 $kver"
		vm_init_script
		printf '%s\n' "${mods[@]}"
		stat -L -c '%s %Y' "$busybox"
	} | sha256sum | cut -c1-16)
	out=$EMP_CACHE/initramfs/$kver-$key.cpio.gz
	if [[ -f $out ]]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$EMP_CACHE/initramfs"
	stage=$(mktemp -d "$EMP_CACHE/initramfs/.stage-XXXXXX")
	if ! _vm_initramfs_build "$stage" "$busybox" "$mdir" "$out" "${mods[@]}"; then
		rm -rf "$stage" "$out.tmp"
		vm_diag "initramfs build failed for $kver"
		return 1
	fi
	rm -rf "$stage"
	vm_debug "built initramfs $out (${#mods[@]} modules)"
	echo "$out"
}

_vm_initramfs_build() { # STAGE BUSYBOX MODDIR OUT MODULE...
	local stage=$1 busybox=$2 mdir=$3 out=$4 m
	shift 4
	local -a mods=("$@")
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt,newroot,modules}
	cp "$busybox" "$stage/bin/busybox"
	if ldd "$busybox" >/dev/null 2>&1; then
		vm_diag "warning: $busybox is dynamically linked (install busybox-static)"
	fi
	mknod -m 600 "$stage/dev/console" c 5 1 || return 1
	mknod -m 666 "$stage/dev/null" c 1 3 || return 1
	vm_init_script >"$stage/init"
	chmod 755 "$stage/init"
	local n=0 name
	: >"$stage/modules/order"
	for m in "${mods[@]}"; do
		n=$((n + 1))
		name=$(printf '%02d-%s' "$n" "${m##*/}")
		case $name in
		*.ko.xz) xz -dc "$mdir/$m" >"$stage/modules/${name%.xz}" || return 1; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$mdir/$m" >"$stage/modules/${name%.zst}" || return 1; name=${name%.zst} ;;
		*.ko.gz) gzip -dc "$mdir/$m" >"$stage/modules/${name%.gz}" || return 1; name=${name%.gz} ;;
		*) cp "$mdir/$m" "$stage/modules/$name" || return 1 ;;
		esac
		echo "$name" >>"$stage/modules/order"
	done
	(cd "$stage" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp" &&
		mv "$out.tmp" "$out"
}

# vm_prepare_kernel KVER: fetch, module tree, initramfs, accelerator.
# Sets _vm_run_vmlinuz, _vm_run_initrd, _vm_run_accel.
vm_prepare_kernel() {
	local kver=$1 rc=0
	vm_lock
	{ vm_fetch_kernel "$kver" && vm_prepare_modtree "$kver" && _vm_run_initrd=$(vm_initramfs "$kver"); } || rc=1
	vm_unlock
	((rc == 0)) || return 1
	_vm_run_vmlinuz=$(vm_kernel_dir "$kver")/boot/vmlinuz-$kver
	# The debug kernel under TCG's "max" CPU boots with 5-level paging, and
	# an interrupt during early CPU setup then makes KASAN report a wild
	# access in the kernel's own IRQ code (seen at 1.2 s, intermittently):
	# 4-level paging avoids that noise, which would fail any test.
	_vm_run_cmdline=
	vm_is_debug_kver "$kver" && _vm_run_cmdline=no5lvl
	vm_probe_accel "$_vm_run_vmlinuz"
	_vm_run_accel=$_vm_accel
}

# ---------------------------------------------------------------------------
# Accelerator

# KVM can be present but broken (nested virt). Boot the kernel under test
# briefly under KVM: it must reach a kernel panic (no root) within a few
# seconds. Result cached for the life of this process.
vm_probe_accel() {
	local vmlinuz=$1 log rc tmpd
	if [[ -n ${EMP_ACCEL:-} ]]; then
		_vm_accel=$EMP_ACCEL
		return 0
	fi
	[[ -n ${_vm_accel:-} ]] && return 0
	_vm_accel=tcg
	if [[ -r /dev/kvm && -w /dev/kvm ]]; then
		tmpd=$(mktemp -d "${TMPDIR:-/tmp}/emp-kvm-probe-XXXXXX")
		log=$tmpd/console.log
		rc=0
		(timeout -k 2 15 "$EMP_QEMU" -accel kvm -cpu host -m 256 -smp 1 -display none \
			-nodefaults -no-user-config -no-reboot -monitor none -serial "file:$log" \
			-kernel "$vmlinuz" -append "console=ttyS0 panic=-1 root=/dev/emp-none" \
			</dev/null >/dev/null 2>&1; exit $?) 2>/dev/null || rc=$?
		if ((rc == 0)) && grep -q 'Kernel panic' "$log"; then
			_vm_accel=kvm
		else
			vm_diag "KVM unusable (probe boot rc=$rc); using TCG"
		fi
		rm -rf "$tmpd"
	fi
	return 0
}

vm_cpu_for_accel() {
	if [[ -n ${EMP_CPU:-} ]]; then echo "$EMP_CPU"; elif [[ $1 == kvm ]]; then echo host; else echo max; fi
}

# vm_net_dump_args DIR: with EMP_NET_DUMP=1, sets _vm_dump to the QEMU
# options that record
# every frame crossing the guest's netdev n0, both ways, in DIR/net.pcap
# (the first EMP_NET_DUMP_SNAPLEN=160 bytes of each: the headers). Compare
# the two guests' files to tell a frame the link lost from one never sent.
vm_net_dump_args() {
	_vm_dump=()
	[[ ${EMP_NET_DUMP:-0} == 1 ]] || return 0
	_vm_dump=(-object "filter-dump,id=nd0,netdev=n0,file=$1/net.pcap,maxlen=${EMP_NET_DUMP_SNAPLEN:-160}")
}

# ---------------------------------------------------------------------------
# Ports for the two-guest UDP socket netdev

vm_udp_port_free() {
	local p=$1
	[[ -z $(ss -Hnua "sport = :$p" 2>/dev/null) ]]
}

# Prints two distinct free UDP ports on 127.0.0.1.
vm_pick_ports() {
	local a b i
	for i in $(seq 1 200); do
		a=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		b=$((a + 1))
		if vm_udp_port_free "$a" && vm_udp_port_free "$b"; then
			echo "$a $b"
			return 0
		fi
	done
	return 1
}

# ---------------------------------------------------------------------------
# Emulated NVMe disks ("# nvme: SIZE[,SIZE...]", sizes in MiB, checked by
# tests/run)

# vm_nvme_args RESDIR SIZES: creates a sparse RESDIR/nvmeI.img per size and
# sets _vm_nvme to the QEMU options that give the guest one NVMe controller
# per file, serial empnvmeI, in that order (the guest's nvme0n1, nvme1n1,
# ...; emp_nvme_wait checks). cache=writeback (the host's page cache): not
# cache=none, whose O_DIRECT a tmpfs before Linux 6.6 refuses. discard=unmap:
# a discard in the guest punches a hole in the file.
vm_nvme_args() {
	local resdir=$1 sizes=$2 i=0 s f
	_vm_nvme=()
	[[ -n $sizes ]] || return 0
	for s in ${sizes//,/ }; do
		f=$resdir/nvme$i.img
		rm -f "$f"
		if ! truncate -s "$((10#$s))M" "$f"; then
			vm_diag "cannot create the NVMe disk file $f"
			vm_nvme_remove
			return 1
		fi
		_vm_disks+=("$f")
		# a comma in a QEMU option value is written twice
		_vm_nvme+=(-drive "file=${f//,/,,},if=none,id=nvme$i,format=raw,cache=writeback,aio=threads,discard=unmap"
			-device "nvme,serial=empnvme$i,drive=nvme$i")
		i=$((i + 1))
	done
}

# vm_nvme_remove: delete the disks' files (the guests are gone).
vm_nvme_remove() {
	((${#_vm_disks[@]})) || return 0
	rm -f "${_vm_disks[@]}"
	_vm_disks=()
}

# ---------------------------------------------------------------------------
# Guest launch

# vm_start_guest NAME RESDIR SHAREDIR MEM TIMEOUT NETDEV_ARGS...
# Writes RESDIR/emp.env beforehand (caller). Starts qemu under timeout(1) in
# the background; sets _vm_last_pid.
vm_start_guest() {
	local name=$1 resdir=$2 sharedir=$3 mem=$4 tmo=$5
	shift 5
	local -a net=("$@")
	local -a cmd
	local cpu
	local accel=$_vm_run_accel
	cpu=$(vm_cpu_for_accel "$_vm_run_accel")
	[[ $accel == tcg ]] && accel+=",thread=$EMP_TCG_THREAD"
	cmd=(
		"$EMP_QEMU" -name "emp-$name" -accel "$accel" -cpu "$cpu"
		-m "$mem" -smp "$EMP_SMP" -display none -nodefaults -no-user-config -no-reboot
		-serial "file:$resdir/console.log"
		-kernel "$_vm_run_vmlinuz" -initrd "$_vm_run_initrd"
		-append "$EMP_CMDLINE_BASE ${_vm_run_cmdline:-} emp.init=$EMP_REPO/tests/lib/guest-init.sh $EMP_CMDLINE_EXTRA"
		-fsdev "local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap"
		-device "virtio-9p-pci,fsdev=fsroot,mount_tag=emproot"
		-fsdev "local,id=fsres,path=$resdir,security_model=none"
		-device "virtio-9p-pci,fsdev=fsres,mount_tag=empres"
	)
	# EMP_QEMU_MONITOR=1: a monitor socket per guest (RESDIR/monitor.sock)
	# to look at a guest that stopped answering (info registers -a, nmi)
	if [[ ${EMP_QEMU_MONITOR:-0} == 1 ]]; then
		cmd+=(-monitor "unix:$resdir/monitor.sock,server=on,wait=off")
	else
		cmd+=(-monitor none)
	fi
	if [[ -n $sharedir ]]; then
		cmd+=(-fsdev "local,id=fsshared,path=$sharedir,security_model=none"
			-device "virtio-9p-pci,fsdev=fsshared,mount_tag=empshared")
	fi
	cmd+=("${net[@]}")
	printf '%q ' "${cmd[@]}" >"$resdir/qemu.cmd"
	echo >>"$resdir/qemu.cmd"
	timeout -k 5 "$tmo" "${cmd[@]}" </dev/null >"$resdir/qemu.log" 2>&1 &
	_vm_last_pid=$!
	_vm_pids+=("$_vm_last_pid")
}

vm_forget_pid() {
	local p=$1 i
	for i in "${!_vm_pids[@]}"; do
		[[ ${_vm_pids[$i]} == "$p" ]] && unset '_vm_pids[i]'
	done
	return 0
}

# vm_write_env RESDIR KEY=VALUE...  -> RESDIR/emp.env (sourced by the guest)
vm_write_env() {
	local resdir=$1 kv
	shift
	{
		for kv in "$@"; do
			printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
		done
	} >"$resdir/emp.env"
}

# vm_run_test KVER TESTFILE OUTDIR GUESTS MEM TIMEOUT [NVME]
# Boots the guest(s), waits, leaves per-guest results in OUTDIR/<role>/ and
# prints nothing. Per guest: console.log, output.txt, dmesg.txt, status,
# qemu.rc, elapsed_ms. NVME: the "# nvme:" sizes (MiB, comma-separated) of
# the emulated NVMe disks the single or compute guest gets (their files are
# deleted when the guests are gone). Requires vm_prepare_kernel KVER first.
vm_run_test() {
	local kver=$1 test=$2 outdir=$3 guests=$4 mem=$5 tmo=$6 nvme=${7:-}
	local -a roles
	local common=(
		"EMP_KVER=$kver" "EMP_REPO=$EMP_REPO" "EMP_TEST=$test" "EMP_TIMEOUT=$tmo"
		"EMP_MODTREE=${_vm_modtrees[$kver]}/lib/modules/$kver" "EMP_GUESTS=$guests"
		"EMP_VERBOSE=$EMP_VERBOSE" "EMP_KMEMLEAK=${EMP_KMEMLEAK:-1}"
		"EMP_TIME_FACTOR=$(vm_is_debug_kver "$kver" && echo "${EMP_DEBUG_TIMEOUT_FACTOR:-4}" || echo 1)"
	)
	# test switches set on the host (EMP_TEST_*) reach the guests
	local v
	for v in $(compgen -e EMP_TEST_ || true); do
		common+=("$v=${!v}")
	done
	rm -rf "$outdir"
	mkdir -p "$outdir"
	local -A pid_of=()
	local start
	start=$(vm_now_ms)
	if ((guests == 1)); then
		roles=(single)
		# eth0 exists for single-guest tests too (rxe on a local address);
		# its frames go to a UDP port on loopback where nobody listens. (A
		# lone hubport never completes TX: NETDEV WATCHDOG warnings.)
		local ports pa pb
		ports=$(vm_pick_ports) || { vm_diag "no free UDP ports"; return 1; }
		read -r pa pb <<<"$ports"
		mkdir -p "$outdir/single"
		vm_write_env "$outdir/single" "${common[@]}" EMP_ROLE=single \
			"EMP_SELF_IP=$EMP_NET_DONOR_IP" EMP_PEER_IP= "EMP_NET_PREFIX=$EMP_NET_PREFIX" \
			EMP_HOSTNAME=emp-vm EMP_SHARED= "EMP_NVME=$nvme"
		vm_nvme_args "$outdir/single" "$nvme" || return 1
		vm_start_guest single "$outdir/single" "" "$mem" "$tmo" \
			-netdev "socket,id=n0,udp=127.0.0.1:$pb,localaddr=127.0.0.1:$pa" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01 "${_vm_nvme[@]}"
		pid_of[single]=$_vm_last_pid
	else
		roles=(donor compute)
		((guests == 3)) && roles=(donor donor2 compute)
		ports=$(vm_pick_ports) || { vm_diag "no free UDP ports"; return 1; }
		read -r pa pb <<<"$ports"
		mkdir -p "$outdir/donor" "$outdir/compute" "$outdir/shared"
		vm_write_env "$outdir/donor" "${common[@]}" EMP_ROLE=donor \
			"EMP_SELF_IP=$EMP_NET_DONOR_IP" "EMP_PEER_IP=$EMP_NET_COMPUTE_IP" \
			"EMP_NET_PREFIX=$EMP_NET_PREFIX" EMP_HOSTNAME=emp-donor EMP_SHARED=/emp-shared EMP_NVME=
		vm_write_env "$outdir/compute" "${common[@]}" EMP_ROLE=compute \
			"EMP_SELF_IP=$EMP_NET_COMPUTE_IP" "EMP_PEER_IP=$EMP_NET_DONOR_IP" \
			"EMP_NET_PREFIX=$EMP_NET_PREFIX" EMP_HOSTNAME=emp-compute EMP_SHARED=/emp-shared \
			"EMP_NVME=$nvme"
		# The link between the guests. unix (default): datagram sockets
		# on the host, lossless: when the peer's queue is full the
		# sender gets EAGAIN and QEMU holds the frame back (net/dgram.c)
		# instead of the kernel dropping it, as it does on a UDP socket
		# whose QEMU is slow to read (TCG under load: RDMA retransmits,
		# siw's TCP backs off). udp: the QEMU socket netdev on loopback.
		local nd_donor nd_compute sockdir=
		case ${EMP_NET_LINK:-unix} in
		unix)
			# short paths: sun_path holds 108 bytes
			sockdir=$(mktemp -d /tmp/emp-link.XXXXXX) || return 1
			nd_donor="dgram,id=n0,local.type=unix,local.path=$sockdir/d,remote.type=unix,remote.path=$sockdir/c"
			nd_compute="dgram,id=n0,local.type=unix,local.path=$sockdir/c,remote.type=unix,remote.path=$sockdir/d"
			echo "unix datagram link: $sockdir" >"$outdir/ports"
			;;
		udp)
			nd_donor="socket,id=n0,udp=127.0.0.1:$pb,localaddr=127.0.0.1:$pa"
			nd_compute="socket,id=n0,udp=127.0.0.1:$pa,localaddr=127.0.0.1:$pb"
			echo "udp ports: donor=$pa compute=$pb" >"$outdir/ports"
			;;
		*) vm_diag "EMP_NET_LINK=${EMP_NET_LINK}: want unix or udp"; return 1 ;;
		esac
		# Three guests: a second donor, and the three on one link
		# through a hub on the host (build/tests/ethhub), so that the
		# compute guest reaches both donors through one RDMA device
		local hub=
		if ((guests == 3)); then
			[[ -n $sockdir ]] || { vm_diag "three guests need EMP_NET_LINK=unix"; return 1; }
			mkdir -p "$outdir/donor2"
			vm_write_env "$outdir/donor2" "${common[@]}" EMP_ROLE=donor2 \
				"EMP_SELF_IP=$EMP_NET_DONOR2_IP" "EMP_PEER_IP=$EMP_NET_COMPUTE_IP" \
				"EMP_NET_PREFIX=$EMP_NET_PREFIX" EMP_HOSTNAME=emp-donor2 EMP_SHARED=/emp-shared EMP_NVME=
			printf 'export EMP_PEER2_IP=%q\n' "$EMP_NET_DONOR2_IP" >>"$outdir/compute/emp.env"
			"$EMP_REPO/build/tests/ethhub" "$sockdir" 3 2>"$outdir/hub.log" &
			hub=$!
			nd_donor="dgram,id=n0,local.type=unix,local.path=$sockdir/g0,remote.type=unix,remote.path=$sockdir/h0"
			nd_compute="dgram,id=n0,local.type=unix,local.path=$sockdir/g1,remote.type=unix,remote.path=$sockdir/h1"
			echo "unix datagram links to a hub: $sockdir (guest I: gI, hub: hI)" >"$outdir/ports"
		fi
		# the emulated NVMe disks: the compute guest's (empblk's) only
		vm_nvme_args "$outdir/compute" "$nvme" || { [[ -z $sockdir ]] || rm -rf "$sockdir"; return 1; }
		vm_net_dump_args "$outdir/donor"
		vm_start_guest donor "$outdir/donor" "$outdir/shared" "$mem" "$tmo" \
			-netdev "$nd_donor" "${_vm_dump[@]}" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01
		pid_of[donor]=$_vm_last_pid
		if ((guests == 3)); then
			vm_net_dump_args "$outdir/donor2"
			vm_start_guest donor2 "$outdir/donor2" "$outdir/shared" "$mem" "$tmo" \
				-netdev "dgram,id=n0,local.type=unix,local.path=$sockdir/g2,remote.type=unix,remote.path=$sockdir/h2" \
				"${_vm_dump[@]}" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:03
			pid_of[donor2]=$_vm_last_pid
		fi
		vm_net_dump_args "$outdir/compute"
		vm_start_guest compute "$outdir/compute" "$outdir/shared" "$mem" "$tmo" \
			-netdev "$nd_compute" "${_vm_dump[@]}" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:02 "${_vm_nvme[@]}"
		pid_of[compute]=$_vm_last_pid
	fi

	# Wait for all guests. If one dies without writing a status (crash),
	# stop the others after a short grace period instead of letting them
	# wait for their peer until the timeout. A guest that asks for it
	# (emp_kill_me: SHARED/.kill.ROLE, its status written) has its QEMU
	# killed outright, as a machine dies.
	local -A done_at=()
	local r alive crashed_at=0 grace=${EMP_PEER_GRACE:-15}
	while :; do
		alive=0
		for r in "${roles[@]}"; do
			[[ -n ${done_at[$r]:-} ]] && continue
			if [[ -e $outdir/shared/.kill.$r ]]; then
				rm -f "$outdir/shared/.kill.$r"
				echo "killed on its request" >"$outdir/$r/killed_on_request"
				pkill -KILL -P "${pid_of[$r]}" 2>/dev/null || true
			fi
			if kill -0 "${pid_of[$r]}" 2>/dev/null; then
				alive=$((alive + 1))
				continue
			fi
			local rc=0
			# (quiet: a guest killed on its request died of SIGKILL)
			wait "${pid_of[$r]}" 2>/dev/null || rc=$?
			vm_forget_pid "${pid_of[$r]}"
			echo "$rc" >"$outdir/$r/qemu.rc"
			done_at[$r]=$(vm_now_ms)
			echo $((done_at[$r] - start)) >"$outdir/$r/elapsed_ms"
			if [[ ! -f $outdir/$r/status ]] && ((crashed_at == 0)); then
				crashed_at=${done_at[$r]}
			fi
		done
		((alive == 0)) && break
		if ((crashed_at)) && (($(vm_now_ms) - crashed_at > grace * 1000)); then
			for r in "${roles[@]}"; do
				if [[ -z ${done_at[$r]:-} ]]; then
					echo "killed: peer guest crashed" >"$outdir/$r/killed"
					kill -TERM "${pid_of[$r]}" 2>/dev/null
				fi
			done
			crashed_at=$(vm_now_ms) # re-kill after another grace period
		fi
		sleep 0.2
	done
	if [[ -n ${hub:-} ]]; then
		kill "$hub" 2>/dev/null
		wait "$hub" 2>/dev/null
	fi
	[[ -n ${sockdir:-} ]] && rm -rf "$sockdir"
	vm_nvme_remove
	printf '%s\n' "${roles[@]}" >"$outdir/roles"
	return 0
}

# ---------------------------------------------------------------------------
# Results

# Offending kernel-log lines of a guest (dmesg.txt, else the console log).
vm_dmesg_offenders() {
	local d=$1 f
	f=$d/dmesg.txt
	[[ -f $f ]] || return 0
	emp_kmsg_offenders "$f"
}

# vm_crash_chain LOG [START]: the call chain of the first kernel report in a
# console or kernel log, as "at f1 < f2 < f3 < f4", plus "; freed at g1 <
# g2" for a KASAN use-after-free, so that a one-line summary says where it
# happened (the reporting machinery's own frames and "?" guesses are left
# out). A report starts at a line matching the extended regexp START
# (default: a BUG, an oops, a general protection fault).
vm_crash_chain() {
	tr -d '\r' <"$1" | awk -v start="${2:-BUG: |Oops: |general protection fault|kernel BUG at}" '
	function fn(line,   f) {
		sub(/^\[ *[0-9.]+\] */, "", line)
		if (line !~ /^[A-Za-z_.][A-Za-z0-9_.]*\+0x/)
			return ""
		f = line
		sub(/\+.*/, "", f)
		if (f ~ /^(dump_stack|dump_stack_lvl|print_report|print_address_description|kasan_|__kasan_|__asan_|kasan_report|check_region|__pfx_)/)
			return ""
		if (f ~ /^(kfree|kmem_cache_free|slab_free|__slab_free|kfree_rcu)/ && mode == "freed")
			return ""
		return f
	}
	!seen && $0 ~ start { seen = 1; next }
	!seen { next }
	/Call Trace:/ && mode == "" { mode = "trace"; n = 0; next }
	/Freed by task/ && mode == "done" { mode = "freed"; n = 0; next }
	mode == "trace" || mode == "freed" {
		if ($0 ~ /<\/TASK>|<\/IRQ>|^\[ *[0-9.]+\] *$/ || n == (mode == "trace" ? 4 : 2)) {
			if (mode == "trace") mode = "done"; else mode = "end"
			next
		}
		f = fn($0)
		if (f == "") next
		out[mode] = out[mode] (n ? " < " : "") f
		n++
	}
	END {
		if (out["trace"] != "") printf "at %s", out["trace"]
		if (out["freed"] != "") printf "; freed at %s", out["freed"]
	}'
}

# vm_leak_chain KMEMLEAK: where the first object in a kmemleak report
# (the harness's kmemleak.txt) was allocated, as "leaked from f1 < f2 <
# f3 < f4" (the allocator's own frames left out); nothing without a report
vm_leak_chain() {
	[[ -s $1 ]] || return 0
	tr -d '\r' <"$1" | awk '
		/^unreferenced object/ { if (seen) exit; seen = 1; next }
		seen && /backtrace/ { bt = 1; next }
		bt {
			line = $0
			sub(/^ *(\[<[0-9a-f]+>\] *)?/, "", line)
			if (line !~ /^[A-Za-z_.][A-Za-z0-9_.]*\+0x/) exit
			sub(/\+.*/, "", line)
			if (line ~ /^(kmemleak_|__kmalloc|kmalloc|__kmem_cache|kmem_cache_alloc|slab_|__slab_|___slab_|kvmalloc|__kvmalloc|alloc_pages|__alloc_pages|__pfx_)/) next
			out = out (n ? " < " : "") line
			if (++n == 4) exit
		}
		END { if (out != "") printf "leaked from %s", out }'
}

# vm_fail_digest ROLEDIR: a few lines on why a failed guest failed, for the
# end of a long log (CI shows its tail): the first failed sub-test or FAIL
# line with up to 4 lines of the test's output before it (else the
# output's last 5 lines), then the first offending kernel-log line and the
# call chain of its report (dmesg.txt, else the console log). At most 7
# lines, each cut to 200 characters.
vm_fail_digest() {
	local d=$1 klog off chain
	{
		if [[ -s $d/output.txt ]]; then
			tr -d '\r' <"$d/output.txt" | awk '
				/^(not ok [0-9]+ |FAIL: )/ {
					for (i = (n > 4 ? n - 4 : 0); i < n; i++) print buf[i % 5]
					print; found = 1; exit
				}
				{ buf[n % 5] = $0; n++ }
				END { if (!found) for (i = (n > 5 ? n - 5 : 0); i < n; i++) print buf[i % 5] }' |
				sed 's/^/output: /'
		fi
		klog=$d/dmesg.txt
		[[ -s $klog ]] || klog=$d/console.log
		if [[ -s $klog ]]; then
			# the line that starts a report, else a panic, else the first
			off=$(emp_kmsg_offenders "$klog" | tr -d '\r' | sed -E 's/^\[ *[0-9.]+\] *//')
			[[ -z $off ]] ||
				off=$({ grep -a -m1 -vE '^(Call Trace:|<.*>|[?] .*|[A-Za-z0-9_.]+\+0x.*)$' <<<"$off" ||
					grep -a -m1 -o 'Kernel panic.*' "$klog" || head -n1 <<<"$off"; } | tr -d '\r')
			if [[ -n $off ]]; then
				echo "kernel: $off"
				if [[ $off == kmemleak:* ]]; then
					chain=$(vm_leak_chain "$d/kmemleak.txt")
				else
					chain=$(vm_crash_chain "$klog" 'WARNING:|BUG: |Oops: |general protection fault|kernel BUG at|INFO: task .* blocked|soft lockup|Kernel panic')
				fi
				[[ -z $chain ]] || echo "kernel: $chain"
			fi
		fi
	} | cut -c1-200
}

# vm_guest_verdict ROLEDIR TIMEOUT -> sets _v_res (pass|fail|skip) _v_why
vm_guest_verdict() {
	local d=$1 tmo=$2 st rc
	_v_res=fail
	_v_why=
	rc=$(cat "$d/qemu.rc" 2>/dev/null || echo '?')
	if [[ ! -f $d/status ]]; then
		if [[ -f $d/killed ]]; then
			_v_why="killed after its peer crashed"
		elif [[ $rc == 124 || $rc == 137 ]]; then
			_v_why="timeout: guest hung, killed after ${tmo}s"
		elif grep -aq 'Kernel panic' "$d/console.log" 2>/dev/null; then
			# what crashed and where, so a one-line summary (CI's) names it
			local _v_oops
			# (a panic need not follow an oops: no match is no error)
			_v_oops=$({ grep -a -m2 -oE '(BUG: .*|general protection fault.*|Oops: .*|kernel BUG at .*|RIP: 0010:[^ ]*)' "$d/console.log" || true; } |
				tr -d '\r' | cut -c1-100 | paste -sd';' -)
			local _v_chain
			_v_chain=$(vm_crash_chain "$d/console.log")
			_v_oops=${_v_oops}${_v_chain:+; $_v_chain}
			_v_why="kernel panic: $(grep -a -m1 -o 'Kernel panic.*' "$d/console.log" | tr -d '\r' | cut -c1-160)${_v_oops:+ ($_v_oops)}"
		elif grep -aq 'emp-init: FATAL' "$d/console.log" 2>/dev/null; then
			_v_why="guest setup failed: $(grep -a -m1 -o 'emp-init: FATAL.*' "$d/console.log" | tr -d '\r')"
		else
			_v_why="guest exited without a status (crash?), qemu rc=$rc"
		fi
		return 0
	fi
	st=$(tr -dc '0-9' <"$d/status")
	case $st in
	0) _v_res=pass ;;
	4)
		_v_res=skip
		_v_why=$(head -n1 "$d/skip_reason" 2>/dev/null || true)
		[[ -n $_v_why ]] || _v_why="skipped"
		;;
	124) _v_why="test timed out in the guest" ;;
	*) _v_why="test exited with status $st" ;;
	esac
	if [[ $_v_res == fail ]]; then
		# the first sub-test that failed, or the guest's own FAIL line,
		# so a one-line summary (CI's) says which check it was
		local _v_first
		_v_first=$({ grep -a -m1 -E '^(not ok [0-9]+ |FAIL: )' "$d/output.txt" 2>/dev/null || true; } |
			tr -d '\r' | cut -c1-160)
		[[ -z $_v_first ]] || _v_why="$_v_why: $_v_first"
	fi
	if [[ ! -f $d/dmesg.txt ]]; then
		_v_res=fail
		_v_why="no dmesg.txt${_v_why:+; $_v_why}"
	else
		# the first offending line too, so CI's one-line summary says
		# what the kernel reported (timestamp dropped)
		local _v_off
		_v_off=$(vm_dmesg_offenders "$d" | head -n1 | tr -d '\r' |
			sed -E 's/^\[ *[0-9.]+\] *//' | cut -c1-160)
		if [[ -n $_v_off ]]; then
			_v_off="kernel log has errors: $_v_off"
			[[ $_v_res == fail ]] && _v_why="$_v_why; $_v_off" || _v_why=$_v_off
			_v_res=fail
		fi
	fi
	return 0
}
