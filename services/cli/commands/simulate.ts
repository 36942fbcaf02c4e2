import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { simOptions } from '../../simulator/index.ts';
import { FetchIngestClient, IngestSink, KafkaSink, type Sink } from '../../simulator/index.ts';
import { parseSeed, simulatorEnv } from '../../simulator/index.ts';
import { Progress } from '../../simulator/index.ts';
import { connectProducer, formatSummary, runSimulation } from '../../simulator/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream simulate --students N --days D --seed S --via ingest|kafka [options]

  --truth FILE            write the ground truth (JSON lines: attempts, then students)
  --start DATE            first simulated day (ISO date, UTC; default: D days before today)
  --duplicate-rate R      share of requests sent twice (default 0.01)
  --offline-rate R        share of students on phones that sync offline batches late (default 0.15)
  --ingest-url U          ingest base URL (default http://HTTP_HOST:INGEST_PORT)
  --api-key K             X-API-Key for ingest (default $STUDYSTREAM_API_KEY)
  --concurrency C         concurrent ingest requests (default 4)
  --quiet                 no progress bar
`;

function num(
  value: string | undefined,
  name: string,
  fallback: number,
  min = 0,
  max = Number.POSITIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number in [${min}, ${max}]`);
  return n;
}

const simulate: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    via: { type: 'string' },
    truth: { type: 'string' },
    start: { type: 'string' },
    'duplicate-rate': { type: 'string' },
    'offline-rate': { type: 'string' },
    'ingest-url': { type: 'string' },
    'api-key': { type: 'string' },
    concurrency: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (!values.students || !values.days || !values.seed || !values.via) {
    throw new UsageError('simulate needs --students, --days, --seed and --via (see --help)');
  }
  const via = values.via;
  if (via !== 'ingest' && via !== 'kafka') throw new UsageError('--via must be ingest or kafka');
  let startMs: number | undefined;
  if (values.start) {
    startMs = Date.parse(values.start);
    if (Number.isNaN(startMs)) throw new UsageError('--start must be an ISO date (e.g. 2025-01-01)');
  }
  const opts = simOptions({
    seed: parseSeed(values.seed),
    students: num(values.students, 'students', 0, 1, 1_000_000),
    days: num(values.days, 'days', 0, 1, 3_650),
    startMs,
    duplicateRate: num(values['duplicate-rate'], 'duplicate-rate', 0.01, 0, 1),
    offlineRate: num(values['offline-rate'], 'offline-rate', 0.15, 0, 1),
  });

  const cfg = loadConfig();
  const env = simulatorEnv.load();
  const log = createLogger('simulate');
  let sink: Sink;
  let close = async () => {};
  if (via === 'kafka') {
    const producer = await connectProducer(cfg, log);
    sink = new KafkaSink(producer);
    close = () => producer.disconnect();
  } else {
    const apiKey = values['api-key'] ?? env.STUDYSTREAM_API_KEY;
    if (!apiKey)
      throw new UsageError(
        '--via ingest needs --api-key or STUDYSTREAM_API_KEY (create one: studystream apikey create --name sim)',
      );
    const url = values['ingest-url'] ?? `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}`;
    sink = new IngestSink(new FetchIngestClient(url, apiKey), {
      concurrency: num(values.concurrency, 'concurrency', 4, 1, 64),
    });
  }
  try {
    const result = await runSimulation(opts, sink, {
      truthFile: values.truth,
      progress: new Progress('simulate', { quiet: values.quiet ?? false }),
    });
    process.stderr.write(formatSummary(result, via));
    if (sink instanceof IngestSink && sink.reasons.length > 0)
      process.stderr.write(`  first rejections: ${sink.reasons.join('\n    ')}\n`);
    return result.results.rejected > 0 ? 1 : 0;
  } finally {
    await close();
  }
};
export default simulate;
