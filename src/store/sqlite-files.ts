/**
 * The files around a SQLite store: its directory (created if missing, refused clearly if unusable),
 * moving a damaged file aside with its -wal and -shm, and the size on disk.
 */
import { accessSync, constants, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StoreError } from './errors.js';

const COMPANIONS = ['-wal', '-shm'] as const;

/** Creates the directory of `file` if missing; throws STORE_DIR_UNUSABLE if it cannot be used. */
export function prepareDirectory(file: string): void {
  const dir = dirname(resolve(file));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreError('STORE_DIR_UNUSABLE', `cannot create the data directory ${dir}: ${reason(err)}`, {
      cause: err,
    });
  }
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StoreError('STORE_DIR_UNUSABLE', `cannot use the data directory ${dir}: ${reason(err)}`, {
      cause: err,
    });
  }
}

/** Renames `file` and its -wal/-shm to `<file>.damaged-<time>`; returns that name. */
export function moveAside(file: string, now = new Date()): string {
  const base = `${file}.damaged-${now.toISOString().replace(/:/g, '')}`;
  let target = base;
  for (let n = 2; existsSync(target); n++) target = `${base}-${n}`;
  try {
    if (existsSync(file)) renameSync(file, target);
    for (const suffix of COMPANIONS) {
      if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
    }
  } catch (err) {
    throw new StoreError(
      'STORE_DIR_UNUSABLE',
      `the store ${file} is damaged and could not be moved to ${target}: ${reason(err)}`,
      { cause: err },
    );
  }
  return target;
}

/** Bytes of the database file and its write-ahead log. */
export function fileBytes(file: string): number {
  return sizeOf(file) + sizeOf(`${file}-wal`);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  return e.message ?? String(err);
}
