import avro from 'avsc';
import { readFileSync } from 'node:fs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { EVENT_FAMILIES, topicNames, type EventFamily } from './kafka.ts';
import { SCHEMAS_DIR, readWireSchemaId, registerAvro, valueSubject } from './registry.ts';
import type { SharedConfig } from './config.ts';
import { registryFailure, ServiceError, UndecodableRecordError } from './errors.ts';
import type { SubjectKeys } from './subjects.ts';

/** The Avro schema text of an event family, as kept in schemas/<family>.avsc (the single source of truth). */
export function schemaText(family: EventFamily): string {
  return readFileSync(`${SCHEMAS_DIR}${family}.avsc`, 'utf8');
}

const typeCache = new Map<EventFamily, avro.Type>();

/** The avsc Type of an event family's current schema (logical types stay plain: ms as numbers, UUIDs as strings). */
export function familyType(family: EventFamily): avro.Type {
  let type = typeCache.get(family);
  if (!type) {
    type = avro.Type.forSchema(JSON.parse(schemaText(family)) as avro.Schema, { wrapUnions: 'auto' });
    typeCache.set(family, type);
  }
  return type;
}

/**
 * Encodes and decodes event records in Confluent wire format (magic byte, 4-byte schema id, Avro body) against the
 * registry. Writer schema ids are resolved once per family; reader schemas are fetched by id and cached by the client.
 */
export class EventCodec {
  private readonly registry: SchemaRegistry;
  private readonly topics: ReturnType<typeof topicNames>;
  private readonly writerIds = new Map<EventFamily, number>();
  /**
   * Set (every service: subjectKeysFor(cfg)): records are written with the student's pseudonym in user_id and read
   * back with the student's id, or ERASED_USER_ID once deleted (shared/subjects.ts). Unset (tests, tools reading
   * raw records): user_id is written and read as it is.
   */
  readonly subjects: SubjectKeys | undefined;

  constructor(
    registry: SchemaRegistry,
    cfg: Pick<SharedConfig, 'KAFKA_TOPIC_PREFIX'>,
    subjects?: SubjectKeys,
  ) {
    this.registry = registry;
    this.topics = topicNames(cfg);
    this.subjects = subjects;
  }

  /** What goes on the topic for this user (key and user_id), once `prepareSubjects` ran for it. */
  wireUserId(userId: string): string | undefined {
    return this.subjects ? this.subjects.cachedWireId(userId) : userId;
  }

  /** Pseudonyms of these users into the cache (one query for the ones not cached); producers call it per batch. */
  async prepareSubjects(userIds: Iterable<string>): Promise<void> {
    await this.subjects?.prepare(userIds);
  }

  topicOf(family: EventFamily): string {
    return this.topics[family];
  }

  familyOfTopic(topic: string): EventFamily | undefined {
    return EVENT_FAMILIES.find((f) => this.topics[f] === topic);
  }

  /** Registers (idempotently) the current schema of every family under its TopicNameStrategy subject. */
  async registerAll(): Promise<Record<EventFamily, number>> {
    const ids = {} as Record<EventFamily, number>;
    for (const family of EVENT_FAMILIES) {
      ids[family] = await registerAvro(this.registry, valueSubject(this.topicOf(family)), schemaText(family));
      this.writerIds.set(family, ids[family]);
    }
    return ids;
  }

  /**
   * Resolves the writer schema id of every family (the current schema must already be registered, see
   * `studystream schemas register`); producers call it at start so a missing registration fails early.
   */
  async resolveWriterIds(): Promise<Record<EventFamily, number>> {
    const ids = {} as Record<EventFamily, number>;
    for (const family of EVENT_FAMILIES) ids[family] = await this.writerId(family);
    return ids;
  }

  private async writerId(family: EventFamily): Promise<number> {
    let id = this.writerIds.get(family);
    if (id === undefined) {
      id = await this.registry.getRegistryIdBySchema(valueSubject(this.topicOf(family)), {
        type: 'AVRO' as never,
        schema: schemaText(family),
      });
      this.writerIds.set(family, id);
    }
    return id;
  }

  /** Encodes a record of a family. The record must already be valid (see validation in ingest). */
  async encode(family: EventFamily, record: Record<string, unknown>): Promise<Buffer> {
    const id = await this.writerId(family);
    if (this.subjects && typeof record.user_id === 'string') await this.subjects.prepare([record.user_id]);
    return this.encodeKnown(family, record) ?? this.encodeWith(id, family, record);
  }

  /**
   * Synchronous encode when the writer id (and the student's pseudonym) are already resolved, the hot path of the
   * producer; undefined otherwise (use `encode`).
   */
  encodeKnown(family: EventFamily, record: Record<string, unknown>): Buffer | undefined {
    const id = this.writerIds.get(family);
    if (id === undefined) return undefined;
    if (!this.subjects || typeof record.user_id !== 'string') return this.encodeWith(id, family, record);
    const userId = record.user_id;
    const wire = this.subjects.cachedWireId(userId);
    if (wire === undefined) return undefined;
    if (wire === userId) return this.encodeWith(id, family, record);
    // Swapped in place for the (synchronous) encode and back: a copy of the record cost ~10x the lookup, and a
    // record of another shape slows avsc's encoder down.
    record.user_id = wire;
    try {
      return this.encodeWith(id, family, record);
    } finally {
      record.user_id = userId;
    }
  }

  private encodeWith(id: number, family: EventFamily, record: Record<string, unknown>): Buffer {
    // Encode header and body into a reusable scratch buffer, then copy out once (into Node's pooled
    // allocation), instead of toBuffer's zero-filled body buffer plus a second copy.
    const scratch = this.scratch;
    scratch.writeUInt8(0, 0);
    scratch.writeInt32BE(id, 1);
    const end = familyType(family).encode(record, scratch, 5);
    if (end > 0) {
      const out = Buffer.allocUnsafe(end);
      scratch.copy(out, 0, 0, end);
      return out;
    }
    const body = familyType(family).toBuffer(record); // larger than the scratch buffer
    const out = Buffer.allocUnsafe(5 + body.length);
    out.writeUInt8(0, 0);
    out.writeInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  private readonly scratch = Buffer.allocUnsafe(64 * 1024);

  /**
   * Decodes a wire-format message with its writer schema into the reader (current) schema of the family. Trailing
   * bytes are an error, so a corrupt or foreign body is dead-lettered instead of decoded into garbage.
   * Fails with an UndecodableRecordError (bad data) or a RegistryUnavailableError (retriable), see errors.ts. With
   * `subjects`, user_id comes back as the student's id, or ERASED_USER_ID for a deleted student (callers drop it).
   */
  async decode(family: EventFamily, buffer: Buffer): Promise<Record<string, unknown>> {
    const id = readWireSchemaId(buffer);
    if (id === undefined) throw new UndecodableRecordError('not Confluent wire format (missing magic byte)');
    const reader = familyType(family);
    const key = `${family}:${id}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      const writer = await this.writerType(id);
      resolver = undecodable(() => reader.createResolver(writer));
      this.resolvers.set(key, resolver);
    }
    const r = resolver;
    const record = undecodable(
      () => reader.fromBuffer(buffer.subarray(5), r, false) as Record<string, unknown>,
    );
    if (this.subjects && typeof record.user_id === 'string')
      record.user_id = await this.subjects.userOf(record.user_id);
    return record;
  }

  /**
   * Synchronous decode when the resolver of (family, writer id) is already cached, the hot path of consumers (no
   * promise per record); undefined when the writer schema must first be fetched from the registry (use `decode`).
   */
  decodeKnown(family: EventFamily, buffer: Buffer): Record<string, unknown> | undefined {
    const id = readWireSchemaId(buffer);
    if (id === undefined) throw new UndecodableRecordError('not Confluent wire format (missing magic byte)');
    const resolver = this.resolvers.get(`${family}:${id}`);
    if (!resolver) return undefined;
    let record: Record<string, unknown>;
    try {
      record = familyType(family).fromBuffer(buffer.subarray(5), resolver, false) as Record<string, unknown>;
    } catch (err) {
      throw asUndecodable(err);
    }
    if (this.subjects && typeof record.user_id === 'string') {
      const user = this.subjects.cachedUser(record.user_id);
      if (user === undefined) return undefined; // unknown pseudonym or stale erasure check: the async path asks
      record.user_id = user;
    }
    return record;
  }

  /** Resolvers per (family, writer id): creating one costs ~0.6 ms, decoding with a cached one ~2 µs. */
  private readonly resolvers = new Map<string, avro.Resolver>();

  private readonly writerTypes = new Map<number, avro.Type>();

  private async writerType(id: number): Promise<avro.Type> {
    let type = this.writerTypes.get(id);
    if (!type) {
      let schema: unknown;
      try {
        schema = await this.registry.getSchema(id);
      } catch (err) {
        throw registryFailure(err);
      }
      type = undecodable(() =>
        avro.Type.forSchema(JSON.parse(JSON.stringify(schema)) as avro.Schema, { wrapUnions: 'auto' }),
      );
      this.writerTypes.set(id, type);
    }
    return type;
  }
}

/** Avro's failures on a record's bytes or writer schema, as bad data (the message kept). */
function asUndecodable(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new UndecodableRecordError(err instanceof Error ? err.message : String(err), { cause: err });
}
function undecodable<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw asUndecodable(err);
  }
}
