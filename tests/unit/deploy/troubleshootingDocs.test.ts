/**
 * docs/troubleshooting.md covers every alert the product can send: each notification event of the
 * export tick, each halt reason of a replica and of the Iceberg feed, each in its own section, and
 * exactly the CloudWatch alarms a table with a replica, an Iceberg feed and a protected copy deploys
 * (its component under Pulumi mocks). A new event, reason or alarm fails this test until the doc explains it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { NOTIFICATION_EVENTS } from '../../../functions/chain/notificationFacts';
import { ICEBERG_HALT_REASONS } from '../../../functions/iceberg/state';
import { REPLICA_HALT_REASONS } from '../../../functions/replica/state';
import type { HandlerBundle } from '../../../components/bundle';
import { ContinuousExport } from '../../../components/continuousExport';
import { LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER } from '../../../functions/shared/lambdaHandlers';
import {
  installMocks,
  ofType,
  settle,
  withPlainStacks,
  type RecordedResource,
} from '../../helpers/pulumiMocks';
import { REPO_ROOT } from '../../helpers/repoRoot';

const DOC = readFileSync(path.join(REPO_ROOT, 'docs', 'troubleshooting.md'), 'utf8');
const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm';

/** The text of the `## <title>` section, up to the next `## `; fails naming the missing section. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  expect(start, `docs/troubleshooting.md: a section "## ${title}"`).to.be.greaterThan(-1);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

/** The code spans that start a table row or a bold paragraph: the names a section explains. */
function explained(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^\| `([^`]+)`/gm)) names.add(m[1]);
  for (const m of text.matchAll(/^\*\*([^*]+)\*\*/gm))
    for (const code of m[1].matchAll(/`([^`]+)`/g)) names.add(code[1]);
  return names;
}

/** Stand-in code for the handlers a table deploys (the component's alarms do not depend on it). */
const bundles: Record<string, HandlerBundle> = Object.fromEntries(
  [...LAMBDA_HANDLERS, REPLICA_APPLY_HANDLER].map((h) => [
    h.name,
    { code: 'exports.handler = async () => ({});', sha256: h.name },
  ]),
);

describe('docs/troubleshooting.md covers every alert', () => {
  it('every notification event of the export tick, and nothing else, in "Export chain notifications"', () => {
    expect([...explained(section('Export chain notifications'))].sort()).to.deep.equal(
      [...NOTIFICATION_EVENTS].sort(),
    );
  });

  it('every replica halt reason in "Replica halts"', () => {
    expect([...explained(section('Replica halts'))].sort()).to.deep.equal([...REPLICA_HALT_REASONS].sort());
  });

  it('every Iceberg feed halt reason in "Iceberg feed halts"', () => {
    expect([...explained(section('Iceberg feed halts'))].sort()).to.deep.equal(
      [...ICEBERG_HALT_REASONS].sort(),
    );
  });

  it('exactly the alarms the stack deploys in "CloudWatch alarms", by name pattern', async () => {
    // A table with every kind of alarm: its own, a replica's, an Iceberg feed's, a protected copy's.
    const resources: RecordedResource[] = [];
    await withPlainStacks(async () => {
      await installMocks(resources, 'dev');
      new ContinuousExport('dev-orders', {
        tableName: 'orders',
        failureEmails: ['oncall@example.com'],
        replicas: [{ tableName: 'orders-copy', alias: 'copy' }],
        iceberg: { partitionKey: { attribute: 'pk', type: 'S' } },
        dr: { bucket: 'orders-dr-copy', region: 'us-west-2', create: true },
        bundles,
      });
      await settle();
    });
    const deployed = ofType(resources, ALARM).map((r) => String(r.inputs.name));
    expect(deployed, 'alarms deployed').to.have.length.greaterThan(5);
    const patterns = deployed
      .map((name) => {
        expect(name.startsWith('dev-orders-'), name).to.equal(true);
        return name.replace(/^dev-orders-copy-/, '{name}-{replica}-').replace(/^dev-orders-/, '{name}-');
      })
      .sort();
    expect([...explained(section('CloudWatch alarms'))].sort()).to.deep.equal(patterns);
  });
});
