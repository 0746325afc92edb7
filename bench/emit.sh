#!/usr/bin/env bash
# Benchmarks of the emitter (figures in docs/emit.md):
#   build: psctl build of 300 service descriptions of 20 processes each (every process with
#          stop/start commands, so 300 pfiles + 6000 restart scripts), into an empty directory
#          and again into the filled one (nothing changes). Target: <= 250 ms.
#          If this psctl cannot read descriptions yet, 300 pfiles of 20 entries are built instead
#          (and the script says so).
#   fmt:   psctl fmt --check of 1000 canonical pfiles of 20 entries. Target: <= 200 ms.
# Prints the median wall time of RUNS runs (default 11) of each.
# Usage: bench/emit.sh [path/to/psctl]   (default: builds target/release/psctl)
# BENCH_DIR=/dev/shm bench/emit.sh runs on tmpfs: on a busy or virtualized disk, creating 6300
# files costs more than everything psctl computes, and varies from run to run.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-11}
if [ $# -ge 1 ]; then
    PSCTL=$1
else
    cargo build --release -p psctl --quiet
    PSCTL=target/release/psctl
fi

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/psctl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Median wall time in ms of "$@" over RUNS runs; `prep` (a function name or :) runs before each.
median_ms() {
    local prep=$1
    shift
    local times=()
    for _ in $(seq "$RUNS"); do
        "$prep"
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

# --- corpora -------------------------------------------------------------------------------
mkdir -p "$work/desc" "$work/pfiles" "$work/fmt"
for s in $(seq 1 300); do
    {
        echo "name: svc$s"
        printf 'ipckey: 0x%08x\n' $((0x10000000 + s))
        echo "conf_dir: /opt/ps/svc$s"
        echo "processes:"
        for p in $(seq 1 20); do
            echo "  - name: /usr/local/bin/worker$p --instance $s"
            echo "    restart:"
            echo "      stop: /usr/local/bin/ctl stop worker$p"
            echo "      start: /usr/local/bin/ctl start worker$p --instance $s"
            echo "      wait: 5s"
            echo "    grace: 1d"
            echo "    retries: 3"
        done
    } >"$work/desc/svc$s.yaml"
done
for s in $(seq 1 1000); do
    {
        printf 'IPCKEY 0x%08x\nMONITOR_INTERVAL 10\n' $((0x10000000 + s))
        for p in $(seq 1 20); do
            echo "/usr/local/bin/worker$p --instance $s:/opt/ps/bin/restart_w$p.sh:86400:3:continue"
        done
    } >"$work/pfiles/pfile_svc$s"
done
"$PSCTL" fmt "$work/pfiles" >/dev/null 2>&1 || true # canonical form, for fmt --check
mkdir -p "$work/pfiles300"
cp "$work"/pfiles/pfile_svc{1..300} "$work/pfiles300/"
cp "$work"/pfiles/* "$work/fmt/"

# --- build ---------------------------------------------------------------------------------
input="$work/desc"
what="300 descriptions x 20 processes (300 pfiles + 6000 scripts)"
if ! "$PSCTL" build "$work/desc/svc1.yaml" -o "$work/probe" >/dev/null 2>&1; then
    input="$work/pfiles300"
    what="300 pfiles x 20 entries (this psctl cannot read descriptions yet)"
fi
# Each fresh run writes into a new directory: deleting 6300 files right before creating 6300
# more would measure ext4's inode allocator skipping recently deleted inodes, not psctl.
n=0
build_fresh() {
    n=$((n + 1))
    "$PSCTL" build "$input" -o "$work/fresh$n"
}
fresh=$(median_ms : build_fresh)
"$PSCTL" build "$input" -o "$work/out" >/dev/null 2>&1
again=$(median_ms : "$PSCTL" build "$input" -o "$work/out")
files=$(find "$work/out" -type f | wc -l)

# --- fmt --check ---------------------------------------------------------------------------
"$PSCTL" fmt --check "$work/fmt" >/dev/null 2>&1 || { echo "fmt corpus is not canonical" >&2; exit 1; }
check=$(median_ms : "$PSCTL" fmt --check "$work/fmt")

echo "psctl build, $what -> $files files"
echo "  into an empty directory:   median ${fresh} ms (target <= 250 ms)"
echo "  again, nothing changes:    median ${again} ms"
echo "psctl fmt --check, 1000 pfiles x 20 entries"
echo "  median ${check} ms (target <= 200 ms)"
echo "($RUNS runs each, $(nproc) CPUs, files in $(df --output=fstype "$work" | tail -1))"
