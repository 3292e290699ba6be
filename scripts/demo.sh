#!/usr/bin/env bash
# Set up, then run the local demo network (Ctrl-C stops it; demo-data/ survives).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/onetrip demo --dir demo-data "$@"
