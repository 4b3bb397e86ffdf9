/**
 * At most `n` holders at a time; the others wait their turn, in order. A released turn passes straight to
 * the next waiter (no newcomer can slip in between, so the bound holds exactly).
 */
export function limiter(n: number): () => Promise<() => void> {
  let held = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next(); // the turn passes on: still held
    else held--;
  };
  return async () => {
    if (held < n) held++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  };
}
