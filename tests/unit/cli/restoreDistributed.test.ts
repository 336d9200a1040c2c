/** `dce restore --distributed`: which replica restores, and what is refused (cli/restore/restoreDistributedCommand.ts). */
import { expect } from 'chai';
import { oneShotExecutionInput } from '../../../cli/restore/restoreDistributed';
import { restoreReplica } from '../../../cli/restore/restoreDistributedCommand';
import { oneShotInput } from '../../../functions/replica/oneShot';

const REPLICA = {
  alias: 'restore',
  scheduled: false,
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:dev-orders-restore-replica',
  stateParameterName: '/dynamodb-continuous-exports/dev/orders/replicas/restore/state',
  targetTableName: 'orders-restored',
};
const FLAGS = { replica: 'restore', table: 'orders-restored' };

describe('dce restore --distributed: the replica (cli/restore/restoreDistributedCommand.ts)', () => {
  it('takes a replica without a schedule whose table is --table', () => {
    expect(restoreReplica([{ alias: 'copy' }, REPLICA], FLAGS)).to.equal(REPLICA);
  });

  it('refuses, naming why: no --replica, an unknown one, a scheduled one, another table, --epoch', () => {
    const refused = (replicas: object[], flags: object) => {
      try {
        restoreReplica(replicas, { ...FLAGS, ...flags });
      } catch (error) {
        expect((error as Error).name).to.equal('UsageError');
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused([REPLICA], { replica: undefined })).to.match(/--distributed needs --replica <alias>/);
    expect(refused([REPLICA], { replica: 'nope' })).to.equal(
      '--replica nope: not in the stack output (replicas: restore)',
    );
    expect(refused([{ ...REPLICA, scheduled: true }], {})).to.match(
      /has a schedule: its next scheduled execution/,
    );
    // An output of an earlier version has no `scheduled`: its replicas have a schedule.
    expect(refused([{ ...REPLICA, scheduled: undefined }], {})).to.match(/has a schedule/);
    expect(refused([REPLICA], { table: 'other' })).to.equal(
      "--table other: replica restore writes into orders-restored; a distributed restore restores into the replica's table",
    );
    expect(refused([REPLICA], { epoch: '20261103T010000Z' })).to.match(/^--epoch: a distributed restore/);
  });

  it('starts executions with the input the plan step reads back', () => {
    for (const n of [0, 1, 4711])
      expect(oneShotInput(JSON.parse(oneShotExecutionInput(n, '20261103T000000Z')))).to.deep.equal({
        stopAtSequence: n,
        epoch: '20261103T000000Z',
      });
  });
});
