import { describe, expect, it } from 'vitest';
import { SimulatorOptionError } from '../../../functions/simulator/errors.js';
import { FaultQueue } from '../../../functions/simulator/fault-queue.js';

describe('FaultQueue', () => {
  it('applies faults in order, per method, `times` each, and counts them', () => {
    const faults = new FaultQueue();
    faults.inject({ kind: 'html', method: 'im.v2.Event.get.json', times: 2 });
    faults.inject({ kind: 'reset' });
    expect(faults.take('profile')?.kind).toBe('reset');
    expect(faults.take('IM.V2.EVENT.GET')?.kind).toBe('html');
    expect(faults.take('im.v2.Event.get')?.kind).toBe('html');
    expect(faults.take('im.v2.Event.get')).toBeUndefined();
    expect(faults.injectedCount).toBe(3);
  });

  it('keeps method-less faults away from the token endpoint', () => {
    const faults = new FaultQueue();
    faults.inject({ kind: 'malformed' });
    expect(faults.take('oauth.token')).toBeUndefined();
    faults.clear();
    expect(faults.take('profile')).toBeUndefined();
  });

  it('rejects nonsense specs with a typed error', () => {
    const faults = new FaultQueue();
    expect(() => faults.inject({ kind: 'reset', times: 0 })).toThrow(SimulatorOptionError);
    expect(() => faults.inject({ kind: 'error', status: 200, code: 'X' })).toThrow(SimulatorOptionError);
    expect(() => faults.inject({ kind: 'latency', ms: -1 })).toThrow(SimulatorOptionError);
  });
});
