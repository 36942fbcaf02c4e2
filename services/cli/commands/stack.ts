import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';

export const STACK_SCRIPT = fileURLToPath(new URL('../../../deploy/stack.sh', import.meta.url));

/** Runs deploy/stack.sh (the native stack is plain bash so it works before Node 24 is installed). */
export function runStack(args: string[]): number {
  const result = spawnSync('bash', [STACK_SCRIPT, ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

const COMPONENTS = 'postgres redis clickhouse kafka registry';
const OPTIONAL = 'prometheus alertmanager';
export const subcommands = {
  up: `usage: studystream stack up [component ...]\n\nStarts the components (default: ${COMPONENTS}; optional, never started by default: ${OPTIONAL}) on loopback, data under STACK_DIR.\n`,
  down: `usage: studystream stack down [component ...]\n\nStops the components (default: all running).\n`,
  status: `usage: studystream stack status [component ...]\n\nShows which components run, with their pids and ports.\n`,
  logs: `usage: studystream stack logs [component ...]\n\nShows the tail of each component's log.\n`,
  reset: `usage: studystream stack reset [component ...]\n\nStops the components and wipes their data.\n`,
  'kafka-run': `usage: studystream stack kafka-run <main-class> [args ...]\n\nRuns a Kafka CLI class on the broker's classpath.\n`,
};
export const help = `usage: studystream stack up|down|status|logs|reset [component ...]
       studystream stack kafka-run <main-class> [args ...]

The native local stack (deploy/stack.sh): ${COMPONENTS} (default), ${OPTIONAL} (optional), each its own
process on 127.0.0.1 with its data under STACK_DIR. With --profile cluster: the cluster profile (deploy/cluster.sh:
3 Kafka brokers, 2x2 ClickHouse with ZooKeeper, PostgreSQL primary + standby; up|down|status|reset|kill|env [node ...]).
`;

const stack: Command = async (args) => runStack(args);
export default stack;
