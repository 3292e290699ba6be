#!/usr/bin/env bash
# Set up, lint (ruff check, ruff format --check), type-check (mypy, strict on common/),
# then run the whole test suite: once on SQLite, once on a throwaway PostgreSQL.
# Installs what the tests need from Debian's packages when it is missing and we are
# root: PostgreSQL, Chromium (browser tests), poppler and zbar (PDF and QR checks) and
# a Chinese TrueType font (PDFs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The test and lint tools, pinned apart from the runtime packages.
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.lock 2>&1 | grep -v "^WARNING: Location" || true

echo "== Lint =="
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== Type check =="
.venv/bin/mypy

NEEDED="postgresql chromium poppler-utils zbar-tools poppler-data fonts-wqy-zenhei"
MISSING=""
for package in $NEEDED; do
  dpkg -s "$package" >/dev/null 2>&1 || MISSING="$MISSING $package"
done
if [ -n "$MISSING" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $MISSING >/dev/null
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"

echo "== SQLite =="
.venv/bin/python -m pytest -q -n 2 "$@"

if [ -z "$PG_BIN" ]; then
  echo "PostgreSQL not available: skipped the PostgreSQL run" >&2
  exit 1
fi
echo "== PostgreSQL =="
PGDIR="$(mktemp -d /tmp/onetrip-pg.XXXXXX)"
PGPORT="${ONETRIP_TEST_PG_PORT:-55432}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGUSER_NAME="$( [ "$(id -u)" = 0 ] && echo postgres || id -un )"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -U "$PGUSER_NAME" -A trust >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -o "-k $PGDIR -p $PGPORT -c listen_addresses='' -c fsync=off" -l "$PGDIR/log" -w start >/dev/null
trap 'as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null; rm -rf "$PGDIR"' EXIT
export ONETRIP_TEST_PG_URL="postgresql+psycopg://$PGUSER_NAME@/postgres?host=$PGDIR&port=$PGPORT"
.venv/bin/python -m pytest -q -n 2 -m "not sqlite_only" "$@"
