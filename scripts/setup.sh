#!/usr/bin/env bash
# Create .venv and install onetrip with the pinned runtime dependencies (requirements.lock);
# scripts/test.sh adds the test and lint tools (requirements-test.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
echo "安装 onetrip 运行所需的软件包（requirements.lock；首次约需一两分钟）……"
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e . 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import common, fastapi, sqlmodel" # fail loudly if the install did not take
echo "安装完成。"
