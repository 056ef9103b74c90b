/**
 * Where the client keeps its per-room cursors between connections (and, in a browser, between page
 * loads: pass a store backed by localStorage). Saved after every delivered log event.
 */
export interface CursorStore {
  load(): Record<string, number>;
  save(cursors: Record<string, number>): void;
}

export class MemoryCursorStore implements CursorStore {
  private cursors: Record<string, number> = {};
  load() {
    return { ...this.cursors };
  }
  save(cursors: Record<string, number>) {
    this.cursors = { ...cursors };
  }
}

/** A CursorStore over any `getItem`/`setItem` storage (window.localStorage). */
export class StorageCursorStore implements CursorStore {
  constructor(
    private readonly storage: { getItem(k: string): string | null; setItem(k: string, v: string): void },
    private readonly key = 'switchboard.cursors',
  ) {}
  load(): Record<string, number> {
    try {
      return JSON.parse(this.storage.getItem(this.key) ?? '{}') as Record<string, number>;
    } catch {
      return {};
    }
  }
  save(cursors: Record<string, number>) {
    this.storage.setItem(this.key, JSON.stringify(cursors));
  }
}
