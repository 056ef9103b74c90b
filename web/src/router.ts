import { useEffect, useState } from 'preact/hooks';

/** Client routes: `/` (home) and `/rooms/:roomId`. The server answers both with the page. */
export type Route = { name: 'home' } | { name: 'room'; roomId: string };

export function parseRoute(pathname: string): Route {
  const m = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  return m ? { name: 'room', roomId: decodeURIComponent(m[1]!) } : { name: 'home' };
}

export function roomPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}`;
}

const CHANGE = 'switchboard:navigate';

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(CHANGE));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return route;
}
