import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';
import { defineEnv } from './config.ts';

/**
 * Optional OpenTelemetry tracing, off by default (OTEL_TRACES_EXPORTER=none): ingest's HTTP span -> a producer span
 * whose W3C `traceparent` travels in each Kafka record's headers -> the processors' batch spans, linked to the
 * records they made durable -> the analytics API's HTTP spans. Exported over OTLP/HTTP (JSON) to a collector.
 * Off, every helper here is a no-op that costs a boolean test.
 */
export const tracingEnv = defineEnv(
  'tracing',
  {
    OTEL_TRACES_EXPORTER: {
      default: 'none',
      doc: 'tracing: none (off) or otlp (OpenTelemetry spans of ingest, processors and the API over OTLP/HTTP)',
    },
    OTEL_EXPORTER_OTLP_ENDPOINT: {
      default: 'http://127.0.0.1:4318',
      doc: 'OTLP/HTTP collector base URL; spans go to <endpoint>/v1/traces',
    },
  },
  { OTEL_TRACES_EXPORTER: z.enum(['none', 'otlp']), OTEL_EXPORTER_OTLP_ENDPOINT: z.url() },
);

let provider: NodeTracerProvider | undefined;

/** Starts tracing for this process when OTEL_TRACES_EXPORTER=otlp (once; later calls return the same answer). */
export function initTracing(service: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider) return true;
  const cfg = tracingEnv.load(env);
  if (cfg.OTEL_TRACES_EXPORTER === 'none') return false;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` }),
        { scheduledDelayMillis: 1000 },
      ),
    ],
  });
  provider.register();
  return true;
}

/** Records a span that already happened (a processor's batch flush), linked to the spans of its records. */
export function recordSpan(
  name: string,
  opts: { startTime: number; links: Link[]; attributes: Record<string, string | number> },
): void {
  if (!provider) return;
  tracer()
    .startSpan(
      name,
      { kind: SpanKind.CONSUMER, startTime: opts.startTime, links: opts.links, attributes: opts.attributes },
      ROOT_CONTEXT,
    )
    .end();
}

/** @public Sends the spans still buffered (call before exiting). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

export const tracingEnabled = (): boolean => provider !== undefined;
const tracer = () => trace.getTracer('studystream');

/** The W3C trace headers of the active span (`traceparent`, `tracestate`), or undefined when tracing is off. */
export function traceHeaders(): Record<string, string> | undefined {
  if (!provider) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** Runs fn inside a new span (a child of the active one, or of `parent`), ending it when fn settles. */
export async function withSpan<T>(
  name: string,
  opts: { kind?: SpanKind; parent?: Context; links?: Link[]; attributes?: Record<string, string | number> },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!provider) return fn(undefined);
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: opts.kind, links: opts.links, attributes: opts.attributes },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: 2 });
    throw err;
  } finally {
    span.end();
  }
}

type Headers = Record<string, unknown>;
const headerGetter: TextMapGetter<Headers> = {
  keys: (h) => Object.keys(h),
  get: (h, key) => {
    const v = h[key];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined || one === null
      ? undefined
      : Buffer.isBuffer(one)
        ? one.toString()
        : String(one);
  },
};

/** The context a request or a record carries in its headers (W3C traceparent), for a child span or a link. */
export function contextFromHeaders(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** Links to the spans that produced these records (at most `max`, those without trace headers skipped). */
export function linksFromHeaders(all: Iterable<Headers>, max = 128): Link[] {
  if (!provider) return [];
  const links: Link[] = [];
  for (const h of all) {
    if (links.length >= max) break;
    const sc = trace.getSpanContext(contextFromHeaders(h));
    if (sc) links.push({ context: sc });
  }
  return links;
}

export { SpanKind };
