# shellcheck shell=bash
# What in a kernel log fails a test. Sourced by the host side (vm.sh: the
# check after each test, authoritative) and by the guest side (guest.sh:
# emp_dmesg_check, for early exits), so both judge a log the same way.

# Kernel-log patterns that fail a test (extended regexp, case-sensitive).
EMP_DMESG_BAD='WARNING:|BUG:|Oops|Call Trace|general protection fault|kernel BUG|possible circular locking|lockdep|KASAN|UBSAN|kmemleak|Read-error on swap-device|Write-error on swap-device|soft lockup|hung_task|blocked for more than'
# Known-benign boot lines that contain one of the words above (debug kernel).
EMP_DMESG_ALLOW='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread started|KernelAddressSanitizer initialized|RCU lockdep checking is enabled|Lock dependency validator|MAX_LOCKDEP_|lock dependency info|hung_task_timeout_secs'

# emp_kmsg_without_injected [FILE]: the kernel log (FILE, else standard
# input) minus the stack dumps of allocation failures a fault-injection
# sweep caused (tests/lib/fault.sh marks each injection "emp-fi: n=N", and
# "emp-fi: n=end" after the last). After a "page allocation failure:" or
# "vmalloc error:" inside the sweep, the dump's own lines (CPU, Hardware
# name, Call Trace, frames) are dropped; so is kmemleak's one-line notice
# that an injected failure hit its own scan-area allocation (it then scans
# the whole object: no leak goes unseen). Any other line, a WARNING, BUG or
# KASAN report among them, stays and fails the test.
emp_kmsg_without_injected() {
	awk '
		/ emp-fi: n=end$/ { sweep = 0; dump = 0; print; next }
		/ emp-fi: n=/ { sweep = 1; dump = 0; print; next }
		sweep && /(page allocation failure: |vmalloc error: )/ { dump = 1; print; next }
		sweep && /\] kmemleak: Cannot allocate a scan area, scanning the full object$/ { dump = 0; next }
		dump && /^\[ *[0-9.]+\] +(([?] )?[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+( \[[A-Za-z0-9_]+\])?|Call Trace:|<\/?TASK>|<\/?IRQ>|CPU: .*|Hardware name: .*|Tainted: .*)$/ { next }
		{ dump = 0; print }' "$@"
}

# emp_kmsg_offenders [FILE]: the lines of the kernel log (FILE, else
# standard input) that fail a test, at most 40.
emp_kmsg_offenders() {
	emp_kmsg_without_injected "$@" | grep -aE "$EMP_DMESG_BAD" | grep -avE "$EMP_DMESG_ALLOW" | head -n 40 || true
}
