#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit test of the harness's guest verdict (vm_guest_verdict in
# tests/lib/vm.sh): no guest is booted. Each case fakes the files a guest
# leaves in its role directory (status, qemu.rc, console.log, dmesg.txt)
# and checks the verdict and its reason. It runs under the same shell
# options and ERR trap as tests/run, so a command in the verdict code that
# fails on one kind of console log (as a grep without a match under
# pipefail once did, on a panic without an oops) fails here too. Prints TAP.

set -eEuo pipefail
export LC_ALL=C

EMP_REPO=$(cd "$(dirname "$0")/../.." && pwd)
EMP_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/test-verdict.XXXXXX")
export EMP_REPO EMP_CACHE
T=$EMP_CACHE
trap 'rm -rf "$T"' EXIT
# shellcheck source=tests/lib/vm.sh
. "$EMP_REPO/tests/lib/vm.sh"

errors=0
trap 'echo "# error: line $LINENO: $BASH_COMMAND (exit $?)"; errors=$((errors + 1))' ERR

n=0
passed=0
failed=0
# check NAME RES WHY-PATTERN: run the verdict on $d, compare
check() {
	local name=$1 res=$2 pat=$3 e0=$errors
	_v_res=''
	_v_why=''
	vm_guest_verdict "$d" 30
	n=$((n + 1))
	# shellcheck disable=SC2053 # the pattern is a glob on purpose
	if ((errors == e0)) && [[ $_v_res == "$res" && $_v_why == $pat ]]; then
		echo "ok $n - $name"
		passed=$((passed + 1))
	else
		echo "not ok $n - $name"
		echo "# expected $res ($pat), got $_v_res ($_v_why)$( ((errors == e0)) || echo ', and a command failed')"
		failed=$((failed + 1))
	fi
}

# role DIR: a fresh role directory
role() {
	d=$T/$1
	mkdir -p "$d"
}

echo "TAP version 13"

role pass
echo 0 >"$d/status"
echo 0 >"$d/qemu.rc"
printf '[    1.0] emp: test done\n' >"$d/dmesg.txt"
check "status 0 and a clean kernel log pass" pass ""

role dmesg
echo 0 >"$d/status"
printf '[    1.0] WARNING: CPU: 0 PID: 1 at mm/slub.c:1 x+0x1/0x2\n' >"$d/dmesg.txt"
check "a WARNING in the kernel log fails a passing test, and is named" fail "kernel log has errors: WARNING: CPU: 0 PID: 1 at mm/slub.c:1 x+0x1/0x2"

role fi-kmemleak
echo 0 >"$d/status"
cat >"$d/dmesg.txt" <<'EOF'
[   58.58] emp-fi: n=210
[   58.61] kmemleak: Cannot allocate a scan area, scanning the full object
[   59.53] emp-fi: n=end
EOF
check "kmemleak's scan-area notice inside a fault-injection sweep is no error" pass ""

role kmemleak-outside
echo 0 >"$d/status"
cat >"$d/dmesg.txt" <<'EOF'
[   58.61] kmemleak: Cannot allocate a scan area, scanning the full object
EOF
check "the same notice outside a sweep fails" fail "kernel log has errors: kmemleak: Cannot allocate a scan area*"

role fi-leak
echo 0 >"$d/status"
cp "$T/fi-kmemleak/dmesg.txt" "$d/dmesg.txt"
echo '[  155.73] kmemleak: 5 new suspected memory leaks (see /sys/kernel/debug/kmemleak)' >>"$d/dmesg.txt"
check "a leak report after a sweep still fails" fail "kernel log has errors: kmemleak: 5 new suspected memory leaks*"

role exit
echo 1 >"$d/status"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
check "a nonzero status fails" fail "test exited with status 1"

role exit-subtest
echo 1 >"$d/status"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
printf 'ok 1 - first\nnot ok 2 - enable after the failures\nnot ok 3 - later\nFAIL: 2 of 3 sub-tests failed\n' >"$d/output.txt"
check "a nonzero status names the first failed sub-test" fail \
	"test exited with status 1: not ok 2 - enable after the failures"

role exit-fail
echo 1 >"$d/status"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
printf 'ok 1 - first\nFAIL: timed out after 300s waiting for checked\n' >"$d/output.txt"
check "a nonzero status without a failed sub-test names the FAIL line" fail \
	"test exited with status 1: FAIL: timed out after 300s waiting for checked"

role exit-hang
echo 124 >"$d/status"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
printf 'ok 1 - first\nnot ok 2 - a write and a read back\n' >"$d/output.txt"
check "a test that timed out in the guest names the check it failed" fail \
	"test timed out in the guest: not ok 2 - a write and a read back"

role skip
echo 4 >"$d/status"
echo "no rxe" >"$d/skip_reason"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
check "status 4 skips with the reason" skip "no rxe"

role nodmesg
echo 0 >"$d/status"
check "a passing guest without dmesg.txt fails" fail "no dmesg.txt*"

role hang
echo 124 >"$d/qemu.rc"
check "a guest killed by the timeout is a hang" fail "timeout: guest hung, killed after 30s"

role killed
touch "$d/killed"
check "a guest killed after its peer crashed says so" fail "killed after its peer crashed"

role panic-plain
echo 0 >"$d/qemu.rc"
printf 'sysrq: Trigger a crash\r\nKernel panic - not syncing: sysrq triggered crash\r\n' >"$d/console.log"
check "a panic without an oops (sysrq-c) names the panic" fail \
	"kernel panic: Kernel panic - not syncing: sysrq triggered crash"

role panic-oops
echo 0 >"$d/qemu.rc"
cat >"$d/console.log" <<'EOF'
[  812.1] BUG: kernel NULL pointer dereference, address: 0000000000000008
[  812.1] #PF: supervisor read access in kernel mode
[  812.1] Oops: 0000 [#1] PREEMPT SMP NOPTI
[  812.1] RIP: 0010:rxe_comp_queue_pkt+0x1d/0x60 [rdma_rxe]
[  812.2] Kernel panic - not syncing: Fatal exception in interrupt
EOF
check "a panic after an oops names the first oops lines" fail \
	"kernel panic: Kernel panic - not syncing: Fatal exception in interrupt (BUG: kernel NULL pointer dereference, address: 0000000000000008;Oops: 0000 *)"

role panic-kasan
echo 0 >"$d/qemu.rc"
cat >"$d/console.log" <<'EOF'
[   62.6] BUG: KASAN: slab-use-after-free in do_raw_spin_lock+0x245/0x270
[   62.6] Read of size 4 at addr ffff888001b2a9cc by task ksoftirqd/0/16
[   62.6] Call Trace:
[   62.6]  <TASK>
[   62.6]  dump_stack_lvl+0x66/0xa0
[   62.6]  print_report+0xce/0x650
[   62.6]  ? do_raw_spin_lock+0x245/0x270
[   62.6]  kasan_report+0xfe/0x130
[   62.6]  do_raw_spin_lock+0x245/0x270
[   62.6]  ? __pfx_do_raw_spin_lock+0x10/0x10
[   62.6]  _raw_spin_lock_irqsave+0x3f/0x60
[   62.6]  rxe_req_notify_cq+0x24/0x1e0
[   62.6]  ib_poll_handler+0xed/0x260
[   62.6]  irq_poll_softirq+0x2c0/0x580
[   62.6]  </TASK>
[   62.6] 
[   62.6] Allocated by task 36:
[   62.6]  kasan_save_stack+0x33/0x60
[   62.6]  __ib_alloc_cq+0xba/0xe10
[   62.6] 
[   62.6] Freed by task 38:
[   62.6]  kasan_save_stack+0x33/0x60
[   62.6]  __kasan_slab_free+0x37/0x50
[   62.6]  kfree+0x135/0x460
[   62.6]  emptgt_queue_release_work+0x4dd/0xaf0 [emp_rdma_target]
[   62.6]  process_one_work+0x81e/0x17d0
[   62.6]  worker_thread+0x58f/0xfa0
[   62.7] Oops: general protection fault, probably for non-canonical address 0xe0dcfc2c40000014: 0000 [#1]
[   62.7] Kernel panic - not syncing: Fatal exception in interrupt
EOF
check "a panic after a KASAN report names where it happened and what freed it" fail \
	"kernel panic: * (BUG: KASAN: slab-use-after-free in do_raw_spin_lock+0x245/0x270;*; at do_raw_spin_lock < _raw_spin_lock_irqsave < rxe_req_notify_cq < ib_poll_handler; freed at emptgt_queue_release_work < process_one_work)"

role fatal
echo 0 >"$d/qemu.rc"
printf 'emp-init: FATAL: cannot mount 9p\n' >"$d/console.log"
check "a failed guest setup says what failed" fail "guest setup failed: emp-init: FATAL: cannot mount 9p"

role nothing
echo 0 >"$d/qemu.rc"
printf 'booting\n' >"$d/console.log"
check "a guest gone without status or panic is a crash" fail "guest exited without a status (crash?), qemu rc=0"

# digest NAME EXPECTED: vm_fail_digest of $d must print EXPECTED exactly
digest() {
	local name=$1 want=$2 got e0=$errors
	got=$(vm_fail_digest "$d")
	n=$((n + 1))
	if ((errors == e0)) && [[ $got == "$want" ]]; then
		echo "ok $n - digest: $name"
		passed=$((passed + 1))
	else
		echo "not ok $n - digest: $name"
		diff <(echo "$want") <(echo "$got") | sed 's/^/# /' || true
		failed=$((failed + 1))
	fi
}

role digest-subtest
echo 1 >"$d/status"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
printf 'line 1\nline 2\nline 3\nline 4\nline 5\r\nnot ok 2 - enable after the failures\nline 7\nnot ok 3 - later\n' >"$d/output.txt"
digest "the first failed check with the 4 lines before it, and no kernel line on a clean log" \
	"$(printf 'output: line 2\noutput: line 3\noutput: line 4\noutput: line 5\noutput: not ok 2 - enable after the failures')"

role digest-tail
echo 1 >"$d/status"
printf 'a\nb\nc\nd\ne\nf\ng\n' >"$d/output.txt"
printf '[    1.0] ok\n' >"$d/dmesg.txt"
digest "without a failed check, the output's last 5 lines" \
	"$(printf 'output: c\noutput: d\noutput: e\noutput: f\noutput: g')"

role digest-short
echo 1 >"$d/status"
printf 'FAIL: no device\n' >"$d/output.txt"
digest "a FAIL line as the first line, with no kernel log at all" "output: FAIL: no device"

role digest-warn
echo 0 >"$d/status"
cat >"$d/dmesg.txt" <<'EOF'
[   10.0] emp: test start
[   10.1] ------------[ cut here ]------------
[   10.1] WARNING: CPU: 1 PID: 77 at drivers/empblk/main.c:120 empblk_dev_destroy+0x1a/0x90 [empblk]
[   10.1] Modules linked in: empblk
[   10.1] RIP: 0010:empblk_dev_destroy+0x1a/0x90 [empblk]
[   10.1] Call Trace:
[   10.1]  <TASK>
[   10.1]  ? __warn+0x80/0x120
[   10.1]  empblk_dev_destroy+0x1a/0x90 [empblk]
[   10.1]  empblk_group_release+0x22/0x40 [empblk]
[   10.1]  config_item_put+0x8a/0xb0
[   10.1]  configfs_rmdir+0x1e3/0x330
[   10.1]  vfs_rmdir+0x8e/0x1a0
[   10.1]  </TASK>
[   10.2] Call Trace:
[   10.2]  later_unrelated+0x1/0x2
EOF
digest "a WARNING: the line and its call chain" \
	"$(printf 'kernel: WARNING: CPU: 1 PID: 77 at drivers/empblk/main.c:120 empblk_dev_destroy+0x1a/0x90 [empblk]\nkernel: at empblk_dev_destroy < empblk_group_release < config_item_put < configfs_rmdir')"

role digest-leak
echo 0 >"$d/status"
printf '[   20.0] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n' >"$d/dmesg.txt"
cat >"$d/kmemleak.txt" <<'EOF'
unreferenced object 0xffff888004a1c000 (size 4096):
  comm "kworker/0:1", pid 33, jiffies 4294901234
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 5d3e1f2a):
    kmemleak_alloc+0x4a/0x80
    __kmalloc_noprof+0x2f0/0x3e0
    siw_alloc_mr+0x1b3/0x4a0 [siw]
    ib_mr_pool_init+0xb4/0x1a0
    empblk_queue_alloc_sinks+0x61/0x120 [empblk]
    empblk_queue_connect+0x3e/0x2a0 [empblk]
    process_one_work+0x81e/0x17d0
unreferenced object 0xffff888004a1d000 (size 4096):
  backtrace (crc 5d3e1f2b):
    [<ffffffff81234567>] other_fn+0x1/0x2
EOF
digest "a kmemleak report: where its first object was allocated" \
	"$(printf 'kernel: kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\nkernel: leaked from siw_alloc_mr < ib_mr_pool_init < empblk_queue_alloc_sinks < empblk_queue_connect')"

role digest-leak-old
printf '[   20.0] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n' >"$d/dmesg.txt"
cat >"$d/kmemleak.txt" <<'EOF'
unreferenced object 0xffff888004a1c000 (size 64):
  comm "modprobe", pid 90, jiffies 4294901234 (age 12.100s)
  backtrace:
    [<000000001d2c3b4a>] kmalloc_trace+0x26/0x90
    [<00000000aa1b2c3d>] emp_planted_init+0x20/0x1000 [emp_planted]
    [<00000000bb1b2c3d>] do_one_initcall+0x56/0x230
EOF
digest "a kmemleak report in 6.1's form, with addresses" \
	"$(printf 'kernel: kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\nkernel: leaked from emp_planted_init < do_one_initcall')"

role digest-hung
cat >"$d/console.log" <<'EOF'
[  300.0] INFO: task kworker/u4:2:55 blocked for more than 120 seconds.
[  300.0] Call Trace:
[  300.0]  <TASK>
[  300.0]  __schedule+0x3c1/0xa40
[  300.0]  schedule+0x27/0xa0
[  300.0]  empblk_queue_drain+0x88/0x120 [empblk]
[  300.0]  </TASK>
EOF
digest "without dmesg.txt, a hung task in the console log, with its chain" \
	"$(printf 'kernel: INFO: task kworker/u4:2:55 blocked for more than 120 seconds.\nkernel: at __schedule < schedule < empblk_queue_drain')"

role digest-panic
cat >"$d/console.log" <<'EOF'
[    5.1] sysrq: Trigger a crash
[    5.1] Kernel panic - not syncing: sysrq triggered crash
[    5.1] CPU: 0 PID: 120 Comm: bash Not tainted 6.1.0-57-amd64 #1  Debian 6.1.158-1
[    5.1] Call Trace:
[    5.1]  <TASK>
[    5.1]  dump_stack_lvl+0x44/0x5c
[    5.1]  panic+0x118/0x2ed
[    5.1]  sysrq_handle_crash+0x16/0x20
[    5.1]  __handle_sysrq.cold+0x43/0x11b
[    5.1]  write_sysrq_trigger+0x24/0x40
[    5.1]  </TASK>
EOF
digest "a panic without an oops: the panic line and its chain, not the trace's header" \
	"$(printf 'kernel: Kernel panic - not syncing: sysrq triggered crash\nkernel: at panic < sysrq_handle_crash < __handle_sysrq.cold < write_sysrq_trigger')"

echo "1..$n"
echo "$passed passed, $failed failed"
((failed == 0))
