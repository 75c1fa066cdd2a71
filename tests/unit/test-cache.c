// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of the DRAM cache's policy:
 * drivers/empblk/cache_policy.c compiled unchanged against the stand-in
 * headers in shim/, running the cases the KUnit suite empblk_cache runs in
 * the kernel (drivers/empblk/cache_policy_cases.h). The shim's
 * lockdep_assert_held() aborts if a policy function runs without the lock.
 * TAP output, exit status 1 if any case failed.
 */
#include <linux/kernel.h>
#include <linux/string.h>

#include "../../drivers/empblk/cache_policy.h"

char shim_last_msg[512];

/* one case: its name, failed checks, and the memory it allocated */
struct ct_case {
	const char *name;
	int failed;
	void *mem[64];
	int nmem;
};

static void *ct_zalloc_(struct ct_case *t, size_t size)
{
	void *p;

	if (t->nmem == 64)
		return NULL;
	p = calloc(1, size);
	t->mem[t->nmem++] = p;
	return p;
}

static void ct_fail(struct ct_case *t, const char *file, int line,
		    const char *what)
{
	t->failed++;
	printf("#   %s: %s:%d: expected %s\n", t->name, file, line, what);
}

#define CT_T			struct ct_case *
#define CT_EXPECT(t, cond) \
	do { if (!(cond)) ct_fail(t, __FILE__, __LINE__, #cond); } while (0)
#define CT_ASSERT(t, cond) \
	do { if (!(cond)) { ct_fail(t, __FILE__, __LINE__, #cond); return; } } while (0)
#define ct_zalloc(t, size)	ct_zalloc_(t, size)

#include "../../drivers/empblk/cache_policy_cases.h"

static const struct {
	const char *name;
	void (*fn)(struct ct_case *t);
} cases[] = {
#define C(n) { #n, n }
	C(empblk_cache_sizes_test),
	C(empblk_cache_insert_test),
	C(empblk_cache_full_of_dirty_test),
	C(empblk_cache_writeback_order_test),
	C(empblk_cache_writeback_slots_test),
	C(empblk_cache_evict_lru_clean_test),
	C(empblk_cache_wb_overtaken_test),
	C(empblk_cache_wb_failed_test),
	C(empblk_cache_wb_run_test),
	C(empblk_cache_discard_test),
	C(empblk_cache_fill_test),
	C(empblk_cache_fill_stale_test),
	C(empblk_cache_fill_limits_test),
#undef C
};

int main(void)
{
	size_t i, failed = 0;
	int k;

	printf("TAP version 13\n1..%zu\n", sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_case t = { .name = cases[i].name };

		cases[i].fn(&t);
		printf("%sok %zu - %s\n", t.failed ? "not " : "", i + 1, t.name);
		failed += !!t.failed;
		for (k = 0; k < t.nmem; k++)
			free(t.mem[k]);
	}
	printf("%zu passed, %zu failed\n", sizeof(cases) / sizeof(cases[0]) - failed, failed);
	return failed ? 1 : 0;
}
