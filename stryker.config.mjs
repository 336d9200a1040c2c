/* global process */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Mutation testing of the pure core (`npm run mutate`, tools/mutate.ts; not part of CI: it takes long
// on 2 cores). Stryker 9 with its `command` test runner: each mutant is tested by a focused mocha
// command over the unit tests of its group, stopping at the first failure. MUTATE_GROUP picks the
// group; tools/mutate.ts runs every group and sums the scores.
const CHAIN = 'tests/unit/chain';

/**
 * Stryker's `file:start-end` patterns for the named top-level functions of `file`, found by name so
 * that a group follows its functions when the file changes: from the `function name` line (with its
 * doc comment's mutants left out) to the first line that is a lone `}` after it.
 */
function functionsOf(file, ...names) {
  const lines = readFileSync(resolve(file), 'utf8').split('\n');
  return names.map((name) => {
    const start = lines.findIndex((l) => new RegExp(`^(export )?(async )?function ${name}\\b`).test(l));
    if (start < 0) throw new Error(`stryker.config.mjs: no function ${name} in ${file}`);
    const end = lines.findIndex((l, i) => i > start && l === '}');
    if (end < 0) throw new Error(`stryker.config.mjs: no end of function ${name} in ${file}`);
    return `${file}:${start + 1}-${end + 1}`;
  });
}
const PLANNER = 'functions/chain/planner.ts';
const PERMISSIONS = 'components/permissions.ts';

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
    // is recorded (applyStartOutcome), and every incident rule.
    mutate: [...functionsOf(PLANNER, 'applyStartOutcome'), 'functions/chain/incidents.ts'],
    tests: [
      `${CHAIN}/startOutcome.test.ts`,
      `${CHAIN}/incidents.test.ts`,
      `${CHAIN}/unreadableExport.test.ts`,
      `${CHAIN}/planner.test.ts`,
      `${CHAIN}/exportTick.unit.test.ts`,
      `${CHAIN}/outbox.test.ts`,
      `${CHAIN}/runFailureMarker.test.ts`,
    ],
  },
  tick: {
    // What a tick plans from its observations: planTick and the steps it calls that no other group
    // mutates. Tested by the unit tests that run planTick, the planner's own first: with --bail, most
    // mutants fail there within two seconds.
    mutate: functionsOf(PLANNER, 'applyDescribe', 'planFullStart', 'planStarts', 'checkPitrGap', 'planTick'),
    tests: [
      `${CHAIN}/planner.test.ts`,
      `${CHAIN}/describeObservations.test.ts`,
      `${CHAIN}/unreadableExport.test.ts`,
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
    mutate: functionsOf(
      PLANNER,
      'fitState',
      'ewma',
      'recordFailure',
      'beginEpoch',
      'newStarting',
      'applyAction',
      'applyPitr',
      'finishTick',
      'recordRunFailure',
    ),
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
    // statement builder and the tick's policy, and the replica's ARNs and statements.
    mutate: functionsOf(
      PERMISSIONS,
      'underPrefix',
      'tableArn',
      'parameterArn',
      'resourceArns',
      'statementsFor',
      'sid',
      'lambdaLoggingStatement',
      'lambdaPolicy',
      'replicaResourceArns',
      'replicaStatements',
    ),
    // The quick files first: with --bail, most mutants fail there before roleReach's 7 s of tests.
    tests: [
      'tests/unit/deploy/permissionBuilder.test.ts',
      'tests/unit/deploy/iam.test.ts',
      'tests/unit/deploy/consumers/replicaIam.test.ts',
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
