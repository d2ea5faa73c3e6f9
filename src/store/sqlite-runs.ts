/**
 * Runs (schema version 3): the fast path of a QoS 1/2 message to one persistent subscriber. Every
 * fresh delivery of one client in one commit whose message is inline and plain (no properties, no
 * expiry, no subscription ids, not shared) goes into one row of `runs` — its records packed in a blob —
 * instead of one row each in `deliveries`. A commit of 1,600 deliveries to 50 subscribers then inserts
 * 50 rows, not 1,600, and the acknowledgements that end them update one small bitmap per run in
 * `run_marks` (or delete the run once all its records are gone) instead of deleting rows one by one.
 * A new state of a record (queued → publish, publish → pubrel) is a mark there too: the delivery's
 * qos, retain, packet id and state, STATE_BYTES per record, written once per run and commit.
 *
 * A record that anything else touches — another message, new fields a mark cannot hold, a second
 * reference to its message — is first materialized: written to `deliveries` as the inline row it
 * would have been, and marked gone in its run (sqlite-commit.ts); its session's end deletes its runs. Runs never outlive an
 * open: the next open (and the writer's reset after a failed commit) materializes every record still
 * live, so everything that loads and cleans the store sees only `deliveries`.
 *
 * Record layout (big-endian): seq f64, message id f64, qos u8, retain u8, packet id u16 (0: none),
 * flags u8 (bits 0-1 the state: 0 queued, 1 publish, 2 pubrel; 4 same topic as the record before,
 * 8 same origin, 16 no origin), message qos u8, message retain u8, then — unless the flags say
 * otherwise — topic length u16 + UTF-8 and origin length u16 + UTF-8, then payload length u32 + bytes.
 * A subscriber's run mostly repeats one topic and one publisher, which are then written once.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { QoS } from '../codec/index.js';
import type { StoredDelivery, StoredMessage } from './types.js';

const STATES = ['queued', 'publish', 'pubrel'] as const;
/** Bits of a record's flags byte beside the state (bits 0-1). */
const SAME_TOPIC = 4;
const SAME_ORIGIN = 8;
const NO_ORIGIN = 16;
/** A record's bytes besides its topic, origin and payload. */
const FIXED = 8 + 8 + 1 + 1 + 2 + 1 + 1 + 1 + 4;

/** A delivery as a run holds it: the delivery's fields and its inline message. */
export interface RunRecord {
  d: StoredDelivery;
  m: StoredMessage;
}

/** A run this writer wrote (or is about to write): which records are gone, how many are not. */
export interface Run {
  client: number;
  first: number;
  /** Records in the run (once written). */
  count: number;
  gone: Uint8Array;
  /** Per record, STATE_BYTES: the delivery's new qos, retain, packet id and state, when it changed. */
  states: Uint8Array | undefined;
  live: number;
  /** The records, until the run is written at the end of its commit. */
  pending: RunRecord[] | undefined;
  /** The marks changed since they were last written. */
  dirty: boolean;
}

/** A record's state mark: flag (1: set), qos, retain, packet id u16, state. */
export const STATE_BYTES = 6;

/** Notes a written record's new delivery fields (the message stays in the run). */
export function markState(run: Run, index: number, d: StoredDelivery): void {
  run.states ??= new Uint8Array(run.count * STATE_BYTES);
  const o = index * STATE_BYTES;
  const states = run.states;
  states[o] = 1;
  states[o + 1] = d.qos;
  states[o + 2] = d.retain ? 1 : 0;
  states[o + 3] = (d.packetId ?? 0) >> 8;
  states[o + 4] = (d.packetId ?? 0) & 0xff;
  states[o + 5] = STATES.indexOf(d.state);
  run.dirty = true;
}

/** The record with its state mark applied, if it has one. */
export function withState(
  record: RunRecord,
  states: Uint8Array | null | undefined,
  index: number,
): RunRecord {
  const o = index * STATE_BYTES;
  if (states === null || states === undefined || states[o] !== 1) return record;
  const packetId = (states[o + 3]! << 8) | states[o + 4]!;
  const d: StoredDelivery = {
    clientId: record.d.clientId,
    seq: record.d.seq,
    messageId: record.d.messageId,
    qos: states[o + 1] as QoS,
    retain: states[o + 2] === 1,
    state: STATES[states[o + 5]!] ?? 'queued',
  };
  if (packetId !== 0) d.packetId = packetId;
  return { d, m: record.m };
}

export function isGone(gone: Uint8Array | null | undefined, index: number): boolean {
  return gone !== null && gone !== undefined && ((gone[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}

export function markGone(run: Run, index: number): void {
  const byte = index >> 3;
  run.gone[byte] = (run.gone[byte] ?? 0) | (1 << (index & 7));
  run.live--;
  run.dirty = true;
}

/** One blob for the whole run: the strings are written straight into it, nothing else allocated. */
export function encodeRun(records: readonly RunRecord[]): Buffer {
  let size = 0;
  let topic: string | undefined;
  let origin: string | undefined;
  for (const { m } of records) {
    size += FIXED + m.payload.length;
    if (m.topic !== topic) size += 2 + Buffer.byteLength(m.topic);
    if (m.origin !== undefined && m.origin !== origin) size += 2 + Buffer.byteLength(m.origin);
    topic = m.topic;
    origin = m.origin;
  }
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  topic = undefined;
  origin = undefined;
  for (let i = 0; i < records.length; i++) {
    const { d, m } = records[i]!;
    p = out.writeDoubleBE(d.seq, p);
    p = out.writeDoubleBE(m.id, p);
    out[p++] = d.qos;
    out[p++] = d.retain ? 1 : 0;
    p = out.writeUInt16BE(d.packetId ?? 0, p);
    const sameTopic = m.topic === topic;
    const sameOrigin = m.origin !== undefined && m.origin === origin;
    out[p++] =
      (d.state === 'queued' ? 0 : d.state === 'publish' ? 1 : 2) |
      (sameTopic ? SAME_TOPIC : 0) |
      (m.origin === undefined ? NO_ORIGIN : sameOrigin ? SAME_ORIGIN : 0);
    out[p++] = m.qos;
    out[p++] = m.retain ? 1 : 0;
    if (!sameTopic) {
      const length = out.write(m.topic, p + 2, 'utf8');
      out.writeUInt16BE(length, p);
      p += 2 + length;
    }
    if (m.origin !== undefined && !sameOrigin) {
      const length = out.write(m.origin, p + 2, 'utf8');
      out.writeUInt16BE(length, p);
      p += 2 + length;
    }
    p = out.writeUInt32BE(m.payload.length, p);
    p += m.payload.copy(out, p);
    topic = m.topic;
    origin = m.origin;
  }
  return out;
}

/** The records of a run's blob, in order; `clientId` names them (runs key clients by number). */
export function decodeRun(blob: Buffer, clientId: string): RunRecord[] {
  const records: RunRecord[] = [];
  let p = 0;
  let topic = '';
  let origin: string | undefined;
  while (p < blob.length) {
    const seq = blob.readDoubleBE(p);
    const id = blob.readDoubleBE(p + 8);
    const qos = blob[p + 16] as QoS;
    const retain = blob[p + 17] === 1;
    const packetId = blob.readUInt16BE(p + 18);
    const flags = blob[p + 20]!;
    const state = STATES[flags & 3] ?? 'queued';
    const messageQos = blob[p + 21] as QoS;
    const messageRetain = blob[p + 22] === 1;
    p += FIXED - 4;
    if ((flags & SAME_TOPIC) === 0) {
      const length = blob.readUInt16BE(p);
      topic = blob.toString('utf8', p + 2, p + 2 + length);
      p += 2 + length;
    }
    if ((flags & NO_ORIGIN) !== 0) {
      origin = undefined;
    } else if ((flags & SAME_ORIGIN) === 0) {
      const length = blob.readUInt16BE(p);
      origin = blob.toString('utf8', p + 2, p + 2 + length);
      p += 2 + length;
    }
    const payloadLength = blob.readUInt32BE(p);
    p += 4;
    const payload = Buffer.from(blob.subarray(p, p + payloadLength));
    p += payloadLength;
    const d: StoredDelivery = { clientId, seq, messageId: id, qos, retain, state };
    if (packetId !== 0) d.packetId = packetId;
    const m: StoredMessage = { id, topic, payload, qos: messageQos, retain: messageRetain };
    if (origin !== undefined) m.origin = origin;
    records.push({ d, m });
  }
  return records;
}

/** The inline row of `deliveries` a record stands for, as the parameters of an INSERT (see below). */
export function recordParams(r: RunRecord, client: number): unknown[] {
  const { d, m } = r;
  return [
    m.id,
    d.qos,
    d.retain ? 1 : 0,
    d.packetId ?? null,
    d.state,
    m.topic,
    m.payload,
    m.qos,
    m.retain ? 1 : 0,
    m.origin ?? null,
    client,
    d.seq,
  ];
}

/** Inserts a plain inline delivery row; parameters in recordParams order. */
export const INSERT_PLAIN_INLINE =
  'INSERT INTO deliveries (message_id, qos, retain, subscription_ids, shared_group, packet_id, state, ' +
  'topic, payload, message_qos, message_retain, properties, expires_at, origin, client, seq) ' +
  'VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?) ON CONFLICT (client, seq) DO NOTHING';

/**
 * Writes every live record of every run to `deliveries` and empties `runs`; run inside a transaction.
 * Returns how many records it wrote.
 */
export function materializeRuns(db: Database): number {
  const insert = db.prepare(INSERT_PLAIN_INLINE);
  let written = 0;
  const rows = liveRuns(db);
  for (const [client, blob, gone, states] of rows) {
    decodeRun(blob, '').forEach((record, index) => {
      if (isGone(gone, index)) return;
      insert.run(...recordParams(withState(record, states, index), client));
      written++;
    });
  }
  if (rows.length > 0) db.exec('DELETE FROM runs; DELETE FROM run_marks;');
  return written;
}

/** Every run: its client number, records, gone bitmap and state marks (null: none). */
export function liveRuns(
  db: Database,
): [client: number, records: Buffer, gone: Buffer | null, states: Buffer | null][] {
  return db
    .prepare(
      'SELECT r.client, r.records, k.gone, k.states FROM runs AS r LEFT JOIN run_marks AS k USING (client, first_seq)',
    )
    .raw()
    .all() as [number, Buffer, Buffer | null, Buffer | null][];
}

/**
 * The runs a writer (sqlite-commit.ts) keeps: the runs of the batch being applied (`batch`, client →
 * run, owned by the caller), the written ones with live records, and their marks to write at the end
 * of the batch. It knows runs only; what a record stands for in `deliveries` is the caller's business.
 */
export class RunWriter {
  readonly #insert: Statement;
  readonly #mark: Statement;
  readonly #delete: Statement;
  readonly #deleteMarks: Statement;
  readonly #deleteOf: Statement;
  readonly #deleteMarksOf: Statement;
  readonly #records: Statement;
  /** The written runs with live records, by client. */
  #runsOf = new Map<number, Set<Run>>();
  /** Written runs whose marks changed in this batch. */
  #dirty = new Set<Run>();
  /** The records of the last written run read back (materializing its records one by one). */
  #readBack: { run: Run; records: RunRecord[] } | undefined;

  constructor(db: Database) {
    this.#insert = db.prepare('INSERT INTO runs (client, first_seq, records) VALUES (?, ?, ?)');
    this.#mark = db.prepare(
      'INSERT INTO run_marks (gone, states, client, first_seq) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (client, first_seq) DO UPDATE SET gone = excluded.gone, states = excluded.states',
    );
    this.#delete = db.prepare('DELETE FROM runs WHERE client = ? AND first_seq = ?');
    this.#deleteMarks = db.prepare('DELETE FROM run_marks WHERE client = ? AND first_seq = ?');
    this.#deleteOf = db.prepare('DELETE FROM runs WHERE client = ?');
    this.#deleteMarksOf = db.prepare('DELETE FROM run_marks WHERE client = ?');
    this.#records = db.prepare('SELECT records FROM runs WHERE client = ? AND first_seq = ?').pluck();
  }

  /** Forgets every run (the file's were written out: see materializeRuns). */
  reset(): void {
    this.#runsOf = new Map();
    this.#dirty = new Set();
    this.#readBack = undefined;
  }

  /** Adds a fresh plain delivery to its client's run of this batch; returns where it is. */
  append(
    batch: Map<number, Run>,
    client: number,
    d: StoredDelivery,
    m: StoredMessage,
  ): { run: Run; index: number } {
    let run = batch.get(client);
    if (run === undefined) {
      run = {
        client,
        first: d.seq,
        count: 0,
        gone: new Uint8Array(8),
        states: undefined,
        live: 0,
        pending: [],
        dirty: false,
      };
      batch.set(client, run);
    }
    const index = run.pending!.length;
    if (index >> 3 >= run.gone.length) {
      const grown = new Uint8Array(run.gone.length * 2);
      grown.set(run.gone);
      run.gone = grown;
    }
    run.pending!.push({ d, m });
    run.live++;
    return { run, index };
  }

  /** A record as it stands now: its new state applied (a written run's records are read back once). */
  record(run: Run, index: number): RunRecord {
    if (run.pending !== undefined) return run.pending[index]!;
    if (this.#readBack?.run !== run) {
      this.#readBack = { run, records: decodeRun(this.#records.get(run.client, run.first) as Buffer, '') };
    }
    return withState(this.#readBack.records[index]!, run.states, index);
  }

  /** The record is gone from its run (its delivery deleted, or written out as an ordinary row). */
  forget(run: Run, index: number): void {
    markGone(run, index);
    if (run.pending === undefined) this.#dirty.add(run);
  }

  /** A written record's delivery has new fields (a run of this batch changes its record instead). */
  markState(run: Run, index: number, d: StoredDelivery): void {
    markState(run, index, d);
    this.#dirty.add(run);
  }

  /** A session ended: its runs go with it (its deliveries were released already). */
  drop(batch: Map<number, Run>, client: number): void {
    batch.delete(client);
    const runs = this.#runsOf.get(client);
    if (runs === undefined) return;
    for (const run of runs) this.#dirty.delete(run);
    if (this.#readBack !== undefined && runs.has(this.#readBack.run)) this.#readBack = undefined;
    this.#runsOf.delete(client);
    this.#deleteOf.run(client);
    this.#deleteMarksOf.run(client);
  }

  /** End of batch: the batch's runs are written, changed ones marked, empty ones deleted. */
  write(batch: Map<number, Run>): void {
    for (const run of batch.values()) {
      const records = run.pending!;
      run.pending = undefined;
      if (run.live === 0) continue;
      run.count = records.length;
      this.#insert.run(run.client, run.first, encodeRun(records));
      if (run.dirty) this.#mark.run(Buffer.from(run.gone), null, run.client, run.first);
      run.dirty = false;
      let runs = this.#runsOf.get(run.client);
      if (runs === undefined) {
        runs = new Set();
        this.#runsOf.set(run.client, runs);
      }
      runs.add(run);
    }
    for (const run of this.#dirty) {
      run.dirty = false;
      if (run.live > 0) {
        const states = run.states === undefined ? null : Buffer.from(run.states);
        this.#mark.run(Buffer.from(run.gone), states, run.client, run.first);
        continue;
      }
      this.#delete.run(run.client, run.first);
      this.#deleteMarks.run(run.client, run.first);
      this.#runsOf.get(run.client)?.delete(run);
      if (this.#readBack?.run === run) this.#readBack = undefined;
    }
    this.#dirty.clear();
  }
}
