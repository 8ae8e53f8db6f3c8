// The one way the toolkit waits for something to become true: ask, and ask
// again every interval until an answer comes or the deadline passes. Every
// check runs at least once, and the deadline is reached at `Date.now() >=
// deadline`, whoever waits.

/** Milliseconds to wait between checks: a number, or a function for a varying pause (jitter). */
export type Interval = number | (() => number);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Call `check` until it answers something other than undefined, and return
 * that; undefined once `deadline` (epoch ms) has passed after a check that
 * did not answer. A check that throws ends the wait with its error.
 */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, deadline: number, interval: Interval): Promise<T | undefined> {
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() >= deadline) return undefined;
    await sleep(typeof interval === 'number' ? interval : interval());
  }
}

/** Whether `condition` holds within `ms`: pollUntil for a yes or no. */
export async function becomes(condition: () => boolean | Promise<boolean>, ms: number, interval: Interval): Promise<boolean> {
  return (await pollUntil(async () => ((await condition()) ? true : undefined), Date.now() + ms, interval)) === true;
}
