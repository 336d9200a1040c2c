/**
 * The one notification envelope (functions/shared/notification.ts): the chain's notifications, the
 * replica's alert and the Iceberg feed's alert all carry it, each with its `kind`.
 */
import { expect } from 'chai';
import { buildPublishRequest } from '../../../functions/chain/notifications';
import type { WorkflowSettings } from '../../../functions/chain/settings';
import { icebergHaltAlert } from '../../../functions/iceberg/alert';
import { initialIcebergState } from '../../../functions/iceberg/state';
import { haltAlert } from '../../../functions/replica/alert';
import { initialReplicaState } from '../../../functions/replica/state';
import { NOTIFICATION_SCHEMA_VERSION, type PublishRequest } from '../../../functions/shared/notification';

const ENVELOPE = [
  'schemaVersion',
  'kind',
  'notificationId',
  'status',
  'event',
  'table',
  'alias',
  'message',
  'hint',
  'time',
];
const T = Date.parse('2026-11-03T00:00:00Z') / 1000;

function body(request: PublishRequest): Record<string, unknown> {
  return JSON.parse(request.Message) as Record<string, unknown>;
}

describe('one notification envelope', () => {
  const chain = buildPublishRequest(
    { id: 'PITR_ENABLED@1', event: 'PITR_ENABLED', at: T, epoch: null },
    {
      alias: 'orders',
      tableName: 'orders-prod',
      tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders-prod',
      notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
    } as WorkflowSettings,
    { watermark: null, lagSeconds: null },
  );
  const replica = haltAlert(
    {
      alias: 'orders',
      replicaAlias: 'copy',
      sourceTableName: 'orders-prod',
      targetTableName: 'orders-copy',
      notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
    },
    {
      ...initialReplicaState(),
      status: 'HALTED',
      watermark: T - 900,
      halt: { reason: 'NEW_EPOCH', detail: 'moved', at: T, epoch: 'e1', alerted: false },
    },
  );
  const iceberg = icebergHaltAlert(
    {
      feedName: 'dev-orders-iceberg',
      sourceAlias: 'orders',
      sourceTableName: 'orders-prod',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
      spec: { table: 'orders' },
    },
    {
      ...initialIcebergState(),
      status: 'HALTED',
      halt: {
        reason: 'QUERY_FAILED',
        detail: 'HIVE_BAD_DATA',
        at: '2026-11-03T00:00:00.000Z',
        alerted: false,
      },
    },
  );

  it('every kind carries the envelope, its schema version, and kind as an attribute', () => {
    for (const [kind, request] of [
      ['chain', chain],
      ['replica', replica],
      ['iceberg', iceberg],
    ] as const) {
      const b = body(request);
      expect(Object.keys(b).slice(0, ENVELOPE.length), kind).to.deep.equal(ENVELOPE);
      expect(b).to.include({
        schemaVersion: NOTIFICATION_SCHEMA_VERSION,
        kind,
        alias: 'orders',
        table: 'orders-prod',
      });
      expect(request.MessageAttributes.kind).to.deep.equal({ DataType: 'String', StringValue: kind });
      expect(request.MessageAttributes.event.StringValue).to.equal(b.event);
      expect(request.Subject.startsWith(`[orders] ${String(b.status)}: `), request.Subject).to.equal(true);
    }
  });

  it('the alerts say their halt in ISO 8601, with the status words of the chain', () => {
    expect(body(replica)).to.include({
      event: 'REPLICA_HALTED',
      status: 'FAILED',
      time: '2026-11-03T00:00:00.000Z',
      watermark: '2026-11-02T23:45:00.000Z',
    });
    expect(body(iceberg)).to.include({ event: 'ICEBERG_HALTED', status: 'FAILED', reason: 'QUERY_FAILED' });
  });
});
