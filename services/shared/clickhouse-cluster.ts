/** A migration file as the runner reads it (services/shared/migrations.ts re-exports it as Migration). */
export type Migration = { version: string; name: string; sql: string; checksum: string };

/**
 * The cluster profile's ClickHouse schema, generated from the same clickhouse/*.sql files as the single node's
 * (never a second hand-written set). On the cluster (CLICKHOUSE_CLUSTER set; deploy/cluster.sh: 2 shards x 2
 * replicas, ZooKeeper) every table a migration creates becomes two tables on every node:
 *
 *  - `<name>_local`: the data, engine `Replicated<X>MergeTree('/clickhouse/tables/{shard}/<db>/<name>-<file
 *    version>', '{replica}', <the file's engine arguments>)`: the two replicas of a shard hold the same rows;
 *  - `<name>`: `Distributed(<cluster>, <db>, <name>_local, <sharding key>)`, what the services read and write,
 *    sharded by `cityHash64(user_id)` (one student's rows, raw and rolled up, live on one shard) and by `rand()`
 *    for a table without user_id (rows only ever written by a view of its own shard).
 *
 * Every statement keeps its text except that the names of the files' tables become `<name>_local`, so a
 * materialized view reads the local table it is attached to and writes the local rollup of its shard (the
 * rollups are per shard: a query over the Distributed rollup aggregates the shards' partial rows, which the
 * rollups' readers already do because merges are eventual). What runs where:
 *  - `all`: table and view DDL (CREATE, DROP, RENAME), on every node (each replica owns its local table);
 *  - `shard`: data statements (INSERT ... SELECT backfills, ALTER TABLE on a replicated table, which replication
 *    carries to the other replica, OPTIMIZE), on one replica of each shard, so nothing is written twice.
 * After a statement that creates, renames, alters or drops a table, the matching Distributed tables are
 * (re)created from the local one's structure (`CREATE TABLE t AS t_local ENGINE = Distributed(...)`).
 */

export const LOCAL_SUFFIX = '_local';

/** `whenParts`: run only when that local table has an active part (18.16's replicated OPTIMIZE of an empty
 * table fails with "Unknown log entry type: 0"; on an empty table there is nothing to merge anyway). */
export type ClusterStatement = { scope: 'all' | 'shard'; sql: string; whenParts?: string };
export type ClusterMigration = Migration & { statements: ClusterStatement[] };

const MERGE_TREE =
  /ENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree\b(\s*\()?/i;
const CREATE_TABLE = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\b/i;
const RENAME_TABLE = /^\s*RENAME\s+TABLE\s+([\s\S]+)$/i;
const DROP_TABLE = /^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/i;
const ALTER_TABLE = /^\s*ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\b/i;
const CREATE_VIEW = /^\s*CREATE\s+(MATERIALIZED\s+)?VIEW\b/i;
const DATA_STATEMENT = /^\s*(INSERT|OPTIMIZE)\b/i;
const OPTIMIZE_TABLE = /^\s*OPTIMIZE\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\b/i;

/** Names of the tables (not views) the migrations create or rename into existence, in every file. */
export function tableNames(
  migrations: Array<Pick<Migration, 'sql'>>,
  split: (s: string) => string[],
): Set<string> {
  const names = new Set<string>();
  for (const m of migrations) {
    for (const st of split(m.sql)) {
      const create = CREATE_TABLE.exec(st);
      if (create) names.add(create[1]!);
      const rename = RENAME_TABLE.exec(st);
      if (rename) for (const [from, to] of renamePairs(rename[1]!)) names.add(from).add(to);
    }
  }
  return names;
}

function renamePairs(list: string): Array<[string, string]> {
  return list.split(',').map((pair) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+TO\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/i.exec(pair);
    if (!m) throw new Error(`cluster transform: cannot read RENAME TABLE pair '${pair.trim()}'`);
    return [m[1]!, m[2]!];
  });
}

/**
 * Appends LOCAL_SUFFIX to every unqualified identifier of `statement` that names one of `tables`, outside string
 * literals, quoted identifiers and comments; a name that is qualified (`db.t`), a column of a qualified name
 * (`t.c` keeps `t` renamed only when it is a table) or a function call (`name(`) is left as it is.
 */
export function renameTables(statement: string, tables: Set<string>): string {
  let out = '';
  let i = 0;
  const n = statement.length;
  while (i < n) {
    const c = statement[i]!;
    if (c === "'" || c === '`' || c === '"') {
      let j = i + 1;
      while (j < n && statement[j] !== c) j += statement[j] === '\\' ? 2 : 1;
      out += statement.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '-' && statement[i + 1] === '-') {
      const j = statement.indexOf('\n', i);
      const end = j === -1 ? n : j;
      out += statement.slice(i, end);
      i = end;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(statement[j]!)) j++;
      const word = statement.slice(i, j);
      const qualified = i > 0 && statement[i - 1] === '.';
      out += tables.has(word) && !qualified && !isCall(statement, i, j) ? `${word}${LOCAL_SUFFIX}` : word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** `word(` directly (no space) is a function call; `CREATE TABLE t (` / `INSERT INTO t (` is a column list. */
function isCall(statement: string, start: number, end: number): boolean {
  if (statement[end] !== '(') return false;
  const before = statement.slice(0, start).trimEnd().toUpperCase();
  return !/(TABLE|INTO|EXISTS|TO)$/.test(before);
}

/** The index just past the parenthesis that closes the one opened at `open`. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i === -1) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error('cluster transform: unbalanced parentheses');
}

/** `ENGINE = XMergeTree[(args)]` → `ENGINE = ReplicatedXMergeTree('<path>', '{replica}'[, args])`. */
export function replicatedEngine(statement: string, zkPath: string): string {
  const m = MERGE_TREE.exec(statement);
  if (!m) return statement;
  const kind = m[1] ?? '';
  const head = `ENGINE = Replicated${kind}MergeTree('${zkPath}', '{replica}'`;
  if (!m[2]) return `${statement.slice(0, m.index)}${head})${statement.slice(m.index + m[0].length)}`;
  const open = m.index + m[0].length - 1;
  const close = closingParen(statement, open);
  const args = statement.slice(open + 1, close - 1).trim();
  return `${statement.slice(0, m.index)}${head}${args ? `, ${args}` : ''})${statement.slice(close)}`;
}

/** Whether a CREATE TABLE statement's column list declares user_id. */
function declaresUserId(statement: string): boolean {
  const open = statement.indexOf('(');
  if (open === -1) return false;
  const columns = statement.slice(open, closingParen(statement, open));
  return /(^|[(,\n])\s*user_id\s/.test(columns);
}

export type ClusterOptions = { database: string; cluster: string };

/**
 * The statements of each migration for the cluster, in order (see the module comment). `split` is the runner's
 * statement splitter. Throws on a statement it cannot place (an engine it does not replicate, a CREATE TABLE
 * ... AS SELECT).
 */
export function clusterMigrations(
  migrations: Migration[],
  opts: ClusterOptions,
  split: (s: string) => string[],
): ClusterMigration[] {
  const tables = tableNames(migrations, split);
  const shardedByUser = new Map<string, boolean>();
  const distributed = (name: string): ClusterStatement[] => [
    { scope: 'all', sql: `DROP TABLE IF EXISTS ${name}` },
    {
      scope: 'all',
      sql: `CREATE TABLE ${name} AS ${name}${LOCAL_SUFFIX} ENGINE = Distributed(${opts.cluster}, ${opts.database}, ${name}${LOCAL_SUFFIX}, ${shardedByUser.get(name) ? 'cityHash64(user_id)' : 'rand()'})`,
    },
  ];
  return migrations.map((m) => {
    const statements: ClusterStatement[] = [];
    for (const original of split(m.sql)) {
      const create = CREATE_TABLE.exec(original);
      const rename = RENAME_TABLE.exec(original);
      const drop = DROP_TABLE.exec(original);
      const alter = ALTER_TABLE.exec(original);
      const local = renameTables(original, tables);
      if (create && !CREATE_VIEW.test(original)) {
        const name = create[1]!;
        if (!MERGE_TREE.test(original)) {
          throw new Error(
            `cluster transform: ${m.name}: table ${name} has no MergeTree-family engine to replicate`,
          );
        }
        shardedByUser.set(name, declaresUserId(original));
        const path = `/clickhouse/tables/{shard}/${opts.database}/${name}-${m.version}`;
        statements.push({ scope: 'all', sql: replicatedEngine(local, path) }, ...distributed(name));
      } else if (rename) {
        const pairs = renamePairs(rename[1]!);
        statements.push({ scope: 'all', sql: local });
        for (const [from] of pairs) statements.push({ scope: 'all', sql: `DROP TABLE IF EXISTS ${from}` });
        for (const [from, to] of pairs) {
          shardedByUser.set(to, shardedByUser.get(from) ?? false);
          statements.push(...distributed(to));
        }
      } else if (drop && tables.has(drop[1]!)) {
        statements.push(
          { scope: 'all', sql: local },
          { scope: 'all', sql: `DROP TABLE IF EXISTS ${drop[1]}` },
        );
      } else if (alter && tables.has(alter[1]!)) {
        // The replica that did not run the ALTER applies it from ZooKeeper: wait for it before copying the structure.
        statements.push(
          { scope: 'shard', sql: local },
          { scope: 'all', sql: `SYSTEM SYNC REPLICA ${alter[1]}${LOCAL_SUFFIX}` },
          ...distributed(alter[1]!),
        );
      } else if (DATA_STATEMENT.test(original)) {
        const optimize = OPTIMIZE_TABLE.exec(original);
        statements.push({
          scope: 'shard',
          sql: local,
          ...(optimize && tables.has(optimize[1]!) ? { whenParts: `${optimize[1]}${LOCAL_SUFFIX}` } : {}),
        });
      } else {
        statements.push({ scope: 'all', sql: local });
      }
    }
    return { ...m, statements };
  });
}
