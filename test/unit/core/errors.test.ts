import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLOSE_REASONS } from '../../../src/core/errors.js';

const DOC = fileURLToPath(new URL('../../../../docs/errors.md', import.meta.url));

test('docs/errors.md lists every close code with its reason code, and nothing else', () => {
  const text = readFileSync(DOC, 'utf8');
  const rows = new Map<string, number>();
  for (const match of text.matchAll(/^\| `([A-Z_]+)` \| 0x([0-9A-F]{2}) /gm)) {
    rows.set(match[1]!, Number.parseInt(match[2]!, 16));
  }
  const catalogue = new Map(
    Object.entries(CLOSE_REASONS).map(([code, entry]) => [code, entry.reasonCode as number]),
  );
  assert.deepEqual(rows, catalogue);
});
