/** A full MQTT client in the browser, on its own connection: connect, subscribe, publish, and a log. */

import { useState } from 'preact/hooks';
import { PayloadBlock, ViewSwitch } from '../components/Payload';
import { TextField } from '../components/TextField';
import { mqttCredentials } from '../lib/api';
import type {
  ConnectSettings,
  ConsoleStore,
  PayloadEncoding,
  PublishSettings,
  SubscribeSettings,
} from '../lib/console';
import { fmtBytes, fmtClock, fmtInt } from '../lib/format';
import type { QoS } from '../lib/message';
import { useObservable } from '../lib/observable';
import { base64ToBytes, hexToBytes, type PayloadView } from '../lib/payload';
import { useSession } from '../lib/session';
import { PropertyList } from './Topics';

/**
 * A form's fields: kept in the component and mirrored to the console store on every change, so a
 * half-filled form survives leaving the page and coming back.
 */
function useDraft<T>(initial: T | (() => T), keep: (next: T) => void): [T, (patch: Partial<T>) => void] {
  const [draft, setDraft] = useState<T>(initial);
  const update = (patch: Partial<T>) => {
    const next = { ...draft, ...patch };
    setDraft(next);
    keep(next);
  };
  return [draft, update];
}

function validFilter(f: string): string | null {
  if (f === '') return 'Enter a topic filter';
  const levels = f.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] ?? '';
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return '# must be a whole last level';
    if (l.includes('+') && l !== '+') return '+ must be a whole level';
  }
  return null;
}

function validTopic(t: string): string | null {
  if (t === '') return 'Enter a topic';
  if (/[+#]/.test(t)) return 'A topic to publish to has no wildcards';
  return null;
}

export function ConsolePage() {
  const session = useSession();
  const store = session.console;
  useObservable(store, 100);
  return (
    <div class="console">
      <div class="page-head">
        <h1>Client console</h1>
        <p class="page-meta">A separate MQTT connection from this browser, over WebSocket.</p>
      </div>
      <div class="console-layout">
        <div class="console-forms">
          <ConnectCard store={store} />
          <SubscribeCard store={store} />
          <PublishCard store={store} />
        </div>
        <LogCard store={store} />
      </div>
    </div>
  );
}

function StatusLine({ store }: { store: ConsoleStore }) {
  const label =
    store.state === 'connected'
      ? `Connected as ${store.active?.clientId ?? ''}${store.sessionPresent ? ' (session resumed)' : ''}`
      : store.state === 'connecting'
        ? 'Connecting…'
        : 'Not connected';
  return (
    <div class="console-status" data-testid="console-status" data-state={store.state} role="status">
      <span class={`dot ${store.state}`} aria-hidden="true" />
      <span class="console-status-text">{label}</span>
    </div>
  );
}

function ConnectCard({ store }: { store: ConsoleStore }) {
  const session = useSession();
  const hasLogin = session.credentials !== null;
  const loginName =
    session.credentials?.mode === 'bearer'
      ? 'token'
      : session.credentials?.username || session.identity.user || '';
  const [f, update] = useDraft<ConnectSettings>(
    () =>
      store.connectDraft ?? {
        url: session.wsUrl,
        clientId: store.defaultClientId(),
        useLogin: hasLogin,
        username: '',
        password: '',
        protocolVersion: 5,
        clean: true,
        keepalive: 60,
        sessionExpiry: 0,
      },
    (next) => {
      store.connectDraft = next;
    },
  );
  const busy = store.state !== 'disconnected';
  const submit = (e: Event) => {
    e.preventDefault();
    if (store.state === 'disconnected') store.connect(f, mqttCredentials(session.credentials));
    else store.disconnect();
  };
  return (
    <section class="panel" aria-labelledby="console-connect-title">
      <div class="panel-bar">
        <h2 id="console-connect-title" class="panel-title">
          Connection
        </h2>
        <StatusLine store={store} />
      </div>
      <form onSubmit={submit} data-testid="console-connect-form">
        <fieldset disabled={busy} class="plain">
          <legend class="sr-only">Connection settings</legend>
          <TextField id="cc-url" label="Broker URL" value={f.url} onInput={(v) => update({ url: v })} mono />
          <div class="field">
            <label for="cc-client-id">Client ID</label>
            <div class="input-row">
              <input
                id="cc-client-id"
                class="mono"
                value={f.clientId}
                onInput={(e) => update({ clientId: e.currentTarget.value })}
                spellcheck={false}
                data-testid="console-client-id"
              />
              <button
                type="button"
                class="btn small"
                onClick={() => update({ clientId: store.defaultClientId() })}
              >
                New
              </button>
            </div>
          </div>
          {hasLogin && (
            <label class="check">
              <input
                type="checkbox"
                checked={f.useLogin}
                onChange={(e) => update({ useLogin: e.currentTarget.checked })}
              />
              Use my login ({loginName})
            </label>
          )}
          {(!hasLogin || !f.useLogin) && (
            <div class="grid-2">
              <div class="field">
                <label for="cc-username">Username</label>
                <input
                  id="cc-username"
                  autocomplete="off"
                  value={f.username}
                  onInput={(e) => update({ username: e.currentTarget.value })}
                  data-testid="console-username"
                />
              </div>
              <div class="field">
                <label for="cc-password">Password</label>
                <input
                  id="cc-password"
                  type="password"
                  autocomplete="new-password"
                  value={f.password}
                  onInput={(e) => update({ password: e.currentTarget.value })}
                  data-testid="console-password"
                />
              </div>
            </div>
          )}
          <div class="grid-3">
            <div class="field">
              <label for="cc-version">Protocol</label>
              <select
                id="cc-version"
                value={String(f.protocolVersion)}
                onChange={(e) => update({ protocolVersion: e.currentTarget.value === '4' ? 4 : 5 })}
                data-testid="console-protocol"
              >
                <option value="5">MQTT 5.0</option>
                <option value="4">MQTT 3.1.1</option>
              </select>
            </div>
            <div class="field">
              <label for="cc-keepalive">Keep alive (s)</label>
              <input
                id="cc-keepalive"
                type="number"
                min={0}
                max={65535}
                value={f.keepalive}
                onInput={(e) =>
                  update({ keepalive: Math.max(0, Math.min(65535, Number(e.currentTarget.value) || 0)) })
                }
              />
            </div>
            <div class="field">
              <label for="cc-expiry" title="Session expiry interval, in seconds">
                Session expiry
              </label>
              <input
                id="cc-expiry"
                type="number"
                min={0}
                disabled={f.protocolVersion !== 5}
                value={f.sessionExpiry}
                onInput={(e) => update({ sessionExpiry: Math.max(0, Number(e.currentTarget.value) || 0) })}
              />
            </div>
          </div>
          <label class="check">
            <input
              type="checkbox"
              checked={f.clean}
              onChange={(e) => update({ clean: e.currentTarget.checked })}
            />
            {f.protocolVersion === 5 ? 'Clean start' : 'Clean session'}
          </label>
        </fieldset>
        <div class="form-actions">
          {store.state === 'disconnected' ? (
            <button type="submit" class="btn primary" data-testid="console-connect">
              Connect
            </button>
          ) : (
            <button type="submit" class="btn" data-testid="console-disconnect">
              {store.state === 'connecting' ? 'Cancel' : 'Disconnect'}
            </button>
          )}
          <div class="form-error" role="alert" data-testid="console-error">
            {store.error}
          </div>
        </div>
      </form>
    </section>
  );
}

function QosSelect({
  id,
  value,
  onChange,
  testId,
}: {
  id: string;
  value: QoS;
  onChange: (q: QoS) => void;
  testId?: string;
}) {
  return (
    <select
      id={id}
      value={String(value)}
      onChange={(e) => onChange(Number(e.currentTarget.value) as QoS)}
      data-testid={testId}
    >
      <option value="0">0</option>
      <option value="1">1</option>
      <option value="2">2</option>
    </select>
  );
}

function SubscribeCard({ store }: { store: ConsoleStore }) {
  const [f, update] = useDraft<SubscribeSettings>(store.subscribeDraft, (next) => {
    store.subscribeDraft = next;
  });
  const [problem, setProblem] = useState<string | null>(null);
  const connected = store.state === 'connected';
  const v5 = (store.active?.protocolVersion ?? 5) === 5;
  const submit = (e: Event) => {
    e.preventDefault();
    const p = validFilter(f.filter.trim());
    setProblem(p);
    if (p !== null || !connected) return;
    store.subscribe({ ...f, filter: f.filter.trim() });
  };
  return (
    <section class="panel" aria-labelledby="console-sub-title">
      <h2 id="console-sub-title" class="panel-title">
        Subscribe
      </h2>
      <form onSubmit={submit} data-testid="console-subscribe-form">
        <div class="grid-filter">
          <TextField
            id="cs-filter"
            label="Topic filter"
            value={f.filter}
            onInput={(v) => update({ filter: v })}
            mono
            placeholder="sensors/+/temperature"
            testId="console-subscribe-filter"
          />
          <div class="field">
            <label for="cs-qos">QoS</label>
            <QosSelect
              id="cs-qos"
              value={f.qos}
              onChange={(qos) => update({ qos })}
              testId="console-subscribe-qos"
            />
          </div>
        </div>
        <fieldset class="plain options" disabled={!v5}>
          <legend class="small muted">MQTT 5 options{!v5 && ' (not with 3.1.1)'}</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={f.noLocal}
              onChange={(e) => update({ noLocal: e.currentTarget.checked })}
            />
            No local
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={f.retainAsPublished}
              onChange={(e) => update({ retainAsPublished: e.currentTarget.checked })}
            />
            Retain as published
          </label>
          <div class="field inline">
            <label for="cs-rh">Retained on subscribe</label>
            <select
              id="cs-rh"
              value={String(f.retainHandling)}
              onChange={(e) => update({ retainHandling: Number(e.currentTarget.value) as 0 | 1 | 2 })}
            >
              <option value="0">0 · always send</option>
              <option value="1">1 · if new subscription</option>
              <option value="2">2 · never send</option>
            </select>
          </div>
        </fieldset>
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={!connected} data-testid="console-subscribe">
            Subscribe
          </button>
          <div class="form-error" role="alert">
            {problem}
          </div>
        </div>
      </form>
      {store.subscriptions.length > 0 && (
        <ul class="sub-list console-subs" aria-label="Subscriptions">
          {store.subscriptions.map((s) => (
            <li key={s.filter} data-testid="console-subscription" data-filter={s.filter} data-state={s.state}>
              <code class="sub-filter">{s.filter}</code>
              <span class={`badge ${s.state === 'denied' ? 'bad' : s.state === 'granted' ? 'good' : ''}`}>
                {s.state === 'granted'
                  ? `QoS ${s.grantedQos}`
                  : s.state === 'pending'
                    ? 'pending'
                    : 'refused'}
              </span>
              {s.state === 'denied' && <span class="small error-text">{s.reason}</span>}
              <button
                type="button"
                class="btn small"
                onClick={() => store.unsubscribe(s.filter)}
                aria-label={`Unsubscribe from ${s.filter}`}
                data-testid="console-unsubscribe"
              >
                Unsubscribe
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function PublishCard({ store }: { store: ConsoleStore }) {
  const [f, update] = useDraft<PublishSettings>(store.publishDraft, (next) => {
    store.publishDraft = next;
  });
  const [problem, setProblem] = useState<string | null>(null);
  const connected = store.state === 'connected';
  const v5 = (store.active?.protocolVersion ?? 5) === 5;
  const setUser = (i: number, patch: Partial<{ key: string; value: string }>) =>
    update({ userProperties: f.userProperties.map((u, j) => (j === i ? { ...u, ...patch } : u)) });

  const submit = (e: Event) => {
    e.preventDefault();
    const topicProblem = validTopic(f.topic);
    if (topicProblem !== null) {
      setProblem(topicProblem);
      return;
    }
    let payload: string | Uint8Array = f.payload;
    if (f.encoding !== 'text') {
      const bytes = f.encoding === 'hex' ? hexToBytes(f.payload) : base64ToBytes(f.payload);
      if (bytes === null) {
        setProblem(f.encoding === 'hex' ? 'The payload is not valid hex' : 'The payload is not valid base64');
        return;
      }
      payload = bytes;
    }
    if (f.messageExpiry.trim() !== '' && !/^\d+$/.test(f.messageExpiry.trim())) {
      setProblem('Message expiry must be a whole number of seconds');
      return;
    }
    setProblem(null);
    store.publish(f.topic, payload, f);
  };

  return (
    <section class="panel" aria-labelledby="console-pub-title">
      <h2 id="console-pub-title" class="panel-title">
        Publish
      </h2>
      <form onSubmit={submit} data-testid="console-publish-form">
        <TextField
          id="cp-topic"
          label="Topic"
          value={f.topic}
          onInput={(v) => update({ topic: v })}
          mono
          placeholder="sensors/kitchen/temperature"
          testId="console-publish-topic"
        />
        <div class="field">
          <div class="label-row">
            <label for="cp-payload">Payload</label>
            <label class="sr-only" for="cp-encoding">
              Payload encoding
            </label>
            <select
              id="cp-encoding"
              class="compact"
              value={f.encoding}
              onChange={(e) => update({ encoding: e.currentTarget.value as PayloadEncoding })}
            >
              <option value="text">Text (UTF-8)</option>
              <option value="hex">Hex bytes</option>
              <option value="base64">Base64 bytes</option>
            </select>
          </div>
          <textarea
            id="cp-payload"
            class="mono"
            rows={4}
            value={f.payload}
            onInput={(e) => update({ payload: e.currentTarget.value })}
            spellcheck={false}
            placeholder={f.encoding === 'hex' ? 'de ad be ef' : '{"temperature": 21.5}'}
            data-testid="console-publish-payload"
          />
        </div>
        <div class="grid-filter">
          <div class="field">
            <label for="cp-qos">QoS</label>
            <QosSelect
              id="cp-qos"
              value={f.qos}
              onChange={(qos) => update({ qos })}
              testId="console-publish-qos"
            />
          </div>
          <label class="check self-end">
            <input
              type="checkbox"
              checked={f.retain}
              onChange={(e) => update({ retain: e.currentTarget.checked })}
              data-testid="console-publish-retain"
            />
            Retain
          </label>
        </div>
        <details class="props-editor" open={f.userProperties.length > 0 || undefined}>
          <summary>MQTT 5 properties{!v5 && ' (not sent with 3.1.1)'}</summary>
          <fieldset class="plain" disabled={!v5}>
            <legend class="sr-only">MQTT 5 publish properties</legend>
            <div class="grid-2">
              <TextField
                id="cp-ct"
                label="Content type"
                value={f.contentType}
                onInput={(v) => update({ contentType: v })}
                placeholder="application/json"
              />
              <TextField
                id="cp-exp"
                label="Message expiry (s)"
                value={f.messageExpiry}
                onInput={(v) => update({ messageExpiry: v })}
                placeholder="none"
                inputMode="numeric"
              />
              <TextField
                id="cp-rt"
                label="Response topic"
                value={f.responseTopic}
                onInput={(v) => update({ responseTopic: v })}
                mono
              />
              <TextField
                id="cp-cd"
                label="Correlation data"
                value={f.correlationData}
                onInput={(v) => update({ correlationData: v })}
                mono
              />
            </div>
            <label class="check">
              <input
                type="checkbox"
                checked={f.payloadFormatUtf8}
                onChange={(e) => update({ payloadFormatUtf8: e.currentTarget.checked })}
              />
              Payload is UTF-8 (payload format indicator)
            </label>
            <div class="user-props">
              <div class="small muted">User properties</div>
              {f.userProperties.map((u, i) => (
                <div class="user-prop-row" key={i} data-testid="console-user-property">
                  <label class="sr-only" for={`cp-up-k-${i}`}>
                    User property {i + 1} name
                  </label>
                  <input
                    id={`cp-up-k-${i}`}
                    placeholder="name"
                    value={u.key}
                    onInput={(e) => setUser(i, { key: e.currentTarget.value })}
                  />
                  <label class="sr-only" for={`cp-up-v-${i}`}>
                    User property {i + 1} value
                  </label>
                  <input
                    id={`cp-up-v-${i}`}
                    placeholder="value"
                    value={u.value}
                    onInput={(e) => setUser(i, { value: e.currentTarget.value })}
                  />
                  <button
                    type="button"
                    class="btn small"
                    aria-label={`Remove user property ${i + 1}`}
                    onClick={() => update({ userProperties: f.userProperties.filter((_, j) => j !== i) })}
                  >
                    ✕
                  </button>
                </div>
              ))}
              <button
                type="button"
                class="btn small"
                onClick={() => update({ userProperties: [...f.userProperties, { key: '', value: '' }] })}
                data-testid="console-add-user-property"
              >
                Add user property
              </button>
            </div>
          </fieldset>
        </details>
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={!connected} data-testid="console-publish">
            Publish
          </button>
          <div class="form-error" role="alert">
            {problem}
          </div>
        </div>
      </form>
    </section>
  );
}

function LogCard({ store }: { store: ConsoleStore }) {
  const [view, setView] = useState<PayloadView>('auto');
  const [filter, setFilter] = useState('');
  const q = filter.trim().toLowerCase();
  const entries = store.log.filter((m) => q === '' || m.topic.toLowerCase().includes(q));
  const shown = entries.slice(-200).reverse();
  return (
    <section class="panel log-panel" aria-labelledby="console-log-title">
      <div class="panel-bar wrap">
        <h2 id="console-log-title" class="panel-title">
          Messages <span class="muted small num">{fmtInt(store.log.length)}</span>
        </h2>
        <div class="toolbar">
          <label class="sr-only" for="cl-filter">
            Filter the log by topic
          </label>
          <input
            id="cl-filter"
            type="search"
            placeholder="Filter by topic"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
          <ViewSwitch value={view} onChange={setView} idPrefix="console" />
          <button
            type="button"
            class="btn small"
            onClick={() => store.clearLog()}
            data-testid="console-clear"
          >
            Clear
          </button>
        </div>
      </div>
      <div class="log-scroll" data-testid="console-log" aria-live="off">
        {shown.length === 0 ? (
          <p class="empty">
            {store.log.length === 0 ? 'Messages received and sent appear here.' : 'No message matches.'}
          </p>
        ) : (
          <ol class="msg-list">
            {shown.map((m) => (
              <li
                key={m.id}
                class={`msg ${m.direction}${m.failed ? ' failed' : ''}`}
                data-testid="console-message"
                data-topic={m.topic}
                data-direction={m.direction}
              >
                <div class="msg-meta">
                  <span class={`dir ${m.direction}`} title={m.direction === 'in' ? 'Received' : 'Sent'}>
                    {m.direction === 'in' ? '↓ in' : '↑ out'}
                  </span>
                  <time dateTime={new Date(m.at).toISOString()}>{fmtClock(m.at)}</time>
                  <code class="msg-topic">{m.topic}</code>
                  <span>QoS {m.qos}</span>
                  {m.retain && <span class="badge retained">retained</span>}
                  {m.dup && <span class="badge">dup</span>}
                  <span>{fmtBytes(m.size)}</span>
                  {m.status && <span class={`msg-status${m.failed ? ' error-text' : ''}`}>{m.status}</span>}
                </div>
                {m.properties && <PropertyList properties={m.properties} />}
                <PayloadBlock bytes={m.payload} size={m.size} view={view} />
              </li>
            ))}
          </ol>
        )}
        {entries.length > shown.length && (
          <p class="muted small center">Showing the latest 200 of {fmtInt(entries.length)}.</p>
        )}
      </div>
    </section>
  );
}
