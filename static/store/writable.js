// A tiny store in the manner of Svelte's writable: get() the state, set(patch) to change some keys,
// subscribe(fn) to hear which keys changed. The state object is replaced, never mutated, so a
// subscriber may keep the one it was given and compare.

/**
 * set(patch) merges `patch` and calls every subscriber with (state, changed), `changed` being the Set
 * of keys whose value differs (Object.is); it returns that Set. A set() made by a subscriber is
 * applied at once but announced after the current round, so every subscriber hears the changes in
 * the order they were made.
 */
export function writable(initial) {
  let state = Object.freeze({ ...initial });
  const subscribers = new Set();
  const pending = [];
  let announcing = false;

  function announce() {
    announcing = true;
    try {
      while (pending.length) {
        const changed = pending.shift();
        for (const fn of [...subscribers]) {
          if (!subscribers.has(fn)) continue; // unsubscribed by an earlier subscriber in this round
          try {
            fn(state, changed);
          } catch (error) {
            console.error("a store subscriber failed", error);
          }
        }
      }
    } finally {
      announcing = false;
    }
  }

  return {
    get: () => state,
    set(patch) {
      const changed = new Set();
      for (const [key, value] of Object.entries(patch)) if (!Object.is(state[key], value)) changed.add(key);
      if (!changed.size) return changed;
      state = Object.freeze({ ...state, ...patch });
      pending.push(changed);
      if (!announcing) announce();
      return changed;
    },
    /** Calls fn(state, changed) after every change; returns the function that unsubscribes it. */
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

/** Whether any of `keys` is in `changed`. */
export const touches = (changed, ...keys) => keys.some((key) => changed.has(key));
