#!/usr/bin/env bash
# The guide's walkthrough (sections 3.3-3.8) with our binaries, on a scratch directory, with a
# private rsyslogd as the syslog daemon. Prints a transcript; docs/runtime.md quotes one.
# Usage: examples/runtime/walkthrough.sh [DIR]   (binaries from target/release or $BIN)
set -euo pipefail
BIN=${BIN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release}
D=${1:-/tmp/psctl-walkthrough}
rm -rf "$D"; mkdir -p "$D/conf/bin" "$D/log" "$D/run" "$D/rsyslog"
export PCHECK_RUNTIME_DIR=$D/run PCHECK_SYSLOG_SOCKET=$D/rsyslog/log.sock PATH=$BIN:$PATH

cat >"$D/rsyslog.conf" <<CONF
global(workDirectory="$D/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$D/rsyslog/log.sock" RateLimit.Interval="0")
daemon.* action(type="omfile" file="$D/log/messages" template="RSYSLOG_TraditionalFileFormat")
CONF
/usr/sbin/rsyslogd -f "$D/rsyslog.conf" -i "$D/rsyslog/pid" -n & RSYSLOG=$!
trap 'kill $RSYSLOG 2>/dev/null; pkill -f "^crond 100000" 2>/dev/null || true' EXIT
while [ ! -S "$D/rsyslog/log.sock" ]; do sleep 0.05; done

cat >"$D/conf/bin/pfile_crond" <<PF
##### PARAM #####
IPCKEY                0x1f000501
MSG_CHECK_INTERVAL    5
MONITOR_INTERVAL      10
SHM_DUMP_FILE         $D/log/pcheck_dump_crond

##### PENT #####
crond:$D/conf/bin/restart_crond.sh:86400:3:continue
PF
# The stand-in crond: a detached sleep whose argv[0] is "crond".
cat >"$D/conf/bin/restart_crond.sh" <<'SH'
#!/bin/sh
exec setsid -f bash -c 'exec -a crond sleep 100000' </dev/null >/dev/null 2>&1
SH
chmod +x "$D/conf/bin/restart_crond.sh"
crond_pid() { pgrep -f '^crond 100000' | head -1; }
run() { echo "# $*"; "$@"; }

"$D/conf/bin/restart_crond.sh"; sleep 0.2
echo "## 3.3"
echo "# pcheck -f $D/conf/bin/pfile_crond &"
pcheck -f "$D/conf/bin/pfile_crond" & sleep 0.5
echo "## 3.4"
run padmin -l
run padmin -f "$D/conf/bin/pfile_crond" -c show param
run padmin -f "$D/conf/bin/pfile_crond" -c show pent
echo "## 3.5 / 3.6"
for round in 1 2 3 4; do
    pid=$(crond_pid); run kill "$pid"
    while [ "$(crond_pid)" = "$pid" ]; do sleep 0.05; done
    sleep 1
done
run padmin -f "$D/conf/bin/pfile_crond" -c show pent
echo "## 3.7"
run "$D/conf/bin/restart_crond.sh"; sleep 0.2
run padmin -f "$D/conf/bin/pfile_crond" -c reload; sleep 0.5
run padmin -f "$D/conf/bin/pfile_crond" -c show pent
echo "## 3.8"
run padmin -f "$D/conf/bin/pfile_crond" -c shutdown; sleep 0.5
run padmin -l
run padmin -f "$D/conf/bin/pfile_crond" -c show pent || echo "(exit status $?)"
echo "## $D/log/messages"
sleep 0.5; cat "$D/log/messages"
