#!/usr/bin/env bash
# Failover with the real engine: a two-node corosync (knet) + Pacemaker cluster on this one
# machine, each node a network namespace of this test's own (a veth pair between them, private
# addresses that exist only there) running `unshare --mount --pid --fork --mount-proc --uts
# --ipc` with private tmpfs on /run and /dev/shm and bind-mounted per-node copies of
# /etc/corosync, /var/lib/corosync, /var/lib/pacemaker, the log directories and the OCF agent
# directory (which holds ocf:psctl:pcheck). corosync and pacemakerd are started by hand.
#
# A group of ocf:psctl:pcheck and ocf:heartbeat:Dummy (standing for the service address), with
# migration-threshold=1, runs on node1; a watched process on node1 is killed until its retry
# limit with action `exit`; crm_mon -1 --failcounts must then show the failure on node1 and
# the whole group started on node2.
#
# Needs root. Bounded in time (every wait has a limit; the whole run a few minutes at most);
# every namespace, process and file it made is removed on exit, failed or not. Ends with
# "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: tests/ha/cluster.sh needs root (namespaces, corosync, pacemaker)" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
for t in corosync pacemakerd crm crm_mon cibadmin ip unshare nsenter; do
    command -v "$t" >/dev/null || { echo "$t missing: run scripts/setup-test-deps" >&2; exit 2; }
done
[ -x /usr/lib/ocf/resource.d/heartbeat/Dummy ] || { echo "resource-agents missing: run scripts/setup-test-deps" >&2; exit 2; }
find_bins

W=$(mktemp -d /tmp/psctl-cluster.XXXXXX)
tag=$(printf '%x' $(($$ & 0xfffff)))
ns=(none "psctl-ha-$tag-1" "psctl-ha-$tag-2")
addr=(none 10.213.0.1 10.213.0.2)
init=(none "" "")        # host pid of each node's init (PID 1 of its pid namespace)
launcher=(none "" "")

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
        for i in 1 2; do
            for f in "$W/n$i/log-pacemaker/pacemaker.log" "$W/n$i/log-corosync/corosync.log"; do
                [ -s "$f" ] && { echo "--- last lines of node$i ${f##*/}"; tail -n 25 "$f"; }
            done
            if [ -n "${init[$i]}" ]; then
                echo "--- pcheck's stderr on node$i"
                "$W/on" "$i" sh -c 'tail -n 25 /run/resource-agents/pcheck-*.log' 2>&1
            fi
        done
    fi
    # Killing a pid namespace's init kills every process in it (corosync, pacemaker, pcheck,
    # the watched daemon); its mount namespace and mounts go with the last process.
    for i in 1 2; do
        [ -n "${init[$i]}" ] && kill -KILL "${init[$i]}" 2>/dev/null
        [ -n "${launcher[$i]}" ] && kill -KILL "${launcher[$i]}" 2>/dev/null
    done
    for i in 1 2; do
        [ -n "${launcher[$i]}" ] && wait_for 10 bash -c "! kill -0 ${launcher[$i]} 2>/dev/null"
        ip netns del "${ns[$i]}" 2>/dev/null # takes the veth pair with it
    done
    rm -rf "$W"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# $W/on NODE CMD...: run CMD inside node NODE (all its namespaces).
cat >"$W/on" <<'EOF'
#!/bin/sh
i=$1
shift
exec nsenter -t "$(cat "$(dirname "$0")/init$i")" -m -u -i -n -p -- "$@"
EOF
chmod 755 "$W/on"
on() { "$W/on" "$@"; }

# --- the nodes' files --------------------------------------------------------------------
for i in 1 2; do
    d=$W/n$i
    mkdir -p "$d/etc-corosync" "$d/lib-corosync" "$d/log-corosync" "$d/ocf"
    cp -a /var/lib/pacemaker "$d/lib-pacemaker"
    cp -a /var/log/pacemaker "$d/log-pacemaker"
    cp -a /usr/lib/ocf/resource.d/. "$d/ocf/"
    mkdir -p "$d/ocf/psctl"
    install -m 0755 "$AGENT" "$d/ocf/psctl/pcheck"
    cat >"$d/etc-corosync/corosync.conf" <<EOF
totem {
    version: 2
    cluster_name: psctl-ha
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 1000
}
nodelist {
    node {
        name: node1
        nodeid: 1
        ring0_addr: ${addr[1]}
    }
    node {
        name: node2
        nodeid: 2
        ring0_addr: ${addr[2]}
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    timestamp: on
}
EOF
    # The properties are in the CIB before pacemaker starts, so the short dc-deadtime already
    # applies to the first election.
    cib=$d/lib-pacemaker/cib/cib.xml
    cibadmin --empty >"$cib"
    CIB_file=$cib crm_attribute --type crm_config --name stonith-enabled --update false
    CIB_file=$cib crm_attribute --type crm_config --name dc-deadtime --update 2s
    chown hacluster:haclient "$cib"
    chmod 0600 "$cib"
done

# The monitored service, the same on both nodes (a shared disk, in effect): a process whose
# argv[0] is ha-daemon, restarted by a script; one restart allowed, then `exit`.
name=ha-daemon
cat >"$W/restart_ha.sh" <<EOF
#!/bin/sh
# Returns once the daemon is there, as a restart script should: pcheck looks for it as
# soon as the script has exited.
setsid -f bash -c 'exec -a $name sleep 100000' </dev/null >/dev/null 2>&1
for _ in \$(seq 50); do pgrep -f '^$name' >/dev/null && exit 0; sleep 0.1; done
exit 1
EOF
chmod 755 "$W/restart_ha.sh"
cat >"$W/pfile_ha" <<EOF
##### PARAM #####
IPCKEY 0x1f00a001
MSG_CHECK_INTERVAL 1
MONITOR_INTERVAL 1
MONITOR_TRY_COUNT 1
SHM_DUMP_FILE /run/psctl-ha/pcheck_dump_ha

##### PENT #####
$name:$W/restart_ha.sh:3600:1:exit
EOF
chmod 644 "$W/pfile_ha"

# PID 1 of a node: private /run and /dev/shm, the per-node copies bound in place, then
# corosync and pacemakerd in the foreground; it waits for them (and reaps orphans).
cat >"$W/node.sh" <<'EOF'
#!/bin/bash
set -e
i=$1 d=$2
hostname "node$i"
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount --bind "$d/etc-corosync" /etc/corosync
mount --bind "$d/lib-corosync" /var/lib/corosync
mount --bind "$d/lib-pacemaker" /var/lib/pacemaker
mount --bind "$d/log-corosync" /var/log/corosync
mount --bind "$d/log-pacemaker" /var/log/pacemaker
mount --bind "$d/ocf" /usr/lib/ocf/resource.d
mkdir -p /run/resource-agents /run/crm /run/corosync /run/psctl-ha
chown hacluster:haclient /run/crm
export PCMK_logfile=/var/log/pacemaker/pacemaker.log
corosync -f &
for _ in $(seq 100); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
pacemakerd &
set +e
while :; do wait; sleep 1; done
EOF
chmod 755 "$W/node.sh"

# --- the network and the nodes -----------------------------------------------------------
start=$SECONDS
for i in 1 2; do ip netns add "${ns[$i]}"; done
ip link add "ha$tag-a" netns "${ns[1]}" type veth peer name "ha$tag-b" netns "${ns[2]}"
for i in 1 2; do
    dev=ha$tag-a
    [ "$i" = 2 ] && dev=ha$tag-b
    ip -n "${ns[$i]}" link set lo up
    ip -n "${ns[$i]}" addr add "${addr[$i]}/24" dev "$dev"
    ip -n "${ns[$i]}" link set "$dev" up
done

for i in 1 2; do
    ip netns exec "${ns[$i]}" unshare --mount --pid --fork --mount-proc --uts --ipc \
        "$W/node.sh" "$i" "$W/n$i" </dev/null >"$W/node$i.out" 2>&1 &
    launcher[i]=$!
    disown # no job report when cleanup kills it: the closing line stays last
done
# The init is the child that unshare forked.
for i in 1 2; do
    wait_for 10 bash -c "pgrep -P ${launcher[$i]} >/dev/null" && init[i]=$(pgrep -P "${launcher[$i]}")
    echo "${init[$i]}" >"$W/init$i"
done
if [ -z "${init[1]}" ] || [ -z "${init[2]}" ]; then
    not_ok "the nodes started"
    cat "$W"/node*.out
    summary
    exit
fi

online() { on "$1" crm_mon -1 2>/dev/null | grep -q "Online: \[ node1 node2 \]"; }
check "both nodes online (crm_mon on node1)" wait_for 60 online 1
check "crm_mon on node2 sees the same" wait_for 20 online 2
echo "# cluster formed in $((SECONDS - start)) s"
on 1 crm_mon -1 | sed 's/^/# /'

# --- the resources -----------------------------------------------------------------------
# The service runs on node1 before the cluster manages pcheck, so pcheck finds it there
# (no restart counted); on node2, pcheck will start it with the restart script.
check "ha-daemon started on node1" on 1 "$W/restart_ha.sh"
check "crm configures the group" on 1 crm configure <<EOF
primitive watch ocf:psctl:pcheck \
    params pfile="$W/pfile_ha" pcheck="$BIN/pcheck" padmin="$BIN/padmin" \
    op monitor interval=2s timeout=20s
primitive service-ip ocf:heartbeat:Dummy op monitor interval=5s timeout=20s
group ha watch service-ip meta migration-threshold=1
location ha-prefers-node1 ha 50: node1
commit
EOF

started_on() { on 1 crm_mon -1 2>/dev/null | grep -Eq "^ *\* $1[[:space:]].*Started $2"; }
check "pcheck started on node1" wait_for 60 started_on watch node1
check "service-ip started on node1" wait_for 60 started_on service-ip node1
# pent NODE PATTERN...: pcheck's `show pent` on NODE matches every PATTERN.
pent() {
    local out
    out=$(on "$1" "$BIN/padmin" -f "$W/pfile_ha" -c "show pent" 2>/dev/null) || return 1
    shift
    for p in "$@"; do grep -Eq "$p" <<<"$out" || return 1; done
}
serving() { on "$1" "$BIN/padmin" -f "$W/pfile_ha" -c "show param" >/dev/null 2>&1; }
not_serving() { ! serving "$1"; }
check "pcheck on node1 watches ha-daemon" wait_for 30 pent 1 'proc_sts *= AVAIL'
check "node2 runs no pcheck" not_serving 2

# --- drive node1's watched process to its retry limit ------------------------------------
daemon_pid() { on 1 pgrep -f "^$name" | head -n1; }
first=$(daemon_pid)
on 1 kill "$first"
check "first death on node1: restarted" wait_for 30 pent 1 'restart_count *= 1' 'proc_sts *= AVAIL' 
second=$(daemon_pid)
fail_start=$SECONDS
on 1 kill "$second"
echo "# killed ha-daemon twice on node1 (pids $first, $second in its namespace)"

moved() { started_on watch node2 && started_on service-ip node2; }
check "the group runs on node2" wait_for 90 moved
echo "# failover took $((SECONDS - fail_start)) s"
on 1 crm_mon -1 --failcounts >"$W/crm_mon.txt" 2>&1
sed 's/^/# /' "$W/crm_mon.txt"
check "crm_mon --failcounts: the failure is recorded on node1" \
    grep -Eq "watch: migration-threshold=1,? fail-count=1" "$W/crm_mon.txt"
check "crm_mon --failcounts: under node1" bash -c "sed -n '/Migration Summary/,\$p' '$W/crm_mon.txt' | grep -A1 'Node: node1' | grep -q 'watch:'"
check "crm_mon: the failed monitor on node1 says why" grep -Eq "watch .*monitor on node1 returned 'error' .*retry limit with action exit" "$W/crm_mon.txt"
check "crm_mon: pcheck started on node2" grep -Eq "\* watch[[:space:]].*Started node2" "$W/crm_mon.txt"
check "crm_mon: service-ip started on node2" grep -Eq "\* service-ip[[:space:]].*Started node2" "$W/crm_mon.txt"
check "pcheck on node2 watches ha-daemon" wait_for 30 pent 2 'proc_sts *= AVAIL'
check "no pcheck left on node1" not_serving 1

echo "# total $((SECONDS - start)) s"
summary
