// Dates the way a Bitrix24 portal writes them: ISO 8601, seconds, portal UTC offset.

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `2025-01-15T10:30:00+03:00` for `ms` in a portal at `utcOffsetMinutes`. */
export function formatPortalDate(ms: number, utcOffsetMinutes: number): string {
  const d = new Date(ms + utcOffsetMinutes * 60_000);
  const sign = utcOffsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(utcOffsetMinutes);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}
