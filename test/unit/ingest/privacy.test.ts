import { describe, expect, it } from 'vitest';
import { hashIp, reduceUserAgent } from '../../../services/ingest/privacy.ts';

describe('hashIp', () => {
  it('is a salted, truncated SHA-256', () => {
    const h = hashIp('s1', '203.0.113.7');
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(hashIp('s1', '203.0.113.7')).toBe(h);
    expect(hashIp('s2', '203.0.113.7')).not.toBe(h);
    expect(hashIp('s1', '203.0.113.8')).not.toBe(h);
    expect(h).not.toContain('203');
  });
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(hashIp('s', '::ffff:10.0.0.1')).toBe(hashIp('s', '10.0.0.1'));
  });
});

describe('reduceUserAgent', () => {
  const cases: Array<[string, string | null, string | null]> = [
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      'Chrome',
      'Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
      'Edge',
      'Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      'Safari',
      'macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      'Safari',
      'iOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
      'Chrome',
      'iOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
      'Chrome',
      'Android',
    ],
    [
      'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
      'Samsung Internet',
      'Android',
    ],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox', 'Linux'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0',
      'Opera',
      'Windows',
    ],
    [
      'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      'Chrome',
      'ChromeOS',
    ],
    ['Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko', 'Internet Explorer', 'Windows'],
    ['okhttp/4.12.0', 'okhttp', null],
    ['StudyStream/3.2 CFNetwork/1494.0.7 Darwin/23.4.0', 'CFNetwork', 'macOS'],
    ['curl/8.5.0', 'curl', null],
    ['something else', null, null],
  ];
  it.each(cases)('%s', (ua, browser, os) => {
    expect(reduceUserAgent(ua)).toEqual({ browser, os });
  });
  it('handles a missing header', () => {
    expect(reduceUserAgent(undefined)).toEqual({ browser: null, os: null });
    expect(reduceUserAgent('')).toEqual({ browser: null, os: null });
  });
});
