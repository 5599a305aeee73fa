// The live view of a local run: a compact table redrawn about once a second
// on a terminal, or one plain line every few seconds when the output is not a
// TTY (CI logs, files). Rendering is pure; the ticker only schedules it.
import type { FlowSnapshot } from './flow-stats.js';
import type { QueueDepths } from './pipeline-runtime.js';

export interface SourceLine {
  readonly sourceId: string;
  readonly committedOffset?: number;
  readonly leaseHolder?: string;
  /** ms until the lease expires (negative: expired). */
  readonly leaseExpiresInMs?: number;
  readonly runs: number;
  readonly lastStop?: string;
  readonly lastError?: string;
}

export interface ProgressFrame {
  readonly title: string;
  readonly elapsedMs: number;
  readonly flow: FlowSnapshot;
  readonly sources: readonly SourceLine[];
  readonly queues?: QueueDepths;
  /** Demo: events the simulator generated so far. */
  readonly generated?: number;
  /** Demo: faults the simulator injected so far. */
  readonly faultsInjected?: number;
  /** A line about what the run is doing now, e.g. "draining". */
  readonly phase?: string;
  /** The live log's last lines (handler logs, errors, replies), drawn under the table on a terminal. */
  readonly recent?: readonly string[];
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padLeft = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

function headline(frame: ProgressFrame): string {
  const parts = [`${frame.title} · ${formatMs(frame.elapsedMs)}`];
  if (frame.phase !== undefined) parts.push(frame.phase);
  if (frame.generated !== undefined) parts.push(`generated ${frame.generated}`);
  if (frame.faultsInjected !== undefined) parts.push(`faults injected ${frame.faultsInjected}`);
  return parts.join(' · ');
}

function sourceText(source: SourceLine): string {
  const lease =
    source.leaseHolder === undefined
      ? 'lease free'
      : `lease ${source.leaseHolder}${source.leaseExpiresInMs === undefined ? '' : ` (${source.leaseExpiresInMs >= 0 ? `expires in ${formatMs(source.leaseExpiresInMs)}` : 'expired'})`}`;
  const parts = [
    `source ${source.sourceId}`,
    `offset ${source.committedOffset === undefined ? '–' : String(source.committedOffset)}`,
    lease,
    `runs ${source.runs}${source.lastStop === undefined ? '' : ` (last: ${source.lastStop})`}`,
  ];
  if (source.lastError !== undefined) parts.push(`last error: ${source.lastError}`);
  return parts.join(' · ');
}

function queueText(frame: ProgressFrame): string {
  const q = frame.queues;
  const parts = q === undefined ? [] : [`queues: ${q.visible} waiting`, `${q.inFlight} in flight`, `DLQ ${q.deadLettered}`];
  parts.push(`duplicates absorbed ${frame.flow.duplicatesAbsorbed}`);
  if (frame.flow.consumerFailures > 0) parts.push(`handler failures ${frame.flow.consumerFailures} (retried)`);
  return parts.join(' · ');
}

/** The multi-line view for a terminal. */
export function renderFrame(frame: ProgressFrame): string[] {
  const widths = [24, 8, 10, 10, 12];
  const row = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? pad(cell, widths[i] ?? 10) : padLeft(cell, widths[i] ?? 10))).join(' ');
  const lines = [headline(frame), row(['type', 'polled', 'published', 'consumed', 'age (last)'])];
  for (const t of frame.flow.types) {
    lines.push(row([t.type, String(t.polled), String(t.published), String(t.consumed), formatMs(t.lastAgeMs)]));
  }
  const { totals } = frame.flow;
  lines.push(
    row(['total', String(totals.polled), String(totals.published), String(totals.consumed), '']) +
      `  age p50 ${formatMs(frame.flow.ageP50Ms)} · p99 ${formatMs(frame.flow.ageP99Ms)}`,
  );
  for (const source of frame.sources) lines.push(sourceText(source));
  lines.push(queueText(frame));
  if (frame.recent !== undefined && frame.recent.length > 0) lines.push('── live ──', ...frame.recent);
  return lines;
}

/** One line for logs. */
export function renderPlainLine(frame: ProgressFrame): string {
  const { totals } = frame.flow;
  const leases = frame.sources
    .map((s) => `${s.sourceId}@${s.committedOffset ?? '–'} ${s.leaseHolder === undefined ? 'lease free' : `lease ${s.leaseHolder}`}`)
    .join(', ');
  return [
    `[${formatMs(frame.elapsedMs)}]`,
    frame.phase,
    frame.generated === undefined ? undefined : `generated ${frame.generated}`,
    `polled ${totals.polled}`,
    `published ${totals.published}`,
    `consumed ${totals.consumed}`,
    `age p50 ${formatMs(frame.flow.ageP50Ms)}`,
    leases,
    frame.queues === undefined ? undefined : `waiting ${frame.queues.visible} DLQ ${frame.queues.deadLettered}`,
  ]
    .filter((part): part is string => part !== undefined && part !== '')
    .join(' · ');
}

export interface ProgressViewOptions {
  readonly frame: () => Promise<ProgressFrame>;
  readonly write: (text: string) => void;
  /** Redraw in place (ANSI) instead of printing plain lines. @default false */
  readonly tty?: boolean;
  /** ms between TTY redraws. @default 1000 */
  readonly intervalMs?: number;
  /** ms between plain lines when not a TTY. @default 5000 */
  readonly plainIntervalMs?: number;
}

export interface ProgressView {
  /** Draws a last frame and stops the ticker. */
  stop(): Promise<void>;
}

export function startProgressView(options: ProgressViewOptions): ProgressView {
  const tty = options.tty ?? false;
  let drawnLines = 0;
  let busy: Promise<void> = Promise.resolve();
  const draw = async () => {
    let frame: ProgressFrame;
    try {
      frame = await options.frame();
    } catch {
      return; // a transient read failure skips one frame
    }
    if (tty) {
      const lines = renderFrame(frame);
      const up = drawnLines > 0 ? `\x1b[${drawnLines}A\x1b[J` : '';
      options.write(`${up}${lines.join('\n')}\n`);
      drawnLines = lines.length;
    } else {
      options.write(`${renderPlainLine(frame)}\n`);
    }
  };
  const tick = () => {
    busy = busy.then(draw);
  };
  tick();
  const timer = setInterval(tick, tty ? (options.intervalMs ?? 1000) : (options.plainIntervalMs ?? 5000));
  return {
    async stop() {
      clearInterval(timer);
      await busy;
      tick();
      await busy;
    },
  };
}
