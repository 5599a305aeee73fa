// Which queues a configuration needs: only the routes the configured source
// kinds can produce, plus the catch-all. Event types nobody can receive get
// no queue; should one arrive anyway it goes to the catch-all (never lost),
// because the poller only sees the routes returned here.
import type { PipelineConfig } from '../functions/shared/config.js';
import { CATCH_ALL_ROUTE, routeKeys } from '../functions/shared/topology.js';

const USER_EVENT_PREFIX = 'ONIMV2';
const BOT_EVENT_PREFIX = 'ONIMBOTV2';

export interface DeployedRoutes {
  /** Event type → route key, restricted to the types the sources can receive (the poller's ROUTES). */
  readonly routes: Readonly<Record<string, string>>;
  /** Route keys with a queue, sorted, the catch-all included. */
  readonly routeKeys: readonly string[];
}

/** The routes a configuration deploys queues and consumers for. Pure. */
export function deployedRoutes(config: Pick<PipelineConfig, 'routes' | 'sources'> & Partial<Pick<PipelineConfig, 'sourceKinds'>>): DeployedRoutes {
  const kinds = deployedSourceKinds(config);
  const receivesUserEvents = kinds.includes('user');
  const receivesBotEvents = kinds.includes('bot');
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

/**
 * The kinds of source the deployment has queues for: config `sourceKinds`, else the kinds the configured
 * sources need (a bot with withUserEvents needs the user routes too), else — no configured source, every
 * source comes at run time — both. Pure.
 */
export function deployedSourceKinds(config: Pick<PipelineConfig, 'sources'> & Partial<Pick<PipelineConfig, 'sourceKinds'>>): ReadonlyArray<'user' | 'bot'> {
  if (config.sourceKinds !== undefined) return [...new Set(config.sourceKinds)].sort();
  if (config.sources.length === 0) return ['bot', 'user'];
  const kinds = new Set<'user' | 'bot'>();
  for (const source of config.sources) {
    kinds.add(source.kind);
    if (source.withUserEvents) kinds.add('user');
  }
  return [...kinds].sort();
}

/**
 * The sources whose events can reach a route: a consumer may call Bitrix24
 * as these sources only, so it gets their secrets and token items and no
 * others. ONIMBOTV2* types come from bot sources, ONIMV2* types from user
 * sources and bot sources with `withUserEvents`; the catch-all and custom
 * types can carry anything, so they get every source. Disabled sources
 * count: their events may still sit in the queues. Pure.
 */
export function sourcesOfRoute<S extends Pick<PipelineConfig['sources'][number], 'id' | 'kind' | 'withUserEvents'>>(
  route: string,
  routes: Readonly<Record<string, string>>,
  sources: readonly S[],
): S[] {
  if (route === CATCH_ALL_ROUTE) return [...sources];
  const types = Object.entries(routes)
    .filter(([, r]) => r === route)
    .map(([type]) => type);
  return sources.filter((source) =>
    types.some((type) =>
      type.startsWith(BOT_EVENT_PREFIX) ? source.kind === 'bot' : type.startsWith(USER_EVENT_PREFIX) ? source.kind === 'user' || source.withUserEvents : true,
    ),
  );
}
