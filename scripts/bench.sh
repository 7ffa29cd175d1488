#!/usr/bin/env bash
# The benchmark command. Builds the benchmark examples in release and runs
# each in its own process, printing their tables (markdown):
#
#   bench_stores    store operations: our MemoryStore against pmcp 2.23's
#                   InMemoryTaskStore and pmcp-tasks 0.2.0 (lifecycle, the
#                   cost with 1 thousand to 1 million live tasks, memory per
#                   task; draws docs/benchmarks-scaling.svg)
#   bench_backends  Redis and DynamoDB stores: round trips and ops/s per
#                   operation, beside redis-benchmark (starts its own
#                   redis-server and dynalite)
#   bench_server    the whole server: TaskServer against pmcp alone, in
#                   process and over HTTP
#   bench_push      cross-instance push: a task's end on one instance to a
#                   listener on another, per store, feed against polling
#
#   ./scripts/bench.sh            # the full run (about 15 minutes on 2 cores)
#   ./scripts/bench.sh --quick    # a smoke run with small sizes
#   ./scripts/bench.sh bench_backends [--quick]   # some of them only
#   BENCH_PROFILE=dev ./scripts/bench.sh --quick  # CI's smoke run: a debug
#                   build (minutes less to build; its figures mean nothing)
#
# Results are recorded in docs/benchmarks.md. Needs redis-server and
# redis-benchmark (apt package redis-server) and, for DynamoDB, node with the
# npm packages of client-tests/ installed; a missing one is reported as not
# measured.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

ALL=(bench_stores bench_backends bench_server bench_push)
picked=()
args=()
for arg in "$@"; do
  case "$arg" in
    bench_*) picked+=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
[ "${#picked[@]}" -gt 0 ] || picked=("${ALL[@]}")

present=()
for ex in "${picked[@]}"; do
  # An example is one file or a directory with a main.rs (bench_stores).
  if { [ -f "examples/$ex.rs" ] || [ -f "examples/$ex/main.rs" ]; } \
    && grep -q "^name = \"$ex\"" examples/Cargo.toml; then
    present+=("$ex")
  else
    echo "(skipping $ex: examples/$ex.rs is not in this checkout)"
  fi
done
[ "${#present[@]}" -gt 0 ] || { echo "nothing to run" >&2; exit 1; }

echo "# pmcp-tasks benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%d)"
echo "- $(rustc --version), ${BENCH_PROFILE:-release} build"
echo "- $(nproc) cores, $(uname -sm)"

profile=(--release)
[ "${BENCH_PROFILE:-release}" = release ] || profile=(--profile "$BENCH_PROFILE")
build=()
for ex in "${present[@]}"; do build+=(--example "$ex"); done
cargo build --quiet "${profile[@]}" -p pmcp-tasks-examples "${build[@]}"

for ex in "${present[@]}"; do
  echo
  cargo run --quiet "${profile[@]}" -p pmcp-tasks-examples --example "$ex" -- ${args[@]+"${args[@]}"}
done
