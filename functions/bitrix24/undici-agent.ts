// undici's Agent without the rest of undici. `import { Agent } from 'undici'`
// loads undici's index, which requires everything it exports (fetch,
// WebSocket, EventSource, mock agents, caches…): 538 KB of the poller's
// bundle, because esbuild cannot drop unused parts of a CommonJS module. The
// transport needs only the Agent and the `request` API, so this loads exactly
// those modules and patches the API onto Dispatcher the way undici's index does
// (`Object.assign(Dispatcher.prototype, api)`). undici is pinned in
// package.json; the paths are checked by the transport's tests against it.
import type { Agent as UndiciAgent } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';

Object.assign((Dispatcher as { prototype: object }).prototype, api);

export const Agent: typeof UndiciAgent = AgentClass as typeof UndiciAgent;
export type Agent = UndiciAgent;
