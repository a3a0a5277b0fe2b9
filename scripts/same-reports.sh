#!/usr/bin/env bash
# Whether two builds give the same reports: runs each scenario named with
# both rtclab binaries (virtual time, the scenario's seed) and compares
# the report.json files with what differs from run to run by design left
# out (started_at, wall_seconds, pid, and every key naming an SSRC, which
# is random). For a change meant to leave behaviour alone (speed work):
#   scripts/same-reports.sh OLD-BINARY NEW-BINARY quickstart rfc8867/5.1 ...
# Prints "same" or "DIFFERENT" (with the first differing lines) per
# scenario; outputs go to a new temporary folder. Run a scenario with one
# binary twice to see whether it repeats at all (server-restarts did
# not before session 8; webinar-50's same-instant events still do not).
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
old=$1 new=$2
shift 2
out=$(mktemp -d)
for sc in "$@"; do
  d="$out/${sc//\//_}"
  mkdir -p "$d"
  ea=0 eb=0
  "$old" run -q -o "$d/a" "$sc" >/dev/null 2>&1 || ea=$?
  "$new" run -q -o "$d/b" "$sc" >/dev/null 2>&1 || eb=$?
  python3 - "$d/a" "$d/b" "$sc" "$ea" "$eb" <<'PY'
import difflib, glob, json, os, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ('started_at', 'wall_seconds', 'pid') and 'ssrc' not in k.lower()}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
a, b, sc, ea, eb = sys.argv[1:]
fa = sorted(glob.glob(a + '/**/report.json', recursive=True))
fb = sorted(glob.glob(b + '/**/report.json', recursive=True))
diffs = 0
for x, y in zip(fa, fb):
    A = json.dumps(strip(json.load(open(x))), indent=1, sort_keys=True).splitlines()
    B = json.dumps(strip(json.load(open(y))), indent=1, sort_keys=True).splitlines()
    if A != B:
        d = [l for l in difflib.unified_diff(A, B, lineterm='', n=0) if not l.startswith(('---', '+++', '@@'))]
        diffs += len(d)
        print(' ', os.path.relpath(x, a), len(d), 'lines differ:', ' | '.join(d[:6])[:400])
same = diffs == 0 and len(fa) == len(fb) and ea == eb
print(sc, 'exit', ea, eb, 'reports', len(fa), len(fb), 'same' if same else 'DIFFERENT')
PY
done
echo "outputs in $out"
