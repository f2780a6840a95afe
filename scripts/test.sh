#!/usr/bin/env bash
# Run the whole test suite: make sure Chromium, PostgreSQL and Redis are there
# first. Under CI=true a missing one fails the browser or PostgreSQL tests
# instead of skipping them.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium from Debian (for the browser tests)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium"
fi
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "Starting PostgreSQL..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "Starting Redis..."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" || true
fi

# The compiled message catalogs, from the committed ones (tests/i18n checks those).
$BIN/python -m giveaway.i18n.catalogs compile >/dev/null || exit 1
$BIN/ruff check giveaway tests bench || exit 1
# The layers and cycles declared in pyproject.toml ([tool.importlinter]).
$BIN/lint-imports --no-cache || exit 1
# Static types of giveaway/ ([tool.mypy] in pyproject.toml).
$BIN/mypy || exit 1
# Branch coverage of giveaway/ is measured on every run (the console-script
# tests' own processes too: pyproject.toml [tool.coverage.run]); below the
# floor the run fails. The tests run on two cores (-n 2; a later -n overrides it).
exec $BIN/python -m pytest -n 2 --cov=giveaway --cov-branch \
  --cov-report=term-missing:skip-covered --cov-fail-under=96 "$@"
