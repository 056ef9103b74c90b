/** Resolves on the stream's next 'drain' (or 'close'), or at once when `done()` already holds. */
export function drained(stream: NodeJS.EventEmitter, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      stream.off('drain', finish);
      stream.off('close', finish);
      resolve();
    };
    stream.on('drain', finish);
    stream.on('close', finish);
  });
}
