// Output of the benchmark: a plain-text table for the terminal, Markdown
// tables for the results file, and a hand-written SVG bar chart (no
// dependency). Pure string builders plus one writer.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Cell = string | number;

function cellText(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return '–';
  if (Number.isInteger(cell)) return cell.toLocaleString('en-US');
  const abs = Math.abs(cell);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : abs >= 0.01 ? 3 : 6;
  return cell.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A fixed-width table for the terminal. */
export function renderTextTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(headers), rule, ...text.map(line)].join('\n');
}

export function renderMarkdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const head = `| ${headers.map(escape).join(' | ')} |`;
  const align = `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  const body = rows.map((row) => `| ${row.map((c) => escape(cellText(c))).join(' | ')} |`);
  return [head, align, ...body].join('\n');
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Optional second value drawn as a thin marker (e.g. the API ceiling). */
  readonly marker?: number;
  readonly color?: string;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Horizontal bar chart. `logScale` keeps a 100× gap readable (naive poller
 * vs. the real one); bars are labelled with their values either way.
 */
export function renderBarChartSvg(input: { title: string; unit: string; bars: readonly Bar[]; logScale?: boolean; note?: string }): string {
  const width = 860;
  const labelWidth = 300;
  const barHeight = 26;
  const gap = 12;
  const top = 48;
  const chartWidth = width - labelWidth - 140;
  const height = top + input.bars.length * (barHeight + gap) + (input.note === undefined ? 16 : 40);
  const maxValue = Math.max(1, ...input.bars.flatMap((b) => [b.value, b.marker ?? 0]));
  const scale = (v: number): number => {
    if (v <= 0) return 0;
    if (input.logScale === true) return (Math.log10(1 + v) / Math.log10(1 + maxValue)) * chartWidth;
    return (v / maxValue) * chartWidth;
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="28" font-size="16" font-weight="bold">${xmlEscape(input.title)}</text>`,
  ];
  input.bars.forEach((bar, index) => {
    const y = top + index * (barHeight + gap);
    const w = Math.max(1, scale(bar.value));
    const label = `${bar.value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ${input.unit}`;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight * 0.68}" text-anchor="end">${xmlEscape(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${bar.color ?? '#3b82f6'}" rx="3"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + barHeight * 0.68}">${xmlEscape(label)}</text>`,
    );
    if (bar.marker !== undefined && bar.marker > 0) {
      const x = labelWidth + scale(bar.marker);
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${y - 3}" x2="${x.toFixed(1)}" y2="${y + barHeight + 3}" stroke="#dc2626" stroke-width="2" stroke-dasharray="4 2"/>`,
      );
    }
  });
  if (input.note !== undefined) {
    parts.push(`<text x="16" y="${height - 12}" fill="#555" font-size="12">${xmlEscape(input.note)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export async function writeResults(
  directory: string,
  baseName: string,
  files: { json: unknown; markdown: string; svg: string },
): Promise<{ json: string; markdown: string; svg: string }> {
  await mkdir(directory, { recursive: true });
  const paths = {
    json: join(directory, `${baseName}.json`),
    markdown: join(directory, `${baseName}.md`),
    svg: join(directory, `${baseName}.svg`),
  };
  await writeFile(paths.json, JSON.stringify(files.json, null, 2) + '\n');
  await writeFile(paths.markdown, files.markdown);
  await writeFile(paths.svg, files.svg);
  return paths;
}
