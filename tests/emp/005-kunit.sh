#!/bin/bash
# The KUnit suites of empblk's logic: empblk_spec (spec_kunit.c: mem_path
# parsing and striping), empblk_cache (cache_kunit.c: what the DRAM
# cache takes in, evicts and writes back, and that a block whose writeback
# failed or was overtaken stays dirty), both with the cases tests/unit
# runs in userspace, and empblk_dram (dram_kunit.c: the DRAM tier's
# budget, racing writers, discards and its emergency reserve), and
# empblk_place (placement_kunit.c: a failed backend's entries marked lost
# and moved, pages made good by writes to the new extent only, entries
# that stay when no backend has room or one is busy, two copies per entry
# degraded by one failed backend and lost only with both). The debug
# lane builds the module with EMPBLK_KUNIT=y; the suites run when it loads
# and report in KTAP in the kernel log.
# kernels: debug
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

[[ -d /sys/kernel/debug/kunit || -e /sys/module/kunit ]] ||
	grep -q kunit /proc/kallsyms 2>/dev/null || emp_skip "kernel without KUnit"
emp_modprobe_empblk
log=$(dmesg)
declare -A cases=(
	[empblk_spec]="empblk_spec_table_test empblk_layout_entry_test empblk_layout_run_test"
	[empblk_cache]="empblk_cache_sizes_test empblk_cache_insert_test empblk_cache_full_of_dirty_test
		empblk_cache_writeback_order_test empblk_cache_writeback_slots_test empblk_cache_evict_lru_clean_test
		empblk_cache_wb_overtaken_test empblk_cache_wb_failed_test empblk_cache_wb_run_test empblk_cache_discard_test
		empblk_cache_fill_test empblk_cache_fill_stale_test empblk_cache_fill_limits_test"
	[empblk_dram]="empblk_dram_budget_test empblk_dram_same_index_test empblk_dram_race_test empblk_dram_discard_test
		empblk_dram_zero_keep_test empblk_dram_reserve_test"
	[empblk_place]="empblk_place_salvage_test empblk_place_replicas_test empblk_place_found_test empblk_place_stuck_test"
)
for suite in empblk_spec empblk_cache empblk_dram empblk_place; do
	emp_tap_check "the $suite suite ran (module built with EMPBLK_KUNIT=y)" \
		grep -q "# Subtest: $suite\$" <<<"$log"
	for c in ${cases[$suite]}; do
		emp_tap_check "KUnit $c passed" grep -qE "[^t] ok [0-9]+ $c\$" <<<"$log"
	done
	emp_tap_check "the $suite suite passed as a whole" grep -qE "[^t] ok [0-9]+ $suite\$" <<<"$log"
done
emp_tap_check "no failed KUnit case" bash -c "! grep -q 'not ok' <<<\"\$0\"" "$log"
emp_tap_check "rmmod empblk" rmmod empblk
emp_tap_done
