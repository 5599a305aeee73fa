// Which queues a configuration needs: only the routes the configured source
// kinds can produce, plus the catch-all. Event types nobody can receive get
// no queue; should one arrive anyway it goes to the catch-all (never lost),
// because the poller only sees the routes returned here.
import type { PipelineConfig } from '../functions/shared/config.js';
import { routeKeys } from '../functions/shared/topology.js';

const USER_EVENT_PREFIX = 'ONIMV2';
const BOT_EVENT_PREFIX = 'ONIMBOTV2';

export interface DeployedRoutes {
  /** Event type → route key, restricted to the types the sources can receive (the poller's ROUTES). */
  readonly routes: Readonly<Record<string, string>>;
  /** Route keys with a queue, sorted, the catch-all included. */
  readonly routeKeys: readonly string[];
}

/** The routes a configuration deploys queues and consumers for. Pure. */
export function deployedRoutes(config: Pick<PipelineConfig, 'routes' | 'sources'>): DeployedRoutes {
  const receivesUserEvents = config.sources.some((s) => s.kind === 'user' || s.withUserEvents);
  const receivesBotEvents = config.sources.some((s) => s.kind === 'bot');
  const routes: Record<string, string> = {};
  for (const [eventType, route] of Object.entries(config.routes)) {
    // Bot types start with ONIMBOTV2, user types with ONIMV2; custom types
    // (a future Bitrix24 family) are kept: their queue costs nothing idle.
    const keep = eventType.startsWith(BOT_EVENT_PREFIX)
      ? receivesBotEvents
      : eventType.startsWith(USER_EVENT_PREFIX)
        ? receivesUserEvents
        : true;
    if (keep) routes[eventType] = route;
  }
  return { routes, routeKeys: routeKeys(routes) };
}
