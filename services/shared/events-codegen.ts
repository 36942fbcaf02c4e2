import { readFileSync } from 'node:fs';
import { EVENT_FAMILIES, type EventFamily } from './kafka.ts';
import { SCHEMAS_DIR } from './registry.ts';

/**
 * Generates services/shared/events.generated.ts from schemas/*.avsc (the single source of truth):
 * one interface per named record, one string-literal union per enum, and per family the names of the
 * fields that have defaults (optional for producers). Run by `studystream schemas types`; a unit test
 * fails when the committed file differs from what this produces.
 */

type AvroSchema = string | AvroSchema[] | { type: string; [key: string]: unknown };
type Field = { name: string; type: AvroSchema; doc?: string; default?: unknown };

export const GENERATED_PATH = new URL('./events.generated.ts', import.meta.url);

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Uint8Array',
  string: 'string',
};

function docComment(doc: unknown, indent: string): string {
  if (typeof doc !== 'string' || doc.length === 0) return '';
  return `${indent}/** ${doc.replace(/\*\//g, '*\\/')} */\n`;
}

class Generator {
  private readonly named = new Map<string, { text: string; canonical: string }>();
  private readonly order: string[] = [];

  private define(name: string, canonical: string, text: string): void {
    const existing = this.named.get(name);
    if (existing) {
      if (existing.canonical !== canonical)
        throw new Error(`named type ${name} is declared differently in two schemas`);
      return;
    }
    this.named.set(name, { text, canonical });
    this.order.push(name);
  }

  /** The TypeScript type of an Avro schema, defining named types on the way. */
  tsType(schema: AvroSchema): string {
    if (typeof schema === 'string') {
      const primitive = PRIMITIVES[schema];
      if (primitive) return primitive;
      return schema.split('.').pop()!; // reference to an already defined named type
    }
    if (Array.isArray(schema)) return schema.map((s) => this.tsType(s)).join(' | ');
    switch (schema.type) {
      case 'record': {
        const name = schema.name as string;
        const fields = schema.fields as Field[];
        const body = fields
          .map((f) => `${docComment(f.doc, '  ')}  ${f.name}: ${this.tsType(f.type)};\n`)
          .join('');
        this.define(
          name,
          JSON.stringify(schema),
          `${docComment(schema.doc, '')}export interface ${name} {\n${body}}\n`,
        );
        return name;
      }
      case 'enum': {
        const name = schema.name as string;
        const symbols = schema.symbols as string[];
        const constName = `${name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}_SYMBOLS`;
        this.define(
          name,
          JSON.stringify(schema),
          `${docComment(schema.doc, '')}export type ${name} = ${symbols.map((s) => `'${s}'`).join(' | ')};\n` +
            `export const ${constName} = [${symbols.map((s) => `'${s}'`).join(', ')}] as const;\n`,
        );
        return name;
      }
      case 'array':
        return `Array<${this.tsType(schema.items as AvroSchema)}>`;
      case 'map':
        return `Record<string, ${this.tsType(schema.values as AvroSchema)}>`;
      case 'fixed':
        return 'Uint8Array';
      default: {
        const primitive = PRIMITIVES[schema.type];
        if (primitive) return primitive;
        throw new Error(`unsupported Avro type ${JSON.stringify(schema)}`);
      }
    }
  }

  output(): string {
    return this.order.map((n) => this.named.get(n)!.text).join('\n');
  }
}

/** The text of events.generated.ts for the schemas in `dir`. */
export function generateEventTypes(dir = SCHEMAS_DIR): string {
  const gen = new Generator();
  const families: string[] = [];
  for (const family of EVENT_FAMILIES) {
    const schema = JSON.parse(readFileSync(`${dir}${family}.avsc`, 'utf8')) as {
      name: string;
      fields: Field[];
    };
    const recordName = gen.tsType(schema as unknown as AvroSchema);
    const optional = schema.fields.filter((f) => 'default' in f).map((f) => `'${f.name}'`);
    families.push(
      `  '${family}': { record: ${recordName}; optional: ${optional.length ? optional.join(' | ') : 'never'} };`,
    );
  }
  return (
    '// Generated from schemas/*.avsc by `studystream schemas types` (services/shared/events-codegen.ts).\n' +
    '// Do not edit: change the schema and regenerate. A unit test fails when this file is stale.\n\n' +
    gen.output() +
    '\n/** Per family: its record type and the names of the fields that have defaults (optional for producers). */\n' +
    `export interface EventFamilyTypes {\n${families.join('\n')}\n}\n`
  );
}

/** The generated text formatted with the project's Prettier config (what is committed). */
export async function renderEventTypes(dir = SCHEMAS_DIR): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(GENERATED_PATH)) ?? {};
  return prettier.format(generateEventTypes(dir), { ...options, parser: 'typescript' });
}

export type { EventFamily };
