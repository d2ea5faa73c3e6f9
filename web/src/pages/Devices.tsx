/**
 * The broker's clients (api/clients): connected clients and offline persistent sessions, refreshed every
 * few seconds, with status flipped live by $SYS/broker/clients/events. A client that disconnected with
 * a will shows it; clients whose session ended stay listed (as "session ended") until cleared.
 */
import { Fragment } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type ClientInfo } from '../lib/api';
import { fmtAgo, fmtClock, fmtDateTime, fmtInt, protocolName } from '../lib/format';
import type { ClientEvent } from '../lib/link';
import { useObservable, useTick } from '../lib/observable';
import { base64ToBytes, preview } from '../lib/payload';
import { useSession } from '../lib/session';

const REFRESH_MS = 5000;
const MAX_ENDED = 100;

interface Row {
  client: ClientInfo;
  online: boolean;
  /** Not in the last api/clients answer: its session ended after it disconnected. */
  ended: boolean;
  /** The last disconnected event seen for it (reason, will). */
  lastDisconnect: ClientEvent | undefined;
}

interface Override {
  online: boolean;
  receivedAt: number;
}

function protocolOf(v: number | null): 3 | 4 | 5 | null {
  return v === 3 || v === 4 || v === 5 ? v : null;
}

function eventClient(e: ClientEvent): ClientInfo {
  return {
    clientId: e.clientId,
    username: e.username ?? null,
    address: e.address ?? null,
    transport: (e.transport as ClientInfo['transport']) ?? null,
    protocolVersion: protocolOf(e.protocolVersion),
    keepAlive: null,
    subscriptions: [],
    inflight: 0,
    queued: 0,
    connected: e.event === 'connected',
    connectedAt: e.event === 'connected' ? e.at : null,
    disconnectedAt: e.event === 'disconnected' ? e.at : null,
  };
}

/** ADMINISTRATIVE_ACTION → "administrative action"; free text stays as it is. */
export function reasonLabel(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  return /^[A-Z0-9_]+$/.test(reason) ? reason.toLowerCase().replace(/_/g, ' ') : reason;
}

export function willText(will: NonNullable<ClientEvent['will']>): string {
  if (will.payloadEncoding === 'base64') {
    const bytes = base64ToBytes(will.payload);
    return bytes === null ? will.payload : preview(bytes, 200);
  }
  return will.payload === '' ? '(empty)' : will.payload;
}

export function DevicesPage() {
  const { link } = useSession();
  useObservable(link);
  useTick(1000);
  const [clients, setClients] = useState<ClientInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(false);
  const [fetchedAt, setFetchedAt] = useState<number | null>(null);
  const [overrides, setOverrides] = useState<Map<string, Override>>(() => new Map());
  /** Clients seen (in the list or an event) that the list no longer has. */
  const [ended, setEnded] = useState<Map<string, ClientInfo>>(() => new Map());
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const [query, setQuery] = useState('');
  const [statusFilter, setStatusFilter] = useState<'all' | 'online' | 'offline'>('all');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const inFlight = useRef(false);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const known = useRef<Map<string, ClientInfo>>(new Map());

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    const startedAt = Date.now();
    try {
      const { clients: list } = await api.clients();
      const ids = new Set(list.map((c) => c.clientId));
      // Clients that were listed (or announced) before and are gone now: their session ended.
      setEnded((prev) => {
        const next = new Map(prev);
        for (const [id, c] of known.current) {
          if (!ids.has(id))
            next.set(id, { ...c, connected: false, disconnectedAt: c.disconnectedAt ?? Date.now() });
        }
        for (const id of ids) next.delete(id);
        while (next.size > MAX_ENDED) next.delete(next.keys().next().value as string);
        return next;
      });
      known.current = new Map(list.map((c) => [c.clientId, c]));
      setClients(list);
      setFetchedAt(Date.now());
      setError(null);
      setForbidden(false);
      // Live overrides older than this answer are superseded by it.
      setOverrides((prev) => {
        const next = new Map([...prev].filter(([, o]) => o.receivedAt >= startedAt));
        return next.size === prev.size ? prev : next;
      });
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) setForbidden(true);
      setError((e as Error).message);
    } finally {
      inFlight.current = false;
    }
  }, []);

  const refreshSoon = useCallback(() => {
    if (refreshTimer.current !== undefined) clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => {
      refreshTimer.current = undefined;
      void refresh();
    }, 400);
  }, [refresh]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, REFRESH_MS);
    return () => {
      clearInterval(timer);
      if (refreshTimer.current !== undefined) clearTimeout(refreshTimer.current);
    };
  }, [refresh]);

  // Live events flip the status at once, then the list is fetched again to catch up.
  useEffect(
    () =>
      link.onEvent((e) => {
        setOverrides((prev) =>
          new Map(prev).set(e.clientId, { online: e.event === 'connected', receivedAt: Date.now() }),
        );
        if (!known.current.has(e.clientId)) {
          setEnded((prev) => {
            const next = new Map(prev);
            if (e.event === 'disconnected') next.set(e.clientId, eventClient(e));
            else next.delete(e.clientId);
            return next;
          });
          if (e.event === 'connected') known.current.set(e.clientId, eventClient(e));
        }
        refreshSoon();
      }),
    [link, refreshSoon],
  );

  const lastDisconnect = new Map<string, ClientEvent>();
  for (const e of link.events) {
    if (e.event === 'disconnected') lastDisconnect.set(e.clientId, e);
    else lastDisconnect.delete(e.clientId);
  }

  const rows: Row[] = [];
  const listed = new Set<string>();
  for (const c of clients ?? []) {
    listed.add(c.clientId);
    const o = overrides.get(c.clientId);
    rows.push({
      client: c,
      online: o?.online ?? c.connected,
      ended: false,
      lastDisconnect: lastDisconnect.get(c.clientId),
    });
  }
  // Announced by an event but not yet in a list answer: show it now.
  for (const [id, c] of known.current) {
    if (listed.has(id) || ended.has(id)) continue;
    const o = overrides.get(id);
    rows.push({
      client: c,
      online: o?.online ?? c.connected,
      ended: false,
      lastDisconnect: lastDisconnect.get(id),
    });
    listed.add(id);
  }
  for (const [id, c] of ended) {
    if (listed.has(id)) continue;
    const o = overrides.get(id);
    rows.push({
      client: c,
      online: o?.online ?? false,
      ended: !(o?.online ?? false),
      lastDisconnect: lastDisconnect.get(id),
    });
  }
  rows.sort((a, b) =>
    a.client.clientId < b.client.clientId ? -1 : a.client.clientId > b.client.clientId ? 1 : 0,
  );

  const online = rows.filter((r) => r.online).length;
  const q = query.trim().toLowerCase();
  const visible = rows.filter(
    (r) =>
      (statusFilter === 'all' || (statusFilter === 'online') === r.online) &&
      (q === '' ||
        r.client.clientId.toLowerCase().includes(q) ||
        (r.client.username ?? '').toLowerCase().includes(q) ||
        (r.client.address ?? '').toLowerCase().includes(q)),
  );

  const toggleOpen = (id: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const disconnect = async (id: string) => {
    setConfirming(null);
    try {
      await api.disconnect(id);
      setNotice({ kind: 'ok', text: `Disconnected ${id}.` });
      setOverrides((prev) => new Map(prev).set(id, { online: false, receivedAt: Date.now() }));
      refreshSoon();
    } catch (e) {
      setNotice({ kind: 'error', text: `Could not disconnect ${id}: ${(e as Error).message}` });
    }
  };

  const recent = link.events.slice(-30).reverse();

  return (
    <div class="devices">
      <div class="page-head">
        <h1>Devices</h1>
        <p class="page-meta" data-testid="devices-meta">
          {fmtInt(online)} online<span aria-hidden="true"> · </span>
          {fmtInt(rows.length - online)} offline<span aria-hidden="true"> · </span>
          {fetchedAt === null ? 'loading…' : `refreshed ${fmtAgo(fetchedAt)}`}
        </p>
      </div>

      {forbidden && (
        <div class="notice warn" role="alert" data-testid="devices-forbidden">
          The broker says this user may not list clients ({error}).
        </div>
      )}
      {error && !forbidden && (
        <div class="notice warn" role="alert">
          Could not load the clients: {error}. Retrying every {REFRESH_MS / 1000}s.
        </div>
      )}
      {link.sysAccess.state === 'denied' && (
        <div class="notice">
          Live status changes are unavailable (no access to $SYS); the list refreshes every few seconds.
        </div>
      )}
      <div class="notice-slot" aria-live="polite">
        {notice && (
          <div class={`notice ${notice.kind === 'error' ? 'warn' : 'ok'}`} data-testid="devices-notice">
            {notice.text}
            <button type="button" class="btn link small" onClick={() => setNotice(null)} aria-label="Dismiss">
              ✕
            </button>
          </div>
        )}
      </div>

      <section class="panel" aria-labelledby="clients-title">
        <div class="panel-bar wrap">
          <h2 id="clients-title" class="panel-title">
            Clients
          </h2>
          <div class="toolbar">
            <label class="sr-only" for="device-search">
              Search clients
            </label>
            <input
              id="device-search"
              type="search"
              placeholder="Search id, user, address"
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
              data-testid="device-search"
            />
            <label class="sr-only" for="device-status-filter">
              Show
            </label>
            <select
              id="device-status-filter"
              value={statusFilter}
              onChange={(e) => setStatusFilter(e.currentTarget.value as typeof statusFilter)}
            >
              <option value="all">All</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
            </select>
            <button
              type="button"
              class="btn small"
              onClick={() => void refresh()}
              data-testid="devices-refresh"
            >
              Refresh
            </button>
            {ended.size > 0 && (
              <button type="button" class="btn small" onClick={() => setEnded(new Map())}>
                Clear ended ({ended.size})
              </button>
            )}
          </div>
        </div>
        <div class="table-scroll">
          <table class="clients" data-testid="devices-table">
            <caption class="sr-only">Clients of the broker, online and offline</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Client ID</th>
                <th scope="col">Username</th>
                <th scope="col">Address</th>
                <th scope="col">Transport</th>
                <th scope="col">MQTT</th>
                <th scope="col" class="num">
                  Keep alive
                </th>
                <th scope="col" class="num">
                  Subs
                </th>
                <th scope="col" class="num">
                  Inflight
                </th>
                <th scope="col" class="num">
                  Queued
                </th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients === null && error === null && (
                <tr>
                  <td colSpan={12} class="empty">
                    Loading…
                  </td>
                </tr>
              )}
              {clients !== null && visible.length === 0 && (
                <tr>
                  <td colSpan={12} class="empty">
                    {rows.length === 0 ? 'No clients.' : 'No client matches.'}
                  </td>
                </tr>
              )}
              {visible.map((r) => (
                <DeviceRow
                  key={r.client.clientId}
                  row={r}
                  open={open.has(r.client.clientId)}
                  onToggle={() => toggleOpen(r.client.clientId)}
                  confirming={confirming === r.client.clientId}
                  onAskDisconnect={() => setConfirming(r.client.clientId)}
                  onCancel={() => setConfirming(null)}
                  onDisconnect={() => void disconnect(r.client.clientId)}
                  isSelf={r.client.clientId === link.clientId}
                />
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section class="panel events-panel" aria-labelledby="events-title">
        <h2 id="events-title" class="panel-title">
          Recent client events
        </h2>
        {recent.length === 0 ? (
          <p class="muted">No connect or disconnect since the dashboard connected.</p>
        ) : (
          <ol class="events" data-testid="device-events">
            {recent.map((e, i) => (
              <li
                key={`${e.at}-${e.clientId}-${i}`}
                class={`event ${e.event}`}
                data-testid="device-event"
                data-client-id={e.clientId}
              >
                <time class="num" dateTime={new Date(e.at).toISOString()}>
                  {fmtClock(e.at).slice(0, 8)}
                </time>
                <span class={`status-pill ${e.event === 'connected' ? 'online' : 'offline'}`}>
                  {e.event === 'connected' ? 'connected' : 'disconnected'}
                </span>
                <code class="event-client">{e.clientId}</code>
                <span class="muted event-detail">
                  {[e.transport, e.address, e.username ? `user ${e.username}` : null, reasonLabel(e.reason)]
                    .filter(Boolean)
                    .join(' · ')}
                </span>
                {e.will && (
                  <span class="event-will" data-testid="event-will">
                    will → <code>{e.will.topic}</code>: {willText(e.will)}
                  </span>
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}

interface DeviceRowProps {
  row: Row;
  open: boolean;
  onToggle: () => void;
  confirming: boolean;
  onAskDisconnect: () => void;
  onCancel: () => void;
  onDisconnect: () => void;
  isSelf: boolean;
}

function DeviceRow({
  row,
  open,
  onToggle,
  confirming,
  onAskDisconnect,
  onCancel,
  onDisconnect,
  isSelf,
}: DeviceRowProps) {
  const c = row.client;
  const status = row.online ? 'online' : 'offline';
  const since = row.online ? c.connectedAt : (c.disconnectedAt ?? row.lastDisconnect?.at ?? null);
  const will = !row.online ? row.lastDisconnect?.will : undefined;
  const reason = !row.online ? reasonLabel(row.lastDisconnect?.reason) : undefined;
  const detailId = `device-detail-${encodeURIComponent(c.clientId)}`;
  return (
    <Fragment>
      <tr
        class={`device-row ${status}${open ? ' open' : ''}`}
        data-testid="device-row"
        data-client-id={c.clientId}
        data-status={status}
      >
        <td data-label="Status">
          <span class={`status-pill ${status}`} data-testid="device-status">
            {row.online ? 'online' : row.ended ? 'ended' : 'offline'}
          </span>
        </td>
        <td data-label="Client ID" class="client-id">
          <code title={c.clientId}>{c.clientId}</code>
          {isSelf && <span class="badge">this dashboard</span>}
          {will && (
            <div class="device-will" data-testid="device-will">
              <span class="will-label">last will</span> <code>{will.topic}</code>
              <span class="will-payload">{willText(will)}</span>
              {will.retain && <span class="badge retained">retained</span>}
            </div>
          )}
        </td>
        <td data-label="Username">{c.username ?? <span class="muted">—</span>}</td>
        <td data-label="Address">
          {c.address === null ? <span class="muted">—</span> : <span class="mono small">{c.address}</span>}
        </td>
        <td data-label="Transport">{c.transport ?? <span class="muted">—</span>}</td>
        <td data-label="MQTT">{protocolName(c.protocolVersion)}</td>
        <td data-label="Keep alive" class="num">
          {c.keepAlive === null ? '—' : `${c.keepAlive}s`}
        </td>
        <td data-label="Subs" class="num">
          <button
            type="button"
            class="btn link small"
            aria-expanded={open}
            aria-controls={detailId}
            onClick={onToggle}
            data-testid="device-subs"
            aria-label={`${c.subscriptions.length} subscriptions of ${c.clientId}: ${open ? 'hide' : 'show'}`}
          >
            {c.subscriptions.length} {open ? '▾' : '▸'}
          </button>
        </td>
        <td data-label="Inflight" class="num">
          {fmtInt(c.inflight)}
        </td>
        <td data-label="Queued" class="num">
          {fmtInt(c.queued)}
        </td>
        <td data-label={row.online ? 'Online since' : 'Offline since'} class="since">
          <span title={fmtDateTime(since)}>{fmtAgo(since)}</span>
        </td>
        <td data-label="" class="actions">
          {row.online &&
            !isSelf &&
            (confirming ? (
              <span class="confirm">
                <button
                  type="button"
                  class="btn danger small"
                  onClick={onDisconnect}
                  data-testid="device-disconnect-confirm"
                >
                  Confirm
                </button>
                <button type="button" class="btn small" onClick={onCancel}>
                  Cancel
                </button>
              </span>
            ) : (
              <button
                type="button"
                class="btn small"
                onClick={onAskDisconnect}
                data-testid="device-disconnect"
                aria-label={`Disconnect ${c.clientId}`}
              >
                Disconnect
              </button>
            ))}
        </td>
      </tr>
      {open && (
        <tr class="device-detail" id={detailId}>
          <td colSpan={12}>
            <div class="detail-grid">
              <div>
                <h3 class="detail-h">Subscriptions</h3>
                {c.subscriptions.length === 0 ? (
                  <p class="muted">None.</p>
                ) : (
                  <ul class="sub-list" data-testid="device-subscriptions">
                    {c.subscriptions.map((s) => (
                      <li key={s.filter}>
                        <code>{s.filter}</code> <span class="badge">QoS {s.qos}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
              <div>
                <h3 class="detail-h">Session</h3>
                <dl class="facts small">
                  <div>
                    <dt>Connected at</dt>
                    <dd>{fmtDateTime(c.connectedAt)}</dd>
                  </div>
                  <div>
                    <dt>Disconnected at</dt>
                    <dd>{fmtDateTime(c.disconnectedAt ?? row.lastDisconnect?.at)}</dd>
                  </div>
                  {reason && (
                    <div>
                      <dt>Reason</dt>
                      <dd>{reason}</dd>
                    </div>
                  )}
                </dl>
              </div>
            </div>
          </td>
        </tr>
      )}
    </Fragment>
  );
}
