/**
 * The shell: load the broker's info, log in when it asks for authentication, then the header (user,
 * connection status, navigation) and the page the hash names.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ConnectionStatus } from './components/ConnectionStatus';
import {
  ApiError,
  api,
  type BrokerInfo,
  type Credentials,
  clearCredentials,
  type Identity,
  loadCredentials,
  saveCredentials,
  setApiCredentials,
  setUnauthorizedHandler,
} from './lib/api';
import { ConsoleStore } from './lib/console';
import { DashboardLink } from './lib/link';
import { brokerWsUrl } from './lib/mqtt';
import { hrefFor, PAGES, type Page, useRoute } from './lib/router';
import { type Session, SessionContext } from './lib/session';
import { ConsolePage } from './pages/Console';
import { DevicesPage } from './pages/Devices';
import { LoginPage } from './pages/Login';
import { OverviewPage } from './pages/Overview';
import { TopicsPage } from './pages/Topics';

type Boot =
  | { state: 'loading' }
  | { state: 'unreachable'; message: string }
  | { state: 'login'; info: BrokerInfo; message: string | null }
  | { state: 'in'; info: BrokerInfo; credentials: Credentials | null; identity: Identity };

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });

  const start = useCallback(async () => {
    setBoot({ state: 'loading' });
    let info: BrokerInfo;
    try {
      info = await api.info();
    } catch (e) {
      setBoot({ state: 'unreachable', message: (e as Error).message });
      return;
    }
    const stored = loadCredentials();
    try {
      if (info.authRequired) {
        if (stored === null) {
          setBoot({ state: 'login', info, message: null });
          return;
        }
        const identity = await api.login(stored);
        setApiCredentials(stored);
        setBoot({ state: 'in', info, credentials: stored, identity });
      } else {
        setApiCredentials(stored);
        const identity = await api.whoami();
        setBoot({ state: 'in', info, credentials: stored, identity });
      }
    } catch (e) {
      // 401: the stored credentials no longer work; 429: too many failed logins. Either way: log in.
      if (e instanceof ApiError && (e.status === 401 || e.status === 429)) {
        clearCredentials();
        setApiCredentials(null);
        setBoot({ state: 'login', info, message: e.message });
      } else {
        setBoot({ state: 'unreachable', message: (e as Error).message });
      }
    }
  }, []);

  useEffect(() => {
    void start();
  }, [start]);

  // Any 401 from the API: back to the login page, saying why.
  useEffect(() => {
    setUnauthorizedHandler((message) => {
      clearCredentials();
      setApiCredentials(null);
      setBoot((b) =>
        b.state === 'in' && b.info.authRequired ? { state: 'login', info: b.info, message } : b,
      );
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  const onLoggedIn = useCallback((info: BrokerInfo, credentials: Credentials, identity: Identity) => {
    saveCredentials(credentials);
    setApiCredentials(credentials);
    setBoot({ state: 'in', info, credentials, identity });
  }, []);

  const logout = useCallback(() => {
    clearCredentials();
    setApiCredentials(null);
    setBoot((b) => (b.state === 'in' ? { state: 'login', info: b.info, message: null } : b));
  }, []);

  if (boot.state === 'loading') {
    return (
      <div class="splash" aria-busy="true">
        <Brand />
        <p>Connecting to the broker…</p>
      </div>
    );
  }
  if (boot.state === 'unreachable') {
    return (
      <main class="splash" id="main">
        <Brand />
        <h1>The broker cannot be reached</h1>
        <p class="error-text" role="alert">
          {boot.message}
        </p>
        <button type="button" class="btn primary" onClick={() => void start()}>
          Try again
        </button>
      </main>
    );
  }
  if (boot.state === 'login') {
    return <LoginPage info={boot.info} message={boot.message} onLoggedIn={onLoggedIn} />;
  }
  return (
    <Dashboard info={boot.info} credentials={boot.credentials} identity={boot.identity} onLogout={logout} />
  );
}

function Brand() {
  return (
    <span class="brand">
      <svg class="brand-mark" viewBox="0 0 32 32" width="24" height="24" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="currentColor" />
        <circle cx="16" cy="16" r="5" fill="var(--brand-ink)" />
        <path
          d="M6 16a10 10 0 0 1 20 0"
          fill="none"
          stroke="var(--brand-ink)"
          stroke-width="2.2"
          stroke-linecap="round"
        />
      </svg>
      <span class="brand-name">midge</span>
    </span>
  );
}

function Dashboard({
  info,
  credentials,
  identity,
  onLogout,
}: {
  info: BrokerInfo;
  credentials: Credentials | null;
  identity: Identity;
  onLogout: () => void;
}) {
  const route = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const wsUrl = useMemo(() => brokerWsUrl(info.mqttPath), [info.mqttPath]);

  // One dashboard connection and one console per login.
  const session: Session = useMemo(() => {
    const link = new DashboardLink(wsUrl, credentials);
    return { info, credentials, identity, link, console: new ConsoleStore(), wsUrl };
  }, [info, credentials, identity, wsUrl]);
  useEffect(() => {
    session.link.start();
    return () => {
      session.link.stop();
      session.console.dispose();
    };
  }, [session]);

  const pages = PAGES.filter((p) => p.id !== 'devices' || identity.admin);
  const page: Page = route.page;

  const firstPage = useRef(true);
  useEffect(() => {
    setMenuOpen(false);
    const label = PAGES.find((p) => p.id === page)?.label ?? '';
    document.title = `${label} · midge`;
    // After a navigation, keyboard and screen-reader users start at the new page.
    if (firstPage.current) firstPage.current = false;
    else document.getElementById('main')?.focus({ preventScroll: true });
  }, [page]);

  const skipToMain = () => document.getElementById('main')?.focus();

  return (
    <SessionContext.Provider value={session}>
      <button type="button" class="skip-link" onClick={skipToMain}>
        Skip to content
      </button>
      <header class="topbar">
        <div class="topbar-row">
          <a class="brand-link" href={hrefFor('overview')} aria-label="midge dashboard home">
            <Brand />
            <span class="brand-version">{info.version}</span>
          </a>
          <ConnectionStatus />
          <button
            type="button"
            class="nav-toggle"
            aria-expanded={menuOpen}
            aria-controls="account-box"
            onClick={() => setMenuOpen((o) => !o)}
            data-testid="account-toggle"
          >
            <svg
              viewBox="0 0 24 24"
              width="20"
              height="20"
              aria-hidden="true"
              fill="none"
              stroke="currentColor"
              stroke-width="2"
            >
              {menuOpen ? (
                <path d="M6 6l12 12M18 6L6 18" stroke-linecap="round" />
              ) : (
                <>
                  <circle cx="12" cy="8" r="4" />
                  <path d="M4 20c1.5-4 4.5-6 8-6s6.5 2 8 6" stroke-linecap="round" />
                </>
              )}
            </svg>
            <span class="sr-only">Account</span>
          </button>
        </div>
        <nav id="main-nav" class="main-nav" aria-label="Main">
          <ul>
            {pages.map((p) => (
              <li key={p.id}>
                <a
                  href={hrefFor(p.id)}
                  data-testid={`nav-${p.id}`}
                  aria-current={p.id === page ? 'page' : undefined}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div id="account-box" class={`user-box${menuOpen ? ' open' : ''}`}>
          <span class="user-name" data-testid="user-name" title={identity.admin ? 'Administrator' : 'User'}>
            {identity.user ?? (info.authRequired ? '' : 'anonymous')}
            {identity.admin && <span class="badge">admin</span>}
          </span>
          {info.authRequired && (
            <button type="button" class="btn small" data-testid="logout" onClick={onLogout}>
              Log out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1} class={`page page-${page}`}>
        {page === 'overview' && <OverviewPage />}
        {page === 'topics' && <TopicsPage selected={route.param} />}
        {page === 'devices' &&
          (identity.admin ? (
            <DevicesPage />
          ) : (
            <section class="panel notice" data-testid="devices-no-access">
              <h1>Devices</h1>
              <p>Only administrators can see the broker's clients.</p>
            </section>
          ))}
        {page === 'console' && <ConsolePage />}
      </main>
    </SessionContext.Provider>
  );
}
