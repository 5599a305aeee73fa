// Makes fauxqs receive from FIFO queues the way real SQS does, so tests see
// the batches Lambda sees in production:
//  - one ReceiveMessage hands out up to 10 messages of ONE message group, in
//    order (fauxqs stops after the first message of a group);
//  - messages that come back (visibility timeout, ChangeMessageVisibility 0)
//    keep their send order in the group (fauxqs pushes each to the front, so
//    several returning together came back reversed).
// Real SQS also never hands out a message of a group that has one in flight;
// fauxqs already does that, and this patch keeps it.
//
// Applied in the process that runs fauxqs (the vitest global setup), before
// the emulator starts. `restore()` undoes it.

interface FauxqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes: Record<string, unknown>;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  messageGroupId?: string;
  sequenceNumber?: string;
}

interface FauxqsQueue {
  attributes: Record<string, string>;
  fifoMessages: Map<string, FauxqsMessage[]>;
  fifoLockedGroups: Map<string, number>;
  inflightMessages: Map<string, { message: FauxqsMessage; receiptHandle: string; visibilityDeadline: number }>;
  spy?: { addMessage(entry: Record<string, unknown>): void };
  persistence?: {
    deleteMessage(id: string): void;
    updateMessageInflight(id: string, handle: string, deadline: number, count: number, first: number | undefined): void;
  };
  name: string;
  isFifo(): boolean;
  processTimers(): void;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  dequeueFifo(maxCount: number, visibilityTimeoutOverride: number | undefined, dlqResolver?: (arn: string) => { enqueue(m: FauxqsMessage): void } | undefined): unknown[];
}

interface SqsQueueClass {
  prototype: FauxqsQueue;
}

const PATCHED = Symbol.for('b24.fauxqs-fifo-batching');

async function loadSqsQueueClass(): Promise<SqsQueueClass> {
  // fauxqs exports only its app; its store module is loaded by file URL, which
  // resolves to the same module instance the app uses.
  // (its package exports only ".", so the path is taken from the repository root).
  const storeUrl = new URL('../../node_modules/fauxqs/dist/sqs/sqsStore.js', import.meta.url).href;
  const module = (await import(storeUrl)) as { SqsQueue: SqsQueueClass };
  return module.SqsQueue;
}

function bySequence(a: FauxqsMessage, b: FauxqsMessage): number {
  return (a.sequenceNumber ?? '').localeCompare(b.sequenceNumber ?? '');
}

function sortGroups(queue: FauxqsQueue): void {
  for (const group of queue.fifoMessages.values()) group.sort(bySequence);
}

function redrivePolicy(queue: FauxqsQueue): { maxReceiveCount: number; dlqArn: string | undefined } {
  try {
    const policy = JSON.parse(queue.attributes.RedrivePolicy ?? '') as { maxReceiveCount?: number; deadLetterTargetArn?: string };
    return { maxReceiveCount: policy.maxReceiveCount ?? Number.POSITIVE_INFINITY, dlqArn: policy.deadLetterTargetArn };
  } catch {
    return { maxReceiveCount: Number.POSITIVE_INFINITY, dlqArn: undefined };
  }
}

/** Real-SQS FIFO receive: the first unlocked group with messages gives up to `count` of them, in order. */
function dequeueFifoLikeSqs(
  this: FauxqsQueue,
  maxCount: number,
  visibilityTimeoutOverride: number | undefined,
  dlqResolver?: (arn: string) => { enqueue(m: FauxqsMessage): void } | undefined,
): unknown[] {
  this.processTimers();
  const visibilityTimeout = visibilityTimeoutOverride ?? Number.parseInt(this.attributes.VisibilityTimeout ?? '30', 10);
  const { maxReceiveCount, dlqArn } = redrivePolicy(this);
  const count = Math.min(maxCount, 10);
  const result: unknown[] = [];
  for (const [groupId, messages] of this.fifoMessages) {
    if (result.length > 0) break; // one group per receive, as SQS does for a batch of one group
    if (this.fifoLockedGroups.has(groupId) || messages.length === 0) continue;
    while (result.length < count && messages.length > 0) {
      const message = messages.shift() as FauxqsMessage;
      message.approximateReceiveCount += 1;
      message.approximateFirstReceiveTimestamp ??= Date.now();
      if (dlqArn !== undefined && dlqResolver !== undefined && message.approximateReceiveCount > maxReceiveCount) {
        const dlq = dlqResolver(dlqArn);
        if (dlq !== undefined) {
          this.spy?.addMessage({ service: 'sqs', queueName: this.name, messageId: message.messageId, body: message.body, messageAttributes: message.messageAttributes, status: 'dlq', timestamp: Date.now() });
          this.persistence?.deleteMessage(message.messageId);
          dlq.enqueue(message);
          continue;
        }
      }
      const receiptHandle = crypto.randomUUID();
      const visibilityDeadline = Date.now() + visibilityTimeout * 1000;
      this.inflightMessages.set(receiptHandle, { message, receiptHandle, visibilityDeadline });
      this.persistence?.updateMessageInflight(message.messageId, receiptHandle, visibilityDeadline, message.approximateReceiveCount, message.approximateFirstReceiveTimestamp);
      result.push({
        MessageId: message.messageId,
        ReceiptHandle: receiptHandle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
        ...(Object.keys(message.messageAttributes).length > 0 ? { MessageAttributes: message.messageAttributes } : {}),
      });
      this.fifoLockedGroups.set(groupId, (this.fifoLockedGroups.get(groupId) ?? 0) + 1);
    }
    if (messages.length === 0) this.fifoMessages.delete(groupId);
  }
  return result;
}

export interface FifoBatchingPatch {
  restore(): void;
}

/** Patches fauxqs's queue class in this process (idempotent). */
export async function applyFauxqsFifoBatching(): Promise<FifoBatchingPatch> {
  const SqsQueue = await loadSqsQueueClass();
  const proto = SqsQueue.prototype as FauxqsQueue & { [PATCHED]?: FifoBatchingPatch };
  const existing = proto[PATCHED];
  if (existing !== undefined) return existing;
  const original = { dequeueFifo: proto.dequeueFifo, processTimers: proto.processTimers, changeVisibility: proto.changeVisibility };
  proto.dequeueFifo = dequeueFifoLikeSqs;
  proto.processTimers = function processTimersInOrder(this: FauxqsQueue) {
    original.processTimers.call(this);
    if (this.isFifo()) sortGroups(this);
  };
  proto.changeVisibility = function changeVisibilityInOrder(this: FauxqsQueue, receiptHandle: string, timeoutSeconds: number) {
    original.changeVisibility.call(this, receiptHandle, timeoutSeconds);
    if (this.isFifo()) sortGroups(this);
  };
  const patch: FifoBatchingPatch = {
    restore() {
      Object.assign(proto, original);
      delete proto[PATCHED];
    },
  };
  proto[PATCHED] = patch;
  return patch;
}
