import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Test-only TLS fixtures (issue 18, encryption in transit): a throwaway PKI made with the machine's openssl, and
 * servers of the stack's own kinds started on free ports with TLS listeners, each with its own data directory,
 * so the shared stack's servers on the default ports are never touched.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export type Pki = {
  dir: string;
  /** The CA that signed the server certificate (what clients must trust). */
  ca: string;
  /** Another CA, which signed nothing the servers present (a client trusting only it must refuse them). */
  otherCa: string;
  cert: string;
  key: string;
  /** key and certificate in one PEM file (Kafka's PEM key store). */
  keyAndCert: string;
};

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and localhost signed by it, and an unrelated second CA. */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  for (const name of ['ca', 'other-ca']) {
    openssl(
      dir,
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=studystream test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  }
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(
    `${dir}/server.ext`,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'server.ext',
  );
  const keyAndCert = `${dir}/server.pem`;
  writeFileSync(keyAndCert, execFileSync('cat', [`${dir}/server.key`, `${dir}/server.crt`]));
  return {
    dir,
    ca: `${dir}/ca.crt`,
    otherCa: `${dir}/other-ca.crt`,
    cert: `${dir}/server.crt`,
    key: `${dir}/server.key`,
    keyAndCert,
  };
}

export type TestServer = { name: string; port: number; stop: () => Promise<void>; log: () => string };

function track(child: ChildProcess): () => string {
  let out = '';
  const add = (c: Buffer) => (out = (out + c.toString()).slice(-8000));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Polls `ready` until it resolves true, failing with the server's output if the child exits or time runs out. */
export async function waitFor(
  name: string,
  ready: () => Promise<boolean>,
  log: () => string,
  child?: ChildProcess,
  timeoutMs = 120_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child && child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${log()}`);
    if (await ready().catch(() => false)) return;
    await sleep(300);
  }
  throw new Error(`${name} did not start within ${timeoutMs} ms: ${log()}`);
}

/** redis-server (the stack's Redis 7) with only a TLS port. */
export function startRedisTls(pki: Pki, dir: string, port: number): TestServer {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      pki.cert,
      '--tls-key-file',
      pki.key,
      '--tls-ca-cert-file',
      pki.ca,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { name: 'redis', port, stop: () => stopChild(child), log: track(child) };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL 15 cluster (initdb as the postgres OS user) with ssl=on, accepting only TLS connections
 * on 127.0.0.1 (hostssl trust; hostnossl reject).
 */
export async function startPostgresTls(pki: Pki, dir: string, port: number): Promise<TestServer> {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid('postgres'), uid('postgres', 'g'));
  chmodSync(dir, 0o700);
  const data = `${dir}/data`;
  const asPostgres = (bin: string, ...args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${bin}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  asPostgres(
    'initdb',
    '-D',
    data,
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--auth-local=trust',
    '--auth-host=reject',
  );
  for (const [from, to] of [
    [pki.cert, 'server.crt'],
    [pki.key, 'server.key'],
  ] as const) {
    copyFileSync(from, `${data}/${to}`);
    chownSync(`${data}/${to}`, uid('postgres'), uid('postgres', 'g'));
    chmodSync(`${data}/${to}`, 0o600);
  }
  writeFileSync(
    `${data}/pg_hba.conf`,
    'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n',
  );
  const opts =
    `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c ssl=on ` +
    `-c ssl_cert_file=server.crt -c ssl_key_file=server.key -c shared_buffers=16MB -c max_connections=20 -c fsync=off`;
  asPostgres('pg_ctl', '-D', data, '-l', `${dir}/postgres.log`, '-w', '-t', '120', '-o', opts, 'start');
  return {
    name: 'postgres',
    port,
    stop: async () => {
      asPostgres('pg_ctl', '-D', data, '-m', 'fast', '-w', 'stop');
    },
    log: () =>
      existsSync(`${dir}/postgres.log`)
        ? execFileSync('tail', ['-c', '4000', `${dir}/postgres.log`]).toString()
        : '',
  };
}

function uid(user: string, kind: 'u' | 'g' = 'u'): number {
  return Number(
    execFileSync('id', [`-${kind}`, user])
      .toString()
      .trim(),
  );
}

/** ClickHouse 18.16 (the stack's clickhouse-server) with only an HTTPS port. */
export function startClickHouseTls(pki: Pki, dir: string, port: number): TestServer {
  mkdirSync(`${dir}/tmp`, { recursive: true });
  mkdirSync(`${dir}/user_files`, { recursive: true });
  copyFileSync('/etc/clickhouse-server/users.xml', `${dir}/users.xml`);
  writeFileSync(
    `${dir}/config.xml`,
    `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>${dir}/clickhouse.log</log><errorlog>${dir}/clickhouse.err.log</errorlog><size>10M</size><count>1</count></logger>
    <https_port>${port}</https_port>
    <listen_host>127.0.0.1</listen_host>
    <openSSL>
        <server>
            <certificateFile>${pki.cert}</certificateFile>
            <privateKeyFile>${pki.key}</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
    <max_connections>64</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>16</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>${dir}/</path>
    <tmp_path>${dir}/tmp/</tmp_path>
    <user_files_path>${dir}/user_files/</user_files_path>
    <users_config>${dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
`,
  );
  const child = spawn('clickhouse-server', [`--config-file=${dir}/config.xml`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = track(child);
  return {
    name: 'clickhouse',
    port,
    stop: () => stopChild(child),
    log: () =>
      `${out()}${existsSync(`${dir}/clickhouse.err.log`) ? execFileSync('tail', ['-c', '3000', `${dir}/clickhouse.err.log`]).toString() : ''}`,
  };
}

/** Where the stack keeps Kafka's jars (deploy/stack.sh downloads them; KAFKA_LIBS overrides). */
export function kafkaLibs(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KAFKA_LIBS) return env.KAFKA_LIBS;
  const stack = env.STACK_DIR || `${REPO}.stack`;
  return `${stack}/cache/kafka-${env.KAFKA_VERSION || '4.3.1'}/libs`;
}

/**
 * A single KRaft Kafka node (the stack's Kafka jars) with an SSL listener and a SASL_SSL listener (PLAIN, user
 * `studystream` / `password`), its controller on plain loopback.
 */
export function startKafkaTls(
  pki: Pki,
  dir: string,
  ports: { ssl: number; saslSsl: number; controller: number },
  password: string,
): TestServer {
  const libs = kafkaLibs();
  if (!existsSync(libs))
    throw new Error(
      `Kafka jars not found at ${libs}: run \`bash deploy/stack.sh up kafka\` (or set KAFKA_LIBS)`,
    );
  mkdirSync(`${dir}/logs`, { recursive: true });
  const conf = `${dir}/server.properties`;
  writeFileSync(
    conf,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${ports.controller}`,
      `listeners=SSL://127.0.0.1:${ports.ssl},SASL_SSL://127.0.0.1:${ports.saslSsl},CONTROLLER://127.0.0.1:${ports.controller}`,
      `advertised.listeners=SSL://127.0.0.1:${ports.ssl},SASL_SSL://127.0.0.1:${ports.saslSsl}`,
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
      'inter.broker.listener.name=SSL',
      'controller.listener.names=CONTROLLER',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${pki.keyAndCert}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${pki.ca}`,
      'ssl.client.auth=none',
      'sasl.enabled.mechanisms=PLAIN',
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_studystream="${password}";`,
      `log.dirs=${dir}/logs`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=1',
      'num.io.threads=2',
      '',
    ].join('\n'),
  );
  const java = [
    '-Xms64m',
    '-Xmx384m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Dlog4j2.configurationFile=${REPO}deploy/kafka/tools-log4j2.xml`,
    '-cp',
    `${libs}/*`,
  ];
  let id = '-';
  // StorageTool's cluster id shape: 16 random bytes, URL-safe base64 without padding, not starting with "-".
  while (id.startsWith('-')) id = randomBytes(16).toString('base64url');
  execFileSync(
    'java',
    [...java, 'kafka.tools.StorageTool', 'format', '--standalone', '--cluster-id', id, '--config', conf],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const child = spawn('java', [...java, 'kafka.Kafka', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  return { name: 'kafka', port: ports.ssl, stop: () => stopChild(child), log: track(child) };
}
