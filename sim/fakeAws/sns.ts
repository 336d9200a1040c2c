/** SNS in memory: records every published message for assertions. */
import type {
  PublishCommandInput,
  PublishCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-sns';
import { serviceError } from './errors';
import { CallLog, FakeService, type NowFn } from './service';

export interface PublishedMessage {
  TopicArn: string;
  Subject?: string;
  Message: string;
  MessageAttributes?: Record<string, unknown>;
  /** Simulated publish time, epoch ms. */
  at: number;
  MessageId: string;
}

const TOPIC_ARN = /^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

export class FakeSNS extends FakeService<ServiceInputTypes, ServiceOutputTypes> {
  readonly messages: PublishedMessage[] = [];
  /** When non-empty, only these topics exist. */
  readonly topics = new Set<string>();

  constructor(log: CallLog, now: NowFn) {
    super('sns', log, now);
  }

  protected readonly handlers = {
    Publish: (input: PublishCommandInput) => this.publish(input),
  };

  /** Messages whose body parses as JSON, parsed (`{ unparsable: body }` for the others). */
  json(): unknown[] {
    return this.messages.map((m) => {
      try {
        return JSON.parse(m.Message);
      } catch {
        return { unparsable: m.Message };
      }
    });
  }

  private publish(input: PublishCommandInput): PublishCommandOutput {
    const topic = input?.TopicArn;
    if (typeof topic !== 'string' || !TOPIC_ARN.test(topic)) {
      throw serviceError('InvalidParameterException', `Invalid parameter: TopicArn ${JSON.stringify(topic)}`);
    }
    if (this.topics.size > 0 && !this.topics.has(topic)) {
      throw serviceError('NotFoundException', 'Topic does not exist', 404);
    }
    if (typeof input.Message !== 'string' || input.Message.length === 0) {
      throw serviceError('InvalidParameterException', 'Invalid parameter: Message');
    }
    if (Buffer.byteLength(input.Message, 'utf8') > 256 * 1024) {
      throw serviceError('InvalidParameterException', 'Invalid parameter: Message too long');
    }
    if (input.Subject !== undefined) {
      const s = input.Subject;
      // Subjects must be ASCII text without line breaks, at most 100 characters.
      if (typeof s !== 'string' || s.length === 0 || s.length > 100 || !/^[\x20-\x7e]+$/.test(s)) {
        throw serviceError('InvalidParameterException', 'Invalid parameter: Subject');
      }
    }
    const MessageId = `00000000-0000-4000-8000-${(this.messages.length + 1).toString(16).padStart(12, '0')}`;
    this.messages.push({
      TopicArn: topic,
      Subject: input.Subject,
      Message: input.Message,
      MessageAttributes: input.MessageAttributes,
      at: this.now(),
      MessageId,
    });
    return { MessageId, $metadata: { httpStatusCode: 200 } };
  }
}
