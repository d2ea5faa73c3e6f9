/** The header's indicator for the dashboard's own MQTT connection. */
import { useObservable, useTick } from '../lib/observable';
import { useSession } from '../lib/session';

const LABELS = {
  connected: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
} as const;

export function ConnectionStatus() {
  const { link } = useSession();
  useObservable(link);
  useTick(1000);
  const { state, error, nextRetryAt } = link;
  const retryIn = nextRetryAt === null ? null : Math.max(0, Math.ceil((nextRetryAt - Date.now()) / 1000));
  const waiting = state === 'reconnecting' && retryIn !== null && retryIn > 0;
  const title =
    state === 'connected'
      ? `Connected to the broker over MQTT as ${link.clientId}`
      : error
        ? `Not connected: ${error}`
        : 'Not connected to the broker';
  return (
    <div class="conn-status" data-testid="connection-status" data-state={state} title={title}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-label" role="status">
        <span class="sr-only">Broker connection: </span>
        {LABELS[state]}
        {error && state !== 'connected' && <span class="sr-only">: {error}</span>}
      </span>
      {waiting && (
        <button
          type="button"
          class="conn-retry"
          onClick={() => link.retryNow()}
          aria-label="Reconnect now"
          title={error ? `${error} — click to retry now` : 'Retry now'}
        >
          <span aria-hidden="true">{retryIn}s ↻</span>
        </button>
      )}
    </div>
  );
}
