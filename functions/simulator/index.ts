// Bitrix24 portal simulator: a local HTTP portal for tests, the demo and benchmarks.
export { startPortalSimulator, DEFAULT_RATE_LIMIT } from './portal-simulator.js';
export type {
  CallRecord,
  EventTarget,
  FaultKind,
  FaultSpec,
  PortalActivity,
  PortalFaults,
  PortalSimulator,
  PortalSimulatorOptions,
  SentMessage,
} from './types.js';
export { encodeAppEventForm, type AppEventDelivery, type AppEventRecord, type InstallAppInput, type UninstallAppInput } from './app-install.js';
export { PROXY_502_PAGE } from './http-server.js';
export { TOKEN_ENDPOINT_METHOD } from './fault-queue.js';
export { LeakyBucket, type LeakyBucketOptions } from './leaky-bucket.js';
export { EventLog, readPage } from './event-log.js';
export { PortalSimulatorError, SimulatorOptionError, SimulatorServerError, UnknownSimulatorEntityError } from './errors.js';
