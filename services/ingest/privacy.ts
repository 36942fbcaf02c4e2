import { createHash } from 'node:crypto';

/**
 * Privacy reductions applied before anything is stored or produced: the client IP becomes a salted,
 * truncated SHA-256 and the user agent becomes a browser family and an OS family. The raw values are
 * never logged, kept or produced.
 */

/** SHA-256(salt + ip), first 16 hex characters. IPv4-mapped IPv6 addresses are reduced to IPv4 first. */
export function hashIp(salt: string, ip: string): string {
  const normalized = ip
    .trim()
    .toLowerCase()
    .replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return createHash('sha256').update(salt).update(normalized).digest('hex').slice(0, 16);
}

export type ReducedUserAgent = { browser: string | null; os: string | null };

// Order matters: many user agents name several engines (Edge and Opera also say Chrome and Safari).
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera|OPiOS)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\bCriOS\//, 'Chrome'],
  [/\b(?:Chrome|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\b(?:MSIE |Trident\/)/, 'Internet Explorer'],
  [/\bokhttp\//i, 'okhttp'],
  [/\bCFNetwork\//, 'CFNetwork'],
  [/\bnode(?:-fetch)?\b|\bundici\b/i, 'Node.js'],
  [/\bcurl\//i, 'curl'],
  [/\bpython-requests\/|\bpython-urllib/i, 'Python'],
  [/\bstudystream-sdk\//i, 'studystream-sdk'],
];

const OSES: Array<[RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b.*\bOS \d/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows (?:NT|Phone)\b|\bWin64\b|\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b|\bDarwin\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** Reduces a user agent to its browser family and OS family; unknown or absent parts are null. */
export function reduceUserAgent(ua: string | undefined | null): ReducedUserAgent {
  if (!ua) return { browser: null, os: null };
  const text = ua.slice(0, 512);
  const browser = BROWSERS.find(([re]) => re.test(text))?.[1] ?? null;
  const os = OSES.find(([re]) => re.test(text))?.[1] ?? null;
  return { browser, os };
}
