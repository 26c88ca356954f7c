#!/usr/bin/env bash
# The production topology on one box (docs/SCALING.md draws it), all state under var/cluster/:
#   nginx (balancer, X-Accel-Redirect for filesystem media) -> 2 ASGI servers (daphne)
#   PgBouncer (transaction mode) -> PostgreSQL primary, streaming replica (pg_basebackup)
#   Redis (broker, cache, channel layer); 2 gpu workers, 1 default worker, 1 beat
#   Ceph RADOS Gateway (S3) on a one-node Ceph cluster (deploy/ceph-rgw.sh)
# Usage: scripts/cluster.sh up|down|status|restart-web N|kill-web N|env
# Ports: CLUSTER_PORT_BASE (default 18000) + fixed offsets, listed by `scripts/cluster.sh env`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=${CLUSTER_DIR:-$ROOT/var/cluster}
RUN=$VAR/run LOG=$VAR/log
BASE=${CLUSTER_PORT_BASE:-18000}
LB_PORT=$((BASE + 80)) WEB1_PORT=$((BASE + 101)) WEB2_PORT=$((BASE + 102))
PG_PRIMARY_PORT=$((BASE + 432)) PG_REPLICA_PORT=$((BASE + 433)) PGBOUNCER_PORT=$((BASE + 632))
REDIS_PORT=$((BASE + 379)) RGW_PORT=$((BASE + 480)) CEPH_MON_PORT=$((BASE + 789))
METRICS_GPU1=$((BASE + 201)) METRICS_GPU2=$((BASE + 202)) METRICS_DEFAULT=$((BASE + 203)) METRICS_BEAT=$((BASE + 204))
STORAGE=${CLUSTER_STORAGE:-s3}  # s3 (Ceph RGW, presigned URLs) or filesystem (nginx X-Accel-Redirect)
S3_KEY=sora-cluster-access S3_SECRET=sora-cluster-secret-key-0123456789 S3_BUCKET=sora-media
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PY=${PY:-$ROOT/.venv/bin/python}
CELERY=${CELERY:-$ROOT/.venv/bin/celery}
PGUSER_OS=postgres  # PostgreSQL and PgBouncer refuse to run as root

say() { printf '[cluster] %s\n' "$*"; }
as_pg() { runuser -u "$PGUSER_OS" -- "$@"; }

write_env() {
  mkdir -p "$VAR"
  cat > "$VAR/cluster.env" <<ENV
export DJANGO_SETTINGS_MODULE=sora_social.settings
export DATABASE_URL=postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/sora
export DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/sora_replica
export DB_TRANSACTION_POOLING=1
export DB_CONN_MAX_AGE=0
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export REDIS_KEY_PREFIX=sora
export TRUSTED_PROXY_HOPS=1
export LOG_FORMAT=json
export STORAGE_BACKEND=$STORAGE
export MEDIA_ROOT=$VAR/media
export MEDIA_ACCEL_REDIRECT_PREFIX=$([[ $STORAGE == filesystem ]] && echo /_accel/media/)
export S3_BUCKET=$S3_BUCKET
export S3_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export S3_ACCESS_KEY_ID=$S3_KEY
export S3_SECRET_ACCESS_KEY=$S3_SECRET
export S3_REGION=us-east-1
# A rehearsal signs up many accounts from one address (the e2e test, the load run).
export THROTTLE_SIGNUP=\${THROTTLE_SIGNUP:-100000/hour}
export CLUSTER_LB_URL=http://127.0.0.1:$LB_PORT
export CLUSTER_WEB_PORTS=$WEB1_PORT,$WEB2_PORT
export CLUSTER_PG_PRIMARY=postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT/sora
export CLUSTER_PG_REPLICA=postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/sora
export CLUSTER_METRICS_PORTS=web1:$WEB1_PORT,web2:$WEB2_PORT,gpu1:$METRICS_GPU1,gpu2:$METRICS_GPU2,default:$METRICS_DEFAULT,beat:$METRICS_BEAT
export CLUSTER_LOG_DIR=$LOG
ENV
}

pid_alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# A process of ours in a session of its own (its pid is its process group), log appended to.
spawn() {
  local name=$1
  shift
  if pid_alive "$name"; then return; fi
  setsid "$@" >> "$LOG/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

stop_proc() {
  local name=$1 pid
  [[ -f $RUN/$name.pid ]] || return 0
  pid=$(cat "$RUN/$name.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  say "$what did not come up in ${seconds}s (logs: $LOG)"
  return 1
}

postgres_up() {
  mkdir -p "$VAR/pg"
  chown "$PGUSER_OS" "$VAR/pg"
  touch "$LOG/postgres-primary.log" "$LOG/postgres-replica.log" "$LOG/pgbouncer.log"
  chown "$PGUSER_OS" "$LOG/postgres-primary.log" "$LOG/postgres-replica.log" "$LOG/pgbouncer.log"
  local primary=$VAR/pg/primary replica=$VAR/pg/replica
  if [[ ! -f $primary/PG_VERSION ]]; then
    say "initdb: primary on $PG_PRIMARY_PORT"
    as_pg "$PGBIN/initdb" -D "$primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$primary/postgresql.conf" <<CONF
port = $PG_PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$VAR/pg'
timezone = 'UTC'
wal_level = replica
max_wal_senders = 5
hot_standby = on
max_connections = 200
shared_buffers = 128MB
synchronous_commit = on
CONF
    echo "host replication postgres 127.0.0.1/32 trust" >> "$primary/pg_hba.conf"
  fi
  as_pg "$PGBIN/pg_ctl" -D "$primary" -l "$LOG/postgres-primary.log" -w status >/dev/null 2>&1 ||
    as_pg "$PGBIN/pg_ctl" -D "$primary" -l "$LOG/postgres-primary.log" -w start >/dev/null
  if ! as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sora'" | grep -q 1; then
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres sora
  fi
  if [[ ! -f $replica/PG_VERSION ]]; then
    say "pg_basebackup: streaming replica on $PG_REPLICA_PORT"
    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$replica" -R -X stream -c fast
    echo "port = $PG_REPLICA_PORT" >> "$replica/postgresql.conf"
  fi
  as_pg "$PGBIN/pg_ctl" -D "$replica" -l "$LOG/postgres-replica.log" -w status >/dev/null 2>&1 ||
    as_pg "$PGBIN/pg_ctl" -D "$replica" -l "$LOG/postgres-replica.log" -w start >/dev/null
}

postgres_down() {
  for node in replica primary; do
    [[ -f $VAR/pg/$node/PG_VERSION ]] &&
      as_pg "$PGBIN/pg_ctl" -D "$VAR/pg/$node" -m fast -w stop >/dev/null 2>&1 || true
  done
}

pgbouncer_up() {
  local dir=$VAR/pgbouncer
  mkdir -p "$dir"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
sora = host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=sora
sora_replica = host=127.0.0.1 port=$PG_REPLICA_PORT dbname=sora

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
max_prepared_statements = 0
logfile = $LOG/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = postgres
stats_users = postgres
INI
  # PgBouncer 1.18 does not know max_prepared_statements (1.21+): drop it there.
  pgbouncer --version 2>/dev/null | grep -qE 'PgBouncer 1\.(1[0-9]|20)\b' && sed -i '/max_prepared_statements/d' "$dir/pgbouncer.ini"
  echo '"postgres" ""' > "$dir/userlist.txt"
  chown -R "$PGUSER_OS" "$dir"
  if ! { [[ -f $dir/pgbouncer.pid ]] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; }; then
    as_pg pgbouncer -d "$dir/pgbouncer.ini"
  fi
  wait_for pgbouncer 20 "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d sora
}

redis_up() {
  mkdir -p "$VAR/redis"
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$VAR/redis" --logfile "$LOG/redis.log" --pidfile "$RUN/redis.pid"
  wait_for redis 20 redis-cli -p "$REDIS_PORT" ping
}

object_store_up() {
  [[ $STORAGE == s3 ]] || return 0
  say "Ceph: monitor, OSD, RADOS Gateway on $RGW_PORT"
  CEPH_MON_PORT=$CEPH_MON_PORT bash deploy/ceph-rgw.sh start "$VAR/ceph" "$RGW_PORT" "$S3_KEY" "$S3_SECRET"
  "$PY" - <<PYTHON
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:$RGW_PORT", aws_access_key_id="$S3_KEY",
                  aws_secret_access_key="$S3_SECRET", region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
if "$S3_BUCKET" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket="$S3_BUCKET")
PYTHON
}

nginx_conf() {  # the balancer over LB_SERVERS web processes (1 or 2; the load run compares them)
  local servers="        server 127.0.0.1:$WEB1_PORT max_fails=1 fail_timeout=5s;"
  [[ ${LB_SERVERS:-2} == 1 ]] || servers+="\n        server 127.0.0.1:$WEB2_PORT max_fails=1 fail_timeout=5s;"
  sed -e "s#@RUN@#$RUN#g" -e "s#@LOG@#$LOG#g" -e "s#@LB@#$LB_PORT#g" -e "s#@SERVERS@#$servers#" \
    -e "s#@MEDIA@#$VAR/media#g" deploy/nginx.conf.template > "$VAR/nginx.conf"
}

nginx_up() {
  nginx_conf
  mkdir -p "$RUN/nginx"
  if [[ -f $RUN/nginx.pid ]] && kill -0 "$(cat "$RUN/nginx.pid")" 2>/dev/null; then
    nginx -c "$VAR/nginx.conf" -s reload
  else
    nginx -c "$VAR/nginx.conf"
  fi
}

web_up() {  # web_up N
  local n=$1 port
  port=$([[ $n == 1 ]] && echo "$WEB1_PORT" || echo "$WEB2_PORT")
  # shellcheck disable=SC1091
  (source "$VAR/cluster.env" && SORA_PROCESS=web$n DB_POOL=1 spawn "web$n" "$PY" -m sora_social.serve \
    -b 127.0.0.1 -p "$port" sora_social.asgi:application)
}

worker_up() {  # worker_up NAME QUEUE METRICS_PORT
  local name=$1 queue=$2 port=$3
  rm -rf "$VAR/metrics/$name" && mkdir -p "$VAR/metrics/$name"
  # shellcheck disable=SC1091
  (source "$VAR/cluster.env" && SORA_PROCESS=$name METRICS_PORT=$port PROMETHEUS_MULTIPROC_DIR=$VAR/metrics/$name \
    spawn "$name" "$CELERY" -A sora_social worker -Q "$queue" -c 1 -n "$name@%h" --without-gossip --without-mingle \
    --loglevel=INFO)
}

beat_up() {
  # shellcheck disable=SC1091
  (source "$VAR/cluster.env" && SORA_PROCESS=beat METRICS_PORT=$METRICS_BEAT spawn beat "$CELERY" -A sora_social beat \
    -s "$RUN/celerybeat-schedule" --loglevel=INFO)
}

web_ready() { curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz"; }
ready_since() { tail -n "+$2" "$LOG/$1.log" | grep -q " ready."; }  # a worker's "ready." after line $2

up() {
  mkdir -p "$RUN" "$LOG" "$VAR/media"
  [[ -x $PGBIN/initdb ]] || { say "PostgreSQL server binaries not found (apt-get install postgresql)"; exit 1; }
  write_env
  postgres_up
  redis_up
  pgbouncer_up
  object_store_up
  say "migrate (on the primary directly: DDL and advisory locks belong there, not behind the pooler)"
  # shellcheck disable=SC1091
  (source "$VAR/cluster.env" && DATABASE_URL=$CLUSTER_PG_PRIMARY DATABASE_REPLICA_URL= "$PY" manage.py migrate --noinput -v 0)
  say "processes: web1 :$WEB1_PORT, web2 :$WEB2_PORT, gpu1, gpu2, default, beat"
  web_up 1
  web_up 2
  worker_up gpu1 gpu "$METRICS_GPU1"
  worker_up gpu2 gpu "$METRICS_GPU2"
  worker_up default default "$METRICS_DEFAULT"
  beat_up
  nginx_up
  wait_for web1 240 web_ready "$WEB1_PORT"
  wait_for web2 240 web_ready "$WEB2_PORT"
  for name in gpu1 gpu2 default; do
    wait_for "$name" 240 grep -q " ready." "$LOG/$name.log"
  done
  wait_for balancer 20 curl -fsS -o /dev/null "http://127.0.0.1:$LB_PORT/readyz"
  say "up: http://127.0.0.1:$LB_PORT (environment: source $VAR/cluster.env)"
}

down() {
  [[ -f $VAR/nginx.conf && -f $RUN/nginx.pid ]] && { nginx -c "$VAR/nginx.conf" -s quit 2>/dev/null || true; }
  for name in beat default gpu2 gpu1 web2 web1; do stop_proc "$name"; done
  [[ -f $VAR/pgbouncer/pgbouncer.pid ]] && { kill "$(cat "$VAR/pgbouncer/pgbouncer.pid")" 2>/dev/null || true; }
  [[ -f $RUN/redis.pid ]] && { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; }
  [[ -d $VAR/ceph ]] && bash deploy/ceph-rgw.sh stop "$VAR/ceph"
  postgres_down
  say "down (state kept in $VAR; rm -rf it for a fresh start)"
}

status() {
  for name in web1 web2 gpu1 gpu2 default beat; do
    printf '%-8s %s\n' "$name" "$(pid_alive "$name" && echo "up (pid $(cat "$RUN/$name.pid"))" || echo down)"
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) write_env && cat "$VAR/cluster.env" ;;
  kill-web) kill -KILL -- "-$(cat "$RUN/web$2.pid")" && rm -f "$RUN/web$2.pid" ;;
  balance) LB_SERVERS=$2 nginx_up && sleep 1 ;;  # balance 1|2: how many web processes nginx uses
  restart-workers)  # new code or settings on the workers and beat
    for name in gpu1 gpu2 default beat; do stop_proc "$name"; done
    declare -A offset
    for name in gpu1 gpu2 default; do offset[$name]=$(($(wc -l < "$LOG/$name.log") + 1)); done
    worker_up gpu1 gpu "$METRICS_GPU1" && worker_up gpu2 gpu "$METRICS_GPU2" && worker_up default default "$METRICS_DEFAULT"
    beat_up
    for name in gpu1 gpu2 default; do wait_for "$name" 240 ready_since "$name" "${offset[$name]}"; done ;;  # balance 1|2: how many web processes nginx uses
  restart-web) web_up "$2" && wait_for "web$2" 240 web_ready "$([[ $2 == 1 ]] && echo "$WEB1_PORT" || echo "$WEB2_PORT")" ;;
  *) echo "usage: $0 up|down|status|env|kill-web N|restart-web N|restart-workers|balance 1|2" >&2; exit 2 ;;
esac
