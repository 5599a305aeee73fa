// Benchmark 4 alone: the Lambda bundles' size and cold start against the local
// rig, next to the bare SDK handler measured in the same run, and the ratios
// the package targets (docs/package.md: poller ≤ 600 KB minified, cold init =
// import + first call ≤ 1.5 × the bare handler's).
//   npx tsx bench/cold-start-run.ts [--repetitions 5]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalAws } from '../functions/local/aws-emulators.js';
import { coldStartBench } from './cold-start-bench.js';

const { values } = parseArgs({ options: { repetitions: { type: 'string', default: '5' } } });
const repetitions = Number(values.repetitions);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const aws = await startLocalAws({ sqs: { placement: 'child-process' } });
try {
  const { results, skipped } = await coldStartBench(aws, { repetitions, repoRoot });
  const bare = results.find((r) => r.name === 'bare SDK handler');
  const bareInit = bare === undefined ? Number.NaN : bare.importMs + bare.firstCallMs;
  const floor = results.find((r) => r.name === 'bare, same requests');
  const floorInit = floor === undefined ? Number.NaN : floor.importMs + floor.firstCallMs;
  process.stdout.write(`cold start, median of ${repetitions} fresh node processes (init = import + first call)\n`);
  process.stdout.write('bundle               KiB min  KiB gz  import ms  1st call ms  init ms  × bare init  × bare import  × same requests  first call\n');
  for (const r of results) {
    const init = r.importMs + r.firstCallMs;
    const row = [
      r.name.padEnd(20),
      (r.bytesMinified / 1024).toFixed(0).padStart(7),
      (r.bytesGzipped / 1024).toFixed(0).padStart(7),
      r.importMs.toFixed(0).padStart(10),
      r.firstCallMs.toFixed(0).padStart(12),
      init.toFixed(0).padStart(8),
      (init / bareInit).toFixed(2).padStart(12),
      (r.importMs / (bare?.importMs ?? Number.NaN)).toFixed(2).padStart(13),
      (init / floorInit).toFixed(2).padStart(16),
      `  ${r.firstCallError ?? 'ok'}`,
    ];
    process.stdout.write(`${row.join(' ')}\n`);
  }
  if (skipped.length > 0) process.stdout.write(`not measured: ${skipped.join(', ')}\n`);
} finally {
  await aws.stop();
}
