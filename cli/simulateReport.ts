/** The simulation report a person reads at a glance (`npm run simulate`, `dce simulate`). */
import type { SimulationReport } from '../sim/simulation/report';
import type { KeptServers } from '../sim/simulation/engine';
import { QUIET_KEY_SPACE, QUIET_WRITES_PER_HOUR } from '../sim/simulation/options';
import { formatDuration, table } from './output';

/** `1 pause`, `2 pauses`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function usd(n: number): string {
  return n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

/** The report as a table of one line per aspect, then the chain problems and replay differences. */
export function formatSimulationReport(r: SimulationReport): string {
  const lines: string[] = [];
  lines.push(
    `dynamodb-continuous-exports simulation: ${r.ok ? 'OK' : 'FAILED'}`,
    '',
    table([
      [
        'simulated',
        `${r.options.days} days (${r.simulated.start} .. ${r.simulated.end}), ${windowsText(r.options)}`,
      ],
      [
        'workload',
        `${workloadText(r.options)}, ${r.source.writes} writes, seed ${r.options.seed}, faults ${r.options.faults}${
          r.options.format === 'ion' ? ', ION exports' : ''
        }`,
      ],
      [
        'windows',
        `${r.windows.committed} committed (1 full + ${r.windows.incremental} incremental${
          r.options.windowMode === 'costAware'
            ? ''
            : `; ${r.windows.expected} window lengths between chain start and watermark`
        })`,
      ],
      [
        'exports',
        `${r.exports.started} started, ${r.exports.completed} completed, ${r.exports.failed} failed, ${r.exports.retriedWindows} windows retried, ${r.exports.inFlightAtEnd} in flight at the end`,
      ],
      ['export cost', exportCostText(r.exportCost)],
      [
        'faults',
        `${r.faults.failedExportsInjected} failed exports, ${r.faults.transientErrorsInjected} transient errors, ${r.faults.duplicateDeliveries} duplicate and ${r.faults.skippedDeliveries} skipped deliveries, ${plural(r.faults.pauses.length, 'pause')}, ${plural(r.faults.resets.length, 'reset')}`,
      ],
      [
        'executions',
        `${r.executions.total} (${r.executions.succeeded} succeeded, ${r.executions.failed} failed, ${r.executions.aborted} still running at the end), ${r.executions.invocations} Lambda invocations, ${r.transitions} state transitions`,
      ],
      [
        'chain',
        r.chain.ok
          ? `OK (verify --deep): epoch ${r.chain.epoch}, ${r.chain.entries} entries, gap-free`
          : `PROBLEMS (${r.chain.problems.length})`,
      ],
      [
        'watermark',
        `${r.chain.watermark ?? '-'} (lag ${r.chain.lagSeconds === null ? '-' : formatDuration(r.chain.lagSeconds)} at the end)`,
      ],
      ['phases', r.phases.map((p) => `${p.phase} ${p.at.slice(5, 16).replace('T', ' ')}`).join(' -> ')],
      [
        'replay',
        r.replay.error
          ? `FAILED: ${r.replay.error}`
          : `${r.replay.items} items from ${r.replay.exportsApplied} exports (${r.replay.puts} puts, ${r.replay.deletes} deletes): ${
              r.replay.identical
                ? `identical to the source as of the watermark (${r.replay.expectedItems} items)`
                : `DIFFERS from the source (${r.replay.expectedItems} items expected)`
            }`,
      ],
      ...replicaRows(r.replica),
      ...(r.iceberg ? [['iceberg', icebergRow(r.iceberg)] as [string, string]] : []),
      ...(r.dr ? drRows(r.dr) : []),
      ['iam', iamRow(r.iam)],
      [
        'cost',
        `about ${usd(r.cost.monthlyUsd)}/month per table for orchestration (${r.cost.items.map((i) => `${i.item.split(' ')[0]} ${usd(i.monthlyUsd)}`).join(', ')})`,
      ],
      [
        'wall time',
        `${r.wall.totalSeconds.toFixed(1)} s (simulation ${r.wall.simulationSeconds.toFixed(1)} s, verify ${r.wall.verifySeconds.toFixed(1)} s, replay ${r.wall.replaySeconds.toFixed(1)} s${
          r.dr ? `, copy and restore ${r.wall.drSeconds.toFixed(1)} s` : ''
        })`,
      ],
    ]),
  );
  for (const p of r.chain.problems.slice(0, 10))
    lines.push(`  chain problem: ${p.kind}: ${p.message} (${p.key})`);
  for (const d of r.replay.firstDifferences) lines.push(`  replay: ${d}`);
  for (const d of r.replica.firstDifferences) lines.push(`  replica: ${d}`);
  for (const d of r.iceberg?.firstDifferences ?? []) lines.push(`  iceberg: ${d}`);
  for (const p of r.dr?.copy.verify.problems.slice(0, 5) ?? [])
    lines.push(`  dr copy problem: ${p.kind}: ${p.message}`);
  for (const k of r.dr?.copy.missing.slice(0, 5) ?? []) lines.push(`  dr copy: missing ${k}`);
  for (const d of r.dr?.copy.denied?.slice(0, 5) ?? []) lines.push(`  dr copy: replication denied ${d}`);
  for (const d of r.dr?.restore.firstDifferences ?? []) lines.push(`  restore: ${d}`);
  for (const d of r.dr?.distributed?.firstDifferences ?? []) lines.push(`  restore --distributed: ${d}`);
  for (const d of r.iam.denials)
    lines.push(
      `  iam: denied ${d.command} to role ${d.role}: ${d.action} on ${d.resource}${d.context ? ` ${JSON.stringify(d.context)}` : ''} (${d.result})`,
    );
  return lines.join('\n');
}

/** `15-minute windows`, or the cost-aware range. */
function windowsText(o: SimulationReport['options']): string {
  if (o.windowMode !== 'costAware') return `${o.window}-minute windows`;
  return `cost-aware windows of ${o.window} to ${o.maxStalenessMinutes ?? 1440} minutes`;
}

/** The source table's traffic. */
function workloadText(o: SimulationReport['options']): string {
  return o.workload === 'quiet'
    ? `quiet (${QUIET_WRITES_PER_HOUR} writes/hour over ${QUIET_KEY_SPACE} keys)`
    : `${o.rate} writes/min`;
}

/** The incremental exports at the run's pace: count, window lengths, billed size, monthly cost. */
function exportCostText(c: SimulationReport['exportCost']): string {
  const windows = c.windowMinutes
    ? c.windowMinutes.min === c.windowMinutes.max
      ? `${c.windowMinutes.min}-minute windows`
      : `windows of ${c.windowMinutes.min} to ${c.windowMinutes.max} minutes (last ${c.windowMinutes.last})`
    : 'no windows';
  const cost = c.monthlyUsd === null ? '-' : usd(c.monthlyUsd);
  const meet = c.gaps === 0 ? 'meeting exactly' : `${c.gaps} GAPS`;
  return `${c.incrementals} incremental exports (${Math.round(c.incrementalsPerMonth)} a month at this pace), ${windows} ${meet}, ${(c.billedBytes / 1e6).toFixed(2)} MB billed; ${cost}/month modelled (each at least 10 MB at $0.10/GB)`;
}

/** The Iceberg feed: whether its lake table equals the source at its watermark, with counts. */
function icebergRow(i: NonNullable<SimulationReport['iceberg']>): string {
  if (i.error) return `FAILED: ${i.error}`;
  const state = i.status === 'HALTED' ? `HALTED (${i.halt ?? 'no reason recorded'})` : i.status;
  const identity = i.identical
    ? `identical to the source as of its watermark ${i.watermark ?? '-'} (${i.rows} rows)`
    : `DIFFERS from the source as of its watermark ${i.watermark ?? '-'} (${i.rows} rows, ${i.expectedItems} expected)`;
  const view = i.viewEpoch === i.epoch ? '' : `, view on epoch ${i.viewEpoch ?? '-'}`;
  const lag = i.lagBehindChainSeconds === null ? '-' : formatDuration(i.lagBehindChainSeconds);
  const failed = Object.entries(i.executions.failedBy)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  return (
    `${i.view} (every ${i.mergeEveryMinutes} min, onNewEpoch ${i.onNewEpoch}) ${state}, entry ${i.lastAppliedSequence}${view}: ${identity}; ` +
    `${i.queries.merges} MERGEs, ${i.queries.ddl} DDL, ${i.queries.failed} failed queries, ${(i.queries.dataScannedInBytes / 1e6).toFixed(1)} MB read, ` +
    `${i.executions.total} executions (${i.executions.failed} failed${failed ? `: ${failed}` : ''}), ${plural(i.alerts, 'alert')}, ${lag} behind the chain` +
    optimizersText(i.optimizers)
  );
}

/** The Glue table optimizers of each lake table, as the report row's last clause. */
function optimizersText(o: NonNullable<SimulationReport['iceberg']>['optimizers']): string {
  if (o === null) return '';
  const tables = Object.entries(o.tables);
  if (tables.length === 0) return '; NO Glue table optimizers created';
  return `; Glue table optimizers: ${tables.map(([t, types]) => `${t} (${types.join(', ')})`).join('; ')}`;
}

/** The protected copy (replicated, verified) and the restore from it into the second Region. */
function drRows(dr: NonNullable<SimulationReport['dr']>): [string, string][] {
  const { copy, restore } = dr;
  const copyRow = copy.error
    ? `FAILED: ${copy.error}`
    : `${copy.ok ? 'OK' : 'PROBLEMS'}: ${copy.bucket} (${copy.region}), ${copy.objects} objects (${(copy.bytes / 1e6).toFixed(1)} MB) replicated${copy.rule ? ` by rule ${copy.rule.id} on ${copy.rule.prefix} as role ${copy.rule.role}` : ''}, delete markers ${copy.rule?.deleteMarkers === 'Enabled' ? 'replicated' : 'not replicated'}${copy.denied?.length ? `, ${copy.denied.length} denied` : ''}; verify --deep: ${
        copy.verify.ok
          ? `epoch ${copy.verify.epoch}, ${copy.verify.entries} entries, gap-free`
          : `${copy.verify.problems.length} problems`
      }${copy.missing.length > 0 ? `; ${copy.missing.length} objects of the primary missing` : ''}`;
  const point = restore.point ? `entry ${restore.point.sequence} (${restore.point.asOf})` : '-';
  const restoreRow = restore.error
    ? `FAILED: ${restore.error}`
    : `${restore.targetTable} (${restore.region}) from ${restore.bucket} to ${point}: ${restore.entriesApplied} exports (${restore.puts} puts, ${restore.deletes} deletes), ${
        restore.identical
          ? `identical to the source as of that point (${restore.items} items)`
          : `DIFFERS from the source as of that point (${restore.items} items, ${restore.expectedItems} expected)`
      }, ${restore.seconds.toFixed(1)} s`;
  return [
    ['dr copy', copyRow],
    ['restore', restoreRow],
    ...(dr.distributed
      ? [['restore --distributed', distributedRow(dr.distributed)] as [string, string]]
      : []),
  ];
}

/** `dce restore --distributed` with the replica without a schedule. */
function distributedRow(d: NonNullable<NonNullable<SimulationReport['dr']>['distributed']>): string {
  if (d.error) return `FAILED: ${d.error}`;
  const point = d.point ? `entry ${d.point.sequence} (${d.point.asOf})` : '-';
  return `${d.targetTable} by replica ${d.replica} to ${point}: ${d.executions} one-shot execution(s), ${d.children} Distributed Map children, ${
    d.identical
      ? `identical to the source as of that point (${d.items} items)`
      : `DIFFERS from the source as of that point (${d.items} items, ${d.expectedItems} expected)`
  }, ${d.seconds.toFixed(1)} s`;
}

/** Calls evaluated per role (those that made any), and how many IAM denied. */
function iamRow(iam: SimulationReport['iam']): string {
  const used = Object.entries(iam.roles).filter(([, c]) => c.evaluated > 0);
  const perRole = used.map(([role, c]) => `${role} ${c.evaluated}${c.denied ? ` (${c.denied} denied)` : ''}`);
  const total = used.reduce((n, [, c]) => n + c.evaluated, 0);
  return `${total} calls evaluated against the deployed policies, ${iam.denied} denied: ${perRole.join(', ')}`;
}

/** The replica kept during the run: how it stands and whether it equals the source, its lag, its runs. */
function replicaRows(replica: SimulationReport['replica']): [string, string][] {
  if (replica.error) return [['replica', `FAILED: ${replica.error}`]];
  const lag = (seconds: number | null) => (seconds === null ? '-' : formatDuration(seconds));
  const state =
    replica.status === 'HALTED' ? `HALTED (${replica.halt ?? 'no reason recorded'})` : replica.status;
  const identity = replica.identical
    ? `identical to the source as of its watermark ${replica.watermark ?? '-'} (${replica.expectedItems} items)`
    : `DIFFERS from the source as of its watermark ${replica.watermark ?? '-'} (${replica.items} items, ${replica.expectedItems} expected)`;
  const failed = Object.entries(replica.executions.failedBy)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  return [
    [
      'replica',
      `${replica.targetTable} (bootstrap ${replica.bootstrap}${replica.bootstrap === 'import' ? ` by ${plural(replica.importRequests, 'ImportTable request')}` : ''}, onNewEpoch ${replica.onNewEpoch}) ${state}, entry ${replica.lastAppliedSequence}: ${identity}`,
    ],
    [
      'replica lag',
      `${lag(replica.lagAtEndSeconds)} at the end, ${lag(replica.lagBehindChainSeconds)} behind the chain after its last executions, at most ${lag(replica.maxLagSeconds)} during the run`,
    ],
    [
      'replica runs',
      `${replica.executions.total} executions (${replica.executions.failed} failed${failed ? `: ${failed}` : ''}), ${replica.executions.invocations} Lambda invocations, ${replica.transitions} state transitions, ${plural(replica.distributedMap.runs, 'Distributed Map run')} with ${plural(replica.distributedMap.children, 'child execution')}, ${plural(replica.alerts, 'alert')}`,
    ],
  ];
}

/** A shell word: left bare when safe, single-quoted otherwise. */
function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  const escaped = word.split("'").join("'\\''");
  return "'" + escaped + "'";
}

/**
 * What `--keep-servers` prints: the servers left running, `dce` commands that read them (ready to
 * paste) and how to stop them.
 */
export function formatKeptServers(servers: KeptServers, pid: number, stackOutputFile?: string): string {
  const target = [
    '--stack',
    servers.stack,
    '--alias',
    servers.alias,
    '--bucket',
    servers.bucket,
    '--prefix',
    servers.prefix,
    '--region',
    'us-east-1',
    '--s3-endpoint-url',
    servers.endpoints.s3,
    '--ssm-endpoint-url',
    servers.endpoints.ssm,
    '--dynamodb-endpoint-url',
    servers.endpoints.dynamodb,
  ]
    .map(shellWord)
    .join(' ');
  return [
    'local servers left running:',
    table(
      [
        ['S3', `${servers.endpoints.s3} (bucket ${servers.bucket}, prefix ${servers.prefix})`],
        ['SSM', `${servers.endpoints.ssm} (parameters of stack ${servers.stack}, alias ${servers.alias})`],
        [
          'DynamoDB',
          `${servers.endpoints.dynamodb} (table ${servers.replayedTable}: the replayed chain; table ${servers.replicaTable}: the replica ${servers.replicaAlias}; table ${servers.emptyTable}: empty, for a replay)`,
        ],
      ],
      '  ',
    ),
    'read them with:',
    `  npx dce status ${target} --replica-state ${shellWord(servers.replicaStateParameter)}`,
    `  npx dce verify --deep ${target}`,
    `  npx dce replay --target-table ${shellWord(servers.emptyTable)} ${target}`,
    // The replica is named by its alias, not by its table.
    `  npx dce replica pause --replica ${shellWord(servers.replicaAlias)} ${target}`,
    `  npx dce replica resume --replica ${shellWord(servers.replicaAlias)} ${target}`,
    ...(servers.iceberg
      ? [
          `  npx dce iceberg pause ${target}`,
          `  npx dce iceberg resume ${target}`,
          // The feed's settings are in a stack output only: the run wrote one for its feed.
          ...(stackOutputFile
            ? [`  npx dce iceberg sql --stack-output ${shellWord(stackOutputFile)} ${target}`]
            : []),
        ]
      : []),
    `stop them with Ctrl-C here, or: kill ${pid}`,
  ].join('\n');
}
