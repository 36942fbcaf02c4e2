import type { Logger } from '../shared/logger.ts';
import { SpanKind, traceHeaders, withSpan } from '../shared/tracing.ts';
import type { OutgoingEvent } from '../shared/producer.ts';
import type { Result } from '../shared/result.ts';
import { applyServerFields, type RequestContext } from './apply.ts';
import type { IngestMetrics } from './metrics.ts';
import type { Publisher } from './publisher.ts';
import type { Dedupe, Reservation } from './redis-scripts.ts';
import type { z } from 'zod';
import { decodeEvent, validateEvent, type FieldError } from './validate.ts';
import type { EVENT_RESULT, INGEST_RESPONSE } from './responses.ts';

/** A per-event result and a request's answer: inferred from the response schemas the OpenAPI document is made of. */
export type EventResult = z.output<typeof EVENT_RESULT>;
export type IngestResponse = z.output<typeof INGEST_RESPONSE>;

export type PipelineDeps = { dedupe: Dedupe; publisher: Publisher; metrics: IngestMetrics; log: Logger };

export type PipelineLimits = { maxAgeMs: number; maxFutureMs: number };

/**
 * The ingest pipeline for the events of one request, top to bottom: decode, validate, apply the server fields,
 * check duplicates, write to Kafka. Bad events become per-event results and never block the good ones.
 * It fails as a whole only when Kafka did not acknowledge (the caller answers 503 and nothing was confirmed).
 */
export async function ingestEvents(
  raw: readonly unknown[],
  ctx: RequestContext,
  limits: PipelineLimits,
  deps: PipelineDeps,
): Promise<Result<IngestResponse, Error>> {
  const results: EventResult[] = new Array(raw.length);
  const good: Array<{ result: EventResult; event: OutgoingEvent }> = [];
  const seenInRequest = new Set<string>();
  const vctx = { ...limits, receivedAt: ctx.receivedAt, skewMs: ctx.skewMs };

  for (let index = 0; index < raw.length; index++) {
    const decoded = decodeEvent(raw[index], ctx.receivedAt);
    if (!decoded.ok) {
      results[index] = reject(index, decoded.eventId, decoded.errors, deps.metrics, decoded.family);
      continue;
    }
    const validated = validateEvent(decoded.event, vctx);
    if (!validated.ok) {
      results[index] = reject(
        index,
        decoded.event.record.event_id,
        validated.errors,
        deps.metrics,
        decoded.event.family,
      );
      continue;
    }
    const eventId = validated.event.record.event_id;
    const result: EventResult = { index, event_id: eventId, status: 'accepted' };
    results[index] = result;
    if (seenInRequest.has(eventId)) {
      result.status = 'duplicate';
      continue;
    }
    seenInRequest.add(eventId);
    good.push({ result, event: applyServerFields(validated.event, ctx) });
  }

  const ids = good.map((g) => g.result.event_id!);
  const reservations = await reserve(ids, deps);
  let toProduce = good;
  let reservedHere = ids;
  if (reservations) {
    toProduce = [];
    reservedHere = [];
    for (let i = 0; i < good.length; i++) {
      const r = reservations[i];
      if (r === 'duplicate') good[i]!.result.status = 'duplicate';
      else toProduce.push(good[i]!);
      if (r === 'new') reservedHere.push(ids[i]!);
    }
  }

  try {
    // With tracing on, a producer span whose context every record carries to the processors (Kafka headers).
    await withSpan(
      'publish events',
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.batch.message_count': toProduce.length } },
      () => {
        const headers = traceHeaders();
        return deps.publisher.publish(toProduce.map((g) => (headers ? { ...g.event, headers } : g.event)));
      },
    );
  } catch (err) {
    if (reservations)
      await deps.dedupe
        .release(reservedHere)
        .catch((e: unknown) => deps.log.warn({ err: e }, 'dedupe release failed'));
    return { ok: false, error: err as Error };
  }
  if (reservations) {
    await deps.dedupe
      .commit(toProduce.map((g) => g.result.event_id!))
      .catch((err: unknown) =>
        deps.log.warn({ err }, 'dedupe commit failed; downstream dedupes on event_id'),
      );
  }

  const response: IngestResponse = { accepted: 0, duplicates: 0, rejected: 0, results };
  for (const r of results) {
    if (r.status === 'accepted') response.accepted++;
    else if (r.status === 'duplicate') response.duplicates++;
    else response.rejected++;
  }
  // One counter update per (family, result) instead of one per event.
  const counts = new Map<string, number>();
  for (const g of good) {
    const k = `${g.event.family}\u0000${g.result.status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const [k, n] of counts) {
    const [family, result] = k.split('\u0000') as [string, string];
    deps.metrics.events.inc({ family, result, reason: '' }, n);
  }
  return { ok: true, value: response };
}

/** The response body as JSON text (same as JSON.stringify(response), built without a generic walk). */
export function responseJson(response: IngestResponse): string {
  let out = `{"accepted":${response.accepted},"duplicates":${response.duplicates},"rejected":${response.rejected},"results":[`;
  const results = response.results;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (i > 0) out += ',';
    if (r.errors !== undefined || (r.event_id !== null && !SAFE_ID.test(r.event_id))) {
      out += JSON.stringify(r);
    } else {
      out += `{"index":${r.index},"event_id":${r.event_id === null ? 'null' : `"${r.event_id}"`},"status":"${r.status}"}`;
    }
  }
  return out + ']}';
}

/** Ids that need no JSON escaping (every accepted id: validated ids are UUIDs). */
const SAFE_ID = /^[\w.:-]*$/;

function reject(
  index: number,
  eventId: string | undefined,
  errors: FieldError[],
  metrics: IngestMetrics,
  family: string | undefined,
): EventResult {
  const fam =
    family && ['study-events', 'question-attempts', 'material-interactions'].includes(family)
      ? family
      : 'unknown';
  metrics.events.inc({ family: fam, result: 'rejected', reason: errors[0]?.code ?? 'invalid_value' });
  return {
    index,
    event_id: typeof eventId === 'string' && eventId.length <= 128 ? eventId : null,
    status: 'rejected',
    errors: errors.map(({ path, reason, code }) => ({ path, reason, code })),
  };
}

/** Dedupe reservations, or undefined when Redis is unreachable (then every event is produced; downstream dedupes). */
async function reserve(ids: string[], deps: PipelineDeps): Promise<Reservation[] | undefined> {
  try {
    return await deps.dedupe.reserve(ids);
  } catch (err) {
    deps.metrics.degraded.inc({ dependency: 'redis' });
    deps.log.warn(
      { err: (err as Error).message },
      'dedupe unavailable; producing without the first-line check',
    );
    return undefined;
  }
}
