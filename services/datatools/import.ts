/**
 * Historical import: JSONL or CSV rows → the ingest HTTP contract shape → the SAME decode and validation as ingest
 * (services/ingest/validate.ts, with the max-age rule relaxed: history is old by definition; the future rule and
 * every other rule apply) → server fields (no skew correction: occurred_at is kept as given) → EventProducer.
 *
 * A row without event_id gets a deterministic one: a UUID version 5 (RFC 4122 name-based, SHA-1) over the
 * canonical JSON of the row (keys sorted at every level, absent cells left out) in the fixed IMPORT_NAMESPACE, so
 * importing the same file twice produces the same ids and adds nothing downstream (every store dedupes on event_id).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type avro from 'avsc';
import { familyType } from '../shared/codec.ts';
import { isEventFamily, type EventFamily } from '../shared/events.ts';
import type { OutgoingEvent } from '../shared/producer.ts';
import { applyServerFields } from '../ingest/index.ts';
import { decodeEvent, validateEvent, type FieldError } from '../ingest/index.ts';

/** Namespace of derived import event ids (a fixed random UUID; never change it, or re-imports would duplicate). */
export const IMPORT_NAMESPACE = '8f3c2a61-5d7e-4b9a-9c1f-2e6d4a7b0c35';

export type ImportFormat = 'jsonl' | 'csv';

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** RFC 4122 version-5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace = IMPORT_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The event id of an import row: its own when present, else derived from the row's canonical JSON. */
export function deriveEventId(row: Record<string, unknown>): string {
  const { event_id: _ignored, ...rest } = row;
  return uuidV5(canonicalJson(rest));
}

// ---------- CSV ----------

/** Splits CSV text of one logical record (RFC 4180 quoting: "" inside quotes is a quote). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell.length === 0) quoted = true;
    else if (ch === ',') {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

/** True while a line leaves a quoted cell open (the record continues on the next line). */
function openQuote(text: string): boolean {
  let quotes = 0;
  for (const ch of text) if (ch === '"') quotes++;
  return quotes % 2 === 1;
}

function unwrapNull(type: avro.Type): avro.Type {
  if (type.typeName === 'union:unwrapped' || type.typeName === 'union:wrapped') {
    const types = (type as unknown as { types: avro.Type[] }).types;
    return types.find((t) => t.typeName !== 'null') ?? type;
  }
  return type;
}

function fieldType(family: EventFamily, path: string[]): avro.Type | undefined {
  let type: avro.Type | undefined = familyType(family);
  for (const name of path) {
    const rec: avro.Type | undefined = type ? unwrapNull(type) : undefined;
    if (!rec || rec.typeName !== 'record') return undefined;
    type = (rec as unknown as { fields: Array<{ name: string; type: avro.Type }> }).fields.find(
      (f) => f.name === name,
    )?.type;
  }
  return type ? unwrapNull(type) : undefined;
}

/** Converts one CSV cell to the JSON value its Avro field expects (the cell is kept as text when unsure). */
function convertCell(family: EventFamily, column: string, cell: string): unknown {
  if (column === 'occurred_at') return /^-?\d+$/.test(cell) ? Number(cell) : cell;
  const type = fieldType(family, column.split('.'));
  switch (type?.typeName) {
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return cell.trim() !== '' && Number.isFinite(Number(cell)) ? Number(cell) : cell;
    case 'boolean':
      return cell === 'true' || cell === '1' ? true : cell === 'false' || cell === '0' ? false : cell;
    case 'array':
      return cell.split(';').map((s) => s.trim());
    default:
      return cell;
  }
}

const HEADER_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The CSV header's column names, checked: each is a dotted path of plain field names (`client.platform`). A name
 * such as `__proto__.polluted` would otherwise write through the object's prototype (prototype pollution).
 */
export function checkCsvHeader(header: readonly string[]): void {
  const bad = header.filter((column) =>
    column.split('.').some((seg) => !HEADER_SEGMENT.test(seg) || FORBIDDEN_SEGMENTS.has(seg)),
  );
  if (bad.length > 0)
    throw new Error(`CSV header: invalid column name(s) ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
  if (new Set(header).size !== header.length) throw new Error('CSV header: a column name appears twice');
}

/**
 * One CSV row (header = field names, nested fields as `client.platform`, topic_ids `;`-separated, `family`
 * required) as an ingest-contract object. Empty cells are absent (schema defaults apply).
 */
export function csvRow(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  checkCsvHeader(header);
  const familyCell = cells[header.indexOf('family')];
  const out: Record<string, unknown> = {};
  header.forEach((column, i) => {
    const cell = cells[i];
    if (cell === undefined || cell === '') return;
    const value =
      isEventFamily(familyCell) && column !== 'family' ? convertCell(familyCell, column, cell) : cell;
    const path = column.split('.');
    let target = out;
    for (const key of path.slice(0, -1)) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = value;
  });
  return out;
}

// ---------- reading ----------

export type SourceRow = { line: number; value?: unknown; parseError?: string; bytes: number };

/** Rows of a file with their (1-based, first physical) line numbers; the CSV header is line 1. */
export async function* readRows(file: string, format: ImportFormat): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  let header: string[] | undefined;
  let pending: { start: number; text: string } | undefined;
  for await (const text of lines) {
    lineNo++;
    const bytes = Buffer.byteLength(text) + 1;
    if (format === 'jsonl') {
      if (text.trim() === '') continue;
      try {
        yield { line: lineNo, value: JSON.parse(text) as unknown, bytes };
      } catch (err) {
        yield { line: lineNo, parseError: `invalid JSON: ${(err as Error).message}`, bytes };
      }
      continue;
    }
    const record = pending
      ? { start: pending.start, text: `${pending.text}\n${text}` }
      : { start: lineNo, text };
    if (openQuote(record.text)) {
      pending = record;
      continue;
    }
    pending = undefined;
    if (!header) {
      header = parseCsvLine(record.text.replace(/^\uFEFF/, '')).map((h) => h.trim());
      if (!header.includes('family')) throw new Error('CSV header must have a family column');
      checkCsvHeader(header);
      continue;
    }
    if (record.text.trim() === '') continue;
    const cells = parseCsvLine(record.text);
    if (cells.length !== header.length) {
      yield {
        line: record.start,
        parseError: `expected ${header.length} cells, got ${cells.length}`,
        bytes: Buffer.byteLength(record.text) + 1,
      };
      continue;
    }
    yield { line: record.start, value: csvRow(header, cells), bytes: Buffer.byteLength(record.text) + 1 };
  }
  if (pending) yield { line: pending.start, parseError: 'unterminated quoted cell', bytes: 0 };
}

// ---------- validation ----------

export type Rejection = {
  line: number;
  event_id: string | null;
  errors: Array<Pick<FieldError, 'path' | 'code' | 'reason'>>;
};

export type Prepared =
  { ok: true; event: OutgoingEvent; derivedId: boolean } | { ok: false; rejection: Rejection };

/**
 * One source row through ingest's decode and validation. Import rules: occurred_at kept as given (no skew
 * correction), no maximum age, the future limit of ingest applies; received_at is the import time.
 */
export function prepareRow(row: SourceRow, opts: { receivedAt: number; maxFutureMs: number }): Prepared {
  if (row.parseError !== undefined)
    return {
      ok: false,
      rejection: {
        line: row.line,
        event_id: null,
        errors: [{ path: '', code: 'invalid_value', reason: row.parseError }],
      },
    };
  let value = row.value;
  let derivedId = false;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (obj.event_id === undefined || obj.event_id === null || obj.event_id === '') {
      value = { ...obj, event_id: deriveEventId(obj) };
      derivedId = true;
    }
  }
  const decoded = decodeEvent(value, opts.receivedAt);
  if (!decoded.ok)
    return {
      ok: false,
      rejection: { line: row.line, event_id: decoded.eventId ?? null, errors: decoded.errors },
    };
  const validated = validateEvent(decoded.event, {
    receivedAt: opts.receivedAt,
    skewMs: 0,
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxFutureMs: opts.maxFutureMs,
  });
  if (!validated.ok)
    return {
      ok: false,
      rejection: { line: row.line, event_id: decoded.event.record.event_id, errors: validated.errors },
    };
  const event = applyServerFields(validated.event, {
    receivedAt: opts.receivedAt,
    skewMs: 0,
    ipHash: null,
    userAgent: { browser: null, os: null },
  });
  // Imported history was not queued on a device: the offline flag would only reflect the import's delay.
  (event.record.client as { offline_synced: boolean }).offline_synced = false;
  return { ok: true, event, derivedId };
}

export type ImportReport = {
  rows: number;
  accepted: number;
  duplicatesInFile: number;
  rejected: number;
  derivedIds: number;
  byFamily: Record<string, number>;
};

export type ImportOptions = {
  file: string;
  format: ImportFormat;
  publish: (events: OutgoingEvent[]) => Promise<unknown>;
  onReject: (r: Rejection) => void;
  onProgress?: (bytes: number, report: ImportReport) => void;
  maxFutureMs: number;
  batchSize?: number;
  now?: () => number;
};

/** Streams a file through validation into the producer; resolves with the counts once Kafka acknowledged all. */
export async function importFile(opts: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = {
    rows: 0,
    accepted: 0,
    duplicatesInFile: 0,
    rejected: 0,
    derivedIds: 0,
    byFamily: {},
  };
  const seen = new Set<string>();
  const batchSize = opts.batchSize ?? 2000;
  let batch: OutgoingEvent[] = [];
  let bytes = 0;
  const receivedAt = (opts.now ?? Date.now)();
  const flush = async () => {
    if (batch.length === 0) return;
    await opts.publish(batch);
    report.accepted += batch.length;
    for (const e of batch) report.byFamily[e.family] = (report.byFamily[e.family] ?? 0) + 1;
    batch = [];
    opts.onProgress?.(bytes, report);
  };
  for await (const row of readRows(opts.file, opts.format)) {
    report.rows++;
    bytes += row.bytes;
    const prepared = prepareRow(row, { receivedAt, maxFutureMs: opts.maxFutureMs });
    if (!prepared.ok) {
      report.rejected++;
      opts.onReject(prepared.rejection);
      continue;
    }
    const id = prepared.event.record.event_id as string;
    if (seen.has(id)) {
      report.duplicatesInFile++;
      continue;
    }
    seen.add(id);
    if (prepared.derivedId) report.derivedIds++;
    batch.push(prepared.event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  opts.onProgress?.(bytes, report);
  return report;
}
