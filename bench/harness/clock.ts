/** Milliseconds on a time base shared by every process on the machine (sub-millisecond precision). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
