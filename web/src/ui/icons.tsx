/** Inline icons (no emoji font needed, nothing fetched); decorative, so hidden from screen readers. */
const base = {
  width: 16,
  height: 16,
  viewBox: '0 0 24 24',
  fill: 'none',
  stroke: 'currentColor',
  'stroke-width': 2,
  'stroke-linecap': 'round',
  'stroke-linejoin': 'round',
  focusable: 'false',
} as const;

export function PaperclipIcon() {
  return (
    <svg {...base} aria-hidden="true">
      <path d="M21 12.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l9.2-9.2a3.7 3.7 0 0 1 5.2 5.2l-9.2 9.2a1.8 1.8 0 0 1-2.6-2.6l8.5-8.5" />
    </svg>
  );
}

export function PinIcon() {
  return (
    <svg {...base} aria-hidden="true">
      <path d="M12 17v5M9 3h6l-1 7 4 3v2H6v-2l4-3z" />
    </svg>
  );
}

export function FileIcon() {
  return (
    <svg {...base} aria-hidden="true">
      <path d="M14 3H6a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8z M14 3v5h5" />
    </svg>
  );
}

export function LockIcon() {
  return (
    <svg {...base} width={12} height={12} aria-hidden="true">
      <path d="M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4" />
    </svg>
  );
}
