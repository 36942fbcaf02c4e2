import { readFileSync } from 'node:fs';
import type { SASLOptions } from 'kafkajs';
import type { SharedConfig } from './config.ts';

/**
 * Encryption in transit (issue 18). Plain loopback stays the development default; each link turns TLS on by
 * configuration, and every TLS client verifies the server's certificate (chain and host name) against
 * TLS_CA_FILE when it is set, else against the system CAs. There is no "don't verify" switch.
 *   - ingest, API, stream and jobs HTTP ports: HTTPS when TLS_CERT_FILE and TLS_KEY_FILE are set (HTTP is then off)
 *   - Kafka: KAFKA_SSL=1 (SSL), plus KAFKA_SASL_MECHANISM/USERNAME/PASSWORD for SASL_SSL
 *   - PostgreSQL: PG_SSL=1 (verify-full)
 *   - Redis: a rediss:// REDIS_URL
 *   - ClickHouse: an https:// CLICKHOUSE_URL
 */

export type TlsSettings = Partial<
  Pick<
    SharedConfig,
    | 'TLS_CA_FILE'
    | 'TLS_CERT_FILE'
    | 'TLS_KEY_FILE'
    | 'KAFKA_SSL'
    | 'KAFKA_SASL_MECHANISM'
    | 'KAFKA_SASL_USERNAME'
    | 'KAFKA_SASL_PASSWORD'
    | 'PG_SSL'
  >
>;

const files = new Map<string, Buffer>();

/** A PEM file's bytes, read once per process (certificates and keys are small and read at client creation). */
function pem(path: string, what: string): Buffer {
  let bytes = files.get(path);
  if (bytes === undefined) {
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    files.set(path, bytes);
  }
  return bytes;
}

/** The CA list TLS clients trust: TLS_CA_FILE's certificates, or undefined for the system CAs. */
export function trustedCa(cfg: TlsSettings): Buffer[] | undefined {
  return cfg.TLS_CA_FILE ? [pem(cfg.TLS_CA_FILE, 'TLS_CA_FILE')] : undefined;
}

/** The HTTPS key and certificate of the HTTP services, or undefined for plain HTTP. Both or neither. */
export function serverTls(cfg: TlsSettings): { key: Buffer; cert: Buffer } | undefined {
  const cert = cfg.TLS_CERT_FILE ?? '';
  const key = cfg.TLS_KEY_FILE ?? '';
  if (cert === '' && key === '') return undefined;
  if (cert === '' || key === '') throw new Error('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  return { cert: pem(cert, 'TLS_CERT_FILE'), key: pem(key, 'TLS_KEY_FILE') };
}

/** kafkajs' ssl and sasl options. */
export function kafkaTls(cfg: TlsSettings): {
  ssl?: { ca?: Buffer[]; rejectUnauthorized: true };
  sasl?: SASLOptions;
} {
  const out: ReturnType<typeof kafkaTls> = {};
  if (cfg.KAFKA_SSL) {
    const ca = trustedCa(cfg);
    out.ssl = { ...(ca ? { ca } : {}), rejectUnauthorized: true };
  }
  if (cfg.KAFKA_SASL_MECHANISM) {
    if (!cfg.KAFKA_SSL)
      throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SSL=1 (SASL_SSL; no SASL over plain text)');
    out.sasl = {
      mechanism: cfg.KAFKA_SASL_MECHANISM,
      username: cfg.KAFKA_SASL_USERNAME ?? '',
      password: cfg.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return out;
}

/** node-postgres' ssl option: verify-full against TLS_CA_FILE (or the system CAs) when PG_SSL is on. */
export function postgresTls(cfg: TlsSettings): { ca?: Buffer[]; rejectUnauthorized: true } | undefined {
  if (!cfg.PG_SSL) return undefined;
  const ca = trustedCa(cfg);
  return { ...(ca ? { ca } : {}), rejectUnauthorized: true };
}

/** ioredis' tls option for a rediss:// URL (ioredis turns TLS on for rediss itself; this adds the CA). */
export function redisTls(
  url: string,
  cfg: TlsSettings,
): { tls?: { ca?: Buffer[]; rejectUnauthorized: true } } {
  if (!url.startsWith('rediss:')) return {};
  const ca = trustedCa(cfg);
  return { tls: { ...(ca ? { ca } : {}), rejectUnauthorized: true } };
}
