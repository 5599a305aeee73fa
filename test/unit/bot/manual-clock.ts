// A TimerClock the test moves by hand: advance(ms) fires every timer due by then, in order.
import type { TimerClock } from '../../../functions/bot/typing-keepalive.js';

export class ManualClock implements TimerClock {
  now = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.now + delayMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers (and the timers they set) in time order; lets promises settle between them. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    await flushPromises();
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      const [id, timer] = due;
      this.#timers.delete(id);
      this.now = timer.at;
      timer.callback();
      await flushPromises();
    }
    this.now = until;
    await flushPromises();
  }
}

export async function flushPromises(): Promise<void> {
  for (let n = 0; n < 10; n += 1) await Promise.resolve();
}
