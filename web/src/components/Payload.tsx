/** A payload rendered as pretty JSON, text or hex, and the Auto/JSON/Text/Hex switch. */
import type { ComponentChild } from 'preact';
import { PAYLOAD_VIEWS, type PayloadView, renderPayload } from '../lib/payload';

export function PayloadBlock({ bytes, view, size }: { bytes: Uint8Array; view: PayloadView; size?: number }) {
  const r = renderPayload(bytes, view);
  const cut =
    size !== undefined && size > bytes.length ? `kept the first ${bytes.length} of ${size} bytes` : null;
  return (
    <div class="payload" data-kind={r.kind}>
      <pre class={`payload-body payload-${r.kind}`}>
        {r.kind === 'json' ? <JsonColored text={r.content} /> : r.content}
      </pre>
      {(r.note || cut) && <div class="payload-note">{[r.note, cut].filter(Boolean).join('; ')}</div>}
    </div>
  );
}

/** Pretty JSON with keys, strings, numbers and literals coloured (text nodes only: no HTML injection). */
function JsonColored({ text }: { text: string }) {
  const parts: ComponentChild[] = [];
  const re = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|\b(true|false|null)\b/g;
  let last = 0;
  let i = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    if (m[1] !== undefined) {
      parts.push(
        <span key={i++} class={m[2] ? 'j-key' : 'j-str'}>
          {m[1]}
        </span>,
      );
      if (m[2]) parts.push(m[2]);
    } else if (m[3] !== undefined) {
      parts.push(
        <span key={i++} class="j-num">
          {m[3]}
        </span>,
      );
    } else {
      parts.push(
        <span key={i++} class="j-lit">
          {m[4]}
        </span>,
      );
    }
    last = re.lastIndex;
  }
  if (last < text.length) parts.push(text.slice(last));
  return <>{parts}</>;
}

export function ViewSwitch({
  value,
  onChange,
  label = 'Show payloads as',
  idPrefix,
}: {
  value: PayloadView;
  onChange: (v: PayloadView) => void;
  label?: string;
  idPrefix: string;
}) {
  return (
    <fieldset class="segmented" data-testid={`${idPrefix}-view`}>
      <legend class="sr-only">{label}</legend>
      {PAYLOAD_VIEWS.map((v) => (
        <label key={v.value} class={value === v.value ? 'active' : ''}>
          <input
            type="radio"
            name={`${idPrefix}-view`}
            value={v.value}
            checked={value === v.value}
            onChange={() => onChange(v.value)}
          />
          {v.label}
        </label>
      ))}
    </fieldset>
  );
}
