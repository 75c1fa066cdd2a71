#!/bin/bash
# The KUnit suite of empblk's pure logic (drivers/empblk/spec_kunit.c:
# mem_path parsing and striping, the cases tests/unit runs in userspace).
# The debug lane builds the module with EMPBLK_KUNIT=y; the suite runs
# when it loads and reports in KTAP in the kernel log.
# kernels: debug
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

[[ -d /sys/kernel/debug/kunit || -e /sys/module/kunit ]] ||
	grep -q kunit /proc/kallsyms 2>/dev/null || emp_skip "kernel without KUnit"
emp_modprobe_empblk
log=$(dmesg)
emp_tap_check "the empblk_spec suite ran (module built with EMPBLK_KUNIT=y)" \
	grep -q "# Subtest: empblk_spec" <<<"$log"
for c in empblk_spec_table_test empblk_stripe_locate_test empblk_stripe_chunks_covered_test; do
	emp_tap_check "KUnit $c passed" grep -qE "[^t] ok [0-9]+ $c\$" <<<"$log"
done
emp_tap_check "the suite passed as a whole" grep -qE "[^t] ok [0-9]+ empblk_spec\$" <<<"$log"
emp_tap_check "no failed KUnit case" bash -c "! grep -q 'not ok' <<<\"\$0\"" "$log"
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
