// Redaction of Bitrix24 credentials from anything that may be logged or
// thrown. Two layers: the exact secret values a client knows (webhook code,
// access/refresh tokens, client secret, bot token), and patterns that catch
// credentials the client was never told about (the code segment of any
// `/rest/<userId>/<code>/` path, `auth=`/`*_token=`/`client_secret=` pairs).

export const REDACTED = '[REDACTED]';

const WEBHOOK_PATH = /(\/rest\/\d+\/)[^/\s?#"'<>]+/g;
const SECRET_PAIRS =
  /((?:^|[^A-Za-z0-9_])(?:auth|access_token|refresh_token|client_secret|botToken|bot_token|accessToken|refreshToken|clientSecret|webhookUrl)["']?\s*[=:]\s*["']?)([^&\s"',;}]+)/gi;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces known-secret patterns (webhook code in a `/rest/<id>/<code>/` path, `token=value` pairs) with `[REDACTED]`. */
export function redactPatterns(text: string): string {
  return text.replace(WEBHOOK_PATH, `$1${REDACTED}`).replace(SECRET_PAIRS, `$1${REDACTED}`);
}

/** A webhook or endpoint URL safe to show: scheme, host and path with the webhook code replaced; query dropped. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${redactPatterns(parsed.pathname)}`;
  } catch {
    return REDACTED;
  }
}

/**
 * The secret values known in this process. Every client registers its own
 * (webhook code, tokens, client secret, bot tokens) and redacts with all of
 * them, so one source's error can never echo another source's secret (a
 * Lambda may serve several sources). Tokens rotate, so the set grows; old
 * values stay (an old token in a stale log line is still a credential for a
 * while). It is bounded by the number of tokens a process sees: a few per hour.
 */
const processSecrets = new Set<string>();
let processSecretsVersion = 0;

export class SecretRedactor {
  #pattern: RegExp | undefined;
  #patternVersion = -1;

  /** Registers a secret value (ignored when empty). Also registers its URL-encoded form. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length === 0) return;
    for (const form of [secret, encodeURIComponent(secret)]) {
      if (!processSecrets.has(form)) {
        processSecrets.add(form);
        processSecretsVersion += 1;
      }
    }
  }

  /** The text with every registered secret and every secret-looking pattern replaced by `[REDACTED]`. */
  redact(text: string): string {
    let out = text;
    if (processSecrets.size > 0) {
      if (this.#pattern === undefined || this.#patternVersion !== processSecretsVersion) {
        // Longest first so a secret that contains another is replaced whole.
        this.#pattern = new RegExp(
          [...processSecrets].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
          'g',
        );
        this.#patternVersion = processSecretsVersion;
      }
      out = out.replace(this.#pattern, REDACTED);
    }
    return redactPatterns(out);
  }

  /** Redacts every string inside a plain JSON-like value (for log attributes). */
  redactValue(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (depth > 6 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item, depth + 1));
    if (value instanceof Error) return this.redact(`${value.name}: ${value.message}`);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) out[key] = this.redactValue(item, depth + 1);
    return out;
  }

  toString(): string {
    return 'SecretRedactor';
  }

  toJSON(): string {
    return this.toString();
  }
}
