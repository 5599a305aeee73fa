// fauxqs uses node:sqlite, which prints an ExperimentalWarning on Node 22.
// The demo's first screen should show the pipeline, not that: this hides
// exactly that warning and prints every other one as Node would. Call it
// before anything loads node:sqlite (aws-emulators.ts does, before
// `import('fauxqs')`); calling it again changes nothing.
let installed = false;

export function hideSqliteExperimentalWarning(): void {
  if (installed) return;
  installed = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
    process.stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
  });
}
