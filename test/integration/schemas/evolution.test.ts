import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCodec, schemaText } from '../../../services/shared/codec.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import {
  createRegistry,
  isCompatibleWithLatest,
  registerSchema,
  RegistryHttpError,
  registryRequest,
  valueSubject,
} from '../../../services/shared/registry.ts';
import { checkAll, registerAll } from '../../../services/cli/commands/schemas.ts';
import { isolatedEnv } from '../../support/isolated.ts';
import avro from 'avsc';

const iso = isolatedEnv('schemas');
const subject = valueSubject(`${iso.cfg.KAFKA_TOPIC_PREFIX}question-attempts`);

function withField(field: Record<string, unknown>): string {
  const schema = JSON.parse(schemaText('question-attempts')) as { fields: unknown[] };
  schema.fields.push(field);
  return JSON.stringify(schema);
}

beforeAll(async () => {
  await registerAll(iso.cfg, createLogger('test', 'warn'));
});

afterAll(async () => {
  const subjects = await registryRequest<string[]>(iso.cfg, 'GET', '/subjects');
  for (const s of subjects.filter((x) => x.startsWith(iso.cfg.KAFKA_TOPIC_PREFIX))) {
    await registryRequest(iso.cfg, 'DELETE', `/subjects/${encodeURIComponent(s)}`).catch(() => undefined);
    await registryRequest(iso.cfg, 'DELETE', `/subjects/${encodeURIComponent(s)}?permanent=true`).catch(
      () => undefined,
    );
  }
});

describe('schema registration and evolution (Apicurio, ccompat API)', () => {
  it('registers every family under TopicNameStrategy subjects with BACKWARD compatibility', async () => {
    for (const family of ['study-events', 'question-attempts', 'material-interactions']) {
      const s = valueSubject(`${iso.cfg.KAFKA_TOPIC_PREFIX}${family}`);
      const cfg = await registryRequest<{ compatibilityLevel?: string; compatibility?: string }>(
        iso.cfg,
        'GET',
        `/config/${encodeURIComponent(s)}`,
      );
      expect(cfg.compatibilityLevel ?? cfg.compatibility).toBe('BACKWARD');
    }
    expect((await checkAll(iso.cfg)).map((r) => r.status)).toEqual([
      'compatible',
      'compatible',
      'compatible',
    ]);
    // re-registering the same schemas is idempotent (same ids)
    const again = await registerAll(iso.cfg, createLogger('test', 'warn'));
    expect(Object.keys(again)).toHaveLength(3);
  });

  it('refuses an incompatible change (new required field without default) with 409', async () => {
    const incompatible = withField({ name: 'hint_count', type: 'int', doc: 'required, no default' });
    expect(await isCompatibleWithLatest(iso.cfg, subject, incompatible)).toMatchObject({ compatible: false });
    const err = await registerSchema(iso.cfg, subject, incompatible).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryHttpError);
    expect((err as RegistryHttpError).status).toBe(409);
  });

  it('accepts a compatible change (new optional field with default) and old readers decode new records', async () => {
    const compatibleText = withField({
      name: 'hint_used',
      type: ['null', 'boolean'],
      default: null,
      doc: 'new optional',
    });
    expect(await isCompatibleWithLatest(iso.cfg, subject, compatibleText)).toMatchObject({
      compatible: true,
    });
    const newId = await registerSchema(iso.cfg, subject, compatibleText);

    const newType = avro.Type.forSchema(JSON.parse(compatibleText) as avro.Schema, { wrapUnions: 'auto' });
    const record = {
      event_id: crypto.randomUUID(),
      user_id: 'stu_1',
      occurred_at: Date.now(),
      received_at: Date.now(),
      schema_version: 2,
      session_id: null,
      time_zone: 'Europe/Berlin',
      question_id: 'q1',
      topic_ids: ['t1'],
      selected_answer: 'A',
      is_correct: false,
      attempt_number: 2,
      time_to_answer_ms: 1200,
      confidence: null,
      difficulty: null,
      exam_section: null,
      mode: 'TIMED',
      client: null,
      hint_used: true,
    };
    const body = newType.toBuffer(record);
    const wire = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), body]);
    wire.writeInt32BE(newId, 1);

    // The old reader: the codec reads with the local (current) schema, which lacks hint_used.
    const codec = new EventCodec(createRegistry(iso.cfg), iso.cfg);
    const decoded = await codec.decode('question-attempts', wire);
    const { hint_used: _dropped, ...expected } = record;
    expect(decoded).toEqual(expected);
    expect(decoded).not.toHaveProperty('hint_used');
  });
});
