import { expect } from 'chai';
import { fitState } from '../../../functions/chain/planner';
import {
  ChainStateCorruptError,
  MAX_STATE_BYTES,
  initialState,
  initialStateJson,
  parseState,
  serializeState,
} from '../../../functions/chain/state';

const PARAM = '/dynamodb-continuous-exports/dev/orders/state';

describe('chain state', () => {
  it('round-trips the initial state', () => {
    expect(parseState(initialStateJson(), PARAM)).to.deep.equal(initialState());
  });

  it('rejects a value that is not JSON, naming the parameter', () => {
    expect(() => parseState('{not json', PARAM))
      .to.throw(ChainStateCorruptError)
      .with.property('message')
      .that.contains(PARAM)
      .and.contains('not JSON');
  });

  it('rejects a value of the wrong shape, naming the parameter and the field', () => {
    const bad = { ...initialState(), watermark: 'yesterday' };
    expect(() => parseState(JSON.stringify(bad), PARAM))
      .to.throw(ChainStateCorruptError)
      .with.property('message')
      .that.contains(PARAM)
      .and.contains('watermark');
  });

  it('rejects an unknown schema version', () => {
    expect(() => parseState(JSON.stringify({ ...initialState(), schemaVersion: 2 }), PARAM)).to.throw(
      ChainStateCorruptError,
    );
  });

  it('refuses to serialize a state over 4 KB', () => {
    const big = initialState();
    big.incidents = Array.from({ length: 60 }, (_, i) => ({
      key: `EXPORT_FAILED:${1795478400 + i * 900}-${'x'.repeat(40)}`,
      openedAt: 1,
      lastNotifiedAt: 1,
      reminders: 0,
      occurrences: 1,
    }));
    expect(() => serializeState(big)).to.throw(new RegExp(`${MAX_STATE_BYTES}`));
  });

  it('a full state at the in-flight cap fits the parameter', () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = 1795478400;
    s.watermark = 1795478400;
    s.sequence = 0;
    const arn =
      'arn:aws:dynamodb:eu-west-1:123456789012:table/a-rather-long-table-name-for-orders/export/01795478400000-abcdef12';
    s.exports = Array.from({ length: 6 }, (_, i) => ({
      type: 'INCREMENTAL' as const,
      from: 1795478400 + i * 900,
      to: 1795478400 + (i + 1) * 900,
      attempt: 3,
      status: 'COMPLETED' as const,
      arn,
      startedAt: 1795478400,
      checks: 4,
      completed: {
        endTime: 1795478400,
        itemCount: 123456,
        billedSizeBytes: 123456789,
        manifestSummaryKey: `some/prefix/AWSDynamoDB/01795478400000-abcdef12/manifest-summary.json`,
      },
    }));
    s.incidents = Array.from({ length: 6 }, (_, i) => ({
      key: `EXPORT_FAILED:${1795478400 + i * 900}`,
      openedAt: 1795478400,
      lastNotifiedAt: 1795478400,
      reminders: 0,
      occurrences: 12,
    }));
    s.driver = {
      executionId: `arn:aws:states:eu-west-1:123456789012:execution:orders-chain:${'e'.repeat(60)}`,
      scheduledAt: 1,
      leaseUntil: 2,
    };
    expect(Buffer.byteLength(serializeState(s))).to.be.at.most(MAX_STATE_BYTES);
  });

  it('fitState drops error details, then the oldest incidents, until the state fits', () => {
    const s = initialState();
    s.epoch = '20261124T000000Z';
    s.chainStart = 1795478400;
    s.watermark = 1795478400;
    s.sequence = 0;
    s.exports = Array.from({ length: 6 }, (_, i) => ({
      type: 'INCREMENTAL' as const,
      from: 1795478400 + i * 900,
      to: 1795478400 + (i + 1) * 900,
      attempt: 9,
      status: 'FAILED' as const,
      arn: `arn:aws:dynamodb:eu-west-1:123456789012:table/${'t'.repeat(200)}/export/0179547840000${i}-abcdef12`,
      checks: 4,
      notBefore: 1795478400,
      lastError: { code: 'S3AccessDenied'.padEnd(80, 'x'), message: 'y'.repeat(160) },
    }));
    s.incidents = Array.from({ length: 12 }, (_, i) => ({
      key: `EXPORT_FAILED:${1795478400 + i * 900}`,
      openedAt: 1795478400,
      lastNotifiedAt: 1795478400,
      reminders: 0,
      occurrences: 12,
    }));
    const fits = (x: typeof s) => Buffer.byteLength(JSON.stringify(x)) <= MAX_STATE_BYTES;
    expect(fits(s)).to.equal(false);
    const fitted = fitState(s, fits);
    expect(fits(fitted)).to.equal(true);
    expect(fitted.exports.map((e) => [e.from, e.to, e.attempt, e.status])).to.deep.equal(
      s.exports.map((e) => [e.from, e.to, e.attempt, e.status]),
    );
    expect(() => serializeState(fitted)).to.not.throw();
  });
});
