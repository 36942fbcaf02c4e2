#!/usr/bin/env bash
# deploy/cluster.sh — the cluster profile of the native stack (no Docker): every node its own process on loopback,
# on its own block of ports, data under $CLUSTER_DIR (default <repo>/.stack/cluster, git-ignored).
#
#   bash deploy/stack.sh up|down|status|reset --profile cluster [node ...]
#   bash deploy/stack.sh kill --profile cluster <node ...>    # SIGKILL (fault injection); `up <node>` restarts it
#
# Nodes (start order; stop order is the reverse):
#   postgres      PostgreSQL 15 primary                              15432
#   pg-replica    streaming-replication hot standby of it           15433
#   redis         Redis 7                                            16379
#   zookeeper     ZooKeeper (Debian `zookeeper`) for ClickHouse      12181
#   ch1..ch4      ClickHouse 18.16: shard 1 = ch1, ch2; shard 2 = ch3, ch4 (ReplicatedMergeTree)
#                 HTTP 18123-18126, native 19000-19003, interserver 19010-19013
#   kafka1..3     Kafka KRaft, combined broker+controller            19092-19094 (controllers 19192-19194)
#   registry      Apicurio Registry (schemas in the primary)         18081 (management 18091)
# `up` writes $CLUSTER_DIR/cluster.env: the services' and tests' configuration for this profile
# (`set -a; . .stack/cluster/cluster.env; set +a`, or `npm run test:cluster`, which loads it).
set -euo pipefail

CLUSTER_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLUSTER_ROOT="$(cd "$CLUSTER_DEPLOY_DIR/.." && pwd)"

# ------------------------------------------------------------------------------------------- ports
: "${CLUSTER_DIR:=$CLUSTER_ROOT/.stack/cluster}"
: "${CLUSTER_PG_PORT:=15432}"
: "${CLUSTER_PG_REPLICA_PORT:=15433}"
: "${CLUSTER_REDIS_PORT:=16379}"
: "${CLUSTER_ZK_PORT:=12181}"
: "${CLUSTER_CH_HTTP_BASE:=18123}"        # ch1..ch4: base+0..3
: "${CLUSTER_CH_TCP_BASE:=19000}"
: "${CLUSTER_CH_INTERSERVER_BASE:=19010}"
: "${CLUSTER_KAFKA_BASE:=19092}"          # kafka1..3: base+0..2
: "${CLUSTER_KAFKA_CONTROLLER_BASE:=19192}"
: "${CLUSTER_REGISTRY_PORT:=18081}"
: "${CLUSTER_REGISTRY_MANAGEMENT_PORT:=18091}"
: "${CLUSTER_KAFKA_HEAP_OPTS:=-Xms256m -Xmx512m}"
: "${CLUSTER_NAME:=studystream}"          # the <remote_servers> cluster the Distributed tables use

# The default stack's functions run on this profile's directories and ports (their connection strings are derived
# from the ports in env.sh, so the ones of the caller's environment are dropped).
unset DATABASE_URL REDIS_URL CLICKHOUSE_URL KAFKA_BROKERS SCHEMA_REGISTRY_URL
export STACK_CACHE="${STACK_CACHE:-$CLUSTER_ROOT/.stack/cache}"   # downloads shared with the default profile
export STACK_DIR="$CLUSTER_DIR" POSTGRES_PORT="$CLUSTER_PG_PORT" REDIS_PORT="$CLUSTER_REDIS_PORT" \
  REGISTRY_PORT="$CLUSTER_REGISTRY_PORT" REGISTRY_MANAGEMENT_PORT="$CLUSTER_REGISTRY_MANAGEMENT_PORT" \
  REDIS_MAXMEMORY="${CLUSTER_REDIS_MAXMEMORY:-512mb}" POSTGRES_SHARED_BUFFERS="${CLUSTER_PG_SHARED_BUFFERS:-128MB}"
# stack.sh resolves PostgreSQL's folders when sourced (resolve_pg_paths: under /var/lib/studystream-stack when the
# postgres user cannot traverse STACK_DIR, which is also the case while STACK_DIR does not exist yet), and
# start_postgres resolves them again once the folders exist. The standby's folders (PG_REPLICA_*) derive from the
# first resolution: on a fresh CLUSTER_DIR they went to /var/lib/... while the primary and every later run used
# $DATA, so later runs lost track of the running standby (live_pid removed its pid file; `down` said "not
# running"). Creating CLUSTER_DIR first makes every resolution agree.
mkdir -p "$CLUSTER_DIR"
STACK_SH_LIBRARY=1
# shellcheck source=deploy/stack.sh
source "$CLUSTER_DEPLOY_DIR/stack.sh"

NODES=(postgres pg-replica redis zookeeper ch1 ch2 ch3 ch4 kafka1 kafka2 kafka3 registry)
CH_NODES=(ch1 ch2 ch3 ch4)
KAFKA_NODES=(kafka1 kafka2 kafka3)
ENV_FILE="$CLUSTER_DIR/cluster.env"
PG_REPLICA_DATA="${PG_DATA}-replica" PG_REPLICA_RUN="${PG_RUN}-replica" PG_REPLICA_LOG="${PG_LOG%.log}-replica.log"
ZK_CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

node_index() { echo "${1//[!0-9]/}"; }   # ch3 -> 3
ch_http() { echo $((CLUSTER_CH_HTTP_BASE + $(node_index "$1") - 1)); }
ch_tcp() { echo $((CLUSTER_CH_TCP_BASE + $(node_index "$1") - 1)); }
ch_inter() { echo $((CLUSTER_CH_INTERSERVER_BASE + $(node_index "$1") - 1)); }
ch_shard() { echo $((($(node_index "$1") + 1) / 2)); }     # ch1, ch2 -> 1; ch3, ch4 -> 2
ch_replica() { echo $((($(node_index "$1") + 1) % 2 + 1)); } # ch1 -> 1, ch2 -> 2, ch3 -> 1, ch4 -> 2
kafka_port() { echo $((CLUSTER_KAFKA_BASE + $(node_index "$1") - 1)); }
kafka_controller_port() { echo $((CLUSTER_KAFKA_CONTROLLER_BASE + $(node_index "$1") - 1)); }
kafka_bootstrap() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(kafka_port "$n")"); done; (IFS=,; echo "${out[*]}"); }
kafka_voters() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("$(node_index "$n")@127.0.0.1:$(kafka_controller_port "$n")"); done; (IFS=,; echo "${out[*]}"); }
ch_urls() { local n out=(); for n in "${CH_NODES[@]}"; do out+=("http://127.0.0.1:$(ch_http "$n")"); done; (IFS=,; echo "${out[*]}"); }

# Which pid belongs to which node of *this* profile (the default stack's checks for postgres, redis, registry).
eval "default_is_ours() $(declare -f is_ours | tail -n +2)"
is_ours() {
  local c=$1 pid=$2 cmd
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ] || return 1
  cmd="$(cmdline "$pid")"
  case "$c" in
    pg-replica) [[ "$cmd" == *"postgres -D $PG_REPLICA_DATA "* ]] ;;
    zookeeper)  [[ "$cmd" == *"$MARKER "* && "$cmd" == *" org.apache.zookeeper.server.quorum.QuorumPeerMain "* ]] ;;
    ch[1-4])    [[ "$cmd" == *"--config-file=$CONF/$c/clickhouse/config.xml"* ]] ;;
    kafka[1-3]) [[ "$cmd" == *"$MARKER "* && "$cmd" == *" kafka.Kafka $CONF/$c/server.properties"* ]] ;;
    *) default_is_ours "$@" ;;
  esac
}

# ------------------------------------------------------------------------------------ postgres (+replica)
# The primary is the default stack's postgres with WAL kept for the standby.
eval "default_conf_postgres() $(declare -f conf_postgres | tail -n +2)"
conf_postgres() {
  default_conf_postgres
  cat >>"$CONF/postgres/postgresql.conf" <<EOF
# cluster profile: a streaming-replication standby follows this primary
wal_level = replica
max_wal_senders = 5
wal_keep_size = 512MB
hot_standby = on
EOF
}

health_pg-replica() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CLUSTER_PG_REPLICA_PORT" -t 2 \
    && [ "$("$PG_BIN/psql" -X -At -h "$PG_REPLICA_RUN" -p "$CLUSTER_PG_REPLICA_PORT" -U postgres -d postgres \
      -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]
}
start_pg-replica() {
  local d="$PG_REPLICA_DATA" logf="$PG_REPLICA_LOG" pid
  health_postgres || die "pg-replica follows the primary, which is not running: up postgres"
  mkdir -p "$PG_REPLICA_RUN"; chown postgres:postgres "$PG_REPLICA_RUN"; chmod 755 "$PG_REPLICA_RUN"
  touch "$logf"; chown postgres:postgres "$logf"
  if [ ! -f "$d/PG_VERSION" ]; then
    log "pg-replica: pg_basebackup from the primary"
    rm -rf "$d"; mkdir -p "$d"; chown postgres:postgres "$d"; chmod 700 "$d"
    runuser -u postgres -- "$PG_BIN/pg_basebackup" -h "$PG_RUN" -p "$POSTGRES_PORT" -U postgres -D "$d" \
      -X stream -R -c fast >>"$logf" 2>&1 || die "pg_basebackup failed; see $logf"
  fi
  sed -E -e "s#^port = .*#port = $CLUSTER_PG_REPLICA_PORT#" \
    -e "s#^unix_socket_directories = .*#unix_socket_directories = '$PG_REPLICA_RUN'#" \
    "$CONF/postgres/postgresql.conf" >"$CONF/postgres/replica.conf"
  printf 'hot_standby_feedback = on\n' >>"$CONF/postgres/replica.conf"
  install -o postgres -g postgres -m 600 "$CONF/postgres/replica.conf" "$d/postgresql.conf"
  [ -f "$d/standby.signal" ] || die "$d is not a standby (no standby.signal): reset pg-replica"
  if [ -f "$d/postmaster.pid" ] && ! is_ours pg-replica "$(head -n1 "$d/postmaster.pid")"; then rm -f "$d/postmaster.pid"; fi
  setsid runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d" -l "$logf" -w -t "$STACK_START_TIMEOUT" -s start </dev/null 9>&- \
    || die "pg-replica failed to start; see $logf"
  pid="$(head -n1 "$d/postmaster.pid")"
  echo "$pid" >"$(pidfile pg-replica)"
  wait_healthy pg-replica "$logf" "$pid"
}
stop_pg-replica() { stop_pid pg-replica "$1" INT; }

# ---------------------------------------------------------------------------------------------- zookeeper
# Serving, not just alive: `ruok` answers imok while ZooKeeper still loads its log, and a ClickHouse node that
# starts then cannot open its session (handshake closed) and gives up on its replicated tables.
health_zookeeper() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CLUSTER_ZK_PORT; printf srvr >&3; cat <&3" 2>/dev/null | grep -q '^Mode: standalone'
}
start_zookeeper() {
  local logf="$LOGS/zookeeper.log" pid
  [ -f /usr/share/java/zookeeper.jar ] || die "zookeeper not installed (/usr/share/java/zookeeper.jar)"
  mkdir -p "$CONF/zookeeper" "$DATA/zookeeper"
  cat >"$CONF/zookeeper/zoo.cfg" <<EOF
# generated by deploy/cluster.sh: a single ZooKeeper for the ClickHouse replicas, loopback only
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$DATA/zookeeper
clientPort=$CLUSTER_ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  pid="$(spawn "$logf" java -Xms64m -Xmx256m -XX:+UseSerialGC "$MARKER" -Dzookeeper.log.dir="$LOGS" \
    -Dzookeeper.root.logger=INFO,CONSOLE -Dzookeeper.admin.enableServer=false -cp "$ZK_CP" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF/zookeeper/zoo.cfg")"
  echo "$pid" >"$(pidfile zookeeper)"
  wait_healthy zookeeper "$logf" "$pid"
}
stop_zookeeper() { stop_pid zookeeper "$1" TERM; }

# --------------------------------------------------------------------------------------------- clickhouse
ch_remote_servers() {
  local s n
  printf '    <remote_servers>\n      <%s>\n' "$CLUSTER_NAME"
  for s in 1 2; do
    printf '        <shard>\n          <internal_replication>true</internal_replication>\n'
    for n in "${CH_NODES[@]}"; do
      [ "$(ch_shard "$n")" = "$s" ] || continue
      printf '          <replica><host>127.0.0.1</host><port>%s</port></replica>\n' "$(ch_tcp "$n")"
    done
    printf '        </shard>\n'
  done
  printf '      </%s>\n    </remote_servers>\n' "$CLUSTER_NAME"
}

# The default stack's config.xml/users.xml for this node's ports and folders, plus config.d/cluster.xml (ZooKeeper,
# macros {shard} {replica}, the cluster) and, in the default profile, insert_distributed_sync=1: an INSERT into a
# Distributed table returns once every shard wrote its rows (the sink's acknowledgement means "stored").
conf_ch() {
  local n=$1 c="$CONF/$1/clickhouse"
  (
    CLICKHOUSE_HTTP_PORT="$(ch_http "$n")" CLICKHOUSE_TCP_PORT="$(ch_tcp "$n")" \
      CLICKHOUSE_INTERSERVER_PORT="$(ch_inter "$n")" CONF="$CONF/$n" DATA="$DATA/$n" LOGS="$LOGS/$n"
    mkdir -p "$LOGS"
    conf_clickhouse
  )
  mkdir -p "$c/config.d"
  cat >"$c/config.d/cluster.xml" <<EOF
<?xml version="1.0"?>
<!-- generated by deploy/cluster.sh for $n (shard $(ch_shard "$n"), replica $(ch_replica "$n")) -->
<yandex>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$CLUSTER_ZK_PORT</port></node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>$(ch_shard "$n")</shard>
        <replica>$n</replica>
    </macros>
$(ch_remote_servers)
</yandex>
EOF
  sed -i -E "s#(<max_memory_usage>[0-9]+</max_memory_usage>)#\1\n            <insert_distributed_sync>1</insert_distributed_sync>#" "$c/users.xml"
  grep -q insert_distributed_sync "$c/users.xml" || die "could not set insert_distributed_sync in $c/users.xml"
}
health_ch() { [ "$(curl -s -m 3 "http://127.0.0.1:$(ch_http "$1")/ping" 2>/dev/null)" = "Ok." ]; }
spawn_ch() {
  local n=$1 pid
  command -v clickhouse-server >/dev/null || die "clickhouse-server not installed"
  conf_ch "$n"
  mkdir -p "$DATA/$n/clickhouse"
  pid="$(cd "$DATA/$n/clickhouse" && spawn "$LOGS/$n/clickhouse.stdout.log" clickhouse-server --config-file="$CONF/$n/clickhouse/config.xml")"
  echo "$pid" >"$(pidfile "$n")"
}

# ---------------------------------------------------------------------------------------------------- kafka
conf_kafka_node() {
  local n=$1 i; i="$(node_index "$1")"
  mkdir -p "$CONF/$n" "$DATA/$n/logs" "$LOGS/$n"
  kafka_properties "generated by deploy/cluster.sh: KRaft node $i of 3 (combined broker+controller) on loopback" \
    "$i" "$(kafka_port "$n")" "$(kafka_controller_port "$n")" "$DATA/$n/logs" 3 2 \
    "controller.quorum.voters=$(kafka_voters)" \
    "advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$n")" \
    unclean.leader.election.enable=false \
    num.network.threads=2 num.io.threads=2 num.recovery.threads.per.data.dir=1 \
    log.flush.interval.messages=9223372036854775807 \
    >"$CONF/$n/server.properties"
}
format_kafka_node() {
  local n=$1 id
  [ -f "$DATA/$n/logs/meta.properties" ] && return 0
  id="$(tr -d '[:space:]' <"$DATA/kafka-cluster-id")"
  kafka_java kafka.tools.StorageTool format --cluster-id "$id" --config "$CONF/$n/server.properties" \
    >>"$LOGS/$n.stdout.log" 2>&1 || die "kafka storage format of $n failed; see $LOGS/$n.stdout.log"
}
spawn_kafka() {
  local n=$1 pid
  # shellcheck disable=SC2086
  pid="$(spawn "$LOGS/$n.stdout.log" java $CLUSTER_KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:TieredStopAtLevel=1 -Djava.awt.headless=true "$MARKER" -Dkafka.logs.dir="$LOGS/$n" \
    -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.xml" -cp "$KAFKA_LIBS/*" kafka.Kafka "$CONF/$n/server.properties")"
  echo "$pid" >"$(pidfile "$n")"
}
# A broker is healthy when the cluster's metadata (asked of any live node) lists it.
kafka_registered_ids() {
  timeout 40 bash -c 'kafka_java org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$1" 2>/dev/null' _ "$(kafka_bootstrap)" \
    | sed -nE 's/.*\(id: ([0-9]+) .*/\1/p' | sort -u | tr '\n' ' '
}

# ------------------------------------------------------------------------------------------------ per node
health_node() {
  case "$1" in
    postgres) health_postgres ;;
    pg-replica) health_pg-replica ;;
    redis) health_redis ;;
    zookeeper) health_zookeeper ;;
    registry) health_registry ;;
    ch*) health_ch "$1" ;;
    kafka*) port_open "$(kafka_port "$1")" && [[ " $(kafka_registered_ids) " == *" $(node_index "$1") "* ]] ;;
  esac
}
ports_of_node() {
  case "$1" in
    postgres) echo "$CLUSTER_PG_PORT" ;;
    pg-replica) echo "$CLUSTER_PG_REPLICA_PORT" ;;
    redis) echo "$CLUSTER_REDIS_PORT" ;;
    zookeeper) echo "$CLUSTER_ZK_PORT" ;;
    registry) echo "$CLUSTER_REGISTRY_PORT $CLUSTER_REGISTRY_MANAGEMENT_PORT" ;;
    ch*) echo "$(ch_http "$1") $(ch_tcp "$1") $(ch_inter "$1")" ;;
    kafka*) echo "$(kafka_port "$1") $(kafka_controller_port "$1")" ;;
  esac
}
logfile_of() {
  case "$1" in
    pg-replica) echo "$PG_REPLICA_LOG" ;;
    ch*) echo "$LOGS/$1/clickhouse.err.log" ;;
    kafka*) echo "$LOGS/$1/kafka.log" ;;
    postgres) echo "$PG_LOG" ;;
    *) echo "$LOGS/$1.log" ;;
  esac
}
wait_node() {
  local n=$1 pid=$2 deadline=$((SECONDS + STACK_START_TIMEOUT))
  until health_node "$n"; do
    [ -d "/proc/$pid" ] || die "$n exited during startup; see $(logfile_of "$n")"
    [ "$SECONDS" -lt "$deadline" ] || die "$n did not become healthy within ${STACK_START_TIMEOUT}s; see $(logfile_of "$n")"
    sleep 1
  done
}

write_env() {
  local pgu="postgres://$POSTGRES_USER:$POSTGRES_PASSWORD@127.0.0.1"
  cat >"$ENV_FILE.tmp" <<EOF
# generated by deploy/cluster.sh up: the cluster profile's configuration for the services, the CLI and the tests
# (set -a; . $ENV_FILE; set +a). Nothing here is a secret beyond the stack's local development passwords.
STUDYSTREAM_PROFILE=cluster
KAFKA_BROKERS=$(kafka_bootstrap)
KAFKA_REPLICATION_FACTOR=3
KAFKA_RETRY_MAX_MS=1000
CLICKHOUSE_URL=http://127.0.0.1:$(ch_http ch1)
CLICKHOUSE_CLUSTER=$CLUSTER_NAME
CLICKHOUSE_CLUSTER_NODES=$(ch_urls)
CLICKHOUSE_TCP_PORT=$(ch_tcp ch1)
DATABASE_URL=$pgu:$CLUSTER_PG_PORT/$POSTGRES_DB
PG_READ_URL=$pgu:$CLUSTER_PG_REPLICA_PORT/$POSTGRES_DB
REDIS_URL=redis://127.0.0.1:$CLUSTER_REDIS_PORT/0
SCHEMA_REGISTRY_URL=http://127.0.0.1:$CLUSTER_REGISTRY_PORT/apis/ccompat/v7
INGEST_PORT=18080
API_PORT=18090
STREAM_PORT=18095
JOBS_PORT=18097
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# ------------------------------------------------------------------------------------------------ commands
node_pid() { live_pid "$1"; }

cmd_cluster_up() {
  local t0 n p pid started=() kafka_new=() ch_new=(); t0="$(now)"
  # Installation: the default stack's packages and downloads, plus ZooKeeper.
  install_postgres; install_redis; install_clickhouse; [ -f /usr/share/java/zookeeper.jar ] || APT_MISSING+=(zookeeper)
  apt_install_missing
  install_kafka; install_registry
  for n in "$@"; do
    if pid="$(node_pid "$n")"; then log "$n: already running (pid $pid)"; continue; fi
    for p in $(ports_of_node "$n"); do require_free_port "$p" "CLUSTER_*" "$n"; done
    case "$n" in
      postgres) log "postgres: starting"; start_postgres ;;
      pg-replica) log "pg-replica: starting"; start_pg-replica ;;
      redis) log "redis: starting"; start_redis ;;
      zookeeper) log "zookeeper: starting"; start_zookeeper ;;
      registry) log "registry: starting"; start_registry ;;
      ch*) health_zookeeper || die "$n needs ZooKeeper: up zookeeper"; log "$n: starting"; spawn_ch "$n"; ch_new+=("$n") ;;
      kafka*) conf_kafka_node "$n"; kafka_new+=("$n") ;;
    esac
    started+=("$n")
  done
  # ClickHouse nodes start together; so do the Kafka nodes (a controller quorum needs 2 of the 3 to come up).
  for n in "${ch_new[@]}"; do wait_node "$n" "$(node_pid "$n")"; log "$n: healthy"; done
  if [ "${#kafka_new[@]}" -gt 0 ]; then
    [ -s "$DATA/kafka-cluster-id" ] || new_kafka_uuid >"$DATA/kafka-cluster-id"
    for n in "${kafka_new[@]}"; do format_kafka_node "$n" & done
    wait
    for n in "${kafka_new[@]}"; do
      [ -f "$DATA/$n/logs/meta.properties" ] || die "kafka storage format of $n failed; see $LOGS/$n.stdout.log"
    done
    for n in "${kafka_new[@]}"; do log "$n: starting"; spawn_kafka "$n"; done
    for n in "${kafka_new[@]}"; do wait_node "$n" "$(node_pid "$n")"; log "$n: healthy"; done
  fi
  write_env
  log "up (cluster profile): ${started[*]:-nothing new} in $(elapsed "$t0")s; configuration in $ENV_FILE"
}

cmd_cluster_down() {
  local i n pid
  for ((i = $# ; i >= 1 ; i--)); do
    n="${!i}"
    if pid="$(node_pid "$n")"; then
      log "$n: stopping (pid $pid)"
      case "$n" in postgres | pg-replica) stop_pid "$n" "$pid" INT ;; *) stop_pid "$n" "$pid" TERM ;; esac
      rm -f "$(pidfile "$n")"
    else
      log "$n: not running"
    fi
  done
}

cmd_cluster_kill() {
  local n pid
  for n in "$@"; do
    pid="$(node_pid "$n")" || die "$n is not running"
    kill -KILL "$pid"
    while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do sleep 0.05; done
    rm -f "$(pidfile "$n")"
    log "$n: killed (SIGKILL, pid $pid)"
  done
}

cmd_cluster_status() {
  local n pid state health rc=0 ids=""
  port_open "$(kafka_port kafka1)" || port_open "$(kafka_port kafka2)" || port_open "$(kafka_port kafka3)" \
    && ids=" $(kafka_registered_ids) "
  printf '%-11s %-8s %-9s %-22s %s\n' NODE STATE HEALTH PORTS PID
  for n in "$@"; do
    health=unhealthy
    if pid="$(node_pid "$n")"; then
      state=running
      case "$n" in
        kafka*) [[ "$ids" == *" $(node_index "$n") "* ]] && health=healthy ;;
        *) health_node "$n" && health=healthy ;;
      esac
    else
      state=stopped pid=-
    fi
    [ "$health" = healthy ] || rc=1
    printf '%-11s %-8s %-9s %-22s %s\n' "$n" "$state" "$health" "$(ports_of_node "$n")" "$pid"
  done
  return "$rc"
}

cmd_cluster_reset() {
  cmd_cluster_down "$@"
  local n
  for n in "$@"; do
    case "$n" in
      postgres) rm -rf "${PG_DATA:?}" ;;
      pg-replica) rm -rf "${PG_REPLICA_DATA:?}" ;;
      kafka*) rm -rf "${DATA:?}/$n" ;;
      *) rm -rf "${DATA:?}/$n" ;;
    esac
  done
  if [ "$#" -eq "${#NODES[@]}" ]; then rm -rf "$DATA" "$LOGS" "$CONF" "$ENV_FILE"; fi
  log "reset (cluster profile): wiped the data of $*"
}

cluster_main() {
  [ "$#" -ge 1 ] || { echo "usage: bash deploy/stack.sh up|down|status|reset|kill --profile cluster [node ...]" >&2; exit 2; }
  local cmd=$1 n nodes=(); shift
  for n in "$@"; do
    [[ " ${NODES[*]} " == *" $n "* ]] || { printf 'stack: unknown node %s (nodes: %s)\n' "$n" "${NODES[*]}" >&2; exit 2; }
  done
  for n in "${NODES[@]}"; do if [ "$#" -eq 0 ] || [[ " $* " == *" $n "* ]]; then nodes+=("$n"); fi; done
  mkdir -p "$CACHE" "$DATA" "$LOGS" "$CONF" "$RUN"
  case "$cmd" in
    up | down | reset | kill)
      [ "$cmd" != kill ] || [ "$#" -gt 0 ] || { echo "stack: kill needs node names" >&2; exit 2; }
      exec 9>"$RUN/.lock"
      flock -w 600 9 || die "another stack.sh is running (lock $RUN/.lock)"
      "cmd_cluster_$cmd" "${nodes[@]}" ;;
    status) cmd_cluster_status "${nodes[@]}" ;;
    env) [ -f "$ENV_FILE" ] || write_env; cat "$ENV_FILE" ;;
    *) echo "usage: bash deploy/stack.sh up|down|status|reset|kill|env --profile cluster [node ...]" >&2; exit 2 ;;
  esac
}

cluster_main "$@"
