#!/usr/bin/env bash
# The chaos run of docs/deployment.md: builds the quickstart, then runs
# scripts/chaos.py (two instances on a Redis with an append-only file; one
# instance and Redis killed with SIGKILL mid-run, Redis restarted) and prints
# what became of every task. Needs redis-server and python3.
#   ./scripts/chaos.sh [--tasks N] [--outage SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --example quickstart --locked --quiet
exec python3 scripts/chaos.py --quickstart target/debug/examples/quickstart "$@"
