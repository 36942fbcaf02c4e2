/**
 * The stream service with only the stateful processors (sessions, mastery) and a free ops port: the kill tests and
 * the benchmark run it as a child process, several at once. STATEFUL_PROCESSORS picks which (default both);
 * STATEFUL_KAFKA_GROUP_SUFFIX joins a fresh Kafka group over the same stored positions (see start.ts).
 *   node services/stream/run-stateful.ts
 */
process.env.STREAM_PROCESSORS = process.env.STATEFUL_PROCESSORS ?? 'sessions,mastery';
process.env.STREAM_KAFKA_GROUP_SUFFIX = process.env.STATEFUL_KAFKA_GROUP_SUFFIX ?? '';
process.env.STREAM_PORT ??= '0';
await import('./main.ts');
