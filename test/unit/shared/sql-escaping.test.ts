import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SqlValueError,
  ident,
  join,
  literal,
  quoteString,
  raw,
  sql,
  uuid,
} from '../../../services/shared/sql.ts';

/** Parses a ClickHouse single-quoted literal back to its value (the inverse of quoteString), or throws. */
function unquote(text: string): string {
  expect(text.startsWith("'") && text.endsWith("'")).toBe(true);
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text[i]!;
    if (ch === "'") throw new Error(`unescaped quote at ${i}`);
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[++i]!;
    const simple: Record<string, string> = { '\\': '\\', "'": "'", n: '\n', r: '\r', t: '\t', '0': '\0' };
    if (next in simple) out += simple[next];
    else if (next === 'x') {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`unknown escape \\${next}`);
  }
  return out;
}

describe('quoteString', () => {
  it('escapes quotes and backslashes', () => {
    expect(quoteString("O'Brien")).toBe("'O\\'Brien'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString("\\'; DROP TABLE x; --")).toBe("'\\\\\\'; DROP TABLE x; --'");
  });

  it('writes control characters as escapes', () => {
    expect(quoteString('a\nb\tc\0d\x01')).toBe("'a\\nb\\tc\\0d\\x01'");
  });

  it('round-trips any string and never leaves an unescaped quote', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(unquote(quoteString(s))).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('literal', () => {
  it('renders numbers, booleans, null, arrays and dates', () => {
    expect(literal(42)).toBe('42');
    expect(literal(-1.5)).toBe('-1.5');
    expect(literal(true)).toBe('1');
    expect(literal(null)).toBe('NULL');
    expect(literal(['a', 1])).toBe("['a', 1]");
    expect(literal(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe("toDateTime(1767323045, 'UTC')");
    expect(literal(10n)).toBe('10');
  });

  it('refuses values that are not finite or not dates', () => {
    expect(() => literal(Number.NaN)).toThrow(SqlValueError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(SqlValueError);
    expect(() => literal(new Date('nope'))).toThrow(SqlValueError);
    expect(() => literal({} as never)).toThrow(SqlValueError);
  });
});

describe('identifiers and uuids', () => {
  it('accepts plain identifiers only', () => {
    expect(ident('study_events').text).toBe('study_events');
    for (const bad of ['', '1abc', 'a-b', 'a b', 'a;b', 'x`', 'a.b', "t'", 'a'.repeat(200)]) {
      expect(() => ident(bad)).toThrow(SqlValueError);
    }
  });

  it('accepts canonical UUIDs only', () => {
    expect(uuid('0F8FAD5B-D9CB-469F-A165-70867728950E').text).toBe(
      "toUUID('0f8fad5b-d9cb-469f-a165-70867728950e')",
    );
    expect(() => uuid("0f8fad5b-d9cb-469f-a165-70867728950e'")).toThrow(SqlValueError);
    expect(() => uuid('not-a-uuid')).toThrow(SqlValueError);
  });
});

describe('sql template', () => {
  it('escapes interpolated values and keeps fragments verbatim', () => {
    const table = ident('question_attempts');
    const q = sql`SELECT count() FROM ${table} WHERE user_id = ${"u'1"} AND n > ${3} AND ${raw('1 = 1')}`;
    expect(q.text).toBe("SELECT count() FROM question_attempts WHERE user_id = 'u\\'1' AND n > 3 AND 1 = 1");
  });

  it('nests and joins fragments', () => {
    const filters = [sql`a = ${1}`, sql`b = ${'x'}`];
    expect(sql`WHERE ${join(filters, ' AND ')}`.text).toBe("WHERE a = 1 AND b = 'x'");
  });
});
