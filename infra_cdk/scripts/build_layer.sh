#!/usr/bin/env bash
# Build the shared Lambda layer: the stockscreen package + its runtime dependencies, as
# manylinux2014_x86_64 / CPython 3.11 wheels (no Docker). Target of `make layer`.
#   usage: infra_cdk/scripts/build_layer.sh [LAYER_DIR]   (default infra_cdk/build/layer)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LAYER_DIR="${1:-$REPO_ROOT/infra_cdk/build/layer}"
PYTHON="${PYTHON:-python}"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT

rm -rf "$LAYER_DIR"
mkdir -p "$LAYER_DIR/python"
"$PYTHON" -m pip wheel --no-deps --wheel-dir "$WHEELS" "$REPO_ROOT"
"$PYTHON" -m pip install \
  --target "$LAYER_DIR/python" \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.11 --abi cp311 \
  --only-binary=:all: --upgrade \
  "$WHEELS"/stockscreen-*.whl
# the local dev tooling is not part of the Lambda runtime
rm -rf "$LAYER_DIR/python/devstack"
find "$LAYER_DIR/python" -name '__pycache__' -type d -prune -exec rm -rf {} +
du -sh "$LAYER_DIR"
