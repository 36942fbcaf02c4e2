import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { logDestination } from '../../../services/shared/logger.ts';

const NODE = process.execPath;
const LOGGER = fileURLToPath(new URL('../../../services/shared/logger.ts', import.meta.url));
const script = `import('${LOGGER}').then(({ createLogger }) => createLogger('demo').info({ n: 1 }, 'hello'))`;
const logLine = (format: string) =>
  spawnSync(NODE, ['-e', script], { encoding: 'utf8', env: { ...process.env, LOG_FORMAT: format } }).stdout;

describe('log format', () => {
  it('auto: pretty on a terminal, JSON otherwise; json and pretty force it', () => {
    expect(logDestination('auto', false)).toBeUndefined();
    expect(logDestination('auto', true)).toBeDefined();
    expect(logDestination('json', true)).toBeUndefined();
    expect(logDestination('pretty', false)).toBeDefined();
  });

  it('a pipe gets JSON lines by default; LOG_FORMAT=pretty gives human-readable lines', () => {
    const json = JSON.parse(logLine('auto')) as Record<string, unknown>;
    expect(json).toMatchObject({ level: 30, service: 'demo', n: 1, msg: 'hello' });
    const pretty = logLine('pretty');
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: demo: hello\n\s+n: 1\n$/);
  });
});
