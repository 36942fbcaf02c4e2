import { describe, expect, it } from 'vitest';
import { clientAddress, hashIp, trustedProxies } from '../../../services/ingest/privacy.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { fakeApp, postFrom } from './fakes.ts';
import { studyEvent } from '../../support/ingest-events.ts';

/**
 * Issue 18, finding 5: proxies are trusted only from a configured list (INGEST_TRUSTED_PROXIES), and then the client
 * is the right-most X-Forwarded-For entry that is not a trusted proxy; the client-written left-most entry is never
 * believed (INGEST_TRUST_PROXY used to take it).
 */
describe('clientAddress', () => {
  const trusted = trustedProxies('10.0.0.0/8, 192.0.2.1, 2001:db8::/32');

  it('the socket peer when no proxy is trusted or the peer is not one', () => {
    expect(clientAddress('203.0.113.9', '1.2.3.4', null)).toBe('203.0.113.9');
    expect(clientAddress('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
    expect(clientAddress(undefined, '1.2.3.4', trusted)).toBeUndefined();
  });

  it('behind trusted proxies: the right-most untrusted hop, never a spoofed left-most one', () => {
    expect(clientAddress('10.1.1.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended what it saw.
    expect(clientAddress('10.1.1.1', '6.6.6.6, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.1.1.1', '6.6.6.6, 198.51.100.7, 192.0.2.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:10.1.1.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('2001:db8::5', '2001:db9::1', trusted)).toBe('2001:db9::1');
    expect(clientAddress('10.1.1.1', '10.2.2.2, 10.3.3.3', trusted)).toBe('10.2.2.2');
    expect(clientAddress('10.1.1.1', 'not-an-ip, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.1.1.1', '198.51.100.7, garbage', trusted)).toBe('10.1.1.1');
    expect(clientAddress('10.1.1.1', undefined, trusted)).toBe('10.1.1.1');
  });

  it('INGEST_TRUSTED_PROXIES accepts IPs and CIDRs only; INGEST_TRUST_PROXY is gone', () => {
    expect(() => trustedProxies('10.0.0.0/33')).toThrow();
    expect(() => trustedProxies('proxy.local')).toThrow();
    expect(() => loadIngestConfig({ INGEST_IP_SALT: 'x', INGEST_TRUSTED_PROXIES: 'nope' })).toThrow(
      /INGEST_TRUSTED_PROXIES/,
    );
    expect(loadIngestConfig({ INGEST_IP_SALT: 'x' })).not.toHaveProperty('INGEST_TRUST_PROXY');
  });
});

describe('ingest app', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const { app, publisher } = fakeApp(); // trusts 10.0.0.0/8
    await postFrom(app, '203.0.113.9', '/v1/events', studyEvent(), { 'x-forwarded-for': '6.6.6.6' });
    expect(publisher.published[0]!.record.client).toMatchObject({ ip_hash: hashIp('salt', '203.0.113.9') });
  });

  it('behind a trusted proxy hashes the right-most untrusted hop', async () => {
    const { app, publisher } = fakeApp();
    await postFrom(app, '10.0.0.2', '/v1/events', studyEvent(), {
      'x-forwarded-for': '6.6.6.6, 198.51.100.23',
    });
    expect(publisher.published[0]!.record.client).toMatchObject({ ip_hash: hashIp('salt', '198.51.100.23') });
  });
});
