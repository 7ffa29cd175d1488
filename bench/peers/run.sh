#!/usr/bin/env bash
# Builds the four peer servers and the driver, each with its own
# `cargo build --release -p` (turul's two Tasks eras are exclusive cargo
# features: building them in one invocation would unify the features and
# fail), then runs the driver. Arguments go to the driver:
#
#   ./bench/peers/run.sh [--quick] [--sqlite] [--in-process] [--rounds N] [--only ours,rmcp,turul]
#
# This directory is a cargo workspace of its own; nothing here touches the
# main workspace's build or lock file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

ours_features=()
for arg in "$@"; do
    if [ "$arg" = "--sqlite" ]; then ours_features=(--features sqlite); fi
done

for package in peer-ours peer-rmcp peer-turul-2025 peer-turul-2026 peer-bench; do
    echo "== cargo build --release -p $package" >&2
    if [ "$package" = peer-ours ] || [ "$package" = peer-bench ]; then
        cargo build --release -p "$package" ${ours_features[@]+"${ours_features[@]}"}
    else
        cargo build --release -p "$package"
    fi
done

exec "$CARGO_TARGET_DIR/release/peer-bench" --bin-dir "$CARGO_TARGET_DIR/release" "$@"
