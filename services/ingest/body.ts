import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Result } from '../shared/result.ts';

/**
 * Request body handling: content type, size limit (checked on Content-Length and while streaming, so an
 * oversized body is never buffered whole), UTF-8 and JSON parsing, and the batch envelope. Every failure is
 * a typed result mapped to a 4xx by the app; nothing here throws for bad input.
 */

export type BodyError = {
  status: 400 | 413 | 415;
  code: 'unsupported_media_type' | 'payload_too_large' | 'invalid_json' | 'invalid_envelope';
  message: string;
  details?: unknown;
};

export type BodyResult<T> = Result<T, BodyError>;

export type BatchEnvelope = { sentAt: number | undefined; events: unknown[] };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function isJsonContentType(header: string | undefined | null): boolean {
  return !!header && JSON_TYPE.test(header.trim());
}

const tooLarge = (limit: number): BodyError => ({
  status: 413,
  code: 'payload_too_large',
  message: `request body exceeds ${limit} bytes`,
});

/**
 * Reads and parses a JSON request body within `limit` bytes. With `incoming` (the Node request behind the
 * Hono request, when served by @hono/node-server) the body is read from it directly, which skips the
 * web-stream adapter.
 */
export async function readJsonBody(
  req: Request,
  limit: number,
  incoming?: IncomingMessage,
): Promise<BodyResult<unknown>> {
  if (!isJsonContentType(req.headers.get('content-type'))) {
    return {
      ok: false,
      error: {
        status: 415,
        code: 'unsupported_media_type',
        message: 'Content-Type must be application/json',
      },
    };
  }
  const encoding = req.headers.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') {
    return {
      ok: false,
      error: {
        status: 415,
        code: 'unsupported_media_type',
        message: `Content-Encoding ${encoding} is not supported`,
      },
    };
  }
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return { ok: false, error: tooLarge(limit) };

  const bytes = incoming ? await readIncoming(incoming, limit) : await readLimited(req, limit);
  if (bytes === undefined) return { ok: false, error: tooLarge(limit) };
  if (!isUtf8(bytes)) {
    return { ok: false, error: { status: 400, code: 'invalid_json', message: 'body is not valid UTF-8' } };
  }
  const text = bytes.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      error: {
        status: 400,
        code: 'invalid_json',
        message: `body is not valid JSON: ${(err as Error).message}`,
      },
    };
  }
}

/** The body bytes, or undefined as soon as more than `limit` bytes arrived. */
async function readLimited(req: Request, limit: number): Promise<Buffer | undefined> {
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** As readLimited, from a Node request stream (the rest of an oversized body is discarded, not buffered). */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (incoming.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        incoming.resume(); // drain and drop the rest so the connection stays usable
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (incoming.readableEnded) return onEnd();
      cleanup();
      reject(new Error('client connection closed before the body was complete'));
    };
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** Checks the batch envelope `{"sent_at"?: epoch ms, "events": [...]}`. */
export function parseBatchEnvelope(body: unknown, maxEvents: number): BodyResult<BatchEnvelope> {
  const invalid = (path: string, reason: string): BodyResult<BatchEnvelope> => ({
    ok: false,
    error: {
      status: 400,
      code: 'invalid_envelope',
      message: `${path}: ${reason}`,
      details: [{ path, reason }],
    },
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid('', 'expected an object {"sent_at"?: epoch ms, "events": [...]}');
  }
  const envelope = body as Record<string, unknown>;
  const unknown = Object.keys(envelope).filter((k) => k !== 'events' && k !== 'sent_at');
  if (unknown.length > 0) return invalid(unknown[0]!, 'unknown field');
  if (!Array.isArray(envelope.events)) return invalid('events', 'expected an array of events');
  if (envelope.events.length > maxEvents) {
    return {
      ok: false,
      error: {
        status: 413,
        code: 'payload_too_large',
        message: `a batch holds at most ${maxEvents} events (got ${envelope.events.length})`,
      },
    };
  }
  const sentAt = envelope.sent_at;
  if (
    sentAt !== undefined &&
    sentAt !== null &&
    !(typeof sentAt === 'number' && Number.isSafeInteger(sentAt) && sentAt > 0)
  ) {
    return invalid('sent_at', 'expected epoch milliseconds (positive integer)');
  }
  return {
    ok: true,
    value: { sentAt: (sentAt as number | null | undefined) ?? undefined, events: envelope.events },
  };
}
