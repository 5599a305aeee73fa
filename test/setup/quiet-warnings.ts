// Drops the one warning every test run would print: Node 22's
// "ExperimentalWarning: SQLite is an experimental feature", emitted when
// fauxqs loads node:sqlite for its persistence layer (we never persist, and
// the node:sqlite API is not ours to change). Every other warning, and
// every other experimental one, still prints. Imported first by the global
// setup, before anything loads fauxqs.
const emitWarning = process.emitWarning.bind(process);

function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type = typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type;
  const name = typeof warning === 'string' ? type : warning.name;
  const message = typeof warning === 'string' ? warning : warning.message;
  return name === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature');
}

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (isSqliteExperimentalWarning(warning, rest[0])) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
});
