/** A presence dot with its status as its accessible name. */
export function PresenceDot({ status }: { status: string | undefined }) {
  const s = status ?? 'offline';
  return (
    <span
      class={`dot dot--${s}`}
      role="img"
      aria-label={s}
      title={s}
      data-testid="presence"
      data-status={s}
    />
  );
}
