// The README and the docs pages must never point at a file that does not
// exist (issue 14 §5): every relative Markdown link or image, and every
// backticked repository path such as `docs/deploy.md` or `functions/poller/handler.ts`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../..'));

/** Top-level folders whose paths, when a doc names them in backticks, must exist. */
const REPOSITORY_FOLDERS = ['bin', 'lib', 'functions', 'test', 'docs', 'bench'] as const;

function markdownPages(): string[] {
  const docs = readdirSync(join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return ['README.md', ...docs];
}

export function referencedPaths(markdown: string): { links: string[]; codePaths: string[] } {
  const withoutFences = markdown.replace(/```[\s\S]*?```/g, '');
  const links = [...withoutFences.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => decodeURI(target.split('#')[0] ?? ''))
    .filter((target) => target !== '');
  const folderPattern = REPOSITORY_FOLDERS.join('|');
  const codePaths = [...withoutFences.matchAll(new RegExp(`\`((?:${folderPattern})/[A-Za-z0-9_./-]+\\.[a-z]+)\``, 'g'))]
    .map((match) => match[1] ?? '')
    .filter((path) => !path.includes('*') && !path.includes('<'));
  return { links, codePaths };
}

describe('documentation references', () => {
  it('finds links and backticked paths, and ignores URLs, anchors and fenced code', () => {
    const found = referencedPaths(
      'See [deploy](docs/deploy.md#alarms), ![chart](bench/results/x.svg), [web](https://example.com), [top](#top)\n' +
        'and `functions/poller/handler.ts`, not `functions/*/errors.ts`.\n```\n[no](missing.md)\n```\n',
    );
    expect(found.links).toEqual(['docs/deploy.md', 'bench/results/x.svg']);
    expect(found.codePaths).toEqual(['functions/poller/handler.ts']);
  });

  for (const page of markdownPages()) {
    it(`${page} points only at files that exist`, () => {
      const { links, codePaths } = referencedPaths(readFileSync(join(repoRoot, page), 'utf8'));
      const missing = [
        ...links.filter((link) => !existsSync(join(repoRoot, dirname(page), link))),
        ...codePaths.filter((path) => !existsSync(join(repoRoot, path))),
      ].map((target) => `${relative(repoRoot, join(repoRoot, page))} → ${target}`);
      expect(missing).toEqual([]);
    });
  }
});
