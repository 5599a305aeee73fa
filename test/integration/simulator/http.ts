// Tiny real-HTTP helpers for the simulator tests (undici, no mocks).
import { request } from 'undici';

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string;
  /** Parsed body (throws if it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export async function post(url: string, body: unknown = {}, init: { form?: boolean } = {}): Promise<Answer> {
  const payload =
    init.form === true
      ? new URLSearchParams(Object.entries(body as Record<string, string>)).toString()
      : JSON.stringify(body);
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': init.form === true ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: payload,
  });
  return toAnswer(res.statusCode, res.headers['content-type'], await res.body.text());
}

export async function get(url: string): Promise<Answer> {
  const res = await request(url, { method: 'GET' });
  return toAnswer(res.statusCode, res.headers['content-type'], await res.body.text());
}

function toAnswer(status: number, contentType: string | string[] | undefined, text: string): Answer {
  return {
    status,
    text,
    contentType: String(contentType ?? ''),
    json: <T>() => JSON.parse(text) as T,
  };
}

export interface PageBody {
  result: { events: { eventId: number; type: string; date: string; data: Record<string, unknown> }[]; nextOffset: number; hasMore: boolean };
  time: Record<string, unknown>;
}

export interface ErrorBody {
  error: string;
  error_description: string;
  time?: Record<string, unknown>;
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2025, 0, 15, 8, 0, 0)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
