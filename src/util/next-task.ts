// A long loop of awaits never leaves the microtask queue, so timers, signal handlers and I/O
// callbacks wait for it to end. Awaiting nextTask() lets them run first.

/** Resolves once the event loop has run the tasks already waiting (setImmediate; a 0 ms timer in a browser). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
