#!/bin/bash
# Reproducer of a siw bug (not part of the suite; run it with
# EMP_TEST_RDMA=siw tests/run --kernel debug tests/debug/siw-listener-close.sh):
# plain TCP peers that connect to a siw listener and close at once make siw
# release the listener (Documentation/testing.rst, known problems). In the
# debug guest the listening socket was gone after 46 of them, and removing
# the port then read freed memory in siw_destroy_listen(). Over rxe the port
# is no TCP listener and the first check fails: this is for siw only.
# guests: 1
# timeout: 900
. "$EMP_REPO/tests/lib/guest.sh"
emp_rxe_up eth0 rxe0
emp_modprobe_target
T=/sys/kernel/config/emp_target/ports
mkdir $T/p0
echo "$EMP_SELF_IP" >$T/p0/addr
echo 19675 >$T/p0/port
echo 64 >$T/p0/budget_mb
echo 1 >$T/p0/enable || emp_fail "enable"
ss -ltn | sed 's/^/# /'
n=0
for i in $(seq 400); do
	(exec 3<>/dev/tcp/$EMP_SELF_IP/19675) 2>/dev/null && n=$((n + 1))
	if ! ss -ltn | grep -q ":19675 "; then
		emp_log "listener gone after $i connects ($n opened)"
		break
	fi
done
ss -ltn | sed 's/^/# /'
emp_tap_check "the listener survives $i peers that connect and close ($n opened)" bash -c "ss -ltn | grep -q ':19675 '"
rmdir $T/p0
emp_tap_check "rmmod" rmmod emp_rdma_target
emp_tap_done
