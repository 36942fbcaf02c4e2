import { studySummary } from './services/analytics-api/data/history.ts';
let text = '';
const fake = { query: async ({ query }: { query: string }) => { text = query; return { json: async () => [] }; } };
await studySummary(fake as never, 'sim-02904b-00200', new Date().toISOString().slice(0, 10), Date.now() - 86400000);
process.stdout.write(text);
