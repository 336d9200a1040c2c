import { expect } from 'chai';
import fc from 'fast-check';
import { CLIENT_TOKEN_PATTERN, clientToken, type TokenInput } from '../../../functions/chain/tokens';

const base: TokenInput = {
  tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
  epoch: '20261124T000000Z',
  type: 'INCREMENTAL',
  from: 1795478400,
  to: 1795479300,
  attempt: 1,
};

describe('client tokens', () => {
  it('are deterministic, short and match the DynamoDB pattern', () => {
    const token = clientToken(base);
    expect(clientToken({ ...base })).to.equal(token);
    expect(token).to.match(/^dce-[0-9a-f]{40}$/);
    expect(token).to.match(CLIENT_TOKEN_PATTERN);
  });

  it('differ when any input differs', () => {
    const variants: TokenInput[] = [
      { ...base, tableArn: base.tableArn.replace('orders', 'users') },
      { ...base, epoch: '20261125T000000Z' },
      { ...base, type: 'FULL' },
      { ...base, from: base.from + 60 },
      { ...base, to: base.to + 60 },
      { ...base, attempt: 2 },
    ];
    const tokens = new Set([clientToken(base), ...variants.map(clientToken)]);
    expect(tokens.size).to.equal(variants.length + 1);
  });

  it('property: distinct windows and attempts give distinct tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        (a, b, x, y) => {
          fc.pre(a !== b || x !== y);
          expect(clientToken({ ...base, from: a, attempt: x })).to.not.equal(
            clientToken({ ...base, from: b, attempt: y }),
          );
        },
      ),
    );
  });
});
