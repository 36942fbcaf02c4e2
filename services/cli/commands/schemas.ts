import { writeFile } from 'node:fs/promises';
import { loadConfig, type SharedConfig } from '../../shared/config.ts';
import { schemaText } from '../../shared/codec.ts';
import { GENERATED_PATH, renderEventTypes } from '../../shared/events-codegen.ts';
import { EVENT_FAMILIES, topicNames } from '../../shared/kafka.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import {
  isCompatibleWithLatest,
  registerSchema,
  RegistryHttpError,
  setCompatibility,
  valueSubject,
} from '../../shared/registry.ts';
import { UsageError, type Command } from '../command.ts';

/**
 * `studystream schemas register|check|types`
 *   register: registers each family's schema under "<prefix><topic>-value" (TopicNameStrategy) and sets the
 *             subject's compatibility to BACKWARD (before registering, so a changed schema is checked).
 *   check:    tests the local schemas against each subject's latest version; exit 1 when one is incompatible.
 *   types:    regenerates services/shared/events.generated.ts from schemas/*.avsc.
 */

export const subcommands = {
  register:
    'usage: studystream schemas register\n\nRegisters each event family\'s schema under "<prefix><topic>-value" with BACKWARD compatibility.\n',
  check:
    "usage: studystream schemas check\n\nTests the local schemas against each subject's latest version; exit 1 when one is incompatible.\n",
  types:
    'usage: studystream schemas types\n\nRegenerates services/shared/events.generated.ts from schemas/*.avsc.\n',
};
export const help = `usage: studystream schemas register|check|types\n\n${Object.values(subcommands)
  .map((h) => h.replace('usage: studystream schemas ', '  '))
  .join('')}`;

type RegistrySettings = Pick<SharedConfig, 'SCHEMA_REGISTRY_URL' | 'KAFKA_TOPIC_PREFIX'>;

export function subjects(cfg: RegistrySettings) {
  const topics = topicNames(cfg);
  return EVENT_FAMILIES.map((family) => ({ family, subject: valueSubject(topics[family]) }));
}

/** Registers every family's schema with BACKWARD compatibility; returns the schema ids. */
export async function registerAll(cfg: RegistrySettings, log: Logger): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const { family, subject } of subjects(cfg)) {
    const exists = (await isCompatibleWithLatest(cfg, subject, schemaText(family))) !== undefined;
    if (exists) await setCompatibility(cfg, subject, 'BACKWARD');
    try {
      ids[subject] = await registerSchema(cfg, subject, schemaText(family));
    } catch (err) {
      if (err instanceof RegistryHttpError && err.status === 409) {
        throw new Error(`schema of ${family} is not BACKWARD compatible with ${subject}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    if (!exists) await setCompatibility(cfg, subject, 'BACKWARD');
    log.info({ subject, id: ids[subject] }, 'schema registered (compatibility BACKWARD)');
  }
  return ids;
}

export type CheckResult = {
  subject: string;
  status: 'compatible' | 'incompatible' | 'new';
  messages: string[];
};

export async function checkAll(cfg: RegistrySettings): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const { family, subject } of subjects(cfg)) {
    const r = await isCompatibleWithLatest(cfg, subject, schemaText(family));
    out.push(
      r === undefined
        ? { subject, status: 'new', messages: [] }
        : { subject, status: r.compatible ? 'compatible' : 'incompatible', messages: r.messages },
    );
  }
  return out;
}

/** `npm start` hook: registers the schemas before the services start. */
export async function onStart(log: Logger): Promise<void> {
  await registerAll(loadConfig(), log);
}

const schemas: Command = async (args) => {
  const [sub, ...rest] = args;
  if (rest.length > 0) throw new UsageError(`schemas ${sub}: unexpected arguments ${rest.join(' ')}`);
  const log = createLogger('schemas');
  switch (sub) {
    case 'register': {
      const ids = await registerAll(loadConfig(), log);
      for (const [subject, id] of Object.entries(ids)) console.log(`${subject}\tid ${id}`);
      return 0;
    }
    case 'check': {
      const results = await checkAll(loadConfig());
      for (const r of results) {
        console.log(`${r.subject}\t${r.status}${r.messages.length ? `\t${r.messages.join('; ')}` : ''}`);
      }
      const bad = results.filter((r) => r.status === 'incompatible');
      if (bad.length > 0) {
        process.stderr.write(
          `studystream: incompatible schema for ${bad.map((b) => b.subject).join(', ')}\n`,
        );
        return 1;
      }
      return 0;
    }
    case 'types': {
      await writeFile(GENERATED_PATH, await renderEventTypes());
      console.log(`wrote ${GENERATED_PATH.pathname}`);
      return 0;
    }
    default:
      throw new UsageError(help.trimEnd());
  }
};
export default schemas;
