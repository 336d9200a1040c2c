/* global process */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Mutation testing of the pure core (`npm run mutate`, tools/mutate.ts; not part of CI: it takes long
// on 2 cores). Stryker 9 with its `command` test runner: each mutant is tested by a focused mocha
// command over the unit tests of its group, stopping at the first failure. MUTATE_GROUP picks the
// group; tools/mutate.ts runs every group and sums the scores.
const CHAIN = 'tests/unit/chain';

/** Group name -> the files it mutates and the unit tests that guard them. */
export const GROUPS = {
  lease: {
    mutate: ['functions/shared/lease.ts'],
    tests: [`${CHAIN}/leaseTakeover.test.ts`, `${CHAIN}/exportTick.unit.test.ts`],
  },
  numbers: {
    mutate: ['format/numbers.ts'],
    tests: [
      'tests/unit/format/numberText.test.ts',
      'tests/unit/format/numberKeys.test.ts',
      'tests/unit/format/formatGolden.test.ts',
    ],
  },
  windows: {
    mutate: ['functions/chain/windows.ts', 'functions/chain/commits.ts'],
    tests: [
      `${CHAIN}/windows.test.ts`,
      `${CHAIN}/catchUpWindows.test.ts`,
      `${CHAIN}/commitNotifications.test.ts`,
      `${CHAIN}/planner.test.ts`,
    ],
  },
  planner: {
    // The whole planner is over 500 mutants, too many for 2 shared cores: how a start request's answer
    // is recorded (applyStartOutcome; a line range, to follow when the file changes), and every
    // incident rule.
    mutate: ['functions/chain/planner.ts:457-543', 'functions/chain/incidents.ts'],
    tests: [
      `${CHAIN}/incidents.test.ts`,
      `${CHAIN}/planner.test.ts`,
      `${CHAIN}/exportTick.unit.test.ts`,
      `${CHAIN}/outbox.test.ts`,
      `${CHAIN}/runFailureMarker.test.ts`,
    ],
  },
  tick: {
    // What a tick plans from its observations: planTick and the steps it calls that no other group
    // mutates (applyDescribe, planFullStart, planStarts, checkPitrGap; line ranges, to follow when
    // the file changes). Tested by the unit tests that run planTick, the planner's own first: with
    // --bail, most mutants fail there within two seconds.
    mutate: [
      'functions/chain/planner.ts:166-219',
      'functions/chain/planner.ts:243-309',
      'functions/chain/planner.ts:341-432',
    ],
    tests: [
      `${CHAIN}/planner.test.ts`,
      `${CHAIN}/describeObservations.test.ts`,
      `${CHAIN}/tickSteps.test.ts`,
      `${CHAIN}/catchUpWindows.test.ts`,
      `${CHAIN}/operatorAction.test.ts`,
      `${CHAIN}/outbox.test.ts`,
      `${CHAIN}/exportTick.unit.test.ts`,
    ],
  },
  plannerSteps: {
    // The rest of planner.ts: the smaller steps the groups above call (fitState, recordFailure,
    // beginEpoch, newStarting, applyAction, applyPitr) and the end of a tick (finishTick,
    // recordRunFailure). With `planner` and `tick`, every function of the file.
    mutate: [
      'functions/chain/planner.ts:125-164',
      'functions/chain/planner.ts:221-241',
      'functions/chain/planner.ts:311-339',
      'functions/chain/planner.ts:541-567',
    ],
    tests: [
      `${CHAIN}/plannerSteps.test.ts`,
      `${CHAIN}/planner.test.ts`,
      `${CHAIN}/describeObservations.test.ts`,
      `${CHAIN}/tickSteps.test.ts`,
      `${CHAIN}/operatorAction.test.ts`,
      `${CHAIN}/runFailureMarker.test.ts`,
      `${CHAIN}/state.test.ts`,
      `${CHAIN}/outbox.test.ts`,
      `${CHAIN}/exportTick.unit.test.ts`,
    ],
  },
  permissions: {
    // Its tests run the Pulumi program under mocks (seconds per mutant): the table's ARNs, the
    // statement builder and the tick's policy, and the replica's ARNs and statements (line ranges, to
    // follow when the file changes).
    mutate: ['components/permissions.ts:68-170', 'components/permissions.ts:404-458'],
    // The quick files first: with --bail, most mutants fail there before roleReach's 7 s of tests.
    tests: [
      'tests/unit/deploy/iam.test.ts',
      'tests/unit/deploy/replicaIam.test.ts',
      'tests/unit/deploy/roleReach.test.ts',
    ],
  },
};

const name = process.env.MUTATE_GROUP ?? 'lease';
const group = GROUPS[name];
if (!group) throw new Error(`MUTATE_GROUP=${name}: not one of ${Object.keys(GROUPS).join(', ')}`);

// The TypeScript checker re-checks every file that depends on a mutated one; over the whole project
// (Pulumi's types, the simulation) that costs several times the tests themselves. Its program is
// only the group's files and tests and what they import (gitignored; written for each run). The
// mutated files are listed too: the checker only sees changes to files the program names.
const TSCONFIG = 'tsconfig.mutate.json';
const MOCHA = resolve('node_modules/.bin/mocha');
writeFileSync(
  TSCONFIG,
  `${JSON.stringify({ extends: './tsconfig.json', include: [], files: [...new Set(group.mutate.map((f) => f.replace(/:[\d:-]+$/, ''))), ...group.tests] }, null, 2)}\n`,
);

export default {
  packageManager: 'npm',
  testRunner: 'command',
  // mocha's own bin, not npx (a quarter of a second per mutant); by its full path, since the sandbox
  // reaches node_modules only by looking upwards.
  commandRunner: { command: `${MOCHA} --bail --reporter dot ${group.tests.join(' ')}` },
  mutate: group.mutate,
  checkers: ['typescript'],
  tsconfigFile: TSCONFIG,
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // MUTATE_CONCURRENCY=1 leaves a core to others on a shared 2-core machine.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['.sim', 'reports', '.ci'],
  thresholds: { high: 90, low: 80, break: null },
  cleanTempDir: 'always',
};
