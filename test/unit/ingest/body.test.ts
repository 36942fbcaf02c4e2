import { describe, expect, it } from 'vitest';
import { isJsonContentType, parseBatchEnvelope, readJsonBody } from '../../../services/ingest/body.ts';

const req = (body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  new Request('http://x/', { method: 'POST', body, headers });

describe('body parsing', () => {
  it('accepts JSON content types only', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/vnd.api+json')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType('application/jsonp')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
  it('parses JSON', async () => {
    expect(await readJsonBody(req('{"a":1}'), 100)).toEqual({ ok: true, value: { a: 1 } });
  });
  it('refuses wrong content type with 415', async () => {
    const r = await readJsonBody(req('{}', { 'content-type': 'text/plain' }), 100);
    expect(r.ok || r.error.status).toBe(415);
  });
  it('refuses oversized bodies with 413, by header and while streaming', async () => {
    const big = '[' + '1,'.repeat(100) + '1]';
    const r1 = await readJsonBody(req(big), 50);
    expect(r1.ok || r1.error).toMatchObject({ status: 413, code: 'payload_too_large' });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const r2 = await readJsonBody(
      new Request('http://x/', {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit),
      50,
    );
    expect(r2.ok || r2.error.status).toBe(413);
  });
  it('reports broken JSON and invalid UTF-8 as 400 invalid_json', async () => {
    const r = await readJsonBody(req('{"a":'), 100);
    expect(r.ok || r.error).toMatchObject({ status: 400, code: 'invalid_json' });
    const r2 = await readJsonBody(req(new Uint8Array([0x22, 0xff, 0x22])), 100);
    expect(r2.ok || r2.error).toMatchObject({ status: 400, code: 'invalid_json' });
  });
  it('checks the batch envelope', () => {
    expect(parseBatchEnvelope({ events: [] }, 10)).toEqual({
      ok: true,
      value: { sentAt: undefined, events: [] },
    });
    expect(parseBatchEnvelope({ sent_at: 5, events: [1] }, 10)).toEqual({
      ok: true,
      value: { sentAt: 5, events: [1] },
    });
    const bad = [
      [],
      null,
      'x',
      { events: {} },
      { events: [], extra: 1 },
      { events: [], sent_at: 'now' },
      { events: [], sent_at: 1.5 },
    ];
    for (const b of bad) {
      const r = parseBatchEnvelope(b, 10);
      expect(r.ok || r.error).toMatchObject({ status: 400, code: 'invalid_envelope' });
    }
    const tooMany = parseBatchEnvelope({ events: new Array(11).fill({}) }, 10);
    expect(tooMany.ok || tooMany.error).toMatchObject({ status: 413, code: 'payload_too_large' });
  });
});
