/**
 * The live topic tree from the dashboard's `#` subscription: rate per topic and per subtree, retained
 * values, and for the selected topic its last messages and a sparkline of numeric payloads.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { PayloadBlock, ViewSwitch } from '../components/Payload';
import { Sparkline } from '../components/Sparkline';
import { fmtAgo, fmtBytes, fmtClock, fmtInt, fmtRate } from '../lib/format';
import type { Message } from '../lib/message';
import { useObservable, useTick } from '../lib/observable';
import type { PayloadView } from '../lib/payload';
import { preview } from '../lib/payload';
import { hrefFor, replaceHash } from '../lib/router';
import { useSession } from '../lib/session';
import { HISTORY_PER_TOPIC, MAX_TOPICS, type TopicNode } from '../lib/topics';

/** Children listed per level before a "show more" button. */
const CHILD_PAGE = 200;

function levelName(name: string): string {
  return name === '' ? '(empty)' : name;
}

function sortedChildren(node: TopicNode): TopicNode[] {
  return [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function TopicsPage({ selected }: { selected: string | null }) {
  const { link } = useSession();
  const store = link.topics;
  useObservable(link);
  useObservable(store, 400);
  useTick(2000);
  /** Levels opened or closed by hand; the others follow defaultOpen. */
  const [toggled, setToggled] = useState<Map<string, boolean>>(() => new Map());
  /** Decided when the first topics arrive: a small tree starts fully open, a big one closed. */
  const [defaultOpen, setDefaultOpen] = useState<boolean | null>(null);
  const isOpen = (topic: string) => toggled.get(topic) ?? defaultOpen ?? false;
  const [query, setQuery] = useState('');
  const [view, setView] = useState<PayloadView>('auto');
  const detailRef = useRef<HTMLElement>(null);

  useEffect(() => {
    link.enableTopics();
  }, [link]);

  useEffect(() => {
    if (defaultOpen === null && store.topicCount > 0) setDefaultOpen(store.topicCount <= 60);
  });

  // A topic named in the URL: open its ancestors so it shows in the tree.
  useEffect(() => {
    if (selected === null) return;
    const levels = selected.split('/');
    setToggled((prev) => {
      let changed = false;
      const next = new Map(prev);
      for (let i = 1; i < levels.length; i++) {
        const t = levels.slice(0, i).join('/');
        if (next.get(t) !== true) {
          next.set(t, true);
          changed = true;
        }
      }
      return changed ? next : prev;
    });
  }, [selected]);

  const toggle = (topic: string) => setToggled((prev) => new Map(prev).set(topic, !isOpen(topic)));

  const select = (topic: string) => {
    replaceHash(hrefFor('topics', topic));
    if (window.matchMedia('(max-width: 900px)').matches) {
      requestAnimationFrame(() => detailRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' }));
    }
  };

  const openAll = (open: boolean) => {
    setDefaultOpen(open);
    setToggled(new Map());
  };

  const access = link.topicsAccess;
  const matches = useMemo(() => store.search(query), [store, query, store.version]);
  const node = selected === null ? undefined : findNode(store.root, selected);

  return (
    <div class="topics">
      <div class="page-head">
        <h1>Topics</h1>
        <p class="page-meta" data-testid="topics-meta">
          {fmtInt(store.topicCount)} topics<span aria-hidden="true"> · </span>
          {fmtRate(store.root.subtreeRate)} msg/s<span aria-hidden="true"> · </span>
          {fmtBytes(store.storedBytes)} kept
        </p>
      </div>

      {access.state === 'denied' && (
        <div class="notice warn" role="alert" data-testid="topics-no-access">
          <strong>No access to the topic tree.</strong> The broker refused the dashboard's subscription to{' '}
          <code>#</code> ({access.reason}). Ask an administrator for read access to the topics you need.
        </div>
      )}
      {store.untracked > 0 && (
        <div class="notice" data-testid="topics-limit">
          Tracking is limited to {fmtInt(MAX_TOPICS)} topics; {fmtInt(store.untracked)} messages on other
          topics were not shown. Use <em>Reset</em> to start again.
        </div>
      )}

      <div class="topics-layout">
        <section class="panel tree-panel" aria-labelledby="tree-title">
          <div class="panel-bar">
            <h2 id="tree-title" class="panel-title">
              Topic tree
            </h2>
            <span class="sub-state" data-testid="topics-subscription" data-state={access.state}>
              {access.state === 'granted'
                ? 'subscribed to #'
                : access.state === 'pending'
                  ? 'subscribing…'
                  : access.state === 'denied'
                    ? 'refused'
                    : 'not subscribed'}
            </span>
          </div>
          <div class="tree-tools">
            <label class="sr-only" for="topic-filter">
              Filter topics
            </label>
            <input
              id="topic-filter"
              type="search"
              placeholder="Filter: text or MQTT filter (a/+/c, a/#)"
              value={query}
              onInput={(e) => setQuery(e.currentTarget.value)}
              data-testid="topic-filter"
            />
            <button type="button" class="btn small" onClick={() => openAll(true)}>
              Expand all
            </button>
            <button type="button" class="btn small" onClick={() => openAll(false)}>
              Collapse
            </button>
            <button
              type="button"
              class="btn small"
              onClick={() => {
                store.clear();
                setToggled(new Map());
                setDefaultOpen(null);
              }}
              title="Forget every topic and message seen so far"
            >
              Reset
            </button>
          </div>
          <div class="tree-head" aria-hidden="true">
            <span>Topic</span>
            <span class="num">msg/s</span>
            <span class="num">msgs</span>
          </div>
          <div class="tree-scroll" data-testid="topic-tree">
            {query.trim() !== '' ? (
              <ul class="tree flat">
                {matches.length === 0 && <li class="empty">No topic matches.</li>}
                {matches.map((n) => (
                  <TreeRow
                    key={n.topic}
                    node={n}
                    flat
                    selected={selected}
                    expanded={false}
                    onToggle={toggle}
                    onSelect={select}
                  />
                ))}
              </ul>
            ) : store.root.children.size === 0 ? (
              <p class="empty">
                {access.state === 'granted'
                  ? 'No messages yet. Topics appear here as messages are published.'
                  : access.state === 'denied'
                    ? 'No access.'
                    : 'Waiting for the subscription…'}
              </p>
            ) : (
              <ul class="tree">
                <TreeChildren
                  node={store.root}
                  isOpen={isOpen}
                  selected={selected}
                  onToggle={toggle}
                  onSelect={select}
                />
              </ul>
            )}
          </div>
        </section>

        <section
          class="panel detail-panel"
          ref={detailRef}
          aria-labelledby="detail-title"
          data-testid="topic-detail"
        >
          {node === undefined ? (
            <div class="detail-empty">
              <h2 id="detail-title" class="panel-title">
                {selected === null ? 'No topic selected' : 'Not seen yet'}
              </h2>
              <p class="muted">
                {selected === null ? (
                  'Choose a topic in the tree to see its retained value and latest messages.'
                ) : (
                  <>
                    No message on <code>{selected}</code> since the dashboard subscribed.
                  </>
                )}
              </p>
            </div>
          ) : (
            <TopicDetail node={node} view={view} setView={setView} />
          )}
        </section>
      </div>
    </div>
  );
}

function findNode(root: TopicNode, topic: string): TopicNode | undefined {
  let n: TopicNode | undefined = root;
  for (const level of topic.split('/')) {
    n = n.children.get(level);
    if (n === undefined) return undefined;
  }
  return n;
}

interface RowProps {
  node: TopicNode;
  selected: string | null;
  expanded: boolean;
  flat?: boolean;
  onToggle: (topic: string) => void;
  onSelect: (topic: string) => void;
}

function TreeChildren({
  node,
  isOpen,
  selected,
  onToggle,
  onSelect,
}: {
  node: TopicNode;
  isOpen: (topic: string) => boolean;
  selected: string | null;
  onToggle: (topic: string) => void;
  onSelect: (topic: string) => void;
}) {
  const [limit, setLimit] = useState(CHILD_PAGE);
  const children = sortedChildren(node);
  return (
    <>
      {children.slice(0, limit).map((c) => (
        <TreeRow
          key={c.name}
          node={c}
          selected={selected}
          expanded={isOpen(c.topic)}
          onToggle={onToggle}
          onSelect={onSelect}
        >
          {isOpen(c.topic) && c.children.size > 0 && (
            <ul class="tree">
              <TreeChildren
                node={c}
                isOpen={isOpen}
                selected={selected}
                onToggle={onToggle}
                onSelect={onSelect}
              />
            </ul>
          )}
        </TreeRow>
      ))}
      {children.length > limit && (
        <li class="tree-more">
          <button type="button" class="btn link small" onClick={() => setLimit(limit + CHILD_PAGE)}>
            Show {Math.min(CHILD_PAGE, children.length - limit)} more of {fmtInt(children.length - limit)}
          </button>
        </li>
      )}
    </>
  );
}

function TreeRow({
  node,
  selected,
  expanded,
  flat,
  onToggle,
  onSelect,
  children,
}: RowProps & { children?: ComponentChildren }) {
  const hasChildren = node.children.size > 0 && !flat;
  const aggregate = node.children.size > 0;
  const isSelected = selected === node.topic;
  const rate = aggregate ? node.subtreeRate : node.rate;
  const count = aggregate ? node.subtreeCount : node.count;
  return (
    <li class="tree-item">
      <div
        class={`tree-row${isSelected ? ' selected' : ''}`}
        data-testid="topic-node"
        data-topic={node.topic}
        data-retained={node.retained !== null ? 'true' : 'false'}
        style={{ '--depth': flat ? 0 : node.depth }}
      >
        {hasChildren ? (
          <button
            type="button"
            class="twisty"
            aria-expanded={expanded}
            aria-label={`${expanded ? 'Collapse' : 'Expand'} ${node.topic}`}
            onClick={() => onToggle(node.topic)}
          >
            <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          </button>
        ) : (
          <span class="twisty-space" aria-hidden="true" />
        )}
        <button
          type="button"
          class="tree-name"
          aria-pressed={isSelected}
          onClick={() => onSelect(node.topic)}
          title={node.topic}
        >
          <span class={`tree-label${node.isTopic ? '' : ' level-only'}`}>
            {flat ? node.topic : levelName(node.name)}
          </span>
          {aggregate && !flat && <span class="tree-topics muted">{fmtInt(node.topics)}</span>}
          {node.retained !== null && (
            <span class="badge retained" title="Has a retained message">
              R
            </span>
          )}
          {node.last !== null && node.isTopic && (
            <span class="tree-preview">{preview(node.last.payload, 60)}</span>
          )}
        </button>
        <span
          class="tree-rate num"
          title={aggregate ? 'Messages per second in this subtree' : 'Messages per second'}
        >
          {rate > 0 ? fmtRate(rate) : '·'}
        </span>
        <span class="tree-count num">{fmtInt(count)}</span>
      </div>
      {children}
    </li>
  );
}

function TopicDetail({
  node,
  view,
  setView,
}: {
  node: TopicNode;
  view: PayloadView;
  setView: (v: PayloadView) => void;
}) {
  const messages: Message[] = [...node.history].reverse();
  const numbers = node.numbers?.v ?? [];
  const lastNumber = numbers[numbers.length - 1];
  return (
    <div class="detail">
      <h2 id="detail-title" class="detail-topic" data-testid="topic-detail-topic">
        <code>{node.topic}</code>
      </h2>
      <dl class="facts">
        <div>
          <dt>Messages</dt>
          <dd class="num">{fmtInt(node.count)}</dd>
        </div>
        <div>
          <dt>Rate</dt>
          <dd class="num">{fmtRate(node.rate)}/s</dd>
        </div>
        <div>
          <dt>Last</dt>
          <dd class="num">{fmtAgo(node.last?.at)}</dd>
        </div>
        {node.children.size > 0 && (
          <div>
            <dt>Below</dt>
            <dd class="num">
              {fmtInt(node.topics - (node.isTopic ? 1 : 0))} topics · {fmtRate(node.subtreeRate)}/s
            </dd>
          </div>
        )}
      </dl>

      <h3 class="detail-h">Retained value</h3>
      {node.retained === null ? (
        <p class="muted" data-testid="topic-retained-none">
          No retained message.
        </p>
      ) : (
        <div class="retained-box" data-testid="topic-retained-value" data-topic={node.topic}>
          <div class="msg-meta">
            <span class="badge retained">retained</span>
            <span>QoS {node.retained.qos}</span>
            <span>{fmtBytes(node.retained.size)}</span>
            <span>{fmtClock(node.retained.at)}</span>
          </div>
          <PayloadBlock bytes={node.retained.payload} size={node.retained.size} view={view} />
        </div>
      )}

      {numbers.length >= 2 && (
        <div class="spark-box" data-testid="topic-sparkline">
          <h3 class="detail-h">Values</h3>
          <Sparkline values={numbers} label={`Recent values of ${node.topic}`} width={280} height={56} />
          <div class="spark-stats num">
            latest {lastNumber} · min {Math.min(...numbers)} · max {Math.max(...numbers)}
          </div>
        </div>
      )}

      <div class="detail-bar">
        <h3 class="detail-h">Last {Math.min(messages.length, HISTORY_PER_TOPIC)} messages</h3>
        <ViewSwitch value={view} onChange={setView} idPrefix="topic" />
      </div>
      {messages.length === 0 ? (
        <p class="muted">No message on this exact topic yet.</p>
      ) : (
        <ol class="msg-list" data-testid="topic-messages">
          {messages.map((m) => (
            <li class="msg" key={m.id} data-testid="topic-message">
              <div class="msg-meta">
                <time dateTime={new Date(m.at).toISOString()}>{fmtClock(m.at)}</time>
                <span>QoS {m.qos}</span>
                {m.retain && <span class="badge retained">retained</span>}
                <span>{fmtBytes(m.size)}</span>
                {m.properties?.contentType && <span class="badge">{m.properties.contentType}</span>}
              </div>
              {m.properties && <PropertyList properties={m.properties} />}
              <PayloadBlock bytes={m.payload} size={m.size} view={view} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function PropertyList({ properties }: { properties: NonNullable<Message['properties']> }) {
  const rows: [string, string][] = [];
  if (properties.contentType) rows.push(['Content type', properties.contentType]);
  if (properties.payloadFormatIndicator !== undefined)
    rows.push(['Payload format', properties.payloadFormatIndicator ? 'UTF-8' : 'bytes']);
  if (properties.messageExpiryInterval !== undefined)
    rows.push(['Expiry', `${properties.messageExpiryInterval}s`]);
  if (properties.responseTopic) rows.push(['Response topic', properties.responseTopic]);
  if (properties.correlationData !== undefined)
    rows.push([
      `Correlation data${properties.correlationDataHex ? ' (hex)' : ''}`,
      properties.correlationData,
    ]);
  if (properties.subscriptionIdentifier)
    rows.push(['Subscription id', properties.subscriptionIdentifier.join(', ')]);
  for (const [k, v] of properties.userProperties ?? []) rows.push([`${k}`, v]);
  if (rows.length === 0) return null;
  return (
    <dl class="props">
      {rows.map(([k, v], i) => (
        <div
          key={`${k}-${i}`}
          class={i >= rows.length - (properties.userProperties?.length ?? 0) ? 'user-prop' : ''}
        >
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
