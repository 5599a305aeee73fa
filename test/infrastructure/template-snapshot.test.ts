// The whole synthesized template of the test fixture, as a file snapshot:
// a refactoring of lib/ that should change no resource (the construct split
// into parts, a renamed helper) must leave it the same, logical ids included
// (a changed logical id replaces the resource on deploy). Object keys are
// sorted: the order in which resources are created means nothing to
// CloudFormation. A change that is meant to alter the template updates the
// snapshot in its own commit (`npx vitest run test/infrastructure/template-snapshot.test.ts -u`).
// Bundling is skipped and asset hashes are masked, so changes to the Lambda
// code do not show here; pipeline-stack.test.ts checks the bundles.
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { createPipelineApp } from '../../lib/app.js';
import { fixtureAppOptions } from './fixtures/stack-fixture.js';

/** JSON with object keys sorted: resources listed in another order are the same template to CloudFormation. */
function stableJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sorted(x)])) : v;
  return `${JSON.stringify(sorted(value), null, 2)}\n`;
}

let directory: string | undefined;
afterAll(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

/** Asset hashes (S3 keys of the Lambda bundles) depend on the code and the checkout's directory, not on the infrastructure. */
function maskMachineSpecifics(text: string): string {
  return text.replace(/\b[0-9a-f]{64}\b/g, '<asset-hash>').replaceAll(process.cwd(), '<repo>');
}

it('synthesizes the fixture stack to the committed template', async () => {
  const { app, stack } = createPipelineApp(fixtureAppOptions({ 'aws:cdk:bundling-stacks': [] }));
  const assembly = app.synth();
  directory = assembly.directory;
  const template = assembly.getStackArtifact(stack.artifactId).template as unknown;
  await expect(maskMachineSpecifics(stableJson(template))).toMatchFileSnapshot('./__snapshots__/fixture-stack.template.json');
}, 120_000);
