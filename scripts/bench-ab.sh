#!/usr/bin/env bash
# A/B a benchmark on a noisy host: run two variants alternately, N times each, and compare them.
#
#   scripts/bench-ab.sh N OUT.jsonl 'COMMAND A' 'COMMAND B'
#
# Each command runs through bash from the current directory and must print the bench's JSON object
# as its last stdout line (`--json`). Every line of OUT.jsonl is {"variant":"A"|"B","r":<that JSON>};
# the summary prints each variant's ratio (min, median, max) and the pairs' median difference. Two
# runs next to each other see about the same host, so the paired difference is what to read when the
# host's hour moves the ratios themselves (docs/capture.md). For example, sampling ahead on and off:
#
#   scripts/bench-ab.sh 10 /tmp/ahead.jsonl \
#     'node bin/autotuner.js bench capture --json' \
#     'AUTOTUNER_SAMPLE_AHEAD=0 node bin/autotuner.js bench capture --json'
#
# or two checkouts: 'node /path/to/a/bin/autotuner.js bench capture --json' and the same for b.
set -euo pipefail
if [[ $# -ne 4 ]]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
n=$1 out=$2 a=$3 b=$4
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench-ab: N must be a whole number of 1 or more, got '$n'" >&2; exit 2; }
: >"$out"
for ((i = 1; i <= n; i++)); do
  for v in A B; do
    cmd=$a
    [[ $v == B ]] && cmd=$b
    line=$(bash -c "$cmd" 2>/dev/null | tail -n 1)
    if [[ $line != \{* ]]; then
      echo "bench-ab: variant $v printed no JSON last line (run it alone to see why): $cmd" >&2
      exit 1
    fi
    printf '{"variant":"%s","r":%s}\n' "$v" "$line" >>"$out"
    echo "pair $i/$n $v: ratio $(node -e 'console.log(JSON.parse(process.argv[1]).ratio)' "$line")" >&2
  done
done
node --input-type=module - "$out" <<'EOF'
import { readFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const by = { A: [], B: [] };
for (const r of rows) by[r.variant].push(r.r.ratio);
for (const v of ['A', 'B']) {
  const xs = by[v];
  console.log(`${v}: ${xs.length} runs, ratio ${Math.min(...xs).toFixed(3)}–${median(xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} (min–median–max)`);
}
const d = by.A.map((x, i) => x - by.B[i]);
console.log(`A − B, paired: median ${median(d) >= 0 ? '+' : ''}${median(d).toFixed(3)}, A better in ${d.filter((x) => x > 0).length} of ${d.length}`);
EOF
