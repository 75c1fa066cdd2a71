#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit test of empctl: no kernel module needed.
#
# Builds a fake configfs/sysfs tree in a temporary directory, points
# EMPCTL_CONFIGFS, EMPCTL_SYSFS_BLOCK and EMPCTL_TARGET_CONFIGFS at it and
# checks the output, the exit codes and the effect on the tree. Prints TAP.
#
# Usage: test-empctl.sh            (builds empctl into a temporary dir)
#        EMPCTL=path/to/empctl test-empctl.sh
#
# A plain directory cannot imitate configfs: mkdir does not create the
# attribute files and rmdir of a directory with files fails. So the create
# and destroy success paths are left to the QEMU tests; here they are
# exercised up to where the fake differs (which checks the rollback).
# For the donor ports of emp_rdma_target, test-configfs-shim.c (LD_PRELOAD,
# built here with $CC, default cc) gives the fake ports directory the
# configfs behaviour and logs every mkdir, write and rmdir, so "target
# start" and "target stop" are checked end to end; without a compiler
# those tests are skipped.

# Checks are chained as "a && b || fail ...": fail runs when any link
# fails, which is the intent.
# shellcheck disable=SC2015

set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/test-empctl.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

if [ -z "${EMPCTL:-}" ]; then
	if ! make -s -C "$here" O="$T/build" >"$T/build.log" 2>&1; then
		echo "Bail out! cannot build empctl:"
		sed 's/^/# /' "$T/build.log"
		exit 1
	fi
	EMPCTL=$T/build/empctl
fi
command -v jq >/dev/null || { echo "Bail out! jq is required"; exit 1; }

SHIM=$T/configfs-shim.so
if ! "${CC:-cc}" -shared -fPIC -O2 -Wall -o "$SHIM" \
	"$here/test-configfs-shim.c" -ldl >"$T/shim.log" 2>&1; then
	SHIM=""
fi

CFG=$T/tree/config/empblk
BLK=$T/tree/block
TGT=$T/tree/config/emp_target
TGT_STATE="listening sessions chunks_in_use bytes_in_use sessions_total
	rejected_connects bad_messages chunks_allocated chunks_freed
	alloc_failures"

# mkattrs DIR NAME=VALUE...: one file per attribute, like the kernel.
mkattrs() {
	local dir=$1 kv
	shift
	mkdir -p "$dir"
	for kv in "$@"; do
		printf '%s\n' "${kv#*=}" >"$dir/${kv%%=*}"
	done
}

# mkport NAME [ATTR=VALUE...]: a port of emp_rdma_target as the module
# makes it (configuration files 0644, state files 0444), then the values.
mkport() {
	local dir=$TGT/ports/$1 f
	shift
	mkattrs "$dir" addr= port=19675 device= budget_mb=0 enable=0
	for f in $TGT_STATE; do
		printf '0\n' >"$dir/$f"
	done
	mkattrs "$dir" "$@"
	for f in $TGT_STATE; do
		chmod 0444 "$dir/$f"
	done
}

# A fresh tree for every test: empblk0 enabled, empblk2 and empblk10
# disabled, empblk3 an orphaned disk (sysfs only), plus unrelated entries;
# target port p19675 enabled with two clients, port "backup" disabled.
make_tree() {
	rm -rf "$T/tree"
	mkdir -p "$CFG" "$BLK" "$T/tree/devices"
	echo "mem_path size_mb block_size subblock_size queue_depth poll_queues ack_timeout placement enable" \
		>"$CFG/features"
	mkattrs "$CFG/empblk0" enable=1 mem_path=dram:512 size_mb=0 \
		block_size=65536 subblock_size=4096 queue_depth=128
	mkattrs "$CFG/empblk2" enable=0 mem_path=dram:64 size_mb=0 \
		block_size=4096 subblock_size=4096 queue_depth=32
	mkattrs "$CFG/empblk10" enable=0 mem_path= size_mb=2048 \
		block_size=4096 subblock_size=4096 queue_depth=128
	mkdir "$CFG/notadevice"
	# /sys/block entries are symlinks into /sys/devices.
	mkattrs "$T/tree/devices/empblk0" size=1048576
	mkattrs "$T/tree/devices/empblk0/emp" state=live mem_path=dram:512 \
		block_size=65536 subblock_size=4096 \
		dram_budget_bytes=536870912 dram_used_bytes=12582912 \
		reads=5 writes=7 discards=0 write_zeroes=0 flushes=1 \
		read_bytes=20480 write_bytes=28672 unwritten_reads=2 \
		nospace_errors=0 alloc_deferred=0 alloc_failures=0 \
		reserve_pages=64 health=ok
	ln -s ../devices/empblk0 "$BLK/empblk0"
	mkattrs "$BLK/empblk3" size=2097152
	mkattrs "$BLK/empblk3/emp" state=orphaned mem_path=dram:1024 \
		dram_used_bytes=1536 health=degraded
	mkattrs "$BLK/sda" size=100
	mkdir -p "$TGT/ports"
	echo "addr port device budget_mb enable" >"$TGT/features"
	mkport p19675 addr=10.0.0.1 device=mlx5_0 budget_mb=4096 enable=1 \
		listening=1 sessions=2 chunks_in_use=4 bytes_in_use=8388608 \
		sessions_total=3 rejected_connects=1 chunks_allocated=10 \
		chunks_freed=6
	mkport backup port=19700 budget_mb=512
	rm -f "$T/fake.log"
	export EMPCTL_CONFIGFS=$CFG EMPCTL_SYSFS_BLOCK=$BLK \
		EMPCTL_TARGET_CONFIGFS=$TGT
}

# run ARGS...: runs empctl; sets $rc, $out, $err.
run() {
	"$EMPCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# run_fake ARGS...: run with the configfs shim on $TGT/ports; the log of
# what empctl did is in $T/fake.log. Needs $SHIM (see need_shim).
run_fake() {
	LD_PRELOAD=$SHIM EMPCTL_FAKE_PORTS=$TGT/ports EMPCTL_FAKE_LOG=$T/fake.log \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		run "$@"
}

need_shim() {
	[ -n "$SHIM" ] && return 0
	echo "# SKIP cannot build test-configfs-shim.c:"
	sed 's/^/#   /' "$T/shim.log"
	return 1
}

# log_is LINES...: $T/fake.log holds exactly these lines.
log_is() {
	local want got
	want=$(printf '%s\n' "$@")
	got=$(cat "$T/fake.log" 2>/dev/null)
	[ "$got" = "$want" ] || fail "configfs log:" "$got" "expected:" "$want"
}

# A listing of the port files and values, to see that nothing changed.
ports_snapshot() {
	(cd "$TGT/ports" && find . -printf '%p %m\n' | sort &&
	 find . -type f -exec grep -H '' {} + | sort)
}

diag() {
	printf '%s\n' "$@" | sed 's/^/#   /'
}

fail() {
	diag "$@" "command exit code: $rc" "stdout:" "$out" "stderr:" "$err"
	return 1
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "expected exit code $1"
}

# contains TEXT NEEDLE: fixed-string match.
contains() {
	case $1 in *"$2"*) return 0 ;; esac
	return 1
}

out_has() {
	contains "$out" "$1" || fail "stdout lacks: $1"
}

err_has() {
	contains "$err" "$1" || fail "stderr lacks: $1"
}

# jq_is FILTER EXPECTED: the compact jq result of FILTER on stdout.
jq_is() {
	local got
	got=$(printf '%s' "$out" | jq -c "$1" 2>&1)
	[ "$got" = "$2" ] || fail "jq '$1': expected $2, got $got"
}

# ---- tests -------------------------------------------------------------

t_version() {
	run -V && expect_rc 0 || return 1
	[[ $out =~ ^empctl\ [0-9]+\.[0-9]+ ]] || fail "bad version line"
	run version && expect_rc 0 && [[ $out =~ ^empctl\ [0-9] ]] ||
		fail "bad version command" || return 1
	run -j version && expect_rc 0 && jq_is '.version|type' '"string"'
}

t_help_lists_commands() {
	local c
	run help && expect_rc 0 || return 1
	for c in create destroy list show version help; do
		out_has "  $c " || return 1
	done
	run --help && expect_rc 0 && out_has "--json"
}

t_help_command() {
	run help create && expect_rc 0 && out_has "--mem-path SPEC" &&
		out_has "--queue-depth N" || return 1
	run show -h && expect_rc 0 && out_has "Usage: empctl show NAME" ||
		return 1
	run help frobnicate && expect_rc 2 && err_has "unknown command"
}

t_no_command() {
	run && expect_rc 2 && err_has "Usage: empctl" && [ -z "$out" ] ||
		fail "usage must go to stderr"
}

t_unknown_command() {
	run frobnicate && expect_rc 2 &&
		err_has "empctl: unknown command 'frobnicate'"
}

t_unknown_options() {
	run -x list && expect_rc 2 || return 1
	run list --bogus && expect_rc 2 && err_has "empctl: " || return 1
	run create empblk5 --mem-path dram:64 --bogus 1 && expect_rc 2
}

t_create_requires_mem_path() {
	run create empblk5 && expect_rc 2 && err_has "--mem-path is required" ||
		return 1
	run create empblk5 --mem-path "" && expect_rc 2 &&
		err_has "--mem-path needs a value" || return 1
	run create --mem-path dram:64 && expect_rc 2 && err_has "missing NAME"
}

t_bad_names_rejected() {
	local name cmd
	for name in foo empblk empblk01 empblk1024 empblk-1 empblk1x \
		    ../empblk0 EMPBLK0 " empblk0"; do
		for cmd in show destroy; do
			run "$cmd" "$name"
			expect_rc 2 && err_has "invalid device name '$name'" ||
				return 1
		done
		run create "$name" --mem-path dram:64
		expect_rc 2 && err_has "invalid device name" || return 1
	done
	[ ! -e "$CFG/foo" ] && [ ! -e "$CFG/empblk01" ] ||
		fail "a directory was created for a bad name"
}

t_extra_or_missing_args() {
	run show empblk0 empblk2 && expect_rc 2 &&
		err_has "unexpected argument 'empblk2'" || return 1
	run list empblk0 && expect_rc 2 || return 1
	run destroy && expect_rc 2 && err_has "missing NAME" || return 1
	run show && expect_rc 2
}

t_size_conversion_errors() {
	local s
	for s in 512K 1536K 1X 1.5G -1 G "" 20000000000000000000 \
		 17179869184T; do
		run create empblk5 --mem-path dram:64 --size "$s"
		expect_rc 2 || return 1
	done
	run create empblk5 --mem-path dram:64 --size 1536K
	err_has "not a whole number of MiB" || return 1
	[ ! -e "$CFG/empblk5" ] || fail "usage error must not touch configfs"
}

t_missing_module() {
	local cmd
	mkdir -p "$T/tree/config-nomod"
	for cmd in list "show empblk0" "destroy empblk0" \
		   "create empblk0 --mem-path dram:64"; do
		# shellcheck disable=SC2086
		EMPCTL_CONFIGFS=$T/tree/config-nomod/empblk run $cmd
		expect_rc 1 && [ "$err" = \
			"empctl: empblk module not loaded (try: modprobe empblk)" ] ||
			fail "empctl $cmd: wrong message" || return 1
	done
}

t_configfs_unavailable() {
	EMPCTL_CONFIGFS=$T/tree/nothing/empblk run list
	expect_rc 1 && err_has "configfs is not available" &&
		err_has "$T/tree/nothing does not exist"
}

t_list_human() {
	local names
	run list && expect_rc 0 || return 1
	names=$(printf '%s\n' "$out" | awk 'NR > 1 { printf "%s ", $1 }')
	[ "$names" = "empblk0 empblk2 empblk3 empblk10 " ] ||
		fail "wrong rows or order: $names" || return 1
	[[ $(sed -n 1p "$T/out") =~ ^NAME\ +STATE\ +HEALTH\ +MEM_PATH\ +CAPACITY\ +DRAM_USED$ ]] ||
		fail "bad header" || return 1
	[[ $(grep '^empblk0 ' "$T/out") =~ ^empblk0\ +enabled\ +ok\ +dram:512\ +512\ MiB\ +12\ MiB$ ]] ||
		fail "bad empblk0 row" || return 1
	[[ $(grep '^empblk3 ' "$T/out") =~ ^empblk3\ +orphaned\ +degraded\ +dram:1024\ +1\ GiB\ +1\.5\ KiB$ ]] ||
		fail "bad empblk3 row" || return 1
	[[ $(grep '^empblk10 ' "$T/out") =~ ^empblk10\ +disabled\ +-\ +-\ +-\ +-$ ]] ||
		fail "bad empblk10 row"
}

t_list_columns_aligned() {
	run list && expect_rc 0 || return 1
	# STATE starts in the same column on every line.
	[ "$(awk '{ print index($0, $2) }' "$T/out" | sort -u | wc -l)" -eq 1 ] ||
		fail "columns not aligned"
}

t_list_json() {
	run -j list && expect_rc 0 || return 1
	jq_is 'length' '4' &&
	jq_is '[.[].name]' '["empblk0","empblk2","empblk3","empblk10"]' &&
	jq_is '.[0]' '{"name":"empblk0","state":"enabled","health":"ok","mem_path":"dram:512","capacity_bytes":536870912,"dram_used_bytes":12582912}' &&
	jq_is '.[1].state' '"disabled"' &&
	jq_is '.[2]' '{"name":"empblk3","state":"orphaned","health":"degraded","mem_path":"dram:1024","capacity_bytes":1073741824,"dram_used_bytes":1536}' &&
	jq_is '.[3]' '{"name":"empblk10","state":"disabled","health":null,"mem_path":"","capacity_bytes":null,"dram_used_bytes":null}' &&
	[ "$(wc -l <"$T/out")" -eq 1 ] || fail "compact JSON must be one line"
}

t_list_json_empty() {
	rm -rf "$CFG"/empblk* "$BLK"/empblk*
	run -j list && expect_rc 0 && jq_is '.' '[]' || return 1
	run list && expect_rc 0 && [ -z "$out" ] || fail "expected no output"
}

t_pretty_json() {
	local compact
	run -j list && compact=$(printf '%s' "$out" | jq -S -c .) || return 1
	run -p list && expect_rc 0 || return 1
	[ "$(printf '%s' "$out" | jq -S -c .)" = "$compact" ] ||
		fail "pretty and compact JSON differ" || return 1
	[ "$(wc -l <"$T/out")" -gt 10 ] || fail "not indented" || return 1
	out_has '    "name": "empblk0",'
}

t_show_json_enabled() {
	run -j show empblk0 && expect_rc 0 || return 1
	jq_is '.name' '"empblk0"' &&
	jq_is '.enabled' 'true' &&
	jq_is '.config' '{"block_size":65536,"enable":1,"mem_path":"dram:512","queue_depth":128,"size_mb":0,"subblock_size":4096}' &&
	jq_is '.stats | keys | length' '19' &&
	jq_is '.stats.state' '"live"' &&
	jq_is '.stats.dram_used_bytes' '12582912' &&
	jq_is '.stats.reads' '5' &&
	jq_is '.capacity_bytes' '536870912' &&
	jq_is '.backends' '[]' &&
	jq_is 'keys' '["backends","capacity_bytes","config","enabled","name","stats"]'
}

# /sys/block/empblkN/backends/<i>/: listed in order, in JSON and by hand
t_show_backends() {
	local b=$T/tree/devices/empblk0/backends
	mkattrs "$b/0" kind=donor target=10.0.0.2:19675 size_bytes=67108864 \
		used_bytes=4194304 read_bytes=0 write_bytes=8192 errors=0
	mkattrs "$b/1" kind=ssd target=/dev/vdb size_bytes=134217728 \
		used_bytes=2097152 read_bytes=4096 write_bytes=4096 errors=0
	# a gap ends the list
	mkattrs "$b/3" kind=ssd target=/dev/vdc
	run -j show empblk0 && expect_rc 0 || return 1
	jq_is '.backends | length' '2' &&
	jq_is '.backends[0].kind' '"donor"' &&
	jq_is '.backends[0].used_bytes' '4194304' &&
	jq_is '.backends[1].target' '"/dev/vdb"' &&
	jq_is '.backends[1].write_bytes' '4096' || return 1
	run show empblk0 && expect_rc 0 || return 1
	out_has "Backend 0: donor 10.0.0.2:19675" &&
	out_has "Backend 1: ssd /dev/vdb" || return 1
	grep -Eq '^  used_bytes: +2097152 \(2 MiB\)$' "$T/out" ||
		fail "backend attributes not shown" || return 1
	! out_has "Backend 2" || fail "listed past a gap"
}

t_show_human() {
	local cols
	run show empblk0 && expect_rc 0 || return 1
	out_has "Config:" && out_has "State:" || return 1
	[[ $(sed -n 1p "$T/out") = "empblk0 (enabled)" ]] ||
		fail "bad first line" || return 1
	grep -Eq '^  block_size: +65536 \(64 KiB\)$' "$T/out" &&
	grep -Eq '^  capacity_bytes: +536870912 \(512 MiB\)$' "$T/out" &&
	grep -Eq '^  dram_used_bytes: +12582912 \(12 MiB\)$' "$T/out" &&
	grep -Eq '^  reads: +5$' "$T/out" &&
	grep -Eq '^  mem_path: +dram:512$' "$T/out" ||
		fail "missing or malformed key: value lines" || return 1
	# The values start in one column.
	cols=$(grep '^  [a-z_]*: ' "$T/out" | sed -E 's/^(  [a-z_]+: +).*/\1/' |
	       awk '{ print length($0) }' | sort -u | wc -l)
	[ "$cols" -eq 1 ] || fail "values not aligned"
}

t_show_disabled() {
	run -j show empblk10 && expect_rc 0 || return 1
	jq_is '.enabled' 'false' && jq_is '.stats' '{}' &&
	jq_is '.capacity_bytes' 'null' && jq_is '.config.size_mb' '2048' &&
	jq_is '.config.mem_path' '""' || return 1
	run show empblk10 && expect_rc 0 && out_has "empblk10 (disabled)" &&
		out_has "not enabled"
}

t_show_orphaned() {
	run -j show empblk3 && expect_rc 0 || return 1
	jq_is '.enabled' 'false' && jq_is '.config' '{}' &&
	jq_is '.stats.state' '"orphaned"' && jq_is '.capacity_bytes' '1073741824' &&
	jq_is '.stats.health' '"degraded"' || return 1
	# a health other than ok is on the first line
	run show empblk3 && expect_rc 0 || return 1
	[[ $(sed -n 1p "$T/out") = "empblk3 (orphaned, degraded)" ]] ||
		fail "bad first line: $(sed -n 1p "$T/out")"
}

t_show_missing() {
	run show empblk7 && expect_rc 1 &&
		[ "$err" = "empctl: no such device empblk7" ] ||
		fail "wrong message"
}

t_json_string_escaping() {
	# quote, backslash, tab, newline, control byte, invalid UTF-8, é
	printf 'a"b\\c\td\ne\001f\377g\303\251\n' >"$CFG/empblk2/mem_path"
	run -j show empblk2 && expect_rc 0 || return 1
	# jq -c prints U+FFFD itself, not as an escape.
	jq_is '.config.mem_path' "\"a\\\"b\\\\c\\td\\ne\\u0001f$(printf '\357\277\275')gé\"" ||
		return 1
	out_has '"a\"b\\c\td\ne\u0001f\ufffdgé"' || return 1
	run -j list && expect_rc 0 && jq_is '.[1].mem_path|length' '14'
}

t_json_number_detection() {
	mkattrs "$BLK/empblk0/emp" leading=0755 big=18446744073709551616 \
		max=18446744073709551615 neg=-1 word=live empty=
	run -j show empblk0 && expect_rc 0 || return 1
	jq_is '.stats.leading' '"0755"' && jq_is '.stats.big' \
		'"18446744073709551616"' && jq_is '.stats.max|type' '"number"' &&
	jq_is '.stats.neg' '"-1"' && jq_is '.stats.empty' '""'
}

t_create_exists() {
	run create empblk0 --mem-path dram:64 && expect_rc 1 &&
		[ "$err" = "empctl: empblk0 already exists" ] ||
		fail "wrong message" || return 1
	[ "$(cat "$CFG/empblk0/mem_path")" = "dram:512" ] ||
		fail "existing device modified"
}

t_create_rollback() {
	# The fake directory has no attribute files: the first write fails.
	run create empblk5 --mem-path dram:512 --size 1G --block-size 64K
	expect_rc 1 &&
		err_has 'empctl: empblk5: mem_path "dram:512" rejected: No such file or directory' ||
		return 1
	[ ! -e "$CFG/empblk5" ] || fail "directory left behind"
}

t_create_unsupported_feature() {
	echo "mem_path size_mb block_size subblock_size enable" >"$CFG/features"
	run create empblk5 --mem-path dram:512 --queue-depth 8
	expect_rc 1 && err_has "does not support --queue-depth" || return 1
	[ ! -e "$CFG/empblk5" ] || fail "directory created" || return 1
	# a module older than ack_timeout
	echo "mem_path size_mb block_size subblock_size queue_depth poll_queues enable" >"$CFG/features"
	run create empblk5 --mem-path dram:512 --ack-timeout 20
	expect_rc 1 && err_has "does not support --ack-timeout" || return 1
	[ ! -e "$CFG/empblk5" ] || fail "directory created" || return 1
	# a module older than placement
	echo "mem_path size_mb block_size subblock_size queue_depth poll_queues ack_timeout enable" >"$CFG/features"
	run create empblk5 --mem-path dram:512 --placement sequential
	expect_rc 1 && err_has "does not support --placement" || return 1
	[ ! -e "$CFG/empblk5" ] || fail "directory created" || return 1
	# a module older than replicas
	echo "mem_path size_mb block_size subblock_size queue_depth poll_queues ack_timeout placement reconnect_delay loss_timeout enable" >"$CFG/features"
	run create empblk5 --mem-path dram:512 --replicas 2
	expect_rc 1 && err_has "does not support --replicas" || return 1
	[ ! -e "$CFG/empblk5" ] || fail "directory created"
}

t_destroy_missing() {
	run destroy empblk7 && expect_rc 1 &&
		[ "$err" = "empctl: no such device empblk7" ] ||
		fail "wrong message" || return 1
	run destroy empblk3 && expect_rc 1 && err_has "orphaned"
}

t_destroy_disables_first() {
	# enable=0 is written, then the fake refuses rmdir (not empty).
	run destroy empblk0 && expect_rc 1 &&
		err_has "cannot remove empblk0: Directory not empty" || return 1
	[ "$(cat "$CFG/empblk0/enable")" = "0" ] || fail "enable=0 not written"
}

t_destroy_write_error() {
	# A rejected enable=0 leaves the device untouched.
	rm "$CFG/empblk0/enable"
	mkdir "$CFG/empblk0/enable"
	run destroy empblk0 && expect_rc 1 && err_has "empblk0/enable" || return 1
	[ -d "$CFG/empblk0" ] || fail "device removed"
}

# ---- target: donor ports of emp_rdma_target -----------------------------

t_target_help() {
	local c
	run help && expect_rc 0 || return 1
	for c in "target start" "target stop" "target show" "target list"; do
		out_has "  $c " || return 1
	done
	run help target start && expect_rc 0 &&
		out_has "Usage: empctl target start -m MB [-p PORT] [-a ADDR] [-d DEV] [-n NAME]" &&
		out_has "-m, --budget MB" || return 1
	run target stop -h && expect_rc 0 && out_has "[-n NAME | -p PORT]" &&
		out_has "disconnects its clients" || return 1
	run help target && expect_rc 0 && out_has "  start " || return 1
	run target && expect_rc 2 && err_has "missing COMMAND" || return 1
	run target frobnicate && expect_rc 2 &&
		err_has "unknown command 'target frobnicate'" || return 1
	run help target frobnicate && expect_rc 2
}

t_create_help_mem_path() {
	run help create && expect_rc 0 && out_has "IP:MB:PORT" &&
		out_has "separated by '|'" &&
		out_has "write-back cache" &&
		out_has "'dram:64|10.0.0.1:1024:19675|10.0.0.2:1024:19675'"
}

t_target_missing_module() {
	local cmd
	mkdir -p "$T/tree/config-nomod"
	for cmd in "target start -m 64" "target stop" "target stop -n p0" \
		   "target show" "target show -n p0" "target list"; do
		# shellcheck disable=SC2086
		EMPCTL_TARGET_CONFIGFS=$T/tree/config-nomod/emp_target run $cmd
		expect_rc 1 && [ "$err" = \
			"empctl: emp_rdma_target module not loaded (try: modprobe emp_rdma_target)" ] ||
			fail "empctl $cmd: wrong message" || return 1
	done
	[ ! -e "$T/tree/config-nomod/emp_target" ] || fail "directory created"
}

t_target_start_order() {
	need_shim || return 0
	run_fake target start -m 4G -p 19680 -a 10.0.0.1 -d mlx5_0
	expect_rc 0 && [ -z "$out" ] && [ -z "$err" ] ||
		fail "expected silent success" || return 1
	log_is "mkdir p19680" "p19680/budget_mb=4096" "p19680/port=19680" \
	       "p19680/addr=10.0.0.1" "p19680/device=mlx5_0" \
	       "p19680/enable=1" || return 1
	[ "$(cat "$TGT/ports/p19680/budget_mb")" = 4096 ] &&
	[ "$(cat "$TGT/ports/p19680/listening")" = 1 ] ||
		fail "values not in the files"
}

t_target_start_defaults() {
	need_shim || return 0
	rm -rf "$TGT/ports/p19675"
	run_fake target start -m 512 && expect_rc 0 || return 1
	log_is "mkdir p19675" "p19675/budget_mb=512" "p19675/port=19675" \
	       "p19675/enable=1" || return 1
	rm -f "$T/fake.log"
	run_fake target start --budget 64 --port 1 --name donor-a &&
		expect_rc 0 || return 1
	log_is "mkdir donor-a" "donor-a/budget_mb=64" "donor-a/port=1" \
	       "donor-a/enable=1"
}

t_target_start_exists() {
	local before
	need_shim || return 0
	before=$(ports_snapshot)
	run_fake target start -m 1024 -a 10.0.0.2
	expect_rc 1 && [ "$err" = "empctl: target port p19675 already exists" ] ||
		fail "wrong message" || return 1
	log_is || return 1
	[ "$(ports_snapshot)" = "$before" ] || fail "the ports changed"
}

t_target_start_rejected() {
	need_shim || return 0
	EMPCTL_FAKE_REJECT=device run_fake target start -m 64 -p 19680 -d bogus0
	expect_rc 1 &&
		err_has 'empctl: p19680: device "bogus0" rejected: Invalid argument' ||
		return 1
	log_is "mkdir p19680" "p19680/budget_mb=64" "p19680/port=19680" \
	       "p19680/device=bogus0 rejected" "rmdir p19680" || return 1
	[ ! -e "$TGT/ports/p19680" ] || fail "port left behind"
}

t_target_start_rollback() {
	# Without the shim the directory has no attribute files: the first
	# write fails and the port must be removed again.
	run target start -m 64 -p 19680
	expect_rc 1 &&
		err_has 'empctl: p19680: budget_mb "64" rejected: No such file or directory' ||
		return 1
	[ ! -e "$TGT/ports/p19680" ] || fail "directory left behind"
}

t_target_start_usage() {
	local before args
	before=$(ports_snapshot)
	for args in "" "-p 19680" "-m 0" "-m 1.5G" "-m 512K" "-m x" "-m ''" \
		    "-m 64 -p 0" "-m 64 -p 65536" "-m 64 -p 019675" \
		    "-m 64 -p abc" "-m 64 -n a/b" "-m 64 -n .." "-m 64 -n ''" \
		    "-m 64 -n 'a b'" "-m 64 -a ''" "-m 64 extra" "-m 64 --bogus"; do
		eval "run target start $args"
		expect_rc 2 && err_has "Usage: empctl target start" ||
			fail "args: $args" || return 1
	done
	run target start && err_has "-m MB is required" || return 1
	run target start -m 0 && err_has "at least 1 MiB" || return 1
	run target start -m 64 -p 70000 && err_has "1..65535" || return 1
	[ "$(ports_snapshot)" = "$before" ] || fail "a usage error changed the ports"
}

t_target_start_unsupported_feature() {
	echo "addr port budget_mb enable" >"$TGT/features"
	run target start -m 64 -p 19680 -d mlx5_0
	expect_rc 1 && err_has 'does not support "device"' || return 1
	[ ! -e "$TGT/ports/p19680" ] || fail "directory created"
}

t_target_stop() {
	need_shim || return 0
	run_fake target stop -n p19675 && expect_rc 0 || return 1
	log_is "p19675/enable=0" "rmdir p19675" || return 1
	[ ! -e "$TGT/ports/p19675" ] && [ -d "$TGT/ports/backup" ] ||
		fail "wrong port removed" || return 1
	out_has "clients were disconnected" &&
		out_has "memory given to them was freed" &&
		out_has "(2 sessions, 8 MiB)"
}

t_target_stop_json() {
	need_shim || return 0
	run_fake -j target stop -n p19675 && expect_rc 0 || return 1
	jq_is '.' '{"name":"p19675","was_enabled":true,"sessions_disconnected":2,"bytes_freed":8388608}'
}

t_target_stop_by_port() {
	need_shim || return 0
	run_fake target stop -p 19700 && expect_rc 0 || return 1
	log_is "rmdir backup" || return 1
	[ ! -e "$TGT/ports/backup" ] && [ -d "$TGT/ports/p19675" ] ||
		fail "wrong port removed" || return 1
	out_has "backup removed (it was not enabled"
}

t_target_stop_only_port() {
	need_shim || return 0
	rm -rf "$TGT/ports/backup"
	run_fake target stop && expect_rc 0 || return 1
	log_is "p19675/enable=0" "rmdir p19675" || return 1
	[ -z "$(ls -A "$TGT/ports")" ] || fail "port left behind"
}

t_target_stop_ambiguous() {
	local before
	before=$(ports_snapshot)
	run target stop && expect_rc 2 && err_has "2 target ports exist" &&
		err_has "(backup, p19675)" && err_has "-n NAME" &&
		err_has "Usage: empctl target stop" || return 1
	run target stop -n p19675 -p 19675 && expect_rc 2 || return 1
	run target stop -p 0 && expect_rc 2 || return 1
	run target stop p19675 && expect_rc 2 || return 1
	mkport twin port=19700
	run target stop -p 19700 && expect_rc 2 &&
		err_has "several target ports use port number 19700 (backup, twin)" ||
		return 1
	rm -rf "$TGT/ports/twin"
	[ "$(ports_snapshot)" = "$before" ] || fail "the ports changed"
}

t_target_stop_missing() {
	run target stop -n nope && expect_rc 1 &&
		[ "$err" = "empctl: no such target port nope" ] ||
		fail "wrong message" || return 1
	run target stop -p 12345 && expect_rc 1 &&
		err_has "no such target port" || return 1
	rm -rf "$TGT/ports"/*
	run target stop && expect_rc 1 && err_has "no target port exists"
}

t_target_stop_disables_first() {
	# Without the shim, enable=0 is written, then rmdir fails (not empty).
	run target stop -n p19675 && expect_rc 1 &&
		err_has "cannot remove target port p19675: Directory not empty" ||
		return 1
	[ "$(cat "$TGT/ports/p19675/enable")" = "0" ] ||
		fail "enable=0 not written"
}

t_target_show_json() {
	run -j target show -n p19675 && expect_rc 0 || return 1
	[ "$(wc -l <"$T/out")" -eq 1 ] || fail "compact JSON must be one line" ||
		return 1
	jq_is 'keys' '["config","name","state"]' &&
	jq_is '.name' '"p19675"' &&
	jq_is '.config' '{"addr":"10.0.0.1","budget_mb":4096,"device":"mlx5_0","enable":1,"port":19675}' &&
	jq_is '.state | keys' '["alloc_failures","bad_messages","bytes_in_use","chunks_allocated","chunks_freed","chunks_in_use","listening","rejected_connects","sessions","sessions_total"]' &&
	jq_is '[.state[] | type] | unique' '["number"]' &&
	jq_is '.state.bytes_in_use' '8388608' &&
	jq_is '.state.sessions' '2'
}

t_target_list_json() {
	local list
	run -j target list && expect_rc 0 || return 1
	jq_is 'length' '2' &&
	jq_is '[.[].name]' '["backup","p19675"]' &&
	jq_is '.[0].config' '{"addr":"","budget_mb":512,"device":"","enable":0,"port":19700}' &&
	jq_is '.[1].state.sessions_total' '3' &&
	jq_is '[.[].state[] | type] | unique' '["number"]' || return 1
	list=$out
	run -j target show && expect_rc 0 && [ "$out" = "$list" ] ||
		fail "show without -n must print what list prints" || return 1
	run -p target list && expect_rc 0 &&
		[ "$(printf '%s' "$out" | jq -c .)" = "$(printf '%s' "$list" | jq -c .)" ] ||
		fail "pretty JSON differs"
}

t_target_list_empty() {
	rm -rf "$TGT/ports"/*
	run -j target list && expect_rc 0 && jq_is '.' '[]' || return 1
	run target list && expect_rc 0 && [ -z "$out" ] || fail "expected no output"
}

t_target_show_human() {
	local cols
	run target show -n p19675 && expect_rc 0 || return 1
	[ "$(sed -n 1p "$T/out")" = "p19675 (listening)" ] &&
	[ "$(sed -n 2p "$T/out")" = "Config:" ] &&
	[ "$(sed -n 8p "$T/out")" = "State:" ] ||
		fail "bad layout" || return 1
	# Config holds the five writable attributes, State the ten others.
	[ "$(sed -n 3,7p "$T/out" | awk '{ printf "%s ", $1 }')" = \
	  "addr: budget_mb: device: enable: port: " ] ||
		fail "bad Config section" || return 1
	[ "$(sed -n '9,$p' "$T/out" | wc -l)" -eq 10 ] ||
		fail "bad State section" || return 1
	grep -Eq '^  budget_mb: +4096 \(4 GiB\)$' "$T/out" &&
	grep -Eq '^  bytes_in_use: +8388608 \(8 MiB\)$' "$T/out" &&
	grep -Eq '^  addr: +10\.0\.0\.1$' "$T/out" &&
	grep -Eq '^  sessions: +2$' "$T/out" ||
		fail "missing or malformed key: value lines" || return 1
	cols=$(grep '^  [a-z_]*: ' "$T/out" | sed -E 's/^(  [a-z_]+: +).*/\1/' |
	       awk '{ print length($0) }' | sort -u | wc -l)
	[ "$cols" -eq 1 ] || fail "values not aligned" || return 1
	run target list && expect_rc 0 && out_has "backup (disabled)" &&
		out_has "p19675 (listening)" && grep -Eq '^  device: +\(empty\)$' "$T/out" ||
		fail "bad list"
}

t_target_show_generic() {
	# New files appear without code changes, classified by their mode.
	mkattrs "$TGT/ports/p19675" mtu=4096 rdma_events=7
	chmod 0444 "$TGT/ports/p19675/rdma_events"
	run -j target show -n p19675 && expect_rc 0 || return 1
	jq_is '.config.mtu' '4096' && jq_is '.state.rdma_events' '7' &&
	jq_is '.config | length' '6' && jq_is '.state | length' '11' || return 1
	# A port made by hand with a name empctl would not create.
	mkport "odd name" port=19690
	run -j target show -n "odd name" && expect_rc 0 &&
		jq_is '.config.port' '19690' || return 1
	run target start -m 64 -n "odd two" && expect_rc 2 &&
		err_has "invalid port name 'odd two'"
}

t_target_show_missing() {
	run target show -n nope && expect_rc 1 &&
		[ "$err" = "empctl: no such target port nope" ] ||
		fail "wrong message" || return 1
	run target show -n "a/b" && expect_rc 2 && err_has "invalid port name"
}

t_stdout_write_error() {
	[ -w /dev/full ] || { echo "# SKIP no /dev/full"; return 0; }
	"$EMPCTL" list >/dev/full 2>"$T/err"
	rc=$? out="" err=$(cat "$T/err")
	expect_rc 1 && err_has "write error"
}

t_man_page() {
	local warn
	if ! command -v man >/dev/null; then
		echo "# SKIP man not installed"
		return 0
	fi
	warn=$(MANWIDTH=80 man --warnings -l "$here/empctl.8" 2>&1 >"$T/man")
	rc=$? out=$(cat "$T/man") err=$warn
	expect_rc 0 && [ -z "$warn" ] || fail "man warnings" || return 1
	out_has "MEM-PATH SYNTAX" && out_has "EXIT STATUS" &&
		out_has "swapon /dev/empblk0" && out_has "TARGET COMMANDS" &&
		out_has "modprobe emp_rdma_target; empctl target start -m 4096 -a 10.0.0.1" &&
		out_has 'empctl create empblk0 --mem-path "10.0.0.1:4096:19675"' &&
		out_has "EMPCTL_TARGET_CONFIGFS"
}

tests=(
	t_version t_help_lists_commands t_help_command t_no_command
	t_unknown_command t_unknown_options t_create_requires_mem_path
	t_bad_names_rejected t_extra_or_missing_args t_size_conversion_errors
	t_missing_module t_configfs_unavailable t_list_human
	t_list_columns_aligned t_list_json t_list_json_empty t_pretty_json
	t_show_json_enabled t_show_backends t_show_human t_show_disabled t_show_orphaned
	t_show_missing t_json_string_escaping t_json_number_detection
	t_create_exists t_create_rollback t_create_unsupported_feature
	t_destroy_missing t_destroy_disables_first t_destroy_write_error
	t_stdout_write_error t_man_page
	t_target_help t_create_help_mem_path t_target_missing_module
	t_target_start_order t_target_start_defaults t_target_start_exists
	t_target_start_rejected t_target_start_rollback t_target_start_usage
	t_target_start_unsupported_feature t_target_stop t_target_stop_json
	t_target_stop_by_port t_target_stop_only_port t_target_stop_ambiguous
	t_target_stop_missing t_target_stop_disables_first t_target_show_json
	t_target_list_json t_target_list_empty t_target_show_human
	t_target_show_generic t_target_show_missing
)

echo "TAP version 13"
echo "1..${#tests[@]}"
passed=0 failed=0 n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	make_tree
	rc=0 out="" err=""
	if "$t"; then
		echo "ok $n - ${t#t_}"
		passed=$((passed + 1))
	else
		echo "not ok $n - ${t#t_}"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
