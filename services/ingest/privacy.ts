import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

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

/**
 * The trusted proxies (INGEST_TRUSTED_PROXIES: comma-separated IPs and CIDRs, IPv4 or IPv6) as a BlockList;
 * null when none are configured. Throws on an entry that is neither.
 */
export function trustedProxies(list: string): BlockList | null {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) return null;
  const bl = new BlockList();
  for (const entry of entries) {
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || extra !== undefined) throw new Error(`not an IP address or CIDR: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) bl.addAddress(addr!, type);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128))
        throw new Error(`bad prefix length: ${entry}`);
      bl.addSubnet(addr!, prefix, type);
    }
  }
  return bl;
}

const isTrusted = (trusted: BlockList, ip: string): boolean => {
  const v4 = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  const family = isIP(v4);
  return family !== 0 && trusted.check(v4, family === 4 ? 'ipv4' : 'ipv6');
};

/**
 * The client address of a request: the socket peer, unless the peer is a trusted proxy; then X-Forwarded-For is
 * read from the right (each trusted proxy appends the address it saw) and the first entry that is not a trusted
 * proxy is the client. Entries left of it were written by the client and are never believed. Undefined without a
 * peer (no socket).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: BlockList | null,
): string | undefined {
  if (!peer || !trusted || !isTrusted(trusted, peer) || !forwardedFor) return peer;
  const hops = forwardedFor
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer; // a malformed chain: fall back to the proxy itself
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops[0] ?? peer;
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
