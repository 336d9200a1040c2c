import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_SUBJECT_LENGTH,
  NOTIFICATION_SCHEMA_VERSION,
  buildPublishRequest,
  draft,
  subjectLine,
} from '../functions/notifications';
import type { WorkflowSettings } from '../functions/settings';

const settings = {
  alias: 'orders',
  tableName: 'orders-prod',
  tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders-prod',
  notificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:dce',
} as WorkflowSettings;

const FIELDS = [
  'schemaVersion',
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
      draft({
        status: 'FAILED',
        event: 'EXPORT_FAILED',
        title: 'incremental export failed',
        type: 'INCREMENTAL',
        window: { from: now - 1800, to: now - 900 },
        exportArn: `${settings.tableArn}/export/01-abc`,
        attempt: 2,
        message: 'failed',
        hint: 'check the bucket policy',
      }),
      settings,
      { epoch: '20261124T000000Z', watermark: now - 1800, lagSeconds: 1800, now },
    );
    expect(request.TopicArn).to.equal(settings.notificationTopicArn);
    expect(request.Subject).to.equal('[orders] FAILED: incremental export failed');
    expect(request.MessageAttributes).to.deep.equal({
      status: { DataType: 'String', StringValue: 'FAILED' },
      event: { DataType: 'String', StringValue: 'EXPORT_FAILED' },
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
  });

  it('keeps optional fields present as null', () => {
    const body = JSON.parse(
      buildPublishRequest(
        draft({ status: 'WARNING', event: 'PITR_DISABLED', title: 't', message: 'm' }),
        settings,
        {
          epoch: null,
          watermark: null,
          lagSeconds: null,
          now,
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
