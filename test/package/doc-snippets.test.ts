// The documentation shows code that works: every ```ts block marked
// `<!-- snippet: compile -->` in README.md and docs/*.md typechecks against
// the package's types (imports of `b24-event-pipeline/…` resolve through
// tsconfig.json's paths, as the installed package's exports do), every
// consumer or app example is marked, one consumer API is documented, and
// user files where the docs put them pass the project's lint.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as consumerApi from '../../functions/consumers/index.js';
import { COMPILE_MARKER, codeBlocks, type CodeBlock } from './markdown.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A program over the package's types (aws-cdk-lib's included) takes a while on a loaded machine. */
const TYPECHECK_TIMEOUT_MS = 300_000;

interface DocBlock extends CodeBlock {
  readonly doc: string;
}

async function documentation(): Promise<Array<{ doc: string; text: string }>> {
  const docs = ['README.md', ...(await readdir(join(REPO_ROOT, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  return await Promise.all(docs.map(async (doc) => ({ doc, text: await readFile(join(REPO_ROOT, doc), 'utf8') })));
}

async function tsBlocks(): Promise<DocBlock[]> {
  return (await documentation()).flatMap(({ doc, text }) =>
    codeBlocks(text)
      .filter((block) => block.lang === 'ts' || block.lang === 'typescript')
      .map((block) => ({ ...block, doc })),
  );
}

/** Typechecks the snippets as modules of their own inside the repository; returns one line per error. */
function typecheck(snippets: readonly DocBlock[]): string[] {
  const configPath = join(REPO_ROOT, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true };
  const virtual = new Map(
    snippets.map((snippet) => [join(REPO_ROOT, 'docs', `__snippet__${snippet.doc.replace(/[^a-z0-9]+/gi, '-')}-line-${snippet.line}.ts`), snippet]),
  );
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const snippet = virtual.get(fileName);
    return snippet === undefined ? getSourceFile(fileName, languageVersion, onError, shouldCreate) : ts.createSourceFile(fileName, snippet.code, languageVersion, true);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists(fileName);
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file !== undefined && virtual.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const snippet = virtual.get(diagnostic.file?.fileName ?? '');
      const { line } = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0) ?? { line: 0 };
      return `${snippet?.doc}:${(snippet?.line ?? 0) + line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
}

describe('documentation snippets', () => {
  it('the marked ts snippets of README.md and docs/*.md typecheck against the package', async () => {
    const marked = (await tsBlocks()).filter((block) => block.before === COMPILE_MARKER);
    // The README's CDK app + consumer, the consumer page's module and its wiring at least.
    expect(marked.filter((block) => block.doc === 'README.md').length).toBeGreaterThanOrEqual(2);
    expect(marked.filter((block) => block.doc === 'docs/consumers.md').length).toBeGreaterThanOrEqual(2);
    expect(typecheck(marked)).toEqual([]);
  }, TYPECHECK_TIMEOUT_MS);

  it('a snippet that does not compile is reported (the check can fail)', () => {
    const broken: DocBlock = {
      doc: 'probe.md',
      lang: 'ts',
      line: 1,
      before: COMPILE_MARKER,
      code: "import { lambdaConsumer } from 'b24-event-pipeline/consumer';\nexport const handler = lambdaConsumer({ ONIMV2MESSAGEADD: async (event) => { event.data.nope.id; } });",
    };
    expect(typecheck([broken]).join('\n')).toMatch(/nope/);
  }, TYPECHECK_TIMEOUT_MS);

  it('every consumer or CDK app example is marked to compile', async () => {
    const examples = (await tsBlocks()).filter((block) => /lambdaConsumer\(|createPipelineApp\(|new B24EventPipeline(Stack)?\(/.test(block.code));
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.filter((block) => block.before !== COMPILE_MARKER).map((block) => `${block.doc}:${block.line}`)).toEqual([]);
  });

  it('documents one way to write a consumer: lambdaConsumer from b24-event-pipeline/consumer', async () => {
    const functions = Object.entries(consumerApi)
      .filter(([, value]) => typeof value === 'function' && !/^[A-Z]/.test(value.name))
      .map(([name]) => name);
    expect(functions).toContain('lambdaConsumer');
    expect(functions).not.toContain('createConsumerHandler');
    expect(functions).not.toContain('createConsumerHandlerFromEnv');
    const guides = (await documentation()).filter(({ doc }) => ['README.md', 'docs/consumers.md', 'docs/local.md', 'docs/deploy.md'].includes(doc));
    const oldForms = /createConsumerHandler|ConsumerHandlers = |functions\/consumers\/(index|consumer-handler)\.js/;
    expect(guides.filter(({ text }) => oldForms.test(text)).map(({ doc }) => doc)).toEqual([]);
  });
});

describe('user files where the docs put them', () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const code = "import { lambdaConsumer } from 'b24-event-pipeline/consumer';\n\nexport const handler = lambdaConsumer({\n  ONIMV2MESSAGEADD: async (event, ctx) => {\n    ctx.logger.info('message', { id: event.data.message.id });\n    await Promise.resolve();\n  },\n});\n";

  // Real files (the project service reads the disk), removed again; a random name never clobbers a user's file.
  it.each(['consumers', '.'])('a module in %s/ passes npm run lint (it is in the TypeScript project)', async (dir) => {
    const folder = join(REPO_ROOT, dir);
    const createdFolder = !existsSync(folder);
    const file = join(folder, `lint-probe-${randomUUID().slice(0, 8)}.ts`);
    await mkdir(folder, { recursive: true });
    try {
      await writeFile(file, code);
      const [result] = await eslint.lintFiles([file]);
      expect(result?.messages.map((message) => `${message.ruleId ?? 'parser'}: ${message.message}`)).toEqual([]);
    } finally {
      await rm(createdFolder ? folder : file, { recursive: true, force: true });
    }
  }, TYPECHECK_TIMEOUT_MS);
});
