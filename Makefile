# SPDX-License-Identifier: GPL-2.0
#
# Top-level build of empblk: both kernel modules for every installed Debian
# kernel header set (or only KDIR=...), and the empctl tool.
#
# Each kernel gets its own copy of the source tree under build/<kernel
# release>/ because Kbuild writes its objects next to the sources; building
# two kernels in one tree would mix their objects.

ROOT      := $(CURDIR)
BUILD     := $(ROOT)/build
SRC_DIRS  := Kbuild drivers include

# Every Debian amd64 header tree installed, unless the caller names one.
ifeq ($(origin KDIR),undefined)
KDIRS := $(wildcard /usr/src/linux-headers-*-amd64)
else
KDIRS := $(KDIR)
endif


KMAKE_FLAGS := W=1

.PHONY: all modules empctl test-progs unit unit-spec unit-cache unit-harness check-debug check-full clean lint checkpatch sparse install help check-kdirs

all: modules empctl test-progs

check-kdirs:
	@if [ -z "$(strip $(KDIRS))" ]; then \
		echo "No kernel headers found: apt-get install linux-headers-amd64 linux-headers-6.12-amd64, or pass KDIR=" >&2; \
		exit 1; \
	fi

modules: check-kdirs
	@set -e; for k in $(KDIRS); do \
		kv=$$(basename $$k | sed "s/^linux-headers-//"); \
		out=$(BUILD)/$$kv; \
		mkdir -p $$out; \
		rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
			--exclude='*.mod*' --exclude='*.order' --exclude='Module.symvers' \
			$(SRC_DIRS) $$out/ ; \
		echo "  BUILD   $$kv"; \
		$(MAKE) -C $$k M=$$out $(KMAKE_FLAGS) modules; \
		if [ "$(PLANTED)" = y ]; then \
			mkdir -p $$out/planted; \
			rsync -a --delete tests/debug/planted/ $$out/planted/; \
			echo "  BUILD   $$kv planted-bug module (debug lane self-test)"; \
			$(MAKE) -C $$k M=$$out/planted modules; \
		fi; \
	done

empctl:
	$(MAKE) -C tools/empctl O=$(BUILD)

# Userspace helpers the guest tests run (from the host's root over 9p).
test-progs: $(BUILD)/tests/memverify $(BUILD)/tests/empprobe $(BUILD)/tests/wrdiscard \
	$(BUILD)/tests/lostscan $(BUILD)/tests/xcpu $(BUILD)/tests/ethhub

# a userspace client of the wire protocol (librdmacm, libibverbs)
$(BUILD)/tests/empprobe: tests/src/empprobe.c include/emp/emp-proto.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lrdmacm -libverbs

$(BUILD)/tests/xcpu: tests/src/xcpu.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -pthread -o $@ $<

$(BUILD)/tests/%: tests/src/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# Userspace unit tests of the modules' pure logic (spec.c, spec.h),
# compiled unchanged against the stand-in headers in tests/unit/shim.
UNIT_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -I tests/unit/shim

$(BUILD)/tests/unit-spec: tests/unit/test-spec.c drivers/empblk/spec.c \
		drivers/empblk/spec.h drivers/empblk/spec_test_cases.h \
		$(wildcard tests/unit/shim/linux/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ tests/unit/test-spec.c drivers/empblk/spec.c

$(BUILD)/tests/unit-cache: tests/unit/test-cache.c drivers/empblk/cache_policy.c \
		drivers/empblk/cache_policy.h drivers/empblk/cache_policy_cases.h \
		$(wildcard tests/unit/shim/linux/*.h tests/unit/shim/asm/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ tests/unit/test-cache.c drivers/empblk/cache_policy.c

unit: unit-spec unit-cache unit-harness

unit-spec: $(BUILD)/tests/unit-spec
	$(BUILD)/tests/unit-spec

unit-cache: $(BUILD)/tests/unit-cache
	$(BUILD)/tests/unit-cache

# The harness's own verdict logic, on faked guest output (no guest).
unit-harness:
	tests/unit/test-verdict.sh
	tests/unit/test-kernel-choice.sh
	tests/unit/test-build-kernel.sh

# The debug-kernel lane: KASAN, lockdep, kmemleak and KUnit (tests/run-debug).
check-debug:
	tests/run-debug

# The long lane, beside the suite: the whole block x subblock x backend
# matrix (tests/emp/038-matrix.sh, 24 cells), and the backend mix
# (037-mix.sh) and remote fio runs (070-remote-fio.sh) at full size, on
# both kernels.
FULL_TESTS := tests/emp/036-ssd.sh tests/emp/037-mix.sh tests/emp/038-matrix.sh tests/emp/070-remote-fio.sh
check-full: all
	EMP_TEST_MATRIX=full tests/run --no-build --kernel 6.1 $(FULL_TESTS)
	EMP_TEST_MATRIX=full tests/run --no-build --kernel 6.12 $(FULL_TESTS)

# Static checks: checkpatch --strict over every source file, and sparse
# (C=2 rechecks every file) with W=1 on each kernel.
lint: checkpatch sparse

checkpatch:
	@tools/lint/checkpatch.sh

sparse: check-kdirs
	@set -e; for k in $(KDIRS); do \
		kv=$$(basename $$k | sed "s/^linux-headers-//"); \
		out=$(BUILD)/sparse-$$kv; \
		mkdir -p $$out; \
		rsync -a --delete $(SRC_DIRS) $$out/ ; \
		echo "  SPARSE  $$kv"; \
		$(MAKE) -C $$k M=$$out W=1 C=2 CHECK="sparse -Wno-unknown-attribute" modules 2>&1 | tee $$out/sparse.log; \
		if grep -E 'warning:|error:' $$out/sparse.log; then \
			echo "sparse or W=1 warnings on $$kv" >&2; exit 1; fi; \
	done

install: modules empctl test-progs
	@set -e; for k in $(KDIRS); do \
		kv=$$(basename $$k | sed "s/^linux-headers-//"); \
		$(MAKE) -C $$k M=$(BUILD)/$$kv INSTALL_MOD_DIR=updates modules_install; \
	done
	$(MAKE) -C tools/empctl O=$(BUILD) install DESTDIR=$(DESTDIR) PREFIX=$(or $(PREFIX),/usr)
	install -D -m 0644 udev/60-empblk.rules $(DESTDIR)/usr/lib/udev/rules.d/60-empblk.rules

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tools/empctl clean

help:
	@echo "make [KDIR=/usr/src/linux-headers-<ver>]   build modules (per kernel, in build/<ver>/) and empctl"
	@echo "make lint                                   checkpatch --strict and sparse/W=1 on every kernel"
	@echo "make unit                                   userspace unit tests (mem_path, striping, cache policy, harness verdicts)"
	@echo "make install                                install modules (updates/), empctl, man page, udev rule"
	@echo "tests/run-all                               install deps, build, lint and run the guest test suite"
