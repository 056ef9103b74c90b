import { useEffect, useReducer } from 'preact/hooks';
import type { ChatStore } from './chat-store';

/** Re-renders the component whenever the store reports a change. */
export function useStore(store: ChatStore): void {
  const [, bump] = useReducer((n: number, _: undefined) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump(undefined)), [store]);
}
