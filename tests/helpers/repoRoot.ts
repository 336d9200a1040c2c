import * as path from 'node:path';

/** The repository's root folder, wherever a test file sits under tests/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
