# Shared helpers for the ops scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
BUN_VERSION="1.4.5"
NATS_VERSION="v2.12.3"
export PATH="$HOME/.bun/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"

say() { printf '\033[1;34m[hookline]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[hookline]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[hookline]\033[0m %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name [seconds]
  local port=$1 name=$2 tries=$(( ${3:-30} * 10 ))
  while ! port_open "$port"; do
    tries=$((tries - 1)); [ "$tries" -gt 0 ] || die "$name did not open port $port (see $DATA/$name.log)"
    sleep 0.1
  done
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

apt_updated=""
apt_install() {
  [ "$(id -u)" = 0 ] || die "need root to install $*: run 'sudo apt-get install -y $*' and try again"
  if [ -z "$apt_updated" ]; then say "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; apt_updated=1; fi
  say "installing $* (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- infrastructure: each start_* is a no-op when the service already answers -------

# Dev keys, generated once per checkout into .data/ (gitignored), private to this machine:
# the keyrings the services read with HOOKLINE_ENV=development (shared/dev-credentials.ts
# names the files; ids start with "dev-", which production refuses) and JetStream's key.
ensure_dev_keys() {
  mkdir -p "$DATA"
  local file now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for file in dev-keys dev-blind-index-key nats-js-key; do
    [ -s "$DATA/$file" ] && continue
    say "generating the dev key $DATA/$file"
    ( umask 077
      # "k" and hex: nats-server parses $JS_KEY as a config value, and a base64 key such as
      # "1.5…" stops it with a parse error (ops/jetstream-store.ts makes the same for the tests).
      if [ "$file" = nats-js-key ]; then printf 'k%s\n' "$(openssl rand -hex 32)" >"$DATA/$file.tmp"
      else printf 'dev-%s:%s:%s\n' "$(date -u +%Y%m%d)" "$(openssl rand -base64 32)" "$now" >"$DATA/$file.tmp"; fi
      mv "$DATA/$file.tmp" "$DATA/$file" )
  done
}

# start_nats PORT MONITOR_PORT STORE_DIR
# JetStream encrypts its store at rest (cipher aes, key .data/nats-js-key through $JS_KEY, so
# the key is in no file the server reads): message blocks hold webhook bodies.
start_nats() {
  local port=${1:-4222} mon=${2:-8222} store=${3:-$DATA/nats}
  if port_open "$port"; then say "NATS already on :$port"; return; fi
  mkdir -p "$store" "$DATA"
  ensure_dev_keys
  printf 'jetstream {\n  store_dir: "%s"\n  cipher: aes\n  key: $JS_KEY\n}\n' "$store" >"$DATA/nats-$port.conf"
  say "starting NATS (JetStream, store encrypted) on :$port, monitoring :$mon"
  # In a subshell, so it is no job of the caller's shell (whose `wait` must not wait on it).
  ( JS_KEY="$(cat "$DATA/nats-js-key")" nohup nats-server -c "$DATA/nats-$port.conf" -a 127.0.0.1 -p "$port" -m "$mon" \
    -P "$DATA/nats-$port.pid" >"$DATA/nats-$port.log" 2>&1 & )
  wait_port "$port" "nats-$port"
}

# start_nats_cluster SIZE: SIZE nats-servers on loopback as one JetStream cluster "hookline"
# (./ops/up --nats-cluster 3). Node i (1..SIZE): server name n<i>, clients on 4221+i, monitoring
# on 8221+i, routes on 6221+i, its own store .data/nats-n<i>, encrypted as start_nats's (one key,
# through $JS_KEY). The same text as ops/jetstream-store.ts clusterNodeConfig (the tests' nodes).
start_nats_cluster() {
  local size=${1:-3} i port mon route routes=""
  ensure_dev_keys
  for i in $(seq "$size"); do routes+="${routes:+, }nats-route://127.0.0.1:$((6221 + i))"; done
  for i in $(seq "$size"); do
    port=$((4221 + i)); mon=$((8221 + i)); route=$((6221 + i))
    if port_open "$port"; then say "NATS already on :$port"; continue; fi
    mkdir -p "$DATA/nats-n$i"
    printf 'server_name: n%s\njetstream {\n  store_dir: "%s"\n  cipher: aes\n  key: $JS_KEY\n}\ncluster {\n  name: hookline\n  listen: 127.0.0.1:%s\n  routes: [%s]\n}\n' \
      "$i" "$DATA/nats-n$i" "$route" "$routes" >"$DATA/nats-$port.conf"
    say "starting NATS node n$i of $size (JetStream cluster, store encrypted) on :$port, monitoring :$mon, routes :$route"
    ( JS_KEY="$(cat "$DATA/nats-js-key")" nohup nats-server -c "$DATA/nats-$port.conf" -a 127.0.0.1 -p "$port" -m "$mon" \
      -P "$DATA/nats-$port.pid" >"$DATA/nats-$port.log" 2>&1 & )
  done
  for i in $(seq "$size"); do wait_port $((4221 + i)) "nats-$((4221 + i))"; done
}
# The client URLs of start_nats_cluster's nodes, comma-separated (NATS_URL).
nats_cluster_url() {
  local size=${1:-3} i url=""
  for i in $(seq "$size"); do url+="${url:+,}nats://127.0.0.1:$((4221 + i))"; done
  echo "$url"
}
stop_nats_cluster() {
  local size=${1:-3} i
  for i in $(seq "$size"); do stop_pidfile "$DATA/nats-$((4221 + i)).pid"; done
}

# Postgres runs as user postgres, which must reach its data directory. When the checkout
# sits below a folder it cannot enter (a private home or CI folder), use /var/lib instead.
pg_home() {
  mkdir -p "$DATA"
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$DATA" 2>/dev/null; then echo "$DATA"
  else echo "/var/lib/hookline/$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"; fi
}

start_postgres() {
  local port=5432 bin home pgdata run
  home=$(pg_home); pgdata="$home/pg"; run="$home/pg-run"
  if ! port_open $port; then
    bin=$(pg_bindir) || die "no PostgreSQL server binaries; run ./ops/setup"
    mkdir -p "$run"
    if [ ! -s "$pgdata/PG_VERSION" ]; then
      say "initialising PostgreSQL cluster in $pgdata"
      mkdir -p "$pgdata"
      if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pgdata" "$run"; fi
      as_pg "$bin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DATA/pg-init.log" 2>&1 \
        || die "initdb failed (see $DATA/pg-init.log)"
    fi
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$run"
    say "starting PostgreSQL on :$port"
    as_pg "$bin/pg_ctl" -D "$pgdata" -l "$run/pg.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$run -c fsync=on -c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=on" start >/dev/null \
      || die "PostgreSQL did not start (see $run/pg.log)"
  else
    say "PostgreSQL already on :$port"
  fi
  ensure_database hookline
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Runs SQL as the superuser: over our cluster's socket when ours runs; else over the
# distribution's default socket (peer auth, e.g. a systemd-started Debian cluster);
# else over TCP.
psql_admin() {
  local run
  run="$(pg_home)/pg-run"
  # A cluster started by another checkout's start_postgres: its socket directory is on the
  # postmaster's command line.
  [ -S "$run/.s.PGSQL.5432" ] \
    || run=$(ps -o args= -C postgres 2>/dev/null | grep -o 'unix_socket_directories=[^ ]*' | head -1 | cut -d= -f2)
  if [ -n "$run" ] && [ -S "$run/.s.PGSQL.5432" ]; then as_pg psql -h "$run" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
  elif [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then as_pg psql -h /var/run/postgresql -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
  else as_pg psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; fi
}

# ensure_database NAME: role hookline/hookline (dev only) owning database NAME.
ensure_database() {
  local db=$1
  if PGPASSWORD=hookline psql -h 127.0.0.1 -U hookline -d "$db" -qtAc 'select 1' >/dev/null 2>&1; then return; fi
  psql_admin -d postgres -c "do \$\$ begin if not exists (select from pg_roles where rolname='hookline') then create role hookline login password 'hookline'; end if; end \$\$;" \
    || die "cannot reach PostgreSQL as superuser to create role hookline"
  if [ -z "$(psql_admin -d postgres -c "select 1 from pg_database where datname='$db'")" ]; then
    say "creating database $db"
    psql_admin -d postgres -c "create database \"$db\" owner hookline" >/dev/null
  fi
}

start_redis() {
  local port=${1:-6379}
  if port_open "$port"; then say "Redis already on :$port"; return; fi
  mkdir -p "$DATA/redis"
  say "starting Redis on :$port"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$DATA/redis" --daemonize yes \
    --pidfile "$DATA/redis-$port.pid" --logfile "$DATA/redis-$port.log" --save "" --appendonly no >/dev/null
  wait_port "$port" "redis-$port"
}

stop_pidfile() { # pidfile
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" && say "stopped $(basename "$pidfile" .pid)"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}
# The services of this checkout (matched by their absolute path, so another checkout's
# services on the same machine are left alone).
service_pattern() { printf '%s' "bun $ROOT/services/(ingress|projector|dashboard)/main.ts"; }

stop_nats() { stop_pidfile "$DATA/nats-${1:-4222}.pid"; }
stop_redis() { stop_pidfile "$DATA/redis-${1:-6379}.pid"; }
stop_postgres() {
  local bin pgdata
  pgdata="$(pg_home)/pg"
  [ -s "$pgdata/postmaster.pid" ] || return 0
  bin=$(pg_bindir) && as_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 && say "stopped PostgreSQL" || true
}
