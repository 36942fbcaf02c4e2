import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { execSync } from 'node:child_process';
const known = execSync("clickhouse-client -q 'SELECT toString(event_id) FROM zz_fmt_test.question_attempts'").toString().trim().split('\n');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const q = encodeURIComponent('SELECT count() FROM question_attempts WHERE event_id IN (SELECT event_id FROM batch_ids) FORMAT TabSeparated');
const tally = new Map<string, number>();
for (let i = 0; i < 100; i++) {
  const all = [...Array.from({ length: 5000 }, () => randomUUID()), ...known].sort(() => Math.random() - 0.5);
  const ids = all.join('\n') + '\n';
  const b = `studystream-${randomUUID()}`;
  const body = `--${b}\r\nContent-Disposition: form-data; name="batch_ids"; filename="batch_ids"\r\nContent-Type: text/tab-separated-values\r\n\r\n${ids}\r\n--${b}--\r\n`;
  const mode = i % 2 ? 'chunked' : 'length';
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': `multipart/form-data; boundary=${b}`, Connection: 'close' };
    if (mode === 'length') headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = http.request(`http://127.0.0.1:8123/?database=zz_fmt_test&batch_ids_structure=event_id+UUID&batch_ids_format=TabSeparated&query=${q}`, { method: 'POST', headers }, (r) => {
      let t = ''; r.on('data', (c) => (t += c)); r.on('end', () => resolve({ status: r.statusCode!, text: t.trim() }));
    });
    req.on('error', reject);
    const step = Math.ceil(body.length / 10);
    for (let k = 0; k < body.length; k += step) req.write(body.slice(k, k + step));
    req.end();
  }).catch((e) => ({ status: -1, text: String(e) }));
  const k = `${mode} ${res.status} ${res.text.slice(0, 100)}`;
  tally.set(k, (tally.get(k) ?? 0) + 1);
}
console.log(known.length, tally);
