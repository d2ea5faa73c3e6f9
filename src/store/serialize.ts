/**
 * How the SQLite store writes the fields SQL has no type for. Properties (of a message or a will) are
 * JSON text; a Buffer value (correlationData, authenticationData) becomes `{"$b": "<base64>"}`.
 * Buffers only occur as top-level values of Properties, so only the top level is looked at. Arrays
 * (subscriptionIdentifiers, userProperties as ordered [name, value] pairs) are plain JSON and keep
 * their order. docs/storage.md describes the format; changing it needs a schema migration.
 */
import type { Properties } from '../codec/index.js';

interface BufferTag {
  $b: string;
}

function isBufferTag(value: unknown): value is BufferTag {
  return typeof value === 'object' && value !== null && typeof (value as BufferTag).$b === 'string';
}

export function encodeProperties(properties: Properties | undefined): string | null {
  if (properties === undefined || properties === null) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    out[key] = Buffer.isBuffer(value) ? ({ $b: value.toString('base64') } satisfies BufferTag) : value;
  }
  return JSON.stringify(out);
}

export function decodeProperties(text: string | null): Properties | undefined {
  if (text === null) return undefined;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  for (const [key, value] of Object.entries(parsed)) {
    if (isBufferTag(value)) parsed[key] = Buffer.from(value.$b, 'base64');
  }
  return parsed as Properties;
}

/** Subscription identifiers of a delivery: `[1,5]` as JSON text, NULL when absent. */
export function encodeIds(ids: readonly number[] | undefined): string | null {
  return ids === undefined || ids === null ? null : JSON.stringify(ids);
}

export function decodeIds(text: string | null): number[] | undefined {
  return text === null ? undefined : (JSON.parse(text) as number[]);
}
