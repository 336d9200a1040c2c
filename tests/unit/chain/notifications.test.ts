import { expect } from 'chai';
import fc from 'fast-check';
import { NOTIFICATION_EVENTS, type NotificationFact } from '../../../functions/chain/notificationFacts';
import {
  MAX_SUBJECT_LENGTH,
  NOTIFICATION_SCHEMA_VERSION,
  buildPublishRequest,
  subjectLine,
} from '../../../functions/chain/notifications';
import type { WorkflowSettings } from '../../../functions/chain/settings';

const settings = {
  alias: 'orders',
  tableName: 'orders-prod',
  tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders-prod',
  notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
  stateParameterName: '/dce/orders/state',
  actionParameterName: '/dce/orders/action',
  onPitrGap: 'alert',
} as WorkflowSettings;

const FIELDS = [
  'schemaVersion',
  'kind',
  'notificationId',
  'status',
  'event',
  'type',
  'table',
  'alias',
  'tableArn',
  'epoch',
  'window',
  'exportArn',
  'attempt',
  'watermark',
  'lagSeconds',
  'message',
  'hint',
  'time',
];

describe('notifications', () => {
  const now = Date.parse('2026-11-24T12:00:00Z') / 1000;

  it('has every schema field, the topic, and status/event attributes', () => {
    const request = buildPublishRequest(
      {
        id: `EXPORT_FAILED:S3NoSuchBucket@${now - 600}#0`,
        event: 'EXPORT_FAILED',
        at: now,
        epoch: '20261124T000000Z',
        type: 'INCREMENTAL',
        window: { from: now - 1800, to: now - 900 },
        exportArn: `${settings.tableArn}/export/01-abc`,
        attempt: 2,
        code: 'S3NoSuchBucket',
        detail: 'The bucket does not exist',
        since: now - 600,
        reminder: 0,
      },
      settings,
      { watermark: now - 1800, lagSeconds: 1800 },
    );
    expect(request.TopicArn).to.equal(settings.notificationTopicArn);
    expect(request.Subject).to.equal('[orders] FAILED: incremental exports fail with S3NoSuchBucket');
    expect(request.MessageAttributes).to.deep.equal({
      status: { DataType: 'String', StringValue: 'FAILED' },
      event: { DataType: 'String', StringValue: 'EXPORT_FAILED' },
      kind: { DataType: 'String', StringValue: 'chain' },
    });
    const body = JSON.parse(request.Message);
    expect(Object.keys(body)).to.have.members(FIELDS);
    expect(body).to.include({
      schemaVersion: NOTIFICATION_SCHEMA_VERSION,
      status: 'FAILED',
      event: 'EXPORT_FAILED',
      type: 'INCREMENTAL',
      table: 'orders-prod',
      alias: 'orders',
      attempt: 2,
      lagSeconds: 1800,
      watermark: '2026-11-24T11:30:00.000Z',
      time: '2026-11-24T12:00:00.000Z',
    });
    expect(body.window).to.deep.equal({ from: '2026-11-24T11:30:00.000Z', to: '2026-11-24T11:45:00.000Z' });
    expect(body.notificationId).to.equal(`orders/EXPORT_FAILED:S3NoSuchBucket@${now - 600}#0`);
    expect(body.epoch).to.equal('20261124T000000Z');
    expect(body.message)
      .to.contain('S3NoSuchBucket: The bucket does not exist')
      .and.contain('nothing is skipped');
  });

  it('keeps optional fields present as null', () => {
    const body = JSON.parse(
      buildPublishRequest(
        { id: 'PITR_DISABLED@1#resolved', event: 'PITR_ENABLED', at: now, epoch: null },
        settings,
        {
          watermark: null,
          lagSeconds: null,
        },
      ).Message,
    );
    expect(Object.keys(body)).to.have.members(FIELDS);
    for (const key of [
      'type',
      'epoch',
      'window',
      'exportArn',
      'attempt',
      'watermark',
      'lagSeconds',
      'hint',
    ]) {
      expect(body[key], key).to.equal(null);
    }
  });

  it('renders every event with a subject, a message, and the status of its kind', () => {
    const statuses = new Set<string>();
    for (const event of NOTIFICATION_EVENTS) {
      const fact: NotificationFact = {
        id: `x#${event}`,
        event,
        at: now,
        epoch: '20261124T000000Z',
        code: 'Code',
      };
      const request = buildPublishRequest(fact, settings, { watermark: null, lagSeconds: null });
      const body = JSON.parse(request.Message);
      expect(request.Subject.length, event).to.be.within(12, MAX_SUBJECT_LENGTH);
      expect(body.message, event).to.be.a('string').and.not.equal('');
      expect(body.message, event).to.not.contain('undefined');
      expect(request.MessageAttributes.status.StringValue).to.equal(body.status);
      statuses.add(body.status);
    }
    expect([...statuses]).to.have.members(['SUCCESS', 'FAILED', 'WARNING']);
  });

  it('property: subjects are at most 100 printable ASCII characters and start with the alias and status', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 300 }), (alias, title) => {
        const subject = subjectLine(alias, 'WARNING', title);
        expect(subject.length).to.be.at.most(MAX_SUBJECT_LENGTH);
        expect(subject).to.match(/^[\x20-\x7e]*$/);
        if (alias.length < 40) expect(subject.startsWith('[')).to.equal(true);
      }),
    );
  });
});
