/** Live broker figures from $SYS: tiles, breakdowns and charts over the last five minutes. */
import type { ComponentChildren } from 'preact';
import { BYTE_INCRS, COUNT_INCRS, TimeChart } from '../components/TimeChart';
import { fmtAgo, fmtBytes, fmtBytesShort, fmtDuration, fmtInt, fmtRate } from '../lib/format';
import { useObservable, useTick } from '../lib/observable';
import { useSession } from '../lib/session';
import { HISTORY_SECONDS } from '../lib/sys';

interface TileProps {
  label: string;
  value: string;
  raw: number | null;
  sub?: ComponentChildren;
  testId: string;
  unit?: string;
}

function Tile({ label, value, raw, sub, testId, unit }: TileProps) {
  return (
    <div class="tile">
      <div class="tile-label">{label}</div>
      <div class="tile-value" data-testid={testId} data-value={raw ?? ''}>
        {value}
        {unit && value !== '—' && <span class="tile-unit">{unit}</span>}
      </div>
      <div class="tile-sub">{sub ?? '\u00a0'}</div>
    </div>
  );
}

function Breakdown({
  title,
  rows,
  testId,
}: {
  title: string;
  rows: { label: string; value: number | null }[];
  testId: string;
}) {
  const max = Math.max(1, ...rows.map((r) => r.value ?? 0));
  return (
    <section class="panel breakdown" data-testid={testId} aria-labelledby={`${testId}-title`}>
      <h2 id={`${testId}-title`} class="panel-title">
        {title}
      </h2>
      <dl class="bars">
        {rows.map((r) => (
          <div class="bar-row" key={r.label} data-key={r.label} data-value={r.value ?? ''}>
            <dt>{r.label}</dt>
            <dd>
              <span class="bar-track" aria-hidden="true">
                <span class="bar-fill" style={{ width: `${((r.value ?? 0) / max) * 100}%` }} />
              </span>
              <span class="bar-value">{fmtInt(r.value)}</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

const bytesPerSecond = (v: number) => `${fmtBytes(v)}/s`;

export function OverviewPage() {
  const { link, info } = useSession();
  useObservable(link);
  const version = useObservable(link.sys, 250);
  useTick(1000);
  const sys = link.sys;
  const access = link.sysAccess;
  const n = (key: string) => sys.number(key);
  const has = (key: string) => sys.has(key);
  const total = (key: string, f: (v: number | null) => string) =>
    has(key) ? `${f(n(key))} total` : undefined;
  const s = sys.series;

  const hasStore = sys.has('store/file/bytes') || sys.has('store/messages/count');
  const noAccess = access.state === 'denied';
  const sysOff = info.sysInterval === 0;
  const waiting = !noAccess && !sysOff && sys.lastUpdate === null;

  const otherValues = [...sys.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  return (
    <div class="overview">
      <div class="page-head">
        <h1>Overview</h1>
        <p class="page-meta" data-testid="overview-meta">
          {sys.values.get('version') ?? `midge ${info.version}`}
          <span aria-hidden="true"> · </span>
          {sys.lastUpdate === null ? 'no $SYS data yet' : `updated ${fmtAgo(sys.lastUpdate)}`}
          <span aria-hidden="true"> · </span>
          {info.sysInterval > 0 ? `every ${info.sysInterval}s` : '$SYS off'}
        </p>
      </div>

      {noAccess && (
        <div class="notice warn" role="alert" data-testid="overview-no-access">
          <strong>No access to broker statistics.</strong> The broker refused this user's subscription to{' '}
          <code>$SYS/broker/#</code> ({access.reason}). Ask an administrator for read access to{' '}
          <code>$SYS</code>.
        </div>
      )}
      {sysOff && (
        <div class="notice warn" data-testid="overview-sys-off">
          This broker publishes no <code>$SYS</code> statistics (<code>sysInterval</code> is 0), so there is
          nothing to chart.
        </div>
      )}
      {waiting && link.state === 'connected' && (
        <div class="notice" data-testid="overview-waiting">
          Waiting for the broker's first <code>$SYS</code> update…
        </div>
      )}
      {noAccess && (
        <p class="muted" data-testid="overview-alternatives">
          The <a href="#/topics">Topics</a> page and the <a href="#/console">Client console</a> show what this
          user may read.
        </p>
      )}

      {!noAccess && (
        <>
          <section class="tiles" aria-label="Broker figures">
            <Tile
              label="Connections"
              testId="stat-connections"
              raw={n('clients/connected')}
              value={fmtInt(n('clients/connected'))}
              sub={
                has('clients/total')
                  ? `${fmtInt(n('clients/total'))} sessions · max ${fmtInt(n('clients/maximum'))}`
                  : undefined
              }
            />
            <Tile
              label="Messages in"
              testId="stat-messages-in"
              raw={sys.rates.msgIn}
              value={fmtRate(sys.rates.msgIn)}
              unit="/s"
              sub={total('messages/received', fmtInt)}
            />
            <Tile
              label="Messages out"
              testId="stat-messages-out"
              raw={sys.rates.msgOut}
              value={fmtRate(sys.rates.msgOut)}
              unit="/s"
              sub={total('messages/sent', fmtInt)}
            />
            <Tile
              label="Bytes in"
              testId="stat-bytes-in"
              raw={sys.rates.bytesIn}
              value={sys.rates.bytesIn === null ? '—' : bytesPerSecond(sys.rates.bytesIn)}
              sub={total('bytes/received', fmtBytes)}
            />
            <Tile
              label="Bytes out"
              testId="stat-bytes-out"
              raw={sys.rates.bytesOut}
              value={sys.rates.bytesOut === null ? '—' : bytesPerSecond(sys.rates.bytesOut)}
              sub={total('bytes/sent', fmtBytes)}
            />
            <Tile
              label="Dropped"
              testId="stat-dropped"
              raw={sys.rates.msgDropped}
              value={fmtRate(sys.rates.msgDropped)}
              unit="/s"
              sub={total('messages/dropped', fmtInt)}
            />
            <Tile
              label="Retained"
              testId="stat-retained"
              raw={n('retained messages/count')}
              value={fmtInt(n('retained messages/count'))}
              sub={has('retained messages/count') ? 'messages' : undefined}
            />
            <Tile
              label="Subscriptions"
              testId="stat-subscriptions"
              raw={n('subscriptions/count')}
              value={fmtInt(n('subscriptions/count'))}
            />
            <Tile
              label="Queued"
              testId="stat-queued"
              raw={n('queues/messages')}
              value={fmtInt(n('queues/messages'))}
              sub={sys.has('queues/bytes') ? fmtBytes(n('queues/bytes')) : undefined}
            />
            <Tile
              label="Store"
              testId="stat-store"
              raw={n('store/file/bytes')}
              value={hasStore ? fmtBytes(n('store/file/bytes')) : sys.lastUpdate === null ? '—' : 'memory'}
              sub={
                hasStore
                  ? `${fmtInt(n('store/messages/count'))} messages`
                  : sys.lastUpdate === null
                    ? undefined
                    : 'no persistence'
              }
            />
            <Tile
              label="Memory"
              testId="stat-memory"
              raw={n('memory/rss') ?? n('heap/current')}
              value={fmtBytes(n('memory/rss') ?? n('heap/current'))}
              sub={
                sys.has('memory/rss')
                  ? `heap ${fmtBytes(n('heap/current'))}`
                  : has('heap/current')
                    ? 'heap'
                    : undefined
              }
            />
            <Tile
              label="Uptime"
              testId="stat-uptime"
              raw={n('uptime')}
              value={fmtDuration(n('uptime'))}
              sub={sys.values.get('version')}
            />
          </section>

          <div class="breakdowns">
            <Breakdown
              title="Connections by transport"
              testId="breakdown-transport"
              rows={['tcp', 'tls', 'ws', 'wss'].map((t) => ({
                label: t,
                value: n(`clients/transport/${t}`),
              }))}
            />
            <Breakdown
              title="Connections by protocol"
              testId="breakdown-protocol"
              rows={[
                { label: 'MQTT 3.1', value: n('clients/protocol/3.1') },
                { label: 'MQTT 3.1.1', value: n('clients/protocol/3.1.1') },
                { label: 'MQTT 5.0', value: n('clients/protocol/5.0') },
              ]}
            />
          </div>

          <section class="charts" aria-label={`Charts, last ${HISTORY_SECONDS / 60} minutes`}>
            <TimeChart
              title="Messages / s"
              testId="chart-messages"
              time={sys.time}
              version={version}
              format={(v) => fmtRate(v).replace(/\.0+$/, '')}
              series={[
                { label: 'in', color: 'var(--c1)', values: s.msgIn, fill: true },
                { label: 'out', color: 'var(--c2)', values: s.msgOut },
                { label: 'dropped', color: 'var(--c-bad)', values: s.msgDropped, dash: true },
              ]}
              latest={[fmtRate(sys.rates.msgIn), fmtRate(sys.rates.msgOut), fmtRate(sys.rates.msgDropped)]}
            />
            <TimeChart
              title="Bytes / s"
              testId="chart-bytes"
              time={sys.time}
              version={version}
              format={fmtBytesShort}
              incrs={BYTE_INCRS}
              series={[
                { label: 'in', color: 'var(--c1)', values: s.bytesIn, fill: true },
                { label: 'out', color: 'var(--c2)', values: s.bytesOut },
              ]}
              latest={[fmtBytes(sys.rates.bytesIn), fmtBytes(sys.rates.bytesOut)]}
            />
            <TimeChart
              title="Connections"
              testId="chart-connections"
              time={sys.time}
              version={version}
              format={fmtInt}
              incrs={COUNT_INCRS}
              series={[
                { label: 'total', color: 'var(--c1)', values: s.connected, fill: true },
                { label: 'tcp', color: 'var(--c3)', values: s.tcp },
                { label: 'tls', color: 'var(--c4)', values: s.tls },
                { label: 'ws', color: 'var(--c2)', values: s.ws },
                { label: 'wss', color: 'var(--c5)', values: s.wss },
              ]}
              latest={[
                fmtInt(n('clients/connected')),
                fmtInt(n('clients/transport/tcp')),
                fmtInt(n('clients/transport/tls')),
                fmtInt(n('clients/transport/ws')),
                fmtInt(n('clients/transport/wss')),
              ]}
            />
            <TimeChart
              title="Memory"
              testId="chart-memory"
              time={sys.time}
              version={version}
              format={fmtBytesShort}
              incrs={BYTE_INCRS}
              series={[
                { label: 'rss', color: 'var(--c3)', values: s.rss, fill: true },
                { label: 'heap', color: 'var(--c1)', values: s.heap },
              ]}
              latest={[fmtBytes(n('memory/rss')), fmtBytes(n('heap/current'))]}
            />
          </section>
        </>
      )}

      {!noAccess && (
        <details class="panel sys-all" data-testid="sys-all">
          <summary>
            All <code>$SYS</code> values <span class="muted">({otherValues.length})</span>
          </summary>
          <div class="table-scroll">
            <table class="kv">
              <caption class="sr-only">Every $SYS/broker value</caption>
              <thead>
                <tr>
                  <th scope="col">Topic</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {otherValues.map(([k, v]) => (
                  <tr key={k}>
                    <td>
                      <code>$SYS/broker/{k}</code>
                    </td>
                    <td class="num">{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </div>
  );
}
