/**
 * MQTT over WebSocket (ws) and secure WebSocket (wss): one Node HTTP(S) server per listener, the `ws`
 * library in noServer mode for the upgrade on the MQTT path, and a small page for plain HTTP requests
 * (the dashboard will replace it). Nothing here knows MQTT beyond the subprotocol names.
 *
 * Upgrade checks, in order: path (404), Origin allow-list (403), subprotocol (400 when the client
 * offers only unsupported ones, or none while one is required); then `ws` validates the request and
 * completes the handshake (101, subprotocol, extensions). Without permessage-deflate the connection is
 * then midge's own (WsLink reads the frames itself, ws-frames.ts); with it, ws keeps the connection
 * (DeflateWsLink). Both enforce maxPayload (= the listener's maxPacketSize) on every message from its
 * frame headers, before buffering anything.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { type ServerOptions, WebSocket, WebSocketServer } from 'ws';
import type { ListenerConfig } from '../config/schema.js';
import type { Link } from '../core/link.js';
import { ignore } from './buffered-link.js';
import { clientAddress } from './forwarded.js';
import { ServerListener } from './server-listener.js';
import { withClientAddress } from './tcp.js';
import { certificateUsername, tlsOptions } from './tls-options.js';
import { DeflateWsLink } from './ws-deflate-link.js';
import { WsLink } from './ws-link.js';

const DEFAULT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

type SetSocket = (socket: Duplex, head: Buffer, options: unknown) => void;

/**
 * ws's WebSocket for the handshake only, unless permessage-deflate was negotiated.
 *
 * Why this way: WebSocketServer.handleUpgrade keeps every check of the request (method, Upgrade,
 * Sec-WebSocket-Key and -Version, subprotocol parsing and choice through handleProtocols, extension
 * negotiation) and writes the 101 itself; it then hands the socket to `setSocket`, which builds a
 * Receiver and a Sender and attaches five listeners to the socket. Stopping there (ws lets a server
 * name its WebSocket class, option `WebSocket`) means no 101 of our own to keep in step with ws and
 * no listeners to pick off the socket afterwards (removing ws's listeners after setSocket would
 * depend on ws's private functions, and its Receiver and Sender would have been built for nothing):
 * the socket is untouched and WsLink takes it whole. No Receiver or Sender is built, and this object
 * is garbage as soon as the upgrade callback returns (nothing refers to it: clientTracking is off).
 * With an extension, ws must do the (de)compression: setSocket goes ahead and ws keeps the connection.
 */
class Handshake extends WebSocket {
  setSocket(socket: Duplex, head: Buffer, options: unknown): void {
    if (this.extensions !== '') {
      (WebSocket.prototype as unknown as { setSocket: SetSocket }).setSocket.call(
        this,
        socket,
        head,
        options,
      );
    }
  }
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * The token a browser app sent with the upgrade request: `Authorization: Bearer` (clients that can
 * set headers), or the listener's cookie or query parameter (a browser's WebSocket can set neither
 * headers nor anything but the URL and its cookies).
 */
export function upgradeToken(request: IncomingMessage, config: ListenerConfig): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match !== null) return match[1];
  }
  const cookieName = config.tokenCookie;
  const cookies = request.headers.cookie;
  if (cookieName !== undefined && cookies !== undefined) {
    for (const part of cookies.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== cookieName) continue;
      const value = part.slice(eq + 1).trim();
      if (value.length > 0) return decodeOr(value);
    }
  }
  const parameter = config.tokenQueryParameter;
  if (parameter !== undefined) {
    try {
      const value = new URL(request.url ?? '/', 'http://midge').searchParams.get(parameter);
      if (value !== null && value.length > 0) return value;
    } catch {
      // an unparseable URL was refused before this point
    }
  }
  return undefined;
}

function decodeOr(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** What a plain HTTP request on a WebSocket listener comes with, beyond the request itself. */
export interface HttpContext {
  /** The client's address: the socket's peer, or the one trusted proxies / the PROXY header name. */
  address: string;
  transport: 'ws' | 'wss';
  /** The listener's MQTT endpoint path. */
  mqttPath: string;
}

export class WsListener extends ServerListener {
  protected readonly server: Server;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  /** Client addresses read from PROXY headers, by socket. */
  private readonly proxied = new WeakMap<Socket, { address: string; port: number }>();
  private readonly subprotocols: string[];
  /** The longest WebSocket message accepted: the listener's maximum packet size. */
  private readonly maxPayload: number;
  /**
   * Plain HTTP requests go here first (the dashboard, its API, /metrics, /health: src/http); false
   * leaves them to the small page below. Set by the assembled broker.
   */
  onRequest:
    | ((request: IncomingMessage, response: ServerResponse, context: HttpContext) => boolean)
    | undefined;

  /**
   * `connectTimeout`: ms a client has for the TLS handshake and the upgrade request's headers (a
   * slowloris client holds a socket without ever getting to MQTT, where the broker's own timer runs).
   */
  constructor(
    private readonly config: ListenerConfig,
    maxPacketSize: number,
    accept: (link: Link) => void,
    connectTimeout = 10_000,
  ) {
    super(config.type, config.host, config.port, config.path ?? '/mqtt');
    this.subprotocols = config.subprotocols ?? DEFAULT_SUBPROTOCOLS;
    this.maxPayload = maxPacketSize;
    const timeouts = {
      headersTimeout: connectTimeout,
      requestTimeout: Math.max(connectTimeout, 30_000),
      connectionsCheckingInterval: Math.min(1_000, connectTimeout),
    };
    const http =
      config.type === 'wss'
        ? createHttpsServer({ ...tlsOptions(config), ...timeouts, handshakeTimeout: connectTimeout })
        : createHttpServer(timeouts);
    this.http = http;
    if (config.proxyProtocol === true) {
      // The PROXY header comes before HTTP: read it on a plain server, then hand the socket to HTTP.
      this.server = createServer((socket: Socket) => {
        withClientAddress(socket, true, (address, port, rest) => {
          this.proxied.set(socket, { address, port });
          if (rest !== undefined && rest.length > 0) socket.unshift(rest);
          http.emit('connection', socket);
          socket.resume();
        });
      });
    } else {
      this.server = http;
    }
    http.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const handled =
        this.onRequest?.(request, response, {
          address:
            this.proxied.get(request.socket as Socket)?.address ??
            clientAddress(request, request.socket as Socket, config.trustedProxies).address,
          transport: config.type === 'wss' ? 'wss' : 'ws',
          mqttPath: this.path ?? '/mqtt',
        }) ?? false;
      if (!handled) this.page(request, response);
    });
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(request, socket as Socket, head, accept),
    );
    http.on('tlsClientError', ignore);
    http.on('clientError', (_error: Error, socket: Duplex) => reject(socket, 400, 'Bad Request'));
    // closeTimeout is in ws 8 but not in its type definitions.
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: maxPacketSize,
      // A peer that never answers our close frame (after a protocol error, a text frame, or its own
      // close) loses its socket after 2 s, as every other close does (BufferedLink.end), not ws's 30 s.
      closeTimeout: 2_000,
      perMessageDeflate: config.perMessageDeflate === true,
      handleProtocols: (offers: Set<string>) => this.choose([...offers]) ?? false,
      WebSocket: Handshake,
    } as ServerOptions);
  }

  /** The first of the client's offers this listener supports. */
  private choose(offers: string[]): string | undefined {
    return offers.find((offer) => this.subprotocols.includes(offer));
  }

  private upgrade(
    request: IncomingMessage,
    socket: Socket,
    head: Buffer,
    accept: (link: Link) => void,
  ): void {
    socket.on('error', ignore);
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://midge').pathname;
    } catch {
      reject(socket, 400, 'Bad Request');
      return;
    }
    if (path !== this.path) {
      reject(socket, 404, 'Not Found');
      return;
    }
    const allowed = this.config.allowedOrigins;
    if (allowed !== undefined && !allowed.includes(request.headers.origin ?? '')) {
      reject(socket, 403, 'Forbidden');
      return;
    }
    const offers = offeredProtocols(request);
    if (offers.length === 0 ? this.config.requireSubprotocol === true : this.choose(offers) === undefined) {
      reject(socket, 400, 'Unsupported WebSocket Subprotocol');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const { address, port } =
        this.proxied.get(socket) ?? clientAddress(request, socket, this.config.trustedProxies);
      const info = {
        transport: this.config.type === 'wss' ? ('wss' as const) : ('ws' as const),
        remoteAddress: address,
        remotePort: port,
        listener: this.name,
        certificateUsername:
          this.config.type === 'wss' ? certificateUsername(socket as TLSSocket, this.config) : undefined,
        token: upgradeToken(request, this.config),
      };
      const options = { packetsPerFrame: this.config.packetsPerFrame ?? 'one' };
      // No extension: ws stopped after the 101 (Handshake above) and `ws` is dropped here.
      accept(
        ws.extensions === ''
          ? new WsLink(socket, head, info, options, this.maxPayload)
          : new DeflateWsLink(ws, socket, info, options),
      );
    });
  }

  /** Plain HTTP on the WebSocket port: a page that says what this is. */
  private page(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 }).end();
      return;
    }
    const scheme = this.config.type === 'wss' ? 'wss' : 'ws';
    const host = escapeHtml(request.headers.host ?? 'this-host');
    const endpoint = `${scheme}://${host}${escapeHtml(this.path ?? '/mqtt')}`;
    const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>midge MQTT broker</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>midge MQTT broker</h1>
<p>This port serves MQTT over WebSocket at <code>${endpoint}</code> (subprotocols ${this.subprotocols
      .map((p) => `<code>${p}</code>`)
      .join(', ')}). Connect with any MQTT client that speaks WebSocket, such as MQTT.js in a browser.</p>
</body></html>
`;
    const path = (request.url ?? '/').split('?')[0];
    // The MQTT path itself without an upgrade: 426 Upgrade Required; the root: the page; else 404.
    const status = path === this.path ? 426 : path === '/' ? 200 : 404;
    response.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  reload(): void {
    if (this.config.type === 'wss') (this.http as TlsServer).setSecureContext(tlsOptions(this.config));
  }
}
