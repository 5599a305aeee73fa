// The request gate every Bitrix24 client of a deployment shares (client.ts
// `requestGate`): before each HTTP request it reserves a slot on the portal's
// bucket and waits for it; an OPERATION_TIME_LIMIT answer to anyone pauses
// that method for everyone calling it on the portal. Sources of one portal
// polled by different shards and consumers' ctx.bitrix24 calls therefore
// share one rate, the portal's plan rate, instead of each assuming it has the
// portal to itself. The store decides the scope: DynamoDB (every process of
// the deployment) or memory (one process). Mechanism and why: docs/fleet.md.
import { setTimeout as sleepReal } from 'node:timers/promises';
import type { RequestGate, RequestGateAdmission, RequestGateRequest } from '../bitrix24/client.js';
import { PortalBudgetExhaustedError } from './errors.js';
import { gcraStep, type GcraStep, type PortalRate } from './gcra.js';
import type { PortalBudgetStore } from './ports.js';

/** Bitrix24's sustained rates (limits.md): "Others" 2/s with a bucket of 50, Enterprise 5/s with 250. */
export const STANDARD_PORTAL_RATE: PortalRate = { requestsPerSecond: 2, burst: 10 };
export const ENTERPRISE_PORTAL_RATE: PortalRate = { requestsPerSecond: 5, burst: 25 };

export interface PortalBudgetOptions {
  readonly store: PortalBudgetStore;
  /** The rate of a portal host. @default STANDARD_PORTAL_RATE for every portal */
  readonly rateOf?: (portal: string) => PortalRate;
  /** Longest a request waits for its slot when its call has no deadline, in ms. @default 60000 */
  readonly maxWaitMs?: number;
  /** ms epoch. @default Date.now */
  readonly now?: () => number;
  /** @default node:timers/promises setTimeout (abortable) */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface PortalBudgetStats {
  /** Requests admitted. */
  admitted: number;
  /** Total time admitted requests waited for their slot, in ms. */
  waitedMs: number;
  /** Requests refused (no slot before their deadline). */
  exhausted: number;
  /** Requests held by a portal-wide OPERATION_TIME_LIMIT pause. */
  paused: number;
}

function methodKey(method: string): string {
  return method.toLowerCase();
}

export class PortalBudget implements RequestGate {
  readonly #store: PortalBudgetStore;
  readonly #rateOf: (portal: string) => PortalRate;
  readonly #steps = new Map<string, GcraStep>();
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly stats: PortalBudgetStats = { admitted: 0, waitedMs: 0, exhausted: 0, paused: 0 };

  constructor(options: PortalBudgetOptions) {
    this.#store = options.store;
    this.#rateOf = options.rateOf ?? (() => STANDARD_PORTAL_RATE);
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => sleepReal(ms, undefined, signal === undefined ? undefined : { signal }));
  }

  #stepOf(portal: string): GcraStep {
    let step = this.#steps.get(portal);
    if (step === undefined) {
      step = gcraStep(this.#rateOf(portal));
      this.#steps.set(portal, step);
    }
    return step;
  }

  async admit(request: RequestGateRequest): Promise<RequestGateAdmission> {
    const now = this.#now();
    const maxWaitMs = request.deadline === undefined ? this.#maxWaitMs : Math.min(this.#maxWaitMs, request.deadline - now);
    const step = this.#stepOf(request.portal);
    const outcome = await this.#store.reserve(request.portal, { now, step, maxWaitMs });
    const pausedUntil = outcome.pauses[methodKey(request.method)];
    if (pausedUntil !== undefined && pausedUntil > now) {
      this.stats.paused += 1;
      return { pausedUntil };
    }
    if (outcome.kind === 'full') {
      this.stats.exhausted += 1;
      throw new PortalBudgetExhaustedError({ portal: request.portal, method: request.method, waitMs: outcome.tat - step.toleranceMs - now });
    }
    const waitMs = outcome.startAt - this.#now();
    if (waitMs > 0) await this.#sleep(waitMs, request.signal);
    this.stats.admitted += 1;
    this.stats.waitedMs += Math.max(0, waitMs);
    return {};
  }

  async pause(input: { readonly portal: string; readonly method: string; readonly until: number }): Promise<void> {
    await this.#store.pause(input.portal, methodKey(input.method), input.until);
  }
}
