# Usage: bench/profile.py BINARY PERF_DATA [N] [self|incl|both]
# Self and inclusive shares per symbol from `perf record -g` data. The binary's addresses are
# resolved with nm (this machine's perf cannot read the symbols of psctl's release binary).
import sys, subprocess, bisect, collections, re
binary, data = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 30
ph = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
seg = [l.split() for l in ph.splitlines() if "LOAD" in l and "R E" in l][0]
delta = int(seg[2], 16) - int(seg[1], 16)
syms = []
for l in subprocess.run(["nm", "-C", "--numeric-sort", binary], capture_output=True, text=True).stdout.splitlines():
    p = l.strip().split(" ", 2)
    if len(p) == 3 and p[0] and p[1] in "tTwW":
        syms.append((int(p[0], 16), re.sub(r"::h[0-9a-f]{16}$", "", p[2])))
addrs = [s[0] for s in syms]
def name(ip, sym, dso):
    if dso.endswith(binary.split("/")[-1]):
        i = bisect.bisect_right(addrs, int(ip, 16) + delta) - 1
        return syms[i][1][:120] if i >= 0 else "?"
    return (sym.split("+")[0] or "?")[:80] + " [" + dso.split("/")[-1] + "]"
out = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True, text=True).stdout
selfc, incl = collections.Counter(), collections.Counter(); total = 0
for block in out.split("\n\n"):
    frames = []
    for l in block.strip().splitlines():
        m = re.match(r"\s*([0-9a-f]+)\s+(.*)\s+\((.*)\)$", l)
        if m: frames.append(name(*m.groups()))
    if not frames: continue
    total += 1; selfc[frames[0]] += 1
    for f in set(frames): incl[f] += 1
mode = sys.argv[4] if len(sys.argv) > 4 else "both"
if mode in ("both", "self"):
    print("self:")
    for k, v in selfc.most_common(n): print(f"{100*v/total:6.2f}% {k}")
if mode in ("both", "incl"):
    print("inclusive:")
    for k, v in incl.most_common(n): print(f"{100*v/total:6.2f}% {k}")
print("samples", total)
