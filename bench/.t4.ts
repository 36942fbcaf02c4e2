import http from 'node:http';
import { randomUUID } from 'node:crypto';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ids = Array.from({ length: 50 }, () => randomUUID()).join('\n') + '\n';
const q0 = encodeURIComponent('SELECT toString(event_id) FROM question_attempts WHERE event_id IN (SELECT event_id FROM batch_ids) FORMAT TabSeparated');
const tally = new Map<string, number>();
for (let i = 0; i < 300; i++) {
  const b = `studystream-${randomUUID()}`;
  const body = `--${b}\r\nContent-Disposition: form-data; name="batch_ids"; filename="batch_ids"\r\nContent-Type: text/tab-separated-values\r\n\r\n${ids}\r\n--${b}--\r\n`;
  const mp = i % 2 === 0;
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(`http://127.0.0.1:8123/?database=zz_fmt_test${mp ? '&batch_ids_structure=event_id+UUID&batch_ids_format=TabSeparated' : ''}&query=${mp ? q0 : encodeURIComponent('SELECT 1')}`, { method: 'POST', agent, headers: mp ? { 'Content-Type': `multipart/form-data; boundary=${b}` } : {} }, (r) => {
      let t = ''; r.on('data', (c) => (t += c)); r.on('end', () => resolve({ status: r.statusCode!, text: t }));
    });
    req.on('error', reject);
    if (mp) { req.write(body); req.end(); } else req.end('');
  }).catch((e) => ({ status: -1, text: String(e) }));
  const k = `${mp ? 'mp' : 'plain'} ${res.status} ${res.status === 200 ? '' : res.text.slice(0, 150)}`;
  tally.set(k, (tally.get(k) ?? 0) + 1);
}
console.log(tally);
agent.destroy();
