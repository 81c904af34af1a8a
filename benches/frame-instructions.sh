#!/usr/bin/env bash
# Instructions per frame at 200×50 with three compare columns streaming, against one column
# streaming beside an idle one and a plain single reply. Each case runs with 0 and N frames
# under callgrind; the difference over N is one frame, setup excluded. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-200}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo bench --bench frame_instructions --no-run 2>/dev/null
bin=$(ls -t target/release/deps/frame_instructions-* | grep -v '\.d$' | head -n1)
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
per_frame() { echo $(( ($(count "$1" "$2" "$frames") - $(count "$1" "$2" 0)) / frames )); }
three=$(per_frame 3 3)
one=$(per_frame 2 1)
plain=$(per_frame 1 1)
printf '%-44s %12s instructions/frame\n' "three columns streaming" "$three" \
    "one column streaming, one idle" "$one" "one reply, no compare" "$plain"
awk -v a="$three" -v b="$one" -v c="$plain" \
    'BEGIN { printf "three / one column: %.2f×   three / plain reply: %.2f×\n", a / b, a / c }'
