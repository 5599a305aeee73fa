// The Lambdas run on Node.js 22; the tests must run on the same major, not on
// whatever Node the machine happens to have (the `node` devDependency pins it).
import { describe, expect, it } from 'vitest';

describe('test runtime', () => {
  it('is Node.js 22, the Lambda runtime', () => {
    expect(process.versions.node.split('.')[0]).toBe('22');
  });
});
