import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * Moves keyboard focus to the element once it appears: the field of a form just opened, the "No" of
 * a question just asked. (The `autofocus` attribute only works on page load.)
 */
export function useFocusOnMount<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
