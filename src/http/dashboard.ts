/**
 * The HTTP side of the WebSocket listeners: the dashboard's static files (built from web/ into
 * dist/web) and its small JSON API (both off with `dashboard.enabled: false`), /metrics (Prometheus)
 * and /health (always). The dashboard itself is an MQTT
 * client of the broker that serves it, over the same port; the API covers what MQTT does not carry
 * well (the client list, disconnecting a client, checking a login).
 *
 * Who may do what follows MQTT: the same credentials (HTTP Basic with a user of the password file, or
 * Bearer with a JWT), the same failed-login blocking, and the same anonymous policy — with no
 * authentication configured, only requests from this machine get anything (403 otherwise). Admin views
 * (the client list, disconnecting, /metrics) need permission to read all of `$SYS/#`; without an ACL
 * every authenticated user has it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Security } from '../auth/security.js';
import type { BrokerCore } from '../core/broker.js';
import { Connection } from '../core/connection.js';
import type { ClientPermissions } from '../core/hooks.js';
import type { TransportKind } from '../core/link.js';
import { prometheusText, VERSION } from '../core/sys.js';

export interface DashboardOptions {
  /** Serve the dashboard (the API, /metrics and /health are served either way). */
  enabled: boolean;
  /** Where it is served, ending in `/`. */
  path: string;
}

/** What an HTTP request hands over: the real client address (after trusted proxies) and the transport. */
export interface RequestContext {
  address: string;
  transport: TransportKind;
  /** The MQTT WebSocket path of this listener: never the dashboard's. */
  mqttPath: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** The built dashboard: dist/web next to dist/src (see scripts/build-web.mjs). */
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

interface Asset {
  body: Buffer;
  /** The same, gzipped, for clients that accept it (worth it for text; undefined otherwise). */
  gzip: Buffer | undefined;
  type: string;
}

/** Every file of the build, read once: nothing outside it can be served, whatever the URL says. */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const ext = name.slice(name.lastIndexOf('.'));
        const type = TYPES[ext];
        if (type !== undefined) {
          const body = readFileSync(file);
          const gzip = body.length > 1024 && !type.startsWith('image/png') ? gzipSync(body) : undefined;
          assets.set(relative(root, file).split(sep).join('/'), { body, gzip, type });
        }
      }
    }
  };
  walk(root);
  return assets;
}

interface Caller {
  user: string | null;
  permissions: ClientPermissions | undefined;
}

type Identified = { ok: true; caller: Caller } | { ok: false; status: 401 | 403 | 429; error: string };

export class DashboardHttp {
  private readonly assets: Map<string, Asset>;

  constructor(
    private readonly core: BrokerCore,
    private readonly security: Security,
    private readonly options: DashboardOptions,
  ) {
    this.assets = options.enabled ? loadAssets(WEB_ROOT) : new Map();
    if (options.enabled && !this.assets.has('index.html')) {
      core.log.warn({ dir: WEB_ROOT }, 'dashboard not built (npm run build): it is not served');
    }
  }

  /** Answers the request if it is one of ours; false leaves it to the listener's own page. */
  handle(request: IncomingMessage, response: ServerResponse, context: RequestContext): boolean {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? '/', 'http://midge').pathname);
    } catch {
      return false;
    }
    if (path === context.mqttPath) return false;
    if (path === '/health') {
      this.health(request, response);
      return true;
    }
    if (path === '/metrics') {
      void this.guarded(
        request,
        response,
        context,
        true,
        () => send(response, 200, 'text/plain; version=0.0.4; charset=utf-8', prometheusText(this.core)),
        true,
      );
      return true;
    }
    const base = this.options.path;
    if (!this.options.enabled) return false;
    if (path === base.slice(0, -1) && base !== '/') {
      response.writeHead(301, { location: base, 'content-length': 0 }).end();
      return true;
    }
    if (!path.startsWith(base)) return false;
    const rest = path.slice(base.length);
    if (rest.startsWith('api/')) {
      void this.api(request, response, context, rest.slice(4));
      return true;
    }
    const asset = this.assets.get(rest === '' ? 'index.html' : rest);
    if (asset === undefined) return false;
    if (!this.security.acceptsAnonymousFrom(context.address) && !this.security.authenticationConfigured) {
      // No authentication: the dashboard is for this machine only (see docs/security.md).
      json(response, 403, {
        error: 'the dashboard is served to this machine only while no authentication is configured',
      });
      return true;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 }).end();
      return true;
    }
    const gzip =
      asset.gzip !== undefined && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzip! : asset.body;
    response.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'accept-encoding',
      'cache-control': rest === '' || rest === 'index.html' ? 'no-cache' : 'max-age=300',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // blob: workers: MQTT.js keeps its keep-alive timer in one (less throttled in background tabs).
      'content-security-policy':
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
        "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
    });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }

  private health(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 }).end();
      return;
    }
    json(response, 200, { status: 'ok', version: VERSION });
  }

  private async api(
    request: IncomingMessage,
    response: ServerResponse,
    context: RequestContext,
    route: string,
  ): Promise<void> {
    const method = request.method ?? 'GET';
    if (route === 'info' && method === 'GET') {
      json(response, 200, {
        version: VERSION,
        mqttPath: context.mqttPath,
        authRequired: !this.security.acceptsAnonymousFrom(context.address),
        sysInterval: this.core.config.sysInterval,
      });
      return;
    }
    if ((route === 'login' && method === 'POST') || (route === 'whoami' && method === 'GET')) {
      await this.guarded(request, response, context, false, (caller) => {
        json(response, 200, { user: caller.user, admin: isAdmin(caller) });
      });
      return;
    }
    if (route === 'clients' && method === 'GET') {
      await this.guarded(request, response, context, true, () => {
        json(response, 200, { clients: this.clients() });
      });
      return;
    }
    if (route.startsWith('clients/') && method === 'DELETE') {
      const clientId = route.slice('clients/'.length);
      await this.guarded(request, response, context, true, (caller) => {
        const output = this.core.sessions.get(clientId)?.output;
        if (!(output instanceof Connection)) {
          json(response, 404, { error: 'no connected client with that id' });
          return;
        }
        this.core.log.info({ clientId, by: caller.user }, 'client disconnected by an administrator');
        output.fail('disconnected by an administrator', 'ADMINISTRATIVE_ACTION');
        response.writeHead(204).end();
      });
      return;
    }
    json(response, 404, { error: 'no such API' });
  }

  /** Runs `then` for a caller who may (admin views: `admin`); answers 401/403/429 otherwise. */
  private async guarded(
    request: IncomingMessage,
    response: ServerResponse,
    context: RequestContext,
    admin: boolean,
    then: (caller: Caller) => void,
    challenge = false,
  ): Promise<void> {
    let who: Identified;
    try {
      who = await this.identify(request, context);
    } catch (error) {
      this.core.log.error({ err: error }, 'dashboard authentication failed');
      json(response, 500, { error: 'authentication failed' });
      return;
    }
    if (!who.ok) {
      // A challenge only outside the API (/metrics: curl, Prometheus): in the API it would make the
      // browser open its own login prompt over the dashboard's.
      const headers: Record<string, string> = {};
      if (who.status === 401 && challenge)
        headers['www-authenticate'] = 'Basic realm="midge", charset="UTF-8"';
      json(response, who.status, { error: who.error }, headers);
      return;
    }
    if (admin && !isAdmin(who.caller)) {
      json(response, 403, { error: 'this needs read access to $SYS/# (an admin rule in the ACL)' });
      return;
    }
    then(who.caller);
  }

  /** The caller, by the same rules as an MQTT CONNECT from the same address. */
  private async identify(request: IncomingMessage, context: RequestContext): Promise<Identified> {
    const core = this.core;
    const header = request.headers.authorization;
    const address = context.address;
    if (header === undefined) {
      if (this.security.acceptsAnonymousFrom(address)) {
        return { ok: true, caller: { user: null, permissions: this.permissions(undefined, context) } };
      }
      return { ok: false, status: 401, error: 'login required' };
    }
    let username: string | undefined;
    let password: Buffer | undefined;
    let token: string | undefined;
    const basic = /^basic\s+(\S+)\s*$/i.exec(header);
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(header);
    if (basic !== null) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return { ok: false, status: 401, error: 'malformed credentials' };
      username = decoded.slice(0, colon) || undefined;
      password = Buffer.from(decoded.slice(colon + 1), 'utf8');
    } else if (bearer !== null) {
      token = bearer[1];
    } else {
      return { ok: false, status: 401, error: 'use Basic or Bearer credentials' };
    }
    if (core.admission.blocked(address)) {
      return { ok: false, status: 429, error: 'too many failed logins from this address; try again later' };
    }
    const hook = core.hooks.authenticate;
    const verdict =
      hook === undefined
        ? true
        : await hook({
            clientId: `dashboard@${address}`,
            username,
            password,
            remoteAddress: address,
            transport: context.transport,
            protocolVersion: 5,
            certified: false,
            token,
          });
    const accepted = verdict === true || (typeof verdict === 'object' && 'ok' in verdict);
    if (!accepted) {
      core.admission.authFailed(address);
      core.log.info({ address, username }, 'dashboard login refused');
      return { ok: false, status: 401, error: 'bad username, password or token' };
    }
    const user = typeof verdict === 'object' && verdict.username !== undefined ? verdict.username : username;
    return { ok: true, caller: { user: user ?? null, permissions: this.permissions(user, context) } };
  }

  private permissions(username: string | undefined, context: RequestContext): ClientPermissions | undefined {
    return this.core.hooks.permissions?.({
      clientId: `dashboard@${context.address}`,
      username,
      remoteAddress: context.address,
      transport: context.transport,
    });
  }

  /** Connected clients, then offline persistent sessions. */
  private clients(): unknown[] {
    const list: unknown[] = [];
    for (const session of this.core.sessions.values()) {
      const subscriptions = [...session.subscriptions.values()].map((s) => ({
        filter: s.filter,
        qos: s.qos,
      }));
      const output = session.output;
      if (output instanceof Connection) {
        const info = output.link.info;
        list.push({
          clientId: session.clientId,
          username: output.username ?? null,
          address: info.remoteAddress,
          transport: info.transport,
          protocolVersion: output.version,
          keepAlive: output.keepAlive,
          subscriptions,
          inflight: session.inflight.size,
          queued: session.queue.length,
          connected: true,
          connectedAt: output.connectedAt,
          disconnectedAt: null,
        });
      } else {
        const identity = session.identity;
        list.push({
          clientId: session.clientId,
          username: identity?.username ?? null,
          address: identity?.remoteAddress ?? null,
          transport: identity?.transport ?? null,
          protocolVersion: null,
          keepAlive: null,
          subscriptions,
          inflight: session.inflight.size,
          queued: session.queue.length,
          connected: false,
          connectedAt: null,
          disconnectedAt: session.disconnectedAt ?? null,
        });
      }
    }
    return list;
  }
}

function isAdmin(caller: Caller): boolean {
  return caller.permissions === undefined || caller.permissions.canSubscribe('$SYS/#') === 'allow';
}

function send(response: ServerResponse, status: number, type: string, body: string, headers = {}): void {
  response.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(body);
}

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}
