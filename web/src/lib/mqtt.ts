/** MQTT.js (its self-contained browser build) and the bits of it the pages share. */
import mqtt from 'mqtt';

export type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';

export const connectMqtt = mqtt.connect;

/** ws(s)://<this host><path>: the broker serves the dashboard and MQTT over WebSocket on one port. */
export function brokerWsUrl(mqttPath: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = mqttPath.startsWith('/') ? mqttPath : `/${mqttPath}`;
  return `${scheme}//${location.host}${path}`;
}

export function randomId(prefix: string): string {
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const REASONS: Record<number, string> = {
  128: 'Unspecified error',
  129: 'Malformed packet',
  130: 'Protocol error',
  131: 'Implementation specific error',
  132: 'Unsupported protocol version',
  133: 'Client identifier not valid',
  134: 'Bad user name or password',
  135: 'Not authorized',
  136: 'Server unavailable',
  137: 'Server busy',
  138: 'Banned',
  139: 'Server shutting down',
  140: 'Bad authentication method',
  141: 'Keep alive timeout',
  142: 'Session taken over',
  143: 'Topic filter invalid',
  144: 'Topic name invalid',
  145: 'Packet identifier in use',
  147: 'Receive maximum exceeded',
  148: 'Topic alias invalid',
  149: 'Packet too large',
  150: 'Message rate too high',
  151: 'Quota exceeded',
  152: 'Administrative action',
  153: 'Payload format invalid',
  154: 'Retain not supported',
  155: 'QoS not supported',
  156: 'Use another server',
  157: 'Server moved',
  158: 'Shared subscriptions not supported',
  159: 'Connection rate exceeded',
  160: 'Maximum connect time',
  161: 'Subscription identifiers not supported',
  162: 'Wildcard subscriptions not supported',
  16: 'No matching subscribers',
  17: 'No subscription existed',
};

export function reasonText(code: number | undefined): string {
  if (code === undefined) return '';
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  const name = REASONS[code];
  return name === undefined ? hex : `${name} (${hex})`;
}

/** A readable message for an MQTT.js error (CONNACK refusals carry a code). */
export function errorText(error: unknown): string {
  if (error === null || error === undefined) return 'unknown error';
  const e = error as { message?: string; code?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (
    typeof e.code === 'number' &&
    REASONS[e.code] !== undefined &&
    !message.includes(REASONS[e.code] ?? '')
  ) {
    return `${message} — ${reasonText(e.code)}`;
  }
  return message;
}

/**
 * Why a SUBACK refused a filter. MQTT.js reports it as an Error "Subscribe error: <reason name>" (no
 * code on it), so the name is mapped back to its code when it is one we know.
 */
export function subackReason(err: Error | null, code: number | undefined): string {
  if (err === null) return reasonText(code);
  const c = (err as { code?: unknown }).code;
  if (typeof c === 'number') return reasonText(c);
  const name = /^Subscribe error: (.+)$/.exec(err.message)?.[1];
  if (name !== undefined) {
    const known = Object.entries(REASONS).find(([, n]) => n.toLowerCase() === name.toLowerCase());
    return known === undefined ? name : reasonText(Number(known[0]));
  }
  return errorText(err);
}
