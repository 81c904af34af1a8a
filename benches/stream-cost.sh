#!/usr/bin/env bash
# What a streamed reply costs the whole program, measured from outside: the release binary runs
# in tmux against the fake server's `paced` scenario; for each run it reports tern's CPU seconds
# (user + system, every thread, from /proc), the wall time of the stream, peak RSS, the bytes
# tern wrote to the terminal (tmux pipe-pane), and its wake-ups (context switches of every
# thread). Medians over the runs. A benchmark, not a test.
#
#   benches/stream-cost.sh [--runs N] [--size WxH] [--words N] [--rate N] [--group N]
#                          [--case plain|tab|scrolled|idle] [--keep DIR]
#
#   plain     a new conversation streams the reply (the default)
#   tab       the same while a 10,000-message conversation is open in another tab
#   scrolled  the same with the pane scrolled up (PgUp) while the reply streams
#   idle      no stream: wake-ups (context switches of every thread) in 10 s of idle
#
# --keep DIR keeps each run's bytes (DIR/bytes.N) for a look at what was written.
# --rate 0 sends as fast as the socket takes it (a reply stops at max_tokens, 64,000 here, as the
# API's would: about 45,000 words). Needs tmux and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 size=120x40 words=2000 rate=100 group=1 case=plain keep=
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --words) words=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --group) group=$2; shift 2 ;;
        --case) case=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) echo "unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
    esac
done
width=${size%x*} height=${size#*x}
for tool in tmux python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

cargo build --release --quiet --bin tern --bin tern-fake-server
tern=$PWD/target/release/tern
work=$(mktemp -d)
sock=tern-bench-$$
fake_pid=
cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

target/release/tern-fake-server --port 0 >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do
    url=$(grep -o 'APIFREE_BASE_URL=[^ ]*' "$work/fake.log" | cut -d= -f2 || true)
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "the fake server did not start" >&2; cat "$work/fake.log" >&2; exit 1; }

export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
export XDG_STATE_HOME=$work/home/.local/state APIFREE_BASE_URL=$url APIFREE_API_KEY=bench-key
mkdir -p "$XDG_CONFIG_HOME/tern"
# The strict fake server stops a reply at max_tokens like the API (64,000 is the models' most).
echo 'max_tokens = 64000' >"$XDG_CONFIG_HOME/tern/config.toml"
unset TMUX NO_COLOR

if [ "$case" = tab ]; then
    # One saved exchange, repeated to 10,000 messages and imported as one conversation.
    "$tern" -p "seed scenario:ok" >/dev/null
    id=$("$tern" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    "$tern" show "$id" --json | python3 -c '
import copy, json, sys
doc = json.load(sys.stdin)
pair = doc["messages"][:2]
doc["conversation"]["id"] = "bench-10k"
doc["conversation"]["title"] = "ten thousand messages"
messages = []
for n in range(5000):
    for m in pair:
        m = copy.deepcopy(m)
        m["id"] = "bench-%s-%d" % (m["role"], n)
        m["conversation_id"] = "bench-10k"
        messages.append(m)
doc["messages"] = messages
json.dump(doc, open(sys.argv[1], "w"))
' "$work/big.json"
    "$tern" import "$work/big.json" >/dev/null
fi

pane() { tmux -L "$sock" capture-pane -p -t bench; }
status() { pane | tail -n 1; }
wait_for() { # wait_for WHAT COMMAND…: poll every 20 ms, give up after 120 s
    local what=$1; shift
    for _ in $(seq 6000); do "$@" && return 0; sleep 0.02; done
    echo "timed out waiting for $what; screen:" >&2; pane >&2; exit 1
}
ready() { status | grep -q '│ ready'; }
streaming() { ! status | grep -q '│ ready'; }
answered() { status | grep -q '│ ready.*last .* out'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Context switches of each thread, "tid count" a line (threads come and go: compare by tid).
switches_by_thread() {
    for task in /proc/"$1"/task/*; do
        echo "${task##*/} $(awk '/ctxt_switches/ { n += $2 } END { print n }' "$task/status")"
    done
}
# switches_since FILE PID: switches since FILE was written, of the threads alive in both.
switches_since() {
    switches_by_thread "$2" | awk 'NR == FNR { before[$1] = $2; next }
        ($1 in before) { n += $2 - before[$1] } END { print n + 0 }' "$1" -
}

prompt="scenario:paced words:$words rate:$rate group:$group"
ticks=$(getconf CLK_TCK)
results=$work/results
: >"$results"
for run in $(seq "$runs"); do
    sock=tern-bench-$$-$run
    tmux -L "$sock" -f /dev/null new-session -d -s bench -x "$width" -y "$height" "exec $tern"
    tmux -L "$sock" set-option -g status off >/dev/null
    pid=$(tmux -L "$sock" display-message -p -t bench '#{pane_pid}')
    wait_for "tern to start" ready
    if [ "$case" = tab ]; then
        tmux -L "$sock" send-keys -t bench C-r
        wait_for "the browser" sh -c "tmux -L $sock capture-pane -p -t bench | grep -q 'ten thousand'"
        tmux -L "$sock" send-keys -t bench -l "ten thousand"
        sleep 0.5
        tmux -L "$sock" send-keys -t bench Enter
        wait_for "the big conversation" sh -c "tmux -L $sock capture-pane -p -t bench | grep -q 'seed'"
        tmux -L "$sock" send-keys -t bench C-n
        wait_for "a new tab" sh -c "! tmux -L $sock capture-pane -p -t bench | grep -q 'seed'"
    fi
    if [ "$case" = idle ]; then
        sleep 1
        switches_by_thread "$pid" >"$work/switches"
        cpu_before=$(cpu_ticks "$pid")
        sleep 10
        woke=$(switches_since "$work/switches" "$pid") cpu_after=$(cpu_ticks "$pid")
        echo "$woke $((cpu_after - cpu_before))" >>"$results"
        tmux -L "$sock" kill-server
        continue
    fi
    bytes=$work/bytes.$run
    tmux -L "$sock" send-keys -t bench -l "$prompt"
    sleep 0.3
    tmux -L "$sock" pipe-pane -t bench -o "cat > $bytes"
    switches_by_thread "$pid" >"$work/switches"
    cpu_before=$(cpu_ticks "$pid")
    start=$(date +%s.%N)
    tmux -L "$sock" send-keys -t bench Enter
    wait_for "the stream to start" streaming
    if [ "$case" = scrolled ]; then
        # A few screens in, so there is something above to scroll to.
        sleep 5
        tmux -L "$sock" send-keys -t bench PPage PPage
    fi
    wait_for "the reply to end" answered
    end=$(date +%s.%N)
    cpu_after=$(cpu_ticks "$pid") woke=$(switches_since "$work/switches" "$pid")
    rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
    tmux -L "$sock" pipe-pane -t bench
    sleep 0.1
    echo "$(( cpu_after - cpu_before )) $start $end $rss $(wc -c <"$bytes") $woke" >>"$results"
    [ -n "$keep" ] && mkdir -p "$keep" && cp "$bytes" "$keep/"
    tmux -L "$sock" kill-server
done

python3 - "$results" "$ticks" "$case" "$size" "$prompt" "$runs" <<'EOF'
import statistics, sys
path, ticks, case, size, prompt, runs = sys.argv[1:]
rows = [line.split() for line in open(path)]
med = statistics.median
if case == "idle":
    print(f"idle at {size}, {runs} runs of 10 s: wake-ups (context switches) median "
          f"{med(int(r[0]) for r in rows)}, CPU-s median {med(int(r[1]) for r in rows) / int(ticks):.2f}")
    sys.exit()
cpu = [int(r[0]) / int(ticks) for r in rows]
wall = [float(r[2]) - float(r[1]) for r in rows]
rss = [int(r[3]) / 1024 for r in rows]
out = [int(r[4]) / 1000 for r in rows]
wakes = [int(r[5]) for r in rows]
print(f"{case} at {size}, \"{prompt}\", {runs} runs (median, min–max)")
for name, values, unit in [("CPU-s", cpu, ""), ("wall s", wall, ""), ("peak RSS MB", rss, ""),
                           ("KB to the terminal", out, ""), ("wake-ups", wakes, "")]:
    print(f"  {name:<20} {med(values):9.2f}   ({min(values):.2f}–{max(values):.2f})")
EOF
