/**
 * `npm run mutate [group ...]`: mutation testing of the pure core with Stryker (stryker.config.mjs),
 * one group of files at a time, each tested by its own focused mocha command; then one summary over
 * the groups' JSON reports (reports/mutation/<group>.json): the score per file and every surviving
 * mutant. Not part of CI: it takes long on 2 cores (docs/testing.md).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '..');

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}

interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

/** Killed (or timed out) and survived (or not covered); compile and runtime errors do not count. */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

function runGroup(group: string): number {
  const started = Date.now();
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, MUTATE_GROUP: group },
  });
  console.log(`group ${group}: ${Math.round((Date.now() - started) / 60_000)} min`);
  return r.status ?? 1;
}

function summarize(groups: string[]): void {
  let detected = 0;
  let undetected = 0;
  const survivors: string[] = [];
  for (const group of groups) {
    const file = path.join(ROOT, 'reports', 'mutation', `${group}.json`);
    if (!fs.existsSync(file)) {
      console.log(`${group}: no report`);
      continue;
    }
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
    for (const [name, { mutants }] of Object.entries(report.files)) {
      const d = mutants.filter((m) => DETECTED.has(m.status)).length;
      const u = mutants.filter((m) => UNDETECTED.has(m.status));
      detected += d;
      undetected += u.length;
      const score = d + u.length === 0 ? 100 : (100 * d) / (d + u.length);
      console.log(`${path.relative(ROOT, name)}: ${score.toFixed(1)} % (${d} detected, ${u.length} not)`);
      for (const m of u) {
        const where = `${path.relative(ROOT, name)}:${m.location.start.line}:${m.location.start.column}`;
        survivors.push(`${where} ${m.mutatorName} ${m.status}: ${(m.replacement ?? '').slice(0, 80)}`);
      }
    }
  }
  const total = detected + undetected;
  console.log(
    `\nmutation score: ${total === 0 ? 'n/a' : ((100 * detected) / total).toFixed(1)} % of ${total}`,
  );
  if (survivors.length > 0) console.log(`surviving mutants:\n${survivors.join('\n')}`);
}

async function main(): Promise<void> {
  // The groups are declared once, in the Stryker config.
  const config = (await import(pathToFileURL(path.join(ROOT, 'stryker.config.mjs')).href)) as {
    GROUPS: Record<string, unknown>;
  };
  const all = Object.keys(config.GROUPS);
  const chosen = process.argv.slice(2);
  const unknown = chosen.filter((g) => !all.includes(g));
  if (unknown.length > 0) {
    console.error(`unknown group(s) ${unknown.join(', ')}; groups: ${all.join(', ')}`);
    process.exit(2);
  }
  const groups = chosen.length > 0 ? chosen : all;
  // MUTATE_SUMMARY_ONLY=1: only the summary of the reports already written.
  if (process.env.MUTATE_SUMMARY_ONLY !== '1') {
    for (const group of groups) if (runGroup(group) !== 0) process.exitCode = 1;
  }
  summarize(groups);
}

void main();
