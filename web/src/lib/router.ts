/** Hash routing: #/overview, #/topics, #/devices, #/console (each page is addressable by URL). */
import { useEffect, useState } from 'preact/hooks';

export type Page = 'overview' | 'topics' | 'devices' | 'console';

export const PAGES: { id: Page; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'topics', label: 'Topics' },
  { id: 'devices', label: 'Devices' },
  { id: 'console', label: 'Console' },
];

export interface Route {
  page: Page;
  /** What follows the page in the hash, e.g. the selected topic: #/topics/sensors%2Ftemp */
  param: string | null;
}

export function parseHash(hash: string): Route {
  const m = /^#\/?([a-z]+)(?:\/(.*))?$/.exec(hash);
  const page = PAGES.find((p) => p.id === m?.[1])?.id ?? 'overview';
  let param: string | null = null;
  if (m?.[2]) {
    try {
      param = decodeURIComponent(m[2]);
    } catch {
      param = null;
    }
  }
  return { page, param };
}

export function hrefFor(page: Page, param?: string | null): string {
  return param ? `#/${page}/${encodeURIComponent(param)}` : `#/${page}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Changes the hash without adding a history entry (selection inside a page). */
export function replaceHash(href: string): void {
  if (location.hash === href) return;
  history.replaceState(null, '', href);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
