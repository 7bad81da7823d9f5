#!/usr/bin/env bash
# Throughput of single iris predictions with the audit trail off, async and durable. Each run
# starts one server alone on 127.0.0.1 (fresh database), warms it up for 2 s, then measures
# with wrk; the modes alternate so background load hits them alike. Prints the medians.
# Usage: scripts/bench-audit.sh [runs] [seconds] [connections] (defaults 3 10 16)
set -euo pipefail
runs=${1:-3} seconds=${2:-10} connections=${3:-16}
bin=${CARGO_TARGET_DIR:-target}/release/prediction-api
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$bin" ] || { echo "$bin is missing: cargo build --release --bins" >&2; exit 1; }
port=18431
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'
wrk.headers["Content-Type"] = "application/json"
LUA
url="http://127.0.0.1:$port"
for run in $(seq "$runs"); do
  for mode in off async durable; do
    case $mode in
      off) audit=(--audit-db off) ;;
      *) rm -f "$work"/audit.db*; audit=(--audit-db "$work/audit.db" --audit-mode "$mode") ;;
    esac
    LOG_LEVEL=warn "$bin" --host 127.0.0.1 --port "$port" "${audit[@]}" >"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 300); do curl -sf "$url/v2/health/live" >/dev/null && break; sleep 0.1; done
    wrk -t1 -c"$connections" -d2s -s "$work/post.lua" "$url/predict/iris" >/dev/null
    rps=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/post.lua" "$url/predict/iris" |
      awk '/Requests\/sec/ {print $2}')
    kill "$server" && wait "$server" || true
    echo "$run $mode $rps" | tee -a "$work/results"
  done
done
for mode in off async durable; do
  median=$(awk -v m="$mode" '$2 == m {print $3}' "$work/results" | sort -n |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "median $mode $median req/s"
done
