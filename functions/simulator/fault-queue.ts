// Faults under test control: each applies to the next `times` calls whose
// method matches (no `method` = any REST call; the OAuth token endpoint only
// matches a fault with `method: 'oauth.token'`).
import { SimulatorOptionError } from './errors.js';
import type { FaultSpec } from './types.js';

export const TOKEN_ENDPOINT_METHOD = 'oauth.token';

interface ArmedFault {
  readonly spec: FaultSpec;
  remaining: number;
}

export class FaultQueue {
  private armed: ArmedFault[] = [];
  private applied = 0;

  get injectedCount(): number {
    return this.applied;
  }

  inject(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new SimulatorOptionError(`Fault "times" must be a positive integer, got ${String(spec.times)}.`);
    if (spec.kind === 'latency' && !(spec.ms >= 0)) throw new SimulatorOptionError('Latency fault "ms" must be >= 0.');
    if (spec.kind === 'error' && !(spec.status >= 400 && spec.status <= 599)) throw new SimulatorOptionError('Error fault "status" must be 4xx or 5xx.');
    this.armed.push({ spec, remaining: times });
  }

  clear(): void {
    this.armed = [];
  }

  /** The fault to apply to this call (consuming one use), or undefined. */
  take(method: string): FaultSpec | undefined {
    const lower = method.toLowerCase();
    const index = this.armed.findIndex((f) =>
      f.spec.method === undefined ? lower !== TOKEN_ENDPOINT_METHOD : f.spec.method.replace(/\.json$/i, '').toLowerCase() === lower,
    );
    const fault = this.armed[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.armed.splice(index, 1);
    this.applied += 1;
    return fault.spec;
  }
}
