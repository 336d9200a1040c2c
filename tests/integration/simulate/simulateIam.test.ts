/**
 * The simulation evaluates every call against the deployed policies: with one statement dropped from
 * a role, the run fails and its report names the call, the role and the missing permission.
 */
import { expect } from 'chai';
import { CLI_OPERATOR_TOOLS } from '../../../cli/simulate';
import { formatSimulationReport } from '../../../cli/simulateReport';
import { runSimulation } from '../../../sim/simulation/engine';
import type { SimulationDeployment } from '../../../sim/simulation/deployment';
import type { SimulationReport } from '../../../sim/simulation/report';

/** The deployment, with the statement `sid` removed from the policies of the role `role(d)`. */
function withoutStatement(
  role: (d: SimulationDeployment) => string,
  sid: string,
): typeof CLI_OPERATOR_TOOLS.deploy {
  return async (config, target) => {
    const deployment = await CLI_OPERATOR_TOOLS.deploy(config, target);
    const name = role(deployment);
    let dropped = 0;
    const roles = deployment.roles.map((r) =>
      r.name !== name
        ? r
        : {
            ...r,
            policies: r.policies.map((p) => ({
              ...p,
              document: {
                ...p.document,
                Statement: p.document.Statement.filter((s) => (s.Sid === sid ? (dropped += 1) < 0 : true)),
              },
            })),
          },
    );
    if (dropped !== 1) throw new Error(`role ${name} has no statement ${sid}`);
    return { ...deployment, roles };
  };
}

async function simulateWith(
  deploy: typeof CLI_OPERATOR_TOOLS.deploy,
  iceberg = false,
): Promise<SimulationReport> {
  return runSimulation(
    { days: 0.25, rate: 4, window: 15, seed: 3, faults: 'none', s3: 'memory', ssm: 'memory', iceberg },
    { ...CLI_OPERATOR_TOOLS, deploy },
  );
}

describe('npm run simulate under the deployed IAM policies', function () {
  this.timeout(180_000);

  it('passes with 0 denied, every role that calls AWS counted', async () => {
    const report = await simulateWith(CLI_OPERATOR_TOOLS.deploy);
    expect(report.ok, formatSimulationReport(report)).to.equal(true);
    expect(report.iam.denied).to.equal(0);
    expect(report.iam.roles['simulation-orders-export-tick'].evaluated).to.be.greaterThan(50);
    expect(report.iam.roles['simulation-orders-copy-apply-role'].evaluated).to.be.greaterThan(50);
    expect(formatSimulationReport(report)).to.match(
      /\niam: +\d+ calls evaluated against the deployed policies, 0 denied/,
    );
  });

  it("fails when the export tick's role loses the statement on its chain manifest, naming the call, the role and the permission", async () => {
    const report = await simulateWith(withoutStatement((d) => d.exportChain.functionRole, 'ChainObjects'));
    expect(report.ok).to.equal(false);
    expect(report.iam.denied).to.be.greaterThan(0);
    // The tick's first call on its chain manifest, a read or a write, is the one refused.
    const first = report.iam.denials[0];
    expect(first.role).to.equal('simulation-orders-export-tick');
    expect(['s3:GetObject', 's3:PutObject']).to.include(first.action);
    expect(first.command).to.equal(first.action);
    expect(report.iam.denials[0].resource).to.match(
      /^arn:aws:s3:::dce-simulation-exports\/exports\/orders\/chain\//,
    );
    const text = formatSimulationReport(report);
    expect(text).to.contain('simulation: FAILED');
    expect(text).to.match(
      /iam: denied s3:PutObject to role simulation-orders-export-tick: s3:PutObject on arn:aws:s3:::/,
    );
  });

  it("fails when the replica's role loses its state parameter, naming the call and the permission", async () => {
    const report = await simulateWith(
      withoutStatement((d) => d.replicas[0].functionRole, 'ReplicaStateParameter'),
    );
    expect(report.ok).to.equal(false);
    expect(report.iam.denials[0]).to.include({
      role: 'simulation-orders-copy-apply-role',
      action: 'ssm:GetParameters',
    });
    expect(report.iam.denials[0].resource).to.match(/replicas\/copy\/state$/);
  });

  it("fails when the state machine's role may not invoke its function: the task fails as Step Functions reports it", async () => {
    const report = await simulateWith(
      withoutStatement((d) => d.exportChain.stateMachineRole, 'TickFunction'),
    );
    expect(report.ok).to.equal(false);
    expect(report.iam.denials[0]).to.include({
      role: 'simulation-orders-states',
      action: 'lambda:InvokeFunction',
      resource: 'arn:aws:lambda:us-east-1:123456789012:function:simulation-orders-export-tick',
    });
    expect(report.executions.failed).to.be.greaterThan(0);
  });

  it("starts nothing when the schedule's role may not start the state machine", async () => {
    const report = await simulateWith(
      withoutStatement((d) => d.exportChain.schedulerRole, 'StartThisStateMachine'),
    );
    expect(report.ok).to.equal(false);
    expect(report.iam.denials[0]).to.include({
      role: 'simulation-orders-scheduler',
      action: 'states:StartExecution',
    });
    expect(report.executions.total).to.equal(0);
  });

  it("halts the Iceberg feed when its state machine's role may not read the exports Athena reads", async () => {
    const report = await simulateWith(
      withoutStatement((d) => d.iceberg!.stateMachineRole, 'ExportObjects'),
      true,
    );
    expect(report.ok).to.equal(false);
    expect(report.iam.denials[0]).to.include({
      role: 'simulation-orders-iceberg-states-role',
      action: 's3:GetObject',
    });
    expect(report.iam.denials[0].resource).to.match(/\/exports\/orders\/AWSDynamoDB\//);
    // The query fails as Athena's does, and the feed halts with one alert.
    expect(report.iceberg).to.include({ status: 'HALTED', ok: false, alerts: 1 });
  });

  it("fails the Distributed Map's children when the replica's state machine may not start them", async () => {
    const report = await simulateWith(
      withoutStatement((d) => d.replicas[0].stateMachineRole, 'ReplicaStateMachine'),
    );
    expect(report.ok).to.equal(false);
    expect(report.iam.denials[0]).to.include({
      role: 'simulation-orders-copy-replica-role',
      action: 'states:StartExecution',
    });
    expect(report.replica.distributedMap.children).to.be.greaterThan(0);
  });
});
