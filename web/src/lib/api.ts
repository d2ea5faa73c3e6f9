/**
 * The broker's JSON API, relative to the dashboard's own URL (so it works under a sub-path), with the
 * credentials of the session. A 401 from any call but the login itself goes back to the login page.
 */

export type AuthMode = 'basic' | 'bearer';

export interface Credentials {
  mode: AuthMode;
  /** For 'bearer' the MQTT CONNECT username (any name works with a token); may be empty. */
  username: string;
  /** The password, or the token. */
  secret: string;
}

export interface BrokerInfo {
  version: string;
  mqttPath: string;
  authRequired: boolean;
  sysInterval: number;
}

export interface Identity {
  user: string | null;
  admin: boolean;
}

export interface Subscription {
  filter: string;
  qos: number;
}

export type Transport = 'tcp' | 'tls' | 'ws' | 'wss';

export interface ClientInfo {
  clientId: string;
  username: string | null;
  address: string | null;
  transport: Transport | null;
  protocolVersion: 3 | 4 | 5 | null;
  keepAlive: number | null;
  subscriptions: Subscription[];
  inflight: number;
  queued: number;
  connected: boolean;
  connectedAt: number | null;
  disconnectedAt: number | null;
}

const STORAGE_KEY = 'midge.credentials';

export function loadCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (raw === null) return null;
    const c = JSON.parse(raw) as Partial<Credentials>;
    if ((c.mode === 'basic' || c.mode === 'bearer') && typeof c.secret === 'string') {
      return { mode: c.mode, username: typeof c.username === 'string' ? c.username : '', secret: c.secret };
    }
  } catch {
    // storage unavailable or corrupt: not logged in
  }
  return null;
}

export function saveCredentials(credentials: Credentials): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  } catch {
    // private mode without storage: the session lasts as long as the page
  }
}

export function clearCredentials(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

function base64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function authorization(credentials: Credentials | null): string | undefined {
  if (credentials === null) return undefined;
  if (credentials.mode === 'bearer') return `Bearer ${credentials.secret.trim()}`;
  return `Basic ${base64Utf8(`${credentials.username}:${credentials.secret}`)}`;
}

/** The username and password the MQTT CONNECT carries for these credentials. */
export function mqttCredentials(credentials: Credentials | null): { username?: string; password?: string } {
  if (credentials === null) return {};
  if (credentials.mode === 'bearer') {
    return { username: credentials.username || 'jwt', password: credentials.secret.trim() };
  }
  return { username: credentials.username, password: credentials.secret };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let credentials: Credentials | null = null;
let onUnauthorized: ((message: string) => void) | null = null;

export function setApiCredentials(c: Credentials | null): void {
  credentials = c;
}

export function setUnauthorizedHandler(handler: ((message: string) => void) | null): void {
  onUnauthorized = handler;
}

/** Resolves `path` (no leading slash) against the page: `api/info` under /dashboard/ is /dashboard/api/info. */
export function apiUrl(path: string): string {
  return new URL(path, document.baseURI).toString();
}

interface RequestOptions {
  method?: string;
  /** Use these credentials instead of the session's (login). */
  credentials?: Credentials | null;
  /** Do not send the session back to the login page on 401 (the login form reports it itself). */
  handle401?: boolean;
  timeoutMs?: number;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = authorization(options.credentials === undefined ? credentials : options.credentials);
  if (auth !== undefined) headers.authorization = auth;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: options.method ?? 'GET',
      headers,
      cache: 'no-store',
      // The Authorization header is set explicitly. 'omit' also keeps the browser from opening its own
      // login prompt when a 401 carries `WWW-Authenticate: Basic` (fetch only prompts with credentials).
      credentials: 'omit',
      signal: controller.signal,
    });
  } catch (error) {
    const aborted = (error as Error).name === 'AbortError';
    throw new ApiError(0, aborted ? 'The broker did not answer in time' : 'Cannot reach the broker');
  } finally {
    clearTimeout(timer);
  }
  let body: unknown = null;
  const text = await response.text().catch(() => '');
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const fromBody =
      body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : '';
    const message =
      fromBody ||
      (response.status === 401
        ? 'Authentication required'
        : response.status === 403
          ? 'Not allowed for this user'
          : `${response.status} ${response.statusText}`.trim());
    if (response.status === 401 && options.handle401 !== false) onUnauthorized?.(message);
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export const api = {
  info: () => request<BrokerInfo>('api/info', { credentials: null, handle401: false }),
  login: (c: Credentials) =>
    request<Identity>('api/login', { method: 'POST', credentials: c, handle401: false }),
  whoami: () => request<Identity>('api/whoami'),
  clients: () => request<{ clients: ClientInfo[] }>('api/clients'),
  disconnect: (clientId: string) =>
    request<null>(`api/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE' }),
};
