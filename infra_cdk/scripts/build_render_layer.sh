#!/usr/bin/env bash
# Build the reports render function's own layer: fpdf2 and jinja2 (functions/reports/render/requirements.txt)
# as manylinux2014_x86_64 / CPython 3.11 wheels (no Docker). Target of `make render-layer`.
#   usage: infra_cdk/scripts/build_render_layer.sh [LAYER_DIR]   (default infra_cdk/build/render-layer)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LAYER_DIR="${1:-$REPO_ROOT/infra_cdk/build/render-layer}"
PYTHON="${PYTHON:-python}"
rm -rf "$LAYER_DIR"
mkdir -p "$LAYER_DIR/python"
"$PYTHON" -m pip install \
  --target "$LAYER_DIR/python" \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.11 --abi cp311 \
  --only-binary=:all: --upgrade -c "$REPO_ROOT/constraints.txt" \
  -r "$REPO_ROOT/functions/reports/render/requirements.txt"
find "$LAYER_DIR/python" -name '__pycache__' -type d -prune -exec rm -rf {} +
du -sh "$LAYER_DIR"
