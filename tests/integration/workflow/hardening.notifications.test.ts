/**
 * Notifications never hold back the chain, and one cause makes one alert (plus reminders with a
 * back-off), whatever the cause and however long it stands. Each scenario runs the deployed definition
 * and tick code on the local runner against the fake account.
 */
import { expect } from 'chai';
import { serviceError } from '../../../sim/fakeAws/errors';
import type { CommandSender } from '../../../functions/chain/exportTick';
import {
  assertChain,
  assertNotificationIds,
  failedExecutions,
  HOUR,
  MINUTE,
  notifications,
  readState,
  withScenario,
} from '../../helpers/chainAssertions';

const STEADY_LAG_SECONDS = 15 * 60 + 300 + 60 + 360 + 15 * 60;

/** A client that answers with `error()` for the commands it names while `error` is set. */
class Breakable implements CommandSender {
  error: ((action: string) => Error | undefined) | null = null;
  constructor(private readonly inner: CommandSender) {}
  async send(command: any): Promise<any> {
    const action = String(command?.constructor?.name ?? '').replace(/Command$/, '');
    const failure = this.error?.(action);
    if (failure) throw failure;
    return this.inner.send(command);
  }
}

function messagesOf(aws: Parameters<typeof notifications>[0], event: string, fromMs: number, toMs: number) {
  return aws.sns.messages.filter(
    (m) => m.at >= fromMs && m.at < toMs && JSON.parse(m.Message).event === event,
  );
}

/** The topic is deleted: every Publish is refused (NotFound), not throttled. */
function breakTopic(aws: Parameters<typeof notifications>[0], topicArn: string): void {
  aws.sns.topics.delete(topicArn);
  aws.sns.topics.add(`${topicArn}-other`); // only another topic exists now
}

/** The tick logs each undelivered batch on stderr (as it does in Lambda); keep the test output readable. */
function quietUndelivered(): void {
  const consoleError = console.error;
  before(() => {
    console.error = (...args: unknown[]) => {
      if (!String(args[0]).startsWith('notifications not delivered')) consoleError(...args);
    };
  });
  after(() => {
    console.error = consoleError;
  });
}

describe('hardening: notifications off the critical path', () => {
  quietUndelivered();
  it('SNS broken for 6 hours: the chain keeps its normal lag, and every notification arrives once SNS is back', async () => {
    await withScenario(
      { settings: { notifyOnSuccess: true } },
      async ({ aws, run, settings, metricLines }) => {
        await run.runFor(2 * HOUR);
        const before = aws.sns.messages.length;
        const outageStart = run.now;
        aws.dynamodb.failNextExports(1, 'S3AccessDenied');
        // The topic is deleted: every Publish is refused (NotFound), not throttled.
        aws.sns.topics.delete(settings.notificationTopicArn);
        aws.sns.topics.add(`${settings.notificationTopicArn}-other`); // only another topic exists now
        await run.runFor(6 * HOUR);
        expect(aws.sns.messages.length, 'nothing delivered during the outage').to.equal(before);
        const chain = assertChain(aws, settings);
        expect(run.now / 1000 - chain.watermark!, 'normal lag during the outage').to.be.at.most(
          STEADY_LAG_SECONDS,
        );
        expect(failedExecutions(run)).to.deep.equal([]);
        const pending = readState(aws, settings).outbox;
        expect(pending.map((f) => f.event)).to.include('EXPORT_FAILED');
        const pendingMetric = metricLines.map((l) => JSON.parse(l).NotificationsPending);
        expect(
          Math.max(...pendingMetric),
          'the undelivered messages are visible as a metric',
        ).to.be.greaterThan(0);

        aws.sns.topics.add(settings.notificationTopicArn);
        await run.runFor(HOUR);
        const after = notifications(aws).filter((n) => Date.parse(n.time) >= outageStart);
        const events = after.map((n) => n.event);
        expect(events).to.include('EXPORT_FAILED');
        expect(events).to.include('EXPORT_COMMITTED');
        expect(readState(aws, settings).outbox).to.deep.equal([]);
        // The commits made during the outage are reported, merged, with no window missing.
        const commits = after.filter((n) => n.event === 'EXPORT_COMMITTED');
        for (let i = 1; i < commits.length; i++)
          expect(commits[i].window.from).to.equal(commits[i - 1].window.to);
        assertNotificationIds(aws);
      },
    );
  });

  it('SNS broken for 6 hours with two different export failures: both alerts, both recoveries and every commit arrive after', async () => {
    await withScenario(
      { settings: { notifyOnSuccess: true } },
      async ({ aws, run, settings, metricLines }) => {
        await run.runFor(2 * HOUR);
        const outageStart = run.now;
        breakTopic(aws, settings.notificationTopicArn);
        aws.dynamodb.failNextExports(1, 'S3AccessDenied');
        await run.runFor(2 * HOUR);
        aws.dynamodb.failNextExports(1, 'KMS.DisabledException');
        await run.runFor(4 * HOUR);
        expect(
          messagesOf(aws, 'EXPORT_FAILED', outageStart, run.now),
          'nothing during the outage',
        ).to.have.length(0);
        aws.sns.topics.add(settings.notificationTopicArn);
        await run.runFor(HOUR);

        const after = notifications(aws).filter((n) => Date.parse(n.time) >= outageStart);
        const failed = after.filter((n) => n.event === 'EXPORT_FAILED');
        const recovered = after.filter((n) => n.event === 'EXPORT_RECOVERED');
        expect(failed.map((n) => n.notificationId).sort()).to.have.length(2);
        // Each alert is closed by exactly one recovery of the same cause.
        expect(recovered.map((n) => n.notificationId).sort()).to.deep.equal(
          failed.map((n) => n.notificationId.replace(/#0$/, '#resolved')).sort(),
        );
        expect(after.map((n) => n.event)).to.not.include('NOTIFICATIONS_DROPPED');
        // Every commit made during the outage is reported, merged, with no window missing.
        const commits = after.filter((n) => n.event === 'EXPORT_COMMITTED');
        for (let i = 1; i < commits.length; i++)
          expect(commits[i].window.from).to.equal(commits[i - 1].window.to);
        expect(commits[commits.length - 1].window.to).to.equal(
          new Date(assertChain(aws, settings).watermark! * 1000).toISOString(),
        );
        expect(readState(aws, settings).notificationsDropped).to.equal(0);
        expect(metricLines.map((l) => JSON.parse(l).NotificationsDropped)).to.satisfy((v: number[]) =>
          v.every((n) => n === 0),
        );
        assertNotificationIds(aws);
      },
    );
  });

  it('SNS broken for 20 hours with five export failures: every recovery arrives, and what had to go is counted in the state, the metric and the first message', async () => {
    await withScenario(
      { settings: { notifyOnSuccess: true } },
      async ({ aws, run, settings, metricLines }) => {
        await run.runFor(2 * HOUR);
        const outageStart = run.now;
        const metricsFrom = metricLines.length;
        breakTopic(aws, settings.notificationTopicArn);
        for (const code of ['Code1', 'Code2', 'Code3', 'Code4', 'Code5']) {
          aws.dynamodb.failNextExports(1, code);
          await run.runFor(4 * HOUR);
        }
        expect(
          readState(aws, settings).notificationsDropped,
          'the outbox had to drop messages',
        ).to.be.greaterThan(0);
        aws.sns.topics.add(settings.notificationTopicArn);
        await run.runFor(HOUR);
        const dropped = readState(aws, settings).notificationsDropped;
        const droppedByMetric = metricLines
          .slice(metricsFrom)
          .reduce((sum, l) => sum + JSON.parse(l).NotificationsDropped, 0);
        expect(droppedByMetric).to.equal(dropped);
        const after = notifications(aws).filter((n) => Date.parse(n.time) >= outageStart);
        const firstDelivered = notifications(aws).find((n) => Date.parse(n.time) >= outageStart);
        expect(firstDelivered.event).to.equal('NOTIFICATIONS_DROPPED');
        expect(after.filter((n) => n.event === 'NOTIFICATIONS_DROPPED')).to.have.length(1);
        expect(firstDelivered.message).to.include(`${dropped} message(s)`);
        const recovered = after.filter((n) => n.event === 'EXPORT_RECOVERED').map((n) => n.notificationId);
        expect(recovered.sort()).to.have.length(5);
        for (const code of ['Code1', 'Code2', 'Code3', 'Code4', 'Code5'])
          expect(
            recovered.some((id) => id.includes(`EXPORT_FAILED:${code}@`)),
            code,
          ).to.equal(true);
        assertNotificationIds(aws);
      },
    );
  });

  it('a standing publish failure (permission removed) never fails an execution', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(HOUR);
      aws.sns.injectFault({ command: 'Publish', error: 'ThrottlingException', times: Infinity });
      aws.dynamodb.failNextExports(2);
      await run.runFor(4 * HOUR);
      expect(failedExecutions(run)).to.deep.equal([]);
      expect(run.now / 1000 - assertChain(aws, settings).watermark!).to.be.at.most(STEADY_LAG_SECONDS);
      aws.sns.clearFaults();
      await run.runFor(HOUR);
      expect(notifications(aws, 'EXPORT_FAILED')).to.have.length(1);
    });
  });
});

describe('hardening: one alert per cause', () => {
  quietUndelivered();
  it('throttled start requests (account export quota used up) for 3 hours: no failed run, one alert once the lag matters', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      const start = run.now;
      aws.dynamodb.injectFault({
        command: 'ExportTableToPointInTime',
        error: 'LimitExceededException',
        times: Infinity,
      });
      await run.runFor(3 * HOUR);
      aws.dynamodb.clearFaults();
      await run.runFor(2 * HOUR);
      expect(failedExecutions(run)).to.deep.equal([]);
      const events = notifications(aws)
        .filter((n) => Date.parse(n.time) >= start)
        .map((n) => n.event);
      expect(events.filter((e) => e === 'RUN_FAILED' || e === 'RUN_RECOVERED')).to.deep.equal([]);
      // Lag alert threshold 75 min: one alert after it, one reminder an hour later, one resolution.
      expect(events.filter((e) => e === 'EXPORT_THROTTLED').length).to.be.within(1, 2);
      expect(events.filter((e) => e === 'INCIDENT_RESOLVED')).to.have.length(1);
      expect(run.now / 1000 - assertChain(aws, settings).watermark!).to.be.at.most(STEADY_LAG_SECONDS);
    });
  });

  it('DescribeContinuousBackups says enabled but export requests answer PITR unavailable for 30 minutes: one alert, one resolution', async () => {
    const ddb: { client: Breakable | null } = { client: null };
    await withScenario({}, async ({ aws, run }) => {
      ddb.client = new Breakable(aws.dynamodb);
      patchClient(run, 'dynamodb', ddb.client);
      await run.runFor(2 * HOUR);
      const start = run.now;
      ddb.client.error = (action) =>
        action === 'ExportTableToPointInTime'
          ? serviceError('PointInTimeRecoveryUnavailableException', 'Point in time recovery is not enabled')
          : undefined;
      await run.runFor(30 * MINUTE);
      ddb.client.error = null;
      await run.runFor(2 * HOUR);
      const events = notifications(aws)
        .filter((n) => Date.parse(n.time) >= start)
        .map((n) => n.event);
      expect(events.filter((e) => e !== 'EXPORT_COMMITTED').length, events.join(',')).to.be.at.most(2);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  for (const hours of [6, 24]) {
    it(`one standing export failure (a disabled KMS key) for ${hours} hours: one alert, reminders with back-off, one recovery`, async () => {
      await withScenario({}, async ({ aws, run, settings }) => {
        await run.runFor(2 * HOUR);
        const start = run.now;
        let broken = true;
        aws.dynamodb.failNextExports(() => broken, 'KMS.DisabledException');
        await run.runFor(hours * HOUR);
        broken = false;
        await run.runFor(3 * HOUR);
        const failed = messagesOf(aws, 'EXPORT_FAILED', start, start + hours * HOUR);
        // OPEN, then reminders after 1 h, 2 h, 4 h, 8 h (cumulative 1, 3, 7, 15 h).
        const expected = [0, 1, 3, 7, 15].filter((h) => h < hours - 0.5).length;
        expect(failed.length, failed.map((m) => new Date(m.at).toISOString()).join(' ')).to.be.within(
          expected - 1,
          expected,
        );
        expect(failed.length).to.be.at.most(6);
        expect(notifications(aws, 'EXPORT_RECOVERED')).to.have.length(1);
        const chain = assertChain(aws, settings);
        expect(run.now / 1000 - chain.watermark!).to.be.at.most(STEADY_LAG_SECONDS);
        assertNotificationIds(aws);
      });
    });
  }

  it('throttled start requests for 24 hours: at most 6 alerts in the day, no failed run', async () => {
    await withScenario({}, async ({ aws, run }) => {
      await run.runFor(2 * HOUR);
      const start = run.now;
      aws.dynamodb.injectFault({
        command: 'ExportTableToPointInTime',
        error: 'LimitExceededException',
        times: Infinity,
      });
      await run.runFor(24 * HOUR);
      expect(messagesOf(aws, 'EXPORT_THROTTLED', start, run.now).length).to.be.within(1, 6);
      expect(messagesOf(aws, 'RUN_FAILED', start, run.now)).to.deep.equal([]);
      expect(failedExecutions(run)).to.deep.equal([]);
    });
  });

  it('a tick that fails for 24 hours (chain manifest writes denied): at most 6 RUN_FAILED, one recovery', async () => {
    await withScenario({}, async ({ aws, run }) => {
      const s3 = new Breakable(aws.s3);
      patchClient(run, 's3', s3);
      await run.runFor(2 * HOUR);
      const start = run.now;
      s3.error = (action) =>
        action === 'PutObject' ? serviceError('AccessDenied', 'Access Denied', 403) : undefined;
      const quiet = console.error;
      console.error = () => {};
      try {
        await run.runFor(24 * HOUR);
      } finally {
        console.error = quiet;
      }
      const failed = messagesOf(aws, 'RUN_FAILED', start, run.now);
      expect(failed.length).to.be.within(1, 6);
      expect(new Set(failed.map((m) => JSON.parse(m.Message).notificationId)).size).to.equal(failed.length);
      s3.error = null;
      await run.runFor(2 * HOUR);
      expect(messagesOf(aws, 'RUN_RECOVERED', start, run.now)).to.have.length(1);
    });
  });

  it('SSM failing for hours, twice: the hourly RUN_FAILED alerts, and exactly one RUN_RECOVERED after each outage', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      const ssmDown = async (ms: number) => {
        for (const command of ['GetParameters', 'PutParameter', 'DeleteParameter'])
          aws.ssm.injectFault({ command, error: 'ServiceUnavailable', times: Infinity });
        const quiet = console.error;
        console.error = () => {};
        try {
          await run.runFor(ms);
        } finally {
          console.error = quiet;
        }
        aws.ssm.clearFaults();
      };
      await run.runFor(2 * HOUR + 20 * MINUTE);
      const start = run.now;
      await ssmDown(5 * HOUR);
      const alerts = messagesOf(aws, 'RUN_FAILED', start, run.now);
      // Nothing can be recorded: the stateless rule alerts about once an hour.
      expect(alerts.length).to.be.within(4, 6);
      expect(messagesOf(aws, 'RUN_RECOVERED', start, run.now)).to.have.length(0);
      const back = run.now;
      await run.runFor(3 * HOUR);
      expect(messagesOf(aws, 'RUN_FAILED', back, run.now), 'no alert once SSM is back').to.have.length(0);
      const recovered = messagesOf(aws, 'RUN_RECOVERED', start, run.now).map((m) => JSON.parse(m.Message));
      expect(recovered).to.have.length(1);
      // It closes the alerts sent: the same cause, failing since the first of them.
      const firstAlertAt = Date.parse(JSON.parse(alerts[0].Message).time) / 1000;
      expect(recovered[0].notificationId).to.equal(
        `${settings.alias}/RUN_FAILED:TransientAwsError@${firstAlertAt}#resolved`,
      );
      expect(readState(aws, settings).incidents.map((i) => i.key)).to.not.include(
        'RUN_FAILED:TransientAwsError',
      );
      expect(run.now / 1000 - assertChain(aws, settings).watermark!).to.be.at.most(STEADY_LAG_SECONDS);

      // A second outage is alerted and resolved on its own; the first one is not resolved again.
      const second = run.now;
      await ssmDown(2 * HOUR);
      await run.runFor(3 * HOUR);
      const alerts2 = messagesOf(aws, 'RUN_FAILED', second, run.now);
      expect(alerts2.length).to.be.within(1, 3);
      const recovered2 = messagesOf(aws, 'RUN_RECOVERED', second, run.now);
      expect(recovered2).to.have.length(1);
      expect(messagesOf(aws, 'RUN_RECOVERED', start, run.now)).to.have.length(2);
      assertNotificationIds(aws);
      expect(failedExecutions(run).length).to.be.greaterThan(0);
    });
  });

  it('a PITR gap waiting for the operator for a day: at most 6 messages, not 24', async () => {
    await withScenario({}, async ({ aws, run, settings }) => {
      await run.runFor(2 * HOUR);
      aws.ssm.set(settings.actionParameterName, 'PAUSE');
      await run.runFor(HOUR);
      // PITR disabled and enabled again: history before now is gone.
      aws.dynamodb.disablePitr(settings.tableName);
      await run.runFor(10 * MINUTE);
      aws.dynamodb.enablePitr(settings.tableName);
      aws.ssm.set(settings.actionParameterName, 'RUN');
      const start = run.now;
      await run.runFor(24 * HOUR);
      const gaps = messagesOf(aws, 'PITR_GAP', start, run.now);
      expect(gaps.length).to.be.within(1, 6);
    });
  });
});

/** Routes one of the runner's clients (the object the handler holds) through `client`. */
function patchClient(run: { clients: any }, name: string, client: CommandSender): void {
  run.clients[name].send = (command: any) => client.send(command);
}
