#!/usr/bin/env bash
# The audit trail's cost: the load harness (bench/run.py) runs the server with the trail off,
# async and durable in every round (the order alternating), each mode writing its own
# database (new for the run, growing across its rounds), and reports each mode's throughput
# against off round by round, with a 95% confidence interval for the median ratio. Single
# rounds here vary by ±30%: use 40 rounds for ±5%.
# Batches write their tensors too: about 0.3 GB per round and batch workload for each of the
# two modes, in a temporary folder removed at the end; mind the free space.
# Usage: scripts/bench-audit.sh [rounds] [seconds] [connections] [workloads]
#        (defaults 10 5 64 iris-1,housing-1; batches: iris-1000,v2-json-100,v2-binary-100)
set -euo pipefail
rounds=${1:-10} seconds=${2:-5} connections=${3:-64} workloads=${4:-iris-1,housing-1}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/run.py --rounds "$rounds" --duration "$seconds" --connections "$connections" \
  --workloads "$workloads" \
  --servers prediction-api,prediction-api-audit,prediction-api-durable \
  --variant "prediction-api-audit=--audit-db $work/async.db" \
  --variant "prediction-api-durable=--audit-db $work/durable.db --audit-mode durable" \
  --compare prediction-api:prediction-api-audit \
  --compare prediction-api:prediction-api-durable
