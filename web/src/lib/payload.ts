/** How a payload is shown: pretty JSON, UTF-8 text or a hex dump, detected or chosen. */

export type PayloadView = 'auto' | 'json' | 'text' | 'hex';

export const PAYLOAD_VIEWS: { value: PayloadView; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'json', label: 'JSON' },
  { value: 'text', label: 'Text' },
  { value: 'hex', label: 'Hex' },
];

/** Longest text shown; the rest is summarised (the bytes are kept). */
const TEXT_LIMIT = 16 * 1024;
const HEX_LIMIT = 4 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** The payload as text if it is valid UTF-8 without control characters other than whitespace. */
export function asText(bytes: Uint8Array): string | null {
  try {
    const text = strictUtf8.decode(bytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: binary detection
    if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return null;
    return text;
  } catch {
    return null;
  }
}

/** A finite number if the whole payload is one (plain or JSON number), else null. */
export function asNumber(bytes: Uint8Array): number | null {
  if (bytes.length === 0 || bytes.length > 40) return null;
  const text = asText(bytes)?.trim();
  if (!text || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

export interface Rendered {
  kind: 'json' | 'text' | 'hex' | 'empty';
  content: string;
  /** Set when the content had to be cut. */
  note?: string;
}

function tryJson(text: string): string | null {
  const t = text.trim();
  if (t === '' || !/^[[{"\d-]|^(true|false|null)$/.test(t)) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}

export function hexDump(bytes: Uint8Array, limit = HEX_LIMIT): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const b = row[i];
      hex += b === undefined ? '   ' : b.toString(16).padStart(2, '0') + ' ';
      if (i === 7) hex += ' ';
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex} ${ascii}`);
  }
  return lines.join('\n');
}

export function renderPayload(bytes: Uint8Array, view: PayloadView): Rendered {
  if (bytes.length === 0) return { kind: 'empty', content: '(empty payload)' };
  const tooLong = (limit: number) =>
    bytes.length > limit ? `showing the first ${limit} of ${bytes.length} bytes` : undefined;
  if (view === 'hex') return withNote({ kind: 'hex', content: hexDump(bytes) }, tooLong(HEX_LIMIT));
  const text = asText(bytes);
  if (view === 'text') {
    const t = text ?? lenientUtf8.decode(bytes);
    return withNote(
      { kind: 'text', content: t.slice(0, TEXT_LIMIT) },
      t.length > TEXT_LIMIT ? 'text cut' : undefined,
    );
  }
  if (view === 'json') {
    const json = text === null ? null : tryJson(text);
    if (json !== null) return { kind: 'json', content: json };
    return withNote(
      {
        kind: text === null ? 'hex' : 'text',
        content: text === null ? hexDump(bytes) : text.slice(0, TEXT_LIMIT),
      },
      'not valid JSON',
    );
  }
  // auto
  if (text === null) return withNote({ kind: 'hex', content: hexDump(bytes) }, tooLong(HEX_LIMIT));
  if (bytes.length <= 256 * 1024) {
    const json = tryJson(text);
    if (json !== null && /^[[{]/.test(text.trim())) return { kind: 'json', content: json };
  }
  return withNote(
    { kind: 'text', content: text.slice(0, TEXT_LIMIT) },
    text.length > TEXT_LIMIT ? `showing the first ${TEXT_LIMIT} characters` : undefined,
  );
}

function withNote(r: Rendered, note: string | undefined): Rendered {
  return note === undefined ? r : { ...r, note };
}

/** One line, for tree rows and tables: text or JSON compacted, else "N bytes (binary)". */
export function preview(bytes: Uint8Array, max = 80): string {
  if (bytes.length === 0) return '(empty)';
  const text = asText(bytes.length > 4096 ? bytes.subarray(0, 4096) : bytes);
  if (text === null) return `${bytes.length} bytes (binary)`;
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function hexToBytes(hex: string): Uint8Array | null {
  const clean = hex.replace(/\s+/g, '').replace(/^0x/i, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function base64ToBytes(b64: string): Uint8Array | null {
  try {
    const binary = atob(b64.replace(/\s+/g, ''));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
