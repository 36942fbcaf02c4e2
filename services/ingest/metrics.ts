import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from '../shared/metrics.ts';

/** Ingest's own Prometheus series (request metrics come from mountOps). */
export function createIngestMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'ingest_events_total',
      help: 'Events by family and result (accepted, duplicate, rejected) and rejection reason',
      labelNames: ['family', 'result', 'reason'],
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: 'ingest_produce_latency_seconds',
      help: 'Time from sendBatch to Kafka acknowledgement (acks=all)',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    produceBatchSize: new Histogram({
      name: 'ingest_produce_batch_records',
      help: 'Records per Kafka sendBatch (after coalescing concurrent requests)',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    requestBatchSize: new Histogram({
      name: 'ingest_request_batch_events',
      help: 'Events per HTTP request',
      buckets: [1, 10, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'ingest_request_errors_total',
      help: 'Requests refused as a whole, by code (unauthenticated, rate_limited, invalid_json, unavailable, ...)',
      labelNames: ['code'],
      registers: [registry],
    }),
    producerRenewals: new Counter({
      name: 'ingest_producer_renewals_total',
      help: 'Kafka producers replaced under a new producer id after a failed send (services/shared/idempotent-producer.ts)',
      registers: [registry],
    }),
    degraded: new Counter({
      name: 'ingest_degraded_total',
      help: 'Requests served without a dependency (Redis down: no rate limit / dedupe, downstream dedupes)',
      labelNames: ['dependency'],
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
