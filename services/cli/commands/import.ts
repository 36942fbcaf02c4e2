import { subjectKeysFor } from '../../shared/subjects.ts';
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { EventCodec } from '../../shared/codec.ts';
import { loadConfig } from '../../shared/config.ts';
import { createKafka } from '../../shared/kafka.ts';
import { createLogger } from '../../shared/logger.ts';
import { EventProducer } from '../../shared/producer.ts';
import { createRegistry } from '../../shared/registry.ts';
import { ingestEnv } from '../../ingest/index.ts';
import { importFile, type ImportFormat } from '../../datatools/index.ts';
import { ProgressLine } from '../../shared/progress.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream import --file F [--format jsonl|csv] [--rejects FILE] [--quiet]

Loads historical events through ingest's validation (no maximum age; occurred_at kept as given) into the event
topics. Rows without event_id get a deterministic UUIDv5 derived from the row, so importing a file twice adds
nothing downstream. Rejected rows go to --rejects (default F.rejects.jsonl), one JSON object per row:
{"line": N, "event_id": ..., "errors": [{"path", "code", "reason"}]}.
CSV: a header row of field names (nested as client.platform), topic_ids separated by ';', a family column.
`;

/** `studystream import --file F [--format jsonl|csv] [--rejects FILE]`. Exit 1 when any row was rejected. */
const importCommand: Command = async (args) => {
  const { values } = parseOptions(args, {
    file: { type: 'string' },
    format: { type: 'string' },
    rejects: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (!values.file) throw new UsageError('import needs --file (see --help)');
  const format = (values.format ?? (values.file.endsWith('.csv') ? 'csv' : 'jsonl')) as ImportFormat;
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
  let size: number;
  try {
    size = statSync(values.file).size;
  } catch {
    throw new Error(`cannot read ${values.file}`);
  }
  const cfg = loadConfig();
  const ingest = ingestEnv.load();
  const log = createLogger('import', process.env.LOG_LEVEL ?? 'warn');
  const codec = new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg));
  await codec.resolveWriterIds();
  const producer = new EventProducer(createKafka(cfg, log, 'import'), codec, log);
  await producer.connect({ log, deadlineMs: cfg.KAFKA_START_DEADLINE_MS });
  const rejectsPath = values.rejects ?? `${values.file}.rejects.jsonl`;
  const rejects = createWriteStream(rejectsPath);
  const progress = new ProgressLine('import', { quiet: values.quiet ?? false });
  try {
    const report = await importFile({
      file: values.file,
      format,
      maxFutureMs: ingest.INGEST_MAX_FUTURE_MS,
      publish: (events) => producer.publish(events),
      onReject: (r) => {
        rejects.write(`${JSON.stringify(r)}\n`);
      },
      onProgress: (bytes, r) =>
        progress.update(
          bytes,
          size,
          `${r.accepted.toLocaleString('en-US')} accepted, ${r.rejected} rejected`,
        ),
    });
    progress.update(
      size,
      size,
      `${report.accepted.toLocaleString('en-US')} accepted, ${report.rejected} rejected`,
      true,
    );
    rejects.end();
    await once(rejects, 'finish');
    process.stdout.write(
      `rows ${report.rows}: accepted ${report.accepted} (event_id derived for ${report.derivedIds}), ` +
        `duplicates in file ${report.duplicatesInFile}, rejected ${report.rejected}\n`,
    );
    for (const [family, n] of Object.entries(report.byFamily)) process.stdout.write(`  ${family}: ${n}\n`);
    if (report.rejected > 0) {
      process.stdout.write(`rejected rows with their reasons: ${rejectsPath}\n`);
      process.stderr.write(
        `studystream: ${report.rejected} of ${report.rows} rows rejected (see ${rejectsPath})\n`,
      );
      return 1;
    }
    return 0;
  } finally {
    if (!rejects.closed) rejects.end();
    await producer.disconnect();
  }
};
export default importCommand;
