// Request parameters as a portal reads them: JSON bodies, form-urlencoded
// bodies (with `a[b]=c` nesting) and query strings; keys matched without
// regard to case or underscores (`botId`, `BOT_ID`).

export type Params = Record<string, unknown>;

function setNested(target: Params, key: string, value: string): void {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
  if (match === null || match[1] === undefined || match[2] === undefined) {
    target[key] = value;
    return;
  }
  const path = [match[1], ...Array.from(match[2].matchAll(/\[([^[\]]*)\]/g), (m) => m[1] ?? '')];
  let node: Params = target;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i] ?? '';
    const next = node[part];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      node = next as Params;
    } else {
      const created: Params = {};
      node[part] = created;
      node = created;
    }
  }
  node[path[path.length - 1] ?? ''] = value;
}

export function parseForm(text: string, into: Params = {}): Params {
  for (const [key, value] of new URLSearchParams(text)) setNested(into, key, value);
  return into;
}

export type BodyParse = { readonly ok: true; readonly params: Params } | { readonly ok: false };

/** Query parameters overlaid with the body's (JSON object or form). */
export function parseParams(query: string, body: string, contentType: string | undefined): BodyParse {
  const params = parseForm(query);
  const trimmed = body.trim();
  if (trimmed === '') return { ok: true, params };
  if ((contentType ?? '').includes('json') || trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false };
      return { ok: true, params: Object.assign(params, parsed as Params) };
    } catch {
      return { ok: false };
    }
  }
  return { ok: true, params: parseForm(trimmed, params) };
}

function normalise(key: string): string {
  return key.replace(/_/g, '').toLowerCase();
}

export function param(params: Params, name: string): unknown {
  if (name in params) return params[name];
  const wanted = normalise(name);
  for (const key of Object.keys(params)) if (normalise(key) === wanted) return params[key];
  return undefined;
}

/** undefined when absent, a number when an integer (number or digit string), 'invalid' otherwise. */
export function intParam(params: Params, name: string): number | undefined | 'invalid' {
  const raw = param(params, name);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : 'invalid';
  if (typeof raw === 'string' && /^-?\d{1,15}$/.test(raw.trim())) return Number(raw.trim());
  return 'invalid';
}

export function boolParam(params: Params, name: string): boolean {
  const raw = param(params, name);
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return raw !== 0;
  if (typeof raw === 'string') return ['y', 'yes', 'true', '1'].includes(raw.trim().toLowerCase());
  return false;
}

export function stringParam(params: Params, name: string): string | undefined {
  const raw = param(params, name);
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  return undefined;
}
