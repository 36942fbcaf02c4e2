/**
 * The one place where values become ClickHouse SQL text.
 *
 * ClickHouse 18.16 has no server-side query parameters, so every value is validated and rendered as a
 * literal here. Use the `sql` tagged template: interpolated values are escaped by type; identifiers must
 * be wrapped in `ident()` (validated against a strict pattern); trusted fragments in `raw()` or nested `sql`.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SqlValueError extends Error {}

class Fragment {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export type SqlFragment = Fragment;
export type SqlValue = string | number | bigint | boolean | Date | null | Fragment | readonly SqlValue[];

/** A string literal: backslash and quote escaped, control characters written as escapes. */
export function quoteString(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\0':
        out += '\\0';
        break;
      default: {
        const code = ch.codePointAt(0)!;
        out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
      }
    }
  }
  return out + "'";
}

/** Renders one value as a ClickHouse literal, or throws SqlValueError. */
export function literal(value: SqlValue): string {
  if (value instanceof Fragment) return value.text;
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SqlValueError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new SqlValueError('invalid date');
    return `toDateTime(${Math.floor(ms / 1000)}, 'UTC')`;
  }
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  throw new SqlValueError(`unsupported SQL value of type ${typeof value}`);
}

/** A validated identifier (table, column, database name). */
export function ident(name: string): Fragment {
  if (!IDENTIFIER.test(name)) throw new SqlValueError(`invalid identifier: ${JSON.stringify(name)}`);
  return new Fragment(name);
}

/** A validated UUID, rendered as toUUID('...'). */
export function uuid(value: string): Fragment {
  if (!UUID.test(value)) throw new SqlValueError(`invalid UUID: ${JSON.stringify(value)}`);
  return new Fragment(`toUUID('${value.toLowerCase()}')`);
}

/** Trusted SQL text written by us, never by a user. */
export function raw(text: string): Fragment {
  return new Fragment(text);
}

/** Tagged template: `sql\`SELECT * FROM ${ident(t)} WHERE user_id = ${userId}\``. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Fragment {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += literal(v) + strings[i + 1]!;
  });
  return new Fragment(out);
}

/** Joins fragments with a separator, e.g. for WHERE clauses built from optional filters. */
export function join(parts: readonly Fragment[], separator: string): Fragment {
  return new Fragment(parts.map((p) => p.text).join(separator));
}
