import type { Kafka, Producer, ProducerBatch, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';
import type { Logger } from './logger.ts';

/**
 * A kafkajs idempotent producer that starts over under a new producer id after any failed send.
 *
 * An idempotent producer numbers its records per partition, and the broker accepts a batch only if it continues
 * the sequence, or answers a re-sent batch with the same first and last numbers as "already written" (with the
 * first write's offsets, storing nothing). When a send fails after a broker wrote its records without answering
 * (a killed leader, a lost response, a timeout), kafkajs gives the numbers back and the next send reuses them:
 *  - a next batch of the same size is taken for the written one: it is acknowledged and silently dropped;
 *  - a batch of another size fails with OUT_OF_ORDER_SEQUENCE_NUMBER, which kafkajs does not retry, until one
 *    of the same size comes along and is dropped.
 * The Java client bumps the producer epoch in this case; kafkajs has no such recovery, so the failed producer is
 * replaced by a fresh one (a new producer id, sequences from 0) before the next send. The failed send's records
 * may be in Kafka; its caller was told they are not, and re-sends them: downstream deduplicates on event_id.
 *
 * Sends run one at a time (each waits for the one before), so no send is in flight on a producer being replaced.
 */
export class IdempotentProducer {
  private readonly kafka: Kafka;
  private readonly config: ProducerConfig;
  private readonly log: Logger;
  private readonly onRenewal: (() => void) | undefined;
  private producer: Producer;
  private stale = false;
  private tail: Promise<unknown> = Promise.resolve();
  private renewed = 0;

  constructor(
    kafka: Kafka,
    config: Omit<ProducerConfig, 'idempotent'>,
    opts: { log: Logger; onRenewal?: () => void },
  ) {
    this.kafka = kafka;
    this.config = { ...config, idempotent: true };
    this.log = opts.log;
    this.onRenewal = opts.onRenewal;
    this.producer = kafka.producer(this.config);
  }

  /** Producers replaced after a failed send. */
  get renewals(): number {
    return this.renewed;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.tail.catch(() => {});
    await this.producer.disconnect();
  }

  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    return this.exclusive(() => this.producer.sendBatch(batch));
  }

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.exclusive(() => this.producer.send(record));
  }

  private exclusive(send: () => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    const run = this.tail.then(async () => {
      if (this.stale) await this.renew();
      try {
        return await send();
      } catch (err) {
        this.stale = true;
        throw err;
      }
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private async renew(): Promise<void> {
    const old = this.producer;
    await old.disconnect().catch((err: unknown) => this.log.warn({ err }, 'failed producer disconnect'));
    this.producer = this.kafka.producer(this.config);
    await this.producer.connect(); // a failure leaves it stale: the next send tries again
    this.stale = false;
    this.renewed++;
    this.onRenewal?.();
    this.log.warn({ renewals: this.renewed }, 'idempotent producer replaced after a failed send');
  }
}
