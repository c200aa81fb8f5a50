#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on loopback for the production-path tests.
# Starts them the way ../shared/SERVICES.md does when the binaries exist; otherwise stops
# with a message naming what is missing. Never lets the suite skip silently.
set -u
pg_ok() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_ok; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  fi
fi
if ! redis_ok; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "services: starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
  fi
fi
missing=""
pg_ok || missing="$missing PostgreSQL(127.0.0.1:5432)"
redis_ok || missing="$missing Redis(127.0.0.1:6379)"
if [ -n "$missing" ]; then
  echo "services: not reachable and could not be started:$missing" >&2
  echo "services: install them or start them as ../shared/SERVICES.md says; the production-path tests need them." >&2
  exit 1
fi
echo "services: PostgreSQL and Redis are up" >&2
