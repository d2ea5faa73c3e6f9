/**
 * Errors a store throws, each with a stable code (listed in docs/storage.md). A damaged file is not
 * among them: it is moved aside and reported through `LoadedState.recovered` instead.
 */

export type StoreErrorCode =
  /** A change with a missing or ill-typed field, or referring to a message the store does not hold. */
  | 'STORE_BAD_CHANGE'
  /** The data directory cannot be created or written (permission denied, a file in the way). */
  | 'STORE_DIR_UNUSABLE'
  /** The file was written by a newer midge (a higher schema version); downgrades are not supported. */
  | 'STORE_SCHEMA_TOO_NEW'
  /** The file could not be opened or written, and is not damaged (read-only, locked by another process). */
  | 'STORE_UNAVAILABLE'
  /** The database refused a commit (disk full, I/O error); nothing of that commit was applied. */
  | 'STORE_WRITE_FAILED'
  /** `commit` before `open` or after `close`. */
  | 'STORE_NOT_OPEN'
  /** `open` on a store that is already open. */
  | 'STORE_ALREADY_OPEN';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
