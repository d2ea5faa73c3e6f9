import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { BrokerInfo, Credentials, Identity } from './api';
import type { ConsoleStore } from './console';
import type { DashboardLink } from './link';

/** Everything a page needs about who is logged in and the broker. */
export interface Session {
  info: BrokerInfo;
  credentials: Credentials | null;
  identity: Identity;
  link: DashboardLink;
  console: ConsoleStore;
  /** The MQTT WebSocket URL of this broker. */
  wsUrl: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside a session');
  return s;
}
