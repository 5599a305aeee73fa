// Per-portal rates from configuration: a default plus overrides per portal
// host, e.g. the poller's env PORTAL_BUDGETS =
// `{"default":{"requestsPerSecond":2,"burst":10},"portals":{"big.bitrix24.com":{"requestsPerSecond":5}}}`.
import * as z from 'zod';
import { PortalBudgetConfigError } from './errors.js';
import { gcraStep, type PortalRate } from './gcra.js';
import { STANDARD_PORTAL_RATE } from './portal-budget.js';

const rateInput = z.strictObject({ requestsPerSecond: z.number().positive().max(1000).optional(), burst: z.number().int().min(1).max(250).optional() });
/** The shape of PORTAL_BUDGETS and of the config's `fleet.portalBudgets`. */
export const portalRatesSchema = z.strictObject({ default: rateInput.optional(), portals: z.record(z.string().min(1), rateInput).optional() });
const schema = portalRatesSchema;

export type PortalRatesInput = z.input<typeof schema>;

/** Validates the settings and returns the lookup; a portal without an override gets the default. */
export function portalRates(input: PortalRatesInput = {}, where = 'portal budgets'): (portal: string) => PortalRate {
  return parseRates(input, where);
}

function parseRates(input: unknown, where: string): (portal: string) => PortalRate {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new PortalBudgetConfigError(`${where}: ${parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const fallback: PortalRate = { ...STANDARD_PORTAL_RATE, ...parsed.data.default };
  const overrides = new Map<string, PortalRate>();
  for (const [portal, rate] of Object.entries(parsed.data.portals ?? {})) {
    const full = { ...fallback, ...rate };
    // An Enterprise rate with the standard burst is legal but a burst scaled with the rate is what one means.
    overrides.set(portal.toLowerCase(), rate.burst === undefined && rate.requestsPerSecond !== undefined ? { ...full, burst: Math.max(fallback.burst, Math.round(fallback.burst * (rate.requestsPerSecond / fallback.requestsPerSecond))) } : full);
  }
  for (const rate of [fallback, ...overrides.values()]) gcraStep(rate);
  return (portal) => overrides.get(portal.toLowerCase()) ?? fallback;
}

/** Parses the JSON of an environment variable (absent: defaults). */
export function portalRatesFromJson(text: string | undefined, name = 'PORTAL_BUDGETS'): (portal: string) => PortalRate {
  if (text === undefined || text.trim() === '') return portalRates({}, name);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PortalBudgetConfigError(`${name} is not JSON; expected e.g. {"default":{"requestsPerSecond":2},"portals":{"<host>":{"requestsPerSecond":5}}}`);
  }
  return parseRates(value, name);
}
