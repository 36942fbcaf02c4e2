import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { loadJobsConfig } from '../../../services/jobs/config.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';

/**
 * Least-privilege PostgreSQL roles per service (issue 18; postgres/096_service_roles.sql), on a real PostgreSQL:
 * each service's role holds exactly the table privileges its code needs, every table of the schema has a decision
 * (a new table fails here until its migration grants what each service needs), and each role is refused what its
 * service must never do: ingest cannot read mastery or touch the audit log, the processors cannot read API keys or
 * the audit log nor delete, none can ALTER, DROP, TRUNCATE or CREATE. That each role suffices is proved by the
 * services' own integration tests, which run with these roles by default (ingest's harness, the processors'
 * support, the jobs test).
 */

type Priv = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE' | 'REFERENCES' | 'TRIGGER';
type Service = 'ingest' | 'stream' | 'jobs';
const ROLES: Record<Service, string> = {
  ingest: 'studystream_ingest',
  stream: 'studystream_stream',
  jobs: 'studystream_jobs',
};
const PRIVS: Priv[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
const R: Priv[] = ['SELECT'];
const RW: Priv[] = ['SELECT', 'INSERT', 'UPDATE'];

/** Every table of the schema and what each service's role may do with it (absent: nothing). */
const ACCESS: Record<string, Partial<Record<Service, Priv[]>>> = {
  schema_migrations: {},
  topics: { stream: R, jobs: R },
  topic_relationships: { stream: R, jobs: R },
  api_keys: { ingest: R },
  subject_keys: { ingest: ['SELECT', 'INSERT'], stream: R },
  erased_subjects: { ingest: R, stream: R },
  token_revocations: { ingest: R },
  consumer_positions: { stream: RW },
  processed_events: { stream: RW },
  late_events: { stream: RW },
  topic_mastery: { stream: RW, jobs: R },
  topic_mastery_history: { stream: RW, jobs: R },
  study_sessions: { stream: RW, jobs: R },
  student_study_days: { stream: RW, jobs: R },
  student_materials: { stream: RW, jobs: R },
  topic_reviews: { stream: RW },
  item_calibration: { stream: R, jobs: RW },
  item_statistics: { jobs: RW },
  knowledge_gaps: { jobs: ['SELECT', 'INSERT', 'DELETE'] },
  user_learning_metrics: { jobs: RW },
  cohorts: { jobs: R },
  cohort_members: { jobs: R },
  cohort_releases: {},
  cohort_release_members: {},
  educator_cohorts: {},
  audit_log: {},
  dlq_redrives: {},
};

let iso: IsolatedEnv;
let owner: Pool;
/** A LOGIN user that is a member of studystream_ingest only (README: the boundary against a compromised process). */
let loginUser: string | undefined;
const pools = {} as Record<Service | 'api', Pool>;

beforeAll(async () => {
  iso = isolatedEnv('roles');
  await provision(iso, { postgres: true });
  owner = createPgPool(iso.cfg);
  for (const [service, role] of Object.entries(ROLES))
    pools[service as Service] = createPgPool(iso.cfg, { role });
  pools.api = createPgPool(iso.cfg, { role: 'studystream_api' });
  await createApiKey(owner, 'roles test');
  await owner.query(
    `INSERT INTO topic_mastery (user_id, topic_id, topic_level) SELECT 'stu-1', id, level FROM topics WHERE level = 2 LIMIT 1`,
  );
  await owner.query(
    `INSERT INTO audit_log (at, request_id, actor_id, actor_role, method, route, status)
     VALUES (now(), 'r-1', 'a', 'admin', 'GET', '/x', 200)`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(pools).map((p) => p.end()));
  if (loginUser) await owner.query(`DROP ROLE IF EXISTS ${loginUser}`);
  await owner?.end();
  if (iso) await teardown(iso);
});

/** The SQLSTATE a statement fails with on `client`, or 'ok'. */
async function codeOf(
  client: { query: (sql: string) => Promise<unknown> },
  statement: string,
): Promise<string> {
  try {
    await client.query(statement);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** The SQLSTATE a statement fails with as `service`, or 'ok'. */
const as = (service: Service | 'api', statement: string) => codeOf(pools[service], statement);
const DENIED = '42501'; // insufficient_privilege

describe('each service acts as its own role by default', () => {
  it('INGEST_PG_ROLE, STREAM_PG_ROLE and JOBS_PG_ROLE name the roles of postgres/096', () => {
    expect(loadIngestConfig({ INGEST_IP_SALT: 'x'.repeat(32) }).INGEST_PG_ROLE).toBe(ROLES.ingest);
    expect(streamEnv.load({}).STREAM_PG_ROLE).toBe(ROLES.stream);
    expect(loadJobsConfig({}).JOBS_PG_ROLE).toBe(ROLES.jobs);
  });

  it("a pool with the role runs as that role, not as the connecting user, in the deployment's schema", async () => {
    // Without USAGE on PG_SCHEMA, PostgreSQL would skip it on the search_path and resolve names in `public` instead.
    for (const [service, role] of Object.entries(ROLES)) {
      const { rows } = await pools[service as Service].query<{ current_user: string; schema: string }>(
        'SELECT current_user, current_schema() AS schema',
      );
      expect(rows[0]).toEqual({ current_user: role, schema: iso.cfg.PG_SCHEMA });
    }
  });
});

describe('the privilege matrix', () => {
  it('every table of the schema has a decision, and each role holds exactly the privileges decided', async () => {
    const { rows: tables } = await owner.query<{ tablename: string }>(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename',
      [iso.cfg.PG_SCHEMA],
    );
    const names = tables.map((t) => t.tablename);
    // A table no decision covers: its migration must grant each service what it needs (postgres/096) and list it here.
    expect(names.filter((n) => !(n in ACCESS))).toEqual([]);
    const actual: Record<string, Partial<Record<Service, Priv[]>>> = {};
    for (const table of names) {
      actual[table] = {};
      for (const [service, role] of Object.entries(ROLES)) {
        const { rows } = await owner.query<{ p: Priv }>(
          `SELECT p FROM unnest($3::text[]) AS p WHERE has_table_privilege($1, $2, p)`,
          [role, `${iso.cfg.PG_SCHEMA}.${table}`, PRIVS],
        );
        if (rows.length > 0) actual[table]![service as Service] = rows.map((r) => r.p);
      }
    }
    expect(actual).toEqual(Object.fromEntries(names.map((n) => [n, ACCESS[n]])));
  });

  it('no service role owns anything, may create in the schema, or is a superuser', async () => {
    for (const role of Object.values(ROLES)) {
      const { rows } = await owner.query<{
        can_create: boolean;
        owns: number;
        superuser: boolean;
        login: boolean;
      }>(
        `SELECT has_schema_privilege($1, $2, 'CREATE') AS can_create,
                (SELECT count(*)::int FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1) AS owns,
                (SELECT rolsuper FROM pg_roles WHERE rolname = $1) AS superuser,
                (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1) AS login`,
        [role, iso.cfg.PG_SCHEMA],
      );
      expect({ role, ...rows[0] }).toEqual({
        role,
        can_create: false,
        owns: 0,
        superuser: false,
        login: false,
      });
    }
  });
});

describe('what each role can and cannot do', () => {
  it('ingest: looks up keys and makes pseudonyms; cannot read mastery, touch the audit log or change keys', async () => {
    expect(await as('ingest', 'SELECT name, scope FROM api_keys WHERE revoked_at IS NULL')).toBe('ok');
    expect(
      await as(
        'ingest',
        `INSERT INTO subject_keys (user_id, pseudonym) VALUES ('stu-9', '~abcdefghijklmnopqrstuv')
         ON CONFLICT (user_id) DO NOTHING`,
      ),
    ).toBe('ok');
    expect(await as('ingest', 'SELECT count(*) FROM erased_subjects')).toBe('ok');
    expect(await as('ingest', 'SELECT * FROM topic_mastery')).toBe(DENIED);
    expect(await as('ingest', 'SELECT * FROM study_sessions')).toBe(DENIED);
    expect(await as('ingest', 'SELECT * FROM audit_log')).toBe(DENIED);
    expect(await as('ingest', 'DELETE FROM audit_log')).toBe(DENIED);
    expect(await as('ingest', 'UPDATE api_keys SET revoked_at = NULL')).toBe(DENIED);
    expect(
      await as(
        'ingest',
        "INSERT INTO api_keys (prefix, name, secret_sha256) VALUES ('0123456789ab', 'x', sha256('x'))",
      ),
    ).toBe(DENIED);
    expect(await as('ingest', 'DELETE FROM subject_keys')).toBe(DENIED);
  });

  it('stream: writes its own tables, reads pseudonyms; cannot read keys or the audit log, make pseudonyms or delete', async () => {
    expect(
      await as(
        'stream',
        `INSERT INTO consumer_positions (consumer_group, topic, partition) VALUES ('g', 't', 0)
         ON CONFLICT DO NOTHING`,
      ),
    ).toBe('ok');
    expect(
      await as('stream', "UPDATE topic_mastery SET attempts = attempts + 1 WHERE user_id = 'stu-1'"),
    ).toBe('ok');
    expect(await as('stream', 'SELECT * FROM topic_mastery ORDER BY user_id FOR UPDATE')).toBe('ok');
    expect(await as('stream', 'SELECT user_id FROM subject_keys')).toBe('ok');
    expect(await as('stream', 'SELECT * FROM api_keys')).toBe(DENIED);
    expect(await as('stream', 'SELECT * FROM audit_log')).toBe(DENIED);
    expect(await as('stream', 'SELECT * FROM token_revocations')).toBe(DENIED);
    expect(await as('stream', 'SELECT * FROM cohort_members')).toBe(DENIED);
    expect(
      await as(
        'stream',
        "INSERT INTO subject_keys (user_id, pseudonym) VALUES ('stu-8', '~bbcdefghijklmnopqrstuv')",
      ),
    ).toBe(DENIED);
    expect(await as('stream', 'DELETE FROM topic_mastery')).toBe(DENIED);
    expect(await as('stream', 'DELETE FROM processed_events')).toBe(DENIED);
  });

  it('jobs: reads mastery, replaces its snapshots; cannot read keys, pseudonyms or the audit log, nor write mastery', async () => {
    expect(await as('jobs', 'SELECT count(*) FROM topic_mastery')).toBe('ok');
    expect(await as('jobs', "DELETE FROM knowledge_gaps WHERE user_id = 'stu-1'")).toBe('ok');
    expect(await as('jobs', 'SELECT * FROM api_keys')).toBe(DENIED);
    expect(await as('jobs', 'SELECT * FROM subject_keys')).toBe(DENIED);
    expect(await as('jobs', 'SELECT * FROM audit_log')).toBe(DENIED);
    expect(await as('jobs', 'UPDATE topic_mastery SET attempts = 0')).toBe(DENIED);
    expect(await as('jobs', 'DELETE FROM study_sessions')).toBe(DENIED);
  });

  it('the API role no longer reads API keys or pseudonyms (it never needed them)', async () => {
    expect(await as('api', 'SELECT count(*) FROM topic_mastery')).toBe('ok');
    expect(await as('api', 'SELECT * FROM api_keys')).toBe(DENIED);
    expect(await as('api', 'SELECT * FROM subject_keys')).toBe(DENIED);
  });

  it('no role can ALTER, DROP, TRUNCATE or CREATE', async () => {
    for (const service of Object.keys(ROLES) as Service[]) {
      const own =
        service === 'ingest' ? 'api_keys' : service === 'stream' ? 'topic_mastery' : 'knowledge_gaps';
      expect(await as(service, `ALTER TABLE ${own} ADD COLUMN x int`)).toBe(DENIED);
      expect(await as(service, `DROP TABLE ${own}`)).toBe(DENIED);
      expect(await as(service, `TRUNCATE ${own}`)).toBe(DENIED);
      expect(await as(service, 'DROP TABLE audit_log')).toBe(DENIED);
      expect(await as(service, `CREATE TABLE ${iso.cfg.PG_SCHEMA}.intruder (x int)`)).toBe(DENIED);
    }
    // The owner still holds everything (the rows the checks above tried to change are intact).
    const { rows } = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    expect(rows[0]!.n).toBe(1);
  });
});

describe('SET ROLE against a LOGIN user of the role', () => {
  it('SET ROLE alone can be undone by the session (SET ROLE NONE); a LOGIN user in the role only cannot escape it', async () => {
    // What the README states: the default (SET ROLE at connection start) bounds the service's own statements, and a
    // compromised process could SET ROLE NONE back to the connecting user (RESET ROLE only returns to the role given
    // at connection start)...
    const client = await pools.ingest.connect();
    try {
      expect(await codeOf(client, 'SELECT * FROM topic_mastery')).toBe(DENIED);
      await client.query('RESET ROLE');
      expect(await codeOf(client, 'SELECT * FROM topic_mastery')).toBe(DENIED);
      await client.query('SET ROLE NONE');
      expect((await client.query('SELECT count(*) FROM topic_mastery')).rows).toHaveLength(1);
    } finally {
      client.release(true);
    }
    // ...while a LOGIN user that is a member of the role only has nothing to go back to.
    loginUser = `test_${iso.id}_ingest`;
    const password = randomBytes(18).toString('base64url');
    await owner.query(`CREATE ROLE ${loginUser} LOGIN PASSWORD '${password}' IN ROLE studystream_ingest`);
    const url = new URL(iso.cfg.DATABASE_URL);
    url.username = loginUser;
    url.password = password;
    const login = createPgPool({ ...iso.cfg, DATABASE_URL: url.toString() });
    try {
      expect((await login.query('SELECT name FROM api_keys')).rows).toHaveLength(1);
      const c = await login.connect();
      try {
        await c.query('SET ROLE NONE');
        expect(await codeOf(c, 'SELECT * FROM topic_mastery')).toBe(DENIED);
        expect(await codeOf(c, 'SET ROLE studystream_stream')).toBe(DENIED);
      } finally {
        c.release(true);
      }
    } finally {
      await login.end();
    }
  });
});
