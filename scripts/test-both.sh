#!/usr/bin/env bash
# The whole suite on both backends at once: PostgreSQL + Redis ("production") and SQLite
# ("embedded"). Why at once: most of a test's time is waiting (Argon2id in another thread,
# the database, a served gateway, Chromium), so two runs share this 2-core machine well and
# `make test` takes about the time of the longer one. The runs share nothing: each has its
# own PostgreSQL database, Redis key prefix, ports and temporary files (tests/conftest.py).
# Each run's output is kept and printed whole when both are done; the exit status is
# non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
logs=$(mktemp -d)
started=$(date +%s)
GATEWAY_TEST_BACKEND=production "$BIN/pytest" -q -p no:cacheprovider "$@" >"$logs/production.log" 2>&1 &
production=$!
GATEWAY_TEST_BACKEND=embedded "$BIN/pytest" -q -p no:cacheprovider "$@" >"$logs/embedded.log" 2>&1 &
embedded=$!
wait "$production"; production_status=$?
wait "$embedded"; embedded_status=$?
for backend in production embedded; do
    echo "===== GATEWAY_TEST_BACKEND=$backend"
    cat "$logs/$backend.log"
done
echo "===== production: exit $production_status, embedded: exit $embedded_status," \
     "$(( $(date +%s) - started )) s in all"
rm -rf "$logs"
[ "$production_status" -eq 0 ] && [ "$embedded_status" -eq 0 ]
