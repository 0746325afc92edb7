#!/usr/bin/env bash
# Benchmarks `psctl check` (prints medians, not a test). Usage: bench/check.sh [BASELINE]
# BASELINE: another psctl binary (e.g. main's, built with CARGO_TARGET_DIR elsewhere), timed
# in the same run, alternating with this one, and the ratio printed.
# Installs hyperfine (Debian package), check-jsonschema (PyPI) and ajv-cli (npm) when missing.
# With perf installed, also profiles where psctl's CPU goes on the 300-file run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hyperfine >/dev/null; then
    apt-get install -y --no-install-recommends hyperfine >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends hyperfine >/dev/null; }
fi
if ! command -v check-jsonschema >/dev/null; then
    pip install --quiet check-jsonschema
fi
if ! command -v ajv >/dev/null; then
    npm install -g --silent ajv-cli >/dev/null
fi

# PSCTL=path measures that binary instead of building this checkout's.
if [ -z "${PSCTL:-}" ]; then
    cargo build --release -q -p psctl --bin psctl
    PSCTL=$PWD/target/release/psctl
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 300 descriptions of 20 processes each, all valid and unique (mixing the three restart forms).
python3 - "$WORK" <<'PY'
import os, sys
work = sys.argv[1]
os.makedirs(f"{work}/many")
for i in range(300):
    lines = ["# yaml-language-server: $schema=../schemas/psctl.schema.json",
             f"name: svc{i:03d}", f"ipckey: 0x{0x1f000000 + i:08x}",
             "msg_check_interval: 5s", "monitor_interval: 10s", "processes:"]
    for j in range(20):
        lines.append(f"  - name: /usr/sbin/daemon{j} --instance {i}")
        if j % 3 == 0:
            lines += ["    restart:", f"      stop: /etc/init.d/d{j} stop", f"      start: /etc/init.d/d{j} start", "      wait: 5s"]
        elif j % 3 == 1:
            lines += ["    restart:", f"      script: /var/opt/HA/PS/conf/bin/restart_d{j}.sh"]
        else:
            lines.append("    restart: none")
        lines += ["    grace: 1d", "    retries: 3", "    on_retry_over: continue"]
    open(f"{work}/many/svc{i:03d}.yaml", "w").write("\n".join(lines) + "\n")
with open(f"{work}/pfile_big", "w") as f:
    f.write("IPCKEY 0x1f100001\nMONITOR_INTERVAL 10\n")
    for j in range(10000):
        f.write(f"proc{j}:/var/opt/HA/PS/conf/bin/restart_{j}.sh:86400:3:continue\n")
PY

# Sanity: everything generated is valid.
"$PSCTL" check --message-format short "$WORK/many" "$WORK/pfile_big" examples/cron.yaml

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --style none --warmup 3 --min-runs 20 -N --export-json "$WORK/psctl.json" \
    -n small "$PSCTL check examples/cron.yaml" \
    -n many "$PSCTL check $WORK/many" \
    -n pfile10k "$PSCTL check $WORK/pfile_big" >/dev/null
# The same schema, the same files, in the same run. ajv-cli compiles the schema to JavaScript
# (draft-07; psctl's `uint32`-style formats are annotations it is told to ignore).
hyperfine --style none --warmup 1 --min-runs 5 --export-json "$WORK/cj.json" \
    -n check-jsonschema \
    "check-jsonschema --schemafile schemas/psctl.schema.json $WORK/many/*.yaml" \
    -n ajv \
    "ajv validate -s schemas/psctl.schema.json -d '$WORK/many/*.yaml' --spec=draft7 --strict=false" >/dev/null

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
r = {x["command"]: x for x in json.load(open(f"{work}/psctl.json"))["results"]}
r.update({x["command"]: x for x in json.load(open(f"{work}/cj.json"))["results"]})
ms = lambda n: r[n]["median"] * 1000
print(f"{'case':52} {'median':>10} {'target':>8}")
print(f"{'psctl check, one small file (cron.yaml)':52} {ms('small'):8.1f}ms {'<= 5':>8}")
print(f"{'psctl check, 300 files x 20 processes':52} {ms('many'):8.1f}ms {'<= 150':>8}")
print(f"{'psctl check, pfile with 10,000 PENT lines':52} {ms('pfile10k'):8.1f}ms {'<= 50':>8}")
print(f"{'check-jsonschema, same 300 files, same schema':52} {ms('check-jsonschema'):8.1f}ms")
print(f"{'ajv-cli, same 300 files, same schema':52} {ms('ajv'):8.1f}ms")
print(f"ratio check-jsonschema / psctl (300 files): {ms('check-jsonschema') / ms('many'):.1f}x (target >= 100x)")
print(f"ratio ajv-cli / psctl (300 files): {ms('ajv') / ms('many'):.1f}x (target >= 20x)")
PY

# Against a baseline binary: five rounds, alternating, each command's median per round; the
# figure is the median of the rounds (a busy machine slows both alike within a round).
if [ -n "${1:-}" ]; then
    BASE=$(realpath "$1")
    for round in 1 2 3 4 5; do
        for who in base new; do
            bin=$PSCTL; [ $who = base ] && bin=$BASE
            hyperfine --style none --warmup 2 --min-runs 10 -N \
                --export-json "$WORK/ab-$who-$round.json" \
                -n small "$bin check examples/cron.yaml" \
                -n many "$bin check $WORK/many" \
                -n pfile10k "$bin check $WORK/pfile_big" >/dev/null
        done
    done
    # CPU time (task-clock) is less disturbed by other load than wall time (needs perf).
    touch "$WORK/cpu-ab"
    command -v perf >/dev/null && for round in 1 2 3; do
        for who in base new; do
            bin=$PSCTL; [ $who = base ] && bin=$BASE
            for case in many pfile10k; do
                arg=$WORK/many; [ $case = pfile10k ] && arg=$WORK/pfile_big
                perf stat -x, -e task-clock -r 10 "$bin" check "$arg" 2>&1 >/dev/null |
                    awk -F, -v w=$who -v c=$case '/task-clock/ {print w, c, $1}' >> "$WORK/cpu-ab"
            done
        done
    done
    python3 - "$WORK" <<'PY'
import json, statistics, sys
work = sys.argv[1]
cpu = {}
for line in open(f"{work}/cpu-ab"):
    w, c, ms = line.split()
    cpu.setdefault((w, c), []).append(float(ms))
load = open("/proc/loadavg").read().split()[:3]
print(f"\nagainst the baseline (5 alternating rounds; load average now {' '.join(load)})")
print(f"{'case':12} {'baseline':>10} {'this':>10} {'speed-up':>9}   per-round medians (baseline/this)")
for case in ["small", "many", "pfile10k"]:
    per = {}
    for w in ["base", "new"]:
        per[w] = []
        for r in range(1, 6):
            res = json.load(open(f"{work}/ab-{w}-{r}.json"))["results"]
            per[w].append(next(x for x in res if x["command"] == case)["median"] * 1000)
    b, n = statistics.median(per["base"]), statistics.median(per["new"])
    rounds = " ".join(f"{x:.1f}/{y:.1f}" for x, y in zip(per["base"], per["new"]))
    print(f"{case:12} {b:8.1f}ms {n:8.1f}ms {b / n:8.2f}x   {rounds}")
if cpu:
    print("CPU time (task-clock, mean of 10 runs, 3 alternating rounds, median of the rounds)")
for case in ["many", "pfile10k"] if cpu else []:
    b, n = statistics.median(cpu[("base", case)]), statistics.median(cpu[("new", case)])
    print(f"{case:12} {b:8.1f}ms {n:8.1f}ms {b / n:8.2f}x")
PY
fi

# Where the CPU goes on the 300-file run (user time per file, then the top symbols).
if command -v perf >/dev/null; then
    /usr/bin/time -f '%U %S' -o "$WORK/cpu" "$PSCTL" check "$WORK/many" 2>/dev/null
    read -r u s < "$WORK/cpu"
    python3 -c "print(f'CPU per file (300 files): {($u + $s) * 1000 / 300:.3f} ms (user $u s, sys $s s)')"
    perf record -q -F 20000 -g -o "$WORK/perf.data" "$PSCTL" check "$WORK/many" >/dev/null 2>&1 || true
    python3 bench/profile.py "$PSCTL" "$WORK/perf.data" 15 both || true
fi

# Hostile inputs: each must end in a diagnostic well within a second.
python3 - "$WORK" <<'PY'
import os, sys
w = sys.argv[1] + "/hostile"
os.makedirs(w)
n = 100_000
flow = "[" * n + "]" * n
files = {
    "deep.yaml": flow, "deep.json": flow, "deep.toml": f"a = {flow}\n",
    "deeptables.toml": "a = " + "{b = " * n + "1" + "}" * n + "\n",
    "bomb.yaml": 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98+i)}: &{chr(98+i)} [" + ",".join([f"*{chr(97+i)}"] * 9) + "]\n" for i in range(9)),
    "long.yaml": "name: " + "x" * (1 << 20) + "\n",
    "long.toml": 'name = "' + "x" * (1 << 20) + '"\n',
    "pfile_long": "IPCKEY 1\n" + "x" * (1 << 20) + "\n",
}
for name, text in files.items():
    open(f"{w}/{name}", "w").write(text)
open(f"{w}/binary.yaml", "wb").write(bytes(range(256)) * 4096)
PY
args=()
for f in "$WORK"/hostile/*; do args+=(-n "$(basename "$f")" "$PSCTL check $f"); done
hyperfine --style none -N -i --warmup 1 --runs 5 --export-json "$WORK/hostile.json" "${args[@]}" >/dev/null
python3 - "$WORK" <<'PY'
import json, sys
print(f"\n{'hostile input':52} {'median':>10}")
for x in json.load(open(f"{sys.argv[1]}/hostile.json"))["results"]:
    print(f"{x['command']:52} {x['median'] * 1000:8.1f}ms")
PY
