#!/bin/bash
# Harness smoke test for the two-guest topology: soft-RoCE (rxe; soft-iWARP
# with EMP_TEST_RDMA=siw) on eth0 in both guests, then rping from compute
# to donor over the link between the guests.
# guests: 2
# timeout: 300
. "$EMP_REPO/tests/lib/guest.sh"

count=5
command -v rping >/dev/null || emp_skip "rping not installed (rdmacm-utils)"

emp_rxe_up eth0 rxe0
emp_tap_ok "$EMP_ROLE: $_emp_rdma_link on eth0 is ACTIVE"

case $EMP_ROLE in
donor)
	rping -s -a "$EMP_SELF_IP" -v -C "$count" >/tmp/rping.out 2>&1 &
	srv=$!
	# rping listens right after start; the client retries anyway.
	sleep 1
	emp_sync_post server-up
	if ! emp_wait_for "! kill -0 $srv 2>/dev/null" 120 0.5; then
		kill "$srv" 2>/dev/null
		cat /tmp/rping.out
		emp_fail "rping server did not finish"
	fi
	wait "$srv"
	rc=$?
	cat /tmp/rping.out
	((rc == 0)) || emp_fail "rping server exited with status $rc"
	n=$(grep -c 'ping data' /tmp/rping.out || true)
	if ((n == count)); then
		emp_tap_ok "donor: rping server served $n pings"
	else
		emp_tap_not_ok "donor: rping server printed $n of $count pings"
	fi
	emp_sync_wait client-done 60
	;;
compute)
	emp_tap_check "compute: ping donor over eth0" busybox ping -c 2 -W 5 "$EMP_PEER_IP"
	emp_sync_wait server-up 180
	ok=0
	for try in 1 2 3 4 5 6 7 8 9 10; do
		if rping -c -a "$EMP_PEER_IP" -v -C "$count" >/tmp/rping.out 2>&1; then
			ok=1
			break
		fi
		echo "# rping attempt $try failed:"
		sed 's/^/#   /' /tmp/rping.out
		sleep 1
	done
	cat /tmp/rping.out
	n=$(grep -c 'ping data' /tmp/rping.out || true)
	if ((ok && n == count)); then
		emp_tap_ok "compute: rping client $count pings to $EMP_PEER_IP (attempt $try)"
	else
		emp_tap_not_ok "compute: rping client failed ($n of $count pings)"
	fi
	emp_sync_post client-done
	;;
*) emp_skip "needs two guests" ;;
esac
emp_rxe_down rxe0
emp_tap_done
