// One REST budget per portal (issue 13 §3): the shared request gate, its stores and rates.
export { PortalBudget, STANDARD_PORTAL_RATE, ENTERPRISE_PORTAL_RATE, type PortalBudgetOptions, type PortalBudgetStats } from './portal-budget.js';
export { DynamoDbPortalBudgetStore, portalBudgetKey, type DynamoDbPortalBudgetStoreOptions } from './dynamodb-store.js';
export { InMemoryPortalBudgetStore } from './in-memory-store.js';
export { portalRates, portalRatesFromJson, type PortalRatesInput } from './rates.js';
export { gcraStep, reserve, type PortalRate, type GcraStep } from './gcra.js';
export type { PortalBudgetStore, ReserveOutcome } from './ports.js';
export { PortalBudgetExhaustedError, PortalBudgetStoreError, PortalBudgetConfigError } from './errors.js';
