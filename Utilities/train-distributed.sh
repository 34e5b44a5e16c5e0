#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Data-parallel training on one machine: starts N processes of ResCRNetTrain with the variables torchrun sets
# (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT); rank 0 runs in the foreground and writes the model, history, curve and
# checkpoints, ranks 1..N-1 run in the background with their output in LOGDIR/rank-R.log. Each step's batch
# (--batchSize) is split over the processes; the gradient is that of the whole batch.
#
#   Utilities/train-distributed.sh [-n N] [-p PORT] [-l LOGDIR] [-e EXECUTABLE] -- ResCRNetTrain options...
#
#   -n N           processes (default 2)
#   -p PORT        rendezvous port on 127.0.0.1 (default $MASTER_PORT, else 29500)
#   -l LOGDIR      folder for the other ranks' output (default: a new temporary folder)
#   -e EXECUTABLE  ResCRNetTrain to run (default $RESCRNET_TRAIN, else build/bin/ResCRNetTrain, else from PATH)
#
# Unless the options contain --threads, each process gets --threads max(1, cores / N).
# Example: Utilities/train-distributed.sh -n 2 -- --split data/split.csv --batchSize 8 --epochs 50 model.rcn
# Across machines, run ResCRNetTrain on each with --worldSize, --rank, --masterAddress and --masterPort instead.
set -euo pipefail

n=2
port="${MASTER_PORT:-29500}"
logdir=""
exe="${RESCRNET_TRAIN:-}"
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while getopts "n:p:l:e:h" opt; do
  case "$opt" in
    n) n="$OPTARG" ;;
    p) port="$OPTARG" ;;
    l) logdir="$OPTARG" ;;
    e) exe="$OPTARG" ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ "${1:-}" == "--" ]] && shift
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
  echo "train-distributed.sh: -n needs a positive number, not '$n'" >&2
  exit 2
fi
if [[ -z "$exe" ]]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if [[ -x "$here/build/bin/ResCRNetTrain" ]]; then
    exe="$here/build/bin/ResCRNetTrain"
  else
    exe="$(command -v ResCRNetTrain || true)"
  fi
fi
if [[ -z "$exe" || ! -x "$exe" ]]; then
  echo "train-distributed.sh: no ResCRNetTrain executable found (give -e or set RESCRNET_TRAIN)" >&2
  exit 2
fi
args=("$@")
threads=()
if [[ " ${args[*]-} " != *" --threads"* ]]; then
  t=$(( $(nproc) / n ))
  threads=(--threads "$(( t > 0 ? t : 1 ))")
fi
[[ -n "$logdir" ]] || logdir="$(mktemp -d "${TMPDIR:-/tmp}/rescrnet-train-XXXXXX")"
mkdir -p "$logdir"

pids=()
cleanup() {
  for pid in "${pids[@]-}"; do
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup INT TERM

export WORLD_SIZE="$n" MASTER_ADDR=127.0.0.1 MASTER_PORT="$port"
for ((r = 1; r < n; ++r)); do
  RANK="$r" "$exe" "${threads[@]}" "${args[@]}" >"$logdir/rank-$r.log" 2>&1 &
  pids+=("$!")
done
if ((n > 1)); then
  echo "train-distributed.sh: $n processes on 127.0.0.1:$port; ranks 1-$((n - 1)) log to $logdir" >&2
fi
status=0
RANK=0 "$exe" "${threads[@]}" "${args[@]}" || status=$?
if ((status != 0)); then
  cleanup # the others would wait for rank 0 until their timeout
fi
for ((i = 0; i < ${#pids[@]}; ++i)); do
  if ! wait "${pids[$i]}"; then
    ((status != 0)) || status=1
    echo "train-distributed.sh: rank $((i + 1)) failed; see $logdir/rank-$((i + 1)).log" >&2
  fi
done
exit "$status"
