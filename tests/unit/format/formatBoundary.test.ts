/**
 * The format module stands alone: it imports Node built-ins, the AWS SDK, libraries and its own
 * files, never the CLI, the simulation or the Lambda code (which all import it).
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/repoRoot';

const FORMAT_DIR = join(REPO_ROOT, 'format');

describe('format/ module boundary', () => {
  it('imports only node:, @aws-sdk/, its libraries and its own files', () => {
    const files = readdirSync(FORMAT_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).to.be.greaterThan(5);
    const allowed = /^(node:|@aws-sdk\/|ion-js$|p-limit$|\.\/)/;
    for (const file of files) {
      const text = readFileSync(join(FORMAT_DIR, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:from|require\()\s*'([^']+)'/g)].map((m) => m[1]);
      for (const spec of specifiers) {
        expect(spec, `${file} imports ${spec}`).to.match(allowed);
        expect(spec, `${file} imports ${spec}`).not.to.match(/\.\.\//);
      }
    }
  });
});
