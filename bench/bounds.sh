#!/usr/bin/env bash
# Worst cases near the 16 MiB input cap (issue 10's fuzzing findings and their relatives):
# wall time and peak memory (max RSS) of `psctl check` (and `build` for the slug case), with
# the ratio of memory to input size. Prints figures; the target is linear time and about 20x
# the input in memory. Usage: bench/bounds.sh [SCALE] [BASELINE]  (SCALE 1 = near the cap; 0.25
# quicker). BASELINE: another psctl binary (e.g. main's), measured on the same files right
# after this one, on the line below it.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}

# PSCTL=path measures that binary instead of building this checkout's.
if [ -z "${PSCTL:-}" ]; then
    cargo build --release -q -p psctl --bin psctl
    PSCTL=$PWD/target/release/psctl
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" "$scale" <<'PY'
import json, sys
w, s = sys.argv[1], float(sys.argv[2])
n = lambda x: int(x * s)
def put(name, text):
    open(f"{w}/{name}", "w").write(text)
put("pfile_colons", ":" * n(15_000_000))
put("pfile_newlines", "\n" * n(15_000_000))
put("pfile_comments", "#\n" * n(7_500_000))
put("pfile_pents", "".join(f"p{i}:-:1:1:continue\n" for i in range(n(700_000))))
put("pfile_badlines", "x\n" * n(7_500_000))
key = "k" * n(4_000_000)
put("longkey.toml", f'"{key}" = [' + "1," * n(5_000_000) + "1]\n")
put("longkey.json", f'{{"{key}": [' + "1," * n(5_000_000) + "1]}")
put("longkey.yaml", f"? {key}\n:\n" + "  - 1\n" * n(2_000_000))
put("items.yaml", "processes:\n" + "- 1\n" * n(3_500_000))
# Valid, but a mapping per short line (a serde_json map node each), and a name repeated on
# every line (a diagnostic each before the semantic rules stopped at the limit).
put("entries.yaml", "name: a\nipckey: 1\nprocesses:\n" + "".join(f"- name: p{i}\n" for i in range(n(1_000_000))))
put("dups.yaml", "name: a\nipckey: 1\nprocesses:\n" + "- name: a\n" * n(1_500_000))
# The same in JSON and TOML (entries are converted one by one from 1 MiB on).
put("entries.json", '{"name": "a", "ipckey": 1, "processes": [\n' + ",\n".join(f'{{"name": "p{i}"}}' for i in range(n(800_000))) + "\n]}")
put("entries.toml", 'name = "a"\nipckey = 1\n' + "".join(f'[[processes]]\nname = "p{i}"\n' for i in range(n(500_000))))
put("dups.json", '{"name": "a", "ipckey": 1, "processes": [\n' + ",\n".join('{"name": "a"}' for i in range(n(1_000_000))) + "\n]}")
put("dups.toml", 'name = "a"\nipckey = 1\n' + '[[processes]]\nname = "a"\n' * n(600_000))
# Entries the schema rejects: such a document is read whole, a `serde_json` map per entry
# (over the target: see docs/check.md).
put("invalid.yaml", "name: a\nipckey: 1\nprocesses:\n" + "- a: 1\n" * n(2_300_000))
put("floats.toml", 'name = "a"\nipckey = 1\n' + "".join(f'[[processes]]\nname = "p{i}"\nretries = 1.5\n' for i in range(n(300_000))))
# 8,000 distinct names reducing to one script slug (the quadratic-time finding).
punct = "!$%&()*+,-./;<=>?@[]^`{|}~"
names = [f"x{a}{b}{c}" for a in punct for b in punct for c in punct][:8000]
procs = [{"name": m, "restart": {"stop": "a", "start": "b"}} for m in names]
put("slugs.json", json.dumps({"name": "slugs", "ipckey": 1, "processes": procs}))
PY

printf '%-36s %10s %10s %10s %8s\n' case input_MB seconds maxRSS_MB ratio
measure() {
    local name=$1; shift
    local size secs kb
    size=$(stat -c %s "$WORK/$name")
    /usr/bin/time -o "$WORK/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
    read -r secs kb < <(tail -1 "$WORK/time")
    python3 -c "import sys; s,k,b=float('$secs'),int('$kb'),int('$size'); print(f'{sys.argv[1]:36} {b/1e6:10.1f} {s:10.2f} {k/1024:10.1f} {k*1024/b:7.1f}x')" "$*"
}
BASE=${2:+$(realpath "$2")}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for f in pfile_colons pfile_newlines pfile_comments pfile_pents pfile_badlines longkey.toml longkey.json longkey.yaml items.yaml entries.yaml dups.yaml entries.json dups.json entries.toml dups.toml invalid.yaml floats.toml slugs.json; do
    measure "$f" "$PSCTL" check "$WORK/$f" | sed "s|$WORK/||; s|$PSCTL|psctl|"
    if [ -n "$BASE" ]; then
        measure "$f" "$BASE" check "$WORK/$f" | sed "s|$WORK/||; s|$BASE|  baseline|"
    fi
done
measure slugs.json "$PSCTL" build -o "$WORK/out" "$WORK/slugs.json" | sed "s|$WORK/||g; s|$PSCTL|psctl|"
if [ -n "$BASE" ]; then
    measure slugs.json "$BASE" build -o "$WORK/out2" "$WORK/slugs.json" | sed "s|$WORK/||g; s|$BASE|  baseline|"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
