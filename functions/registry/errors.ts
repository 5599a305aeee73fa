// Every way a source registry operation can fail. Messages name the source and
// the fix, never a credential (a registry holds only credential references).

/** Base class of the source registry's errors. */
export class SourceRegistryError extends Error {
  readonly sourceId: string | undefined;
  constructor(message: string, sourceId?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceRegistryError';
    this.sourceId = sourceId;
  }
}

/** A conditional write found another version than the writer expected: someone changed the source in between. */
export class SourceVersionConflictError extends SourceRegistryError {
  readonly expectedVersion: number;
  /** The stored version (0: the source is not registered). */
  readonly actualVersion: number;
  constructor(fields: { sourceId: string; expectedVersion: number; actualVersion: number }, options?: ErrorOptions) {
    const expected = fields.expectedVersion === 0 ? 'a new source' : `version ${fields.expectedVersion}`;
    const actual = fields.actualVersion === 0 ? 'it is not registered' : `it is at version ${fields.actualVersion}`;
    super(
      `Source "${fields.sourceId}": expected ${expected} but ${actual}; nothing was written. Read it again (\`sources show ${fields.sourceId}\`) and repeat the change on the current version.`,
      fields.sourceId,
      options,
    );
    this.name = 'SourceVersionConflictError';
    this.expectedVersion = fields.expectedVersion;
    this.actualVersion = fields.actualVersion;
  }
}

/** The source is not registered (enable/disable of an unknown id). */
export class SourceNotFoundError extends SourceRegistryError {
  constructor(sourceId: string, options?: ErrorOptions) {
    super(`Source "${sourceId}" is not registered; \`sources list\` shows the registered ids, \`sources add\` registers one.`, sourceId, options);
    this.name = 'SourceNotFoundError';
  }
}

/** A source or its credentials reference failed validation; nothing was written. */
export class InvalidSourceError extends SourceRegistryError {
  constructor(message: string, sourceId?: string, options?: ErrorOptions) {
    super(message, sourceId, options);
    this.name = 'InvalidSourceError';
  }
}

/** A stored registry item does not validate (written by a newer or foreign writer, or edited by hand). */
export class CorruptRegistryItemError extends SourceRegistryError {
  constructor(sourceId: string, reason: string, options?: ErrorOptions) {
    super(`Source "${sourceId}": its registry item is invalid (${reason}); re-register it with \`sources add ${sourceId} … --replace\` or remove it.`, sourceId, options);
    this.name = 'CorruptRegistryItemError';
  }
}

/** The registry's store failed (DynamoDB error, throttling, missing table or permission). */
export class RegistryStoreError extends SourceRegistryError {
  constructor(message: string, sourceId?: string, options?: ErrorOptions) {
    super(message, sourceId, options);
    this.name = 'RegistryStoreError';
  }
}
