#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer; start the installed ones if they do not, and create
# the database. Says exactly what to install when a service is missing altogether.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
DB_NAME=${DB_NAME:-sora_social}
REDIS_PORT=${REDIS_PORT:-6379}

say() { printf '[services] %s\n' "$*"; }

postgres_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if ! postgres_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "PostgreSQL is not answering; starting cluster $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
  fi
  postgres_up || { say "PostgreSQL is not installed or will not start. Install it: apt-get install -y postgresql (15 or newer), with trust auth for 127.0.0.1, or set DATABASE_URL."; exit 1; }
fi
say "PostgreSQL answers on $PGHOST:$PGPORT"

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    say "Redis is not answering; starting it"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  fi
  redis_up || { say "Redis is not installed or will not start. Install it: apt-get install -y redis-server, or set REDIS_URL."; exit 1; }
fi
say "Redis answers on 127.0.0.1:$REDIS_PORT"

if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
  say "creating database $DB_NAME"
  createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$DB_NAME"
fi
