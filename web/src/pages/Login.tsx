/** Username and password (or a token) for the API and the MQTT connections; checked by POST api/login. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type AuthMode, api, type BrokerInfo, type Credentials, type Identity } from '../lib/api';

interface Props {
  info: BrokerInfo;
  message: string | null;
  onLoggedIn: (info: BrokerInfo, credentials: Credentials, identity: Identity) => void;
}

export function LoginPage({ info, message, onLoggedIn }: Props) {
  const [mode, setMode] = useState<AuthMode>('basic');
  const [username, setUsername] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  const userField = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Log in · midge';
    userField.current?.focus();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    if (mode === 'basic' && username.trim() === '') {
      setError('Enter your username');
      return;
    }
    if (secret === '') {
      setError(mode === 'basic' ? 'Enter your password' : 'Paste your token');
      return;
    }
    const credentials: Credentials = { mode, username: username.trim(), secret };
    setBusy(true);
    setError(null);
    try {
      const identity = await api.login(credentials);
      onLoggedIn(info, credentials, identity);
    } catch (err) {
      setError((err as Error).message || 'Login failed');
      setBusy(false);
    }
  };

  return (
    <main class="login-screen" id="main">
      <form
        class="login-card"
        data-testid="login-form"
        onSubmit={submit}
        noValidate
        aria-labelledby="login-title"
      >
        <div class="login-brand">
          <svg viewBox="0 0 32 32" width="40" height="40" aria-hidden="true">
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
        </div>
        <h1 id="login-title">Sign in to midge</h1>
        <p class="login-intro muted">
          This broker asks for credentials. They are also used for the dashboard's MQTT connection.
        </p>

        <fieldset class="segmented wide">
          <legend class="sr-only">Sign in with</legend>
          <button
            type="button"
            class={mode === 'basic' ? 'active' : ''}
            aria-pressed={mode === 'basic'}
            onClick={() => setMode('basic')}
            data-testid="login-mode-password"
          >
            Password
          </button>
          <button
            type="button"
            class={mode === 'bearer' ? 'active' : ''}
            aria-pressed={mode === 'bearer'}
            onClick={() => setMode('bearer')}
            data-testid="login-mode-token"
          >
            Token (JWT)
          </button>
        </fieldset>

        <div class="field">
          <label for="login-username">
            Username{mode === 'bearer' && <span class="muted"> (optional)</span>}
          </label>
          <input
            id="login-username"
            ref={userField}
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            data-testid="login-username"
          />
        </div>
        <div class="field">
          <label for="login-secret">{mode === 'basic' ? 'Password' : 'Token'}</label>
          {mode === 'basic' ? (
            <input
              id="login-secret"
              type="password"
              name="password"
              autocomplete="current-password"
              value={secret}
              onInput={(e) => setSecret(e.currentTarget.value)}
              data-testid="login-password"
            />
          ) : (
            <textarea
              id="login-secret"
              name="token"
              rows={4}
              spellcheck={false}
              class="mono"
              placeholder="eyJhbGciOi…"
              value={secret}
              onInput={(e) => setSecret(e.currentTarget.value)}
              data-testid="login-password"
            />
          )}
        </div>
        <div class="login-error-slot">
          {error && (
            <p class="error-text" role="alert" data-testid="login-error">
              {error}
            </p>
          )}
        </div>
        <button type="submit" class="btn primary block" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <div class="login-foot muted small">midge {info.version}</div>
      </form>
    </main>
  );
}
