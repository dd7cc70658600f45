// Long work cut into slices between frames, so that no task blocks the page: each frame runs the work
// for at most `budgetMs`, then the browser paints and handles input before the next slice.

const frame = (fn) => (globalThis.requestAnimationFrame ? requestAnimationFrame(fn) : setTimeout(fn, 0));
const cancelFrame = (id) => (globalThis.cancelAnimationFrame ? cancelAnimationFrame(id) : clearTimeout(id));

/**
 * Calls `work(timeLeft)` once per frame until it returns true. `work` does as much as it can while
 * timeLeft() (milliseconds) stays positive and returns whether it has finished. Returns {cancel()}.
 */
export function runSliced(work, { budgetMs = 8, nextFrame = frame, cancel = cancelFrame,
  now = () => performance.now() } = {}) {
  let handle = null;
  let cancelled = false;
  const slice = () => {
    handle = null;
    if (cancelled) return;
    const deadline = now() + budgetMs;
    if (!work(() => deadline - now())) handle = nextFrame(slice);
  };
  handle = nextFrame(slice);
  return {
    cancel() {
      cancelled = true;
      if (handle !== null) cancel(handle);
      handle = null;
    },
  };
}
