#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine: installs what the
# tests need (apt: redis-server; npm packages; a Python venv), builds, and runs the
# Rust suites and the real-client suites.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# A one-off build gains nothing from incremental state, which costs disk.
export CARGO_INCREMENTAL=0

say "toolchain"
cargo --version
node --version
npm --version

if ! command -v redis-server >/dev/null 2>&1; then
  say "redis-server (Debian package) for the Redis backend's tests"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version

say "npm packages: client tests, and the conformance suite with its Node 22"
(cd client-tests && npm ci --no-audit --no-fund --loglevel=error)
# `npm install`, not `npm ci`: see client-tests/inspector/package.json.
(cd client-tests/inspector && npm install --no-audit --no-fund --loglevel=error)
(cd conformance && npm ci --no-audit --no-fund --loglevel=error)

say "Python venv: the official Python MCP SDK for the client tests; moto, boto3 and cfn-lint for the AWS tests"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
python3 -m venv client-tests/python/.venv
client-tests/python/.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r client-tests/python/requirements.txt -r deploy/requirements.txt

say "CloudFormation templates: cfn-lint"
client-tests/python/.venv/bin/cfn-lint deploy/*.yaml

say "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

# cargo nextest where installed, else cargo test, with the arguments given.
# SKIP_RACES=1 leaves out the stores' race checks (thousands of rounds each,
# minutes on DynamoDB), which the all-features run has already run.
run_tests() {
  if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast "$@" ${SKIP_RACES:+-E 'not test(racing)'}
  else
    cargo test --locked --no-fail-fast "$@" ${SKIP_RACES:+-- --skip racing}
  fi
  drop_test_binaries
}

# Each test binary links every dependency in (about 100 MB here) and each
# feature set below builds its own 30-odd, which took a whole run past 15 GB
# of target/: once a set has run, its test binaries (the extension-less
# executables in target/debug/deps built since the last set) are deleted.
# Libraries and examples stay; cargo relinks a deleted binary if asked again.
binaries_since="$(mktemp)"
drop_test_binaries() {
  find target/debug/deps -maxdepth 1 -type f -perm -u+x ! -name '*.*' \
    -newer "$binaries_since" -delete
  touch "$binaries_since"
  du -sh target 2>/dev/null || true
}

say "Rust tests"
run_tests --workspace --all-features
cargo test --workspace --doc --all-features --locked

say "pmcp-tasks with no features, then with each backend feature alone"
for features in "" sqlite redis dynamodb; do
  echo "-- features: ${features:-none}"
  cargo clippy -p pmcp-tasks --all-targets --no-default-features ${features:+--features "$features"} --locked -- -D warnings
  # The wire fuzzer runs its full 10,000 cases once, above; so do the races.
  PMCP_FUZZ_CASES=1000 SKIP_RACES=1 run_tests -p pmcp-tasks --no-default-features ${features:+--features "$features"}
done

say "real MCP clients against the quickstart"
cargo build --example quickstart --example conformance --example workflow --example report --locked
(cd client-tests && npm test)
client-tests/python/.venv/bin/python -m pytest client-tests/python -q

say "chaos run: an instance and redis-server killed with SIGKILL mid-run (./scripts/chaos.sh)"
python3 scripts/chaos.py --tasks 8 --quickstart target/debug/examples/quickstart

say "official MCP conformance suite: tasks-* scenarios"
(cd conformance && npm test)

say "benchmarks, a smoke run so they do not rot (BENCH_PROFILE=dev ./scripts/bench.sh --quick; its figures mean nothing)"
BENCH_PROFILE=dev ./scripts/bench.sh --quick
