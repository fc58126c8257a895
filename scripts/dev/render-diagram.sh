#!/usr/bin/env bash
# Renders assets/circuit_flow.dot to assets/circuit_flow.svg (installs graphviz if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v dot >/dev/null || ./scripts/lib/ensure-deps.sh graphviz
dot -Tsvg assets/circuit_flow.dot -o assets/circuit_flow.svg
echo "wrote assets/circuit_flow.svg"
