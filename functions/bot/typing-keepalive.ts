// "The bot is typing / the agent is thinking", kept alive while a handler
// works. `imbot.v2.Chat.InputAction.notify` shows the indicator for `duration`
// seconds (1–600) (api-reference/chat-bots/chat-bots-v2/imbot.v2/ui/chat-input-action-notify.md),
// so a handler that thinks longer must send it again before it runs out:
//
//   t=0 notify(duration) ── t=duration−resendBefore notify ── … ── stop()
//
// Stops when stopped (the handler replied or returned) or after `maxSeconds`,
// so a hung handler does not type forever. A failed notify is reported to
// `onError` and never thrown: a missing indicator must not fail the handler.
// Timers come from an injected clock, so tests check the timing without waiting.

/** Status codes of chat-input-action-notify.md ("Available statusMessageCode"); none = the standard "typing". */
export const IMBOT_AGENT_ACTION_THINKING = 'IMBOT_AGENT_ACTION_THINKING';
export const IMBOT_AGENT_ACTION_SEARCHING = 'IMBOT_AGENT_ACTION_SEARCHING';
export const IMBOT_AGENT_ACTION_GENERATING = 'IMBOT_AGENT_ACTION_GENERATING';
export const IMBOT_AGENT_ACTION_ANALYZING = 'IMBOT_AGENT_ACTION_ANALYZING';
export const IMBOT_AGENT_ACTION_PROCESSING = 'IMBOT_AGENT_ACTION_PROCESSING';
export const IMBOT_AGENT_ACTION_TRANSLATING = 'IMBOT_AGENT_ACTION_TRANSLATING';
export const IMBOT_AGENT_ACTION_CONNECTING = 'IMBOT_AGENT_ACTION_CONNECTING';
export const IMBOT_AGENT_ACTION_CHECKING = 'IMBOT_AGENT_ACTION_CHECKING';
export const IMBOT_AGENT_ACTION_CALCULATING = 'IMBOT_AGENT_ACTION_CALCULATING';
export const IMBOT_AGENT_ACTION_READING_DOCS = 'IMBOT_AGENT_ACTION_READING_DOCS';
export const IMBOT_AGENT_ACTION_COMPOSING = 'IMBOT_AGENT_ACTION_COMPOSING';

export const TYPING_STATUS_CODES = [
  IMBOT_AGENT_ACTION_THINKING,
  IMBOT_AGENT_ACTION_SEARCHING,
  IMBOT_AGENT_ACTION_GENERATING,
  IMBOT_AGENT_ACTION_ANALYZING,
  IMBOT_AGENT_ACTION_PROCESSING,
  IMBOT_AGENT_ACTION_TRANSLATING,
  IMBOT_AGENT_ACTION_CONNECTING,
  IMBOT_AGENT_ACTION_CHECKING,
  IMBOT_AGENT_ACTION_CALCULATING,
  IMBOT_AGENT_ACTION_READING_DOCS,
  IMBOT_AGENT_ACTION_COMPOSING,
] as const;

export type TypingStatusCode = (typeof TYPING_STATUS_CODES)[number];

/** Range of `duration` (chat-input-action-notify.md). */
export const TYPING_DURATION_SECONDS = { min: 1, max: 600 } as const;

/** What one notify carries; the caller adds botId, botToken and dialogId. */
export interface TypingNotice {
  readonly statusMessageCode?: TypingStatusCode;
  /** Seconds the indicator shows. */
  readonly duration: number;
}

export type NotifyTyping = (notice: TypingNotice) => Promise<unknown>;

/** The timers the keep-alive uses: `systemTimers` in production, a manual clock in tests. */
export interface TimerClock {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: a typing indicator never keeps a process alive on its own. */
export const systemTimers: TimerClock = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TypingOptions {
  /** The status shown. @default none: the standard "typing" indicator */
  readonly statusCode?: TypingStatusCode;
  /** `duration` of each notify, in seconds, 1–600. @default 30 */
  readonly durationSeconds?: number;
  /** Re-send this many seconds before the indicator runs out. @default min(5, durationSeconds / 2) */
  readonly resendBeforeSeconds?: number;
  /** Stop keeping the indicator alive after this many seconds. @default 600 */
  readonly maxSeconds?: number;
  /** @default systemTimers */
  readonly clock?: TimerClock;
  /** Told about every failed notify (log it); never rethrown. @default ignored */
  readonly onError?: (error: unknown) => void;
}

export interface TypingHandle {
  /** Stops re-sending; idempotent. A notify already sent still shows until its duration ends or the bot's message arrives. */
  stop(): void;
  readonly active: boolean;
  /** Notifies sent so far. */
  readonly sent: number;
  /** Resolves when the notify in flight (if any) has settled; never rejects. */
  settled(): Promise<void>;
}

/** Sends the indicator now and again before it runs out, until `stop()`. */
export function startTyping(notify: NotifyTyping, options: TypingOptions = {}): TypingHandle {
  const duration = options.durationSeconds ?? 30;
  if (!Number.isInteger(duration) || duration < TYPING_DURATION_SECONDS.min || duration > TYPING_DURATION_SECONDS.max) {
    throw new RangeError(`startTyping: durationSeconds must be an integer from 1 to 600 (chat-input-action-notify.md); got ${duration}.`);
  }
  const resendBefore = options.resendBeforeSeconds ?? Math.min(5, duration / 2);
  const intervalMs = Math.max(1000, (duration - resendBefore) * 1000);
  const maxMs = (options.maxSeconds ?? 600) * 1000;
  const clock = options.clock ?? systemTimers;
  const notice: TypingNotice = { duration, ...(options.statusCode === undefined ? {} : { statusMessageCode: options.statusCode }) };

  let active = true;
  let sent = 0;
  let elapsedMs = 0;
  let timer: unknown;
  let inFlight: Promise<void> | undefined;

  const send = (): void => {
    // A notify still hanging from the last round: do not pile another on it.
    if (inFlight !== undefined) return;
    sent += 1;
    const reportError = (error: unknown): void => options.onError?.(error);
    let call: Promise<unknown>;
    try {
      call = notify(notice);
    } catch (error) {
      reportError(error);
      call = Promise.resolve();
    }
    inFlight = call
      .then(() => undefined, reportError)
      .finally(() => {
        inFlight = undefined;
      });
  };

  const schedule = (): void => {
    if (!active || elapsedMs + intervalMs > maxMs) {
      active = false;
      return;
    }
    timer = clock.setTimeout(() => {
      elapsedMs += intervalMs;
      if (!active) return;
      send();
      schedule();
    }, intervalMs);
  };

  send();
  schedule();

  return {
    stop() {
      if (!active) return;
      active = false;
      if (timer !== undefined) clock.clearTimeout(timer);
    },
    get active() {
      return active;
    },
    get sent() {
      return sent;
    },
    settled: async () => {
      await inFlight;
    },
  };
}
