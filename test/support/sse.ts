/**
 * A GraphQL over SSE client for tests (the "distinct connections" mode of
 * https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md, which Yoga serves): POSTs the
 * operation with Accept: text/event-stream and reads `next` events as they arrive.
 */
export interface SseSubscription {
  /** The HTTP status of the stream's response. */
  status: number;
  /** The next `next` event's payload, or null when none comes within `ms`. */
  next(ms?: number): Promise<Record<string, unknown> | null>;
  /** Every payload received so far and not yet taken by next(). */
  pending(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function subscribeSse(
  fetcher: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<SseSubscription> {
  const controller = new AbortController();
  const response = await fetcher(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((value: Record<string, unknown>) => void)[] = [];
  const done = readNextEvents(
    response,
    (data) => {
      const payload = JSON.parse(data) as Record<string, unknown>;
      const waiter = waiters.shift();
      if (waiter) waiter(payload);
      else queue.push(payload);
    },
    controller.signal,
  ).catch(() => undefined); // aborted
  return {
    status: response.status,
    next: (ms = 2_000) =>
      queue.length
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve) => {
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1);
              resolve(null);
            }, ms);
            const waiter = (value: Record<string, unknown>) => {
              clearTimeout(timer);
              resolve(value);
            };
            waiters.push(waiter);
          }),
    pending: () => queue.splice(0),
    close: async () => {
      controller.abort();
      await done;
    },
  };
}

/**
 * Reads an SSE response to its end, calling `onNext` with the data of each `next` event as it
 * arrives (text/event-stream, https://html.spec.whatwg.org/multipage/server-sent-events.html:
 * events end with a blank line; GraphQL over SSE sends results as `event: next`).
 */
export async function readNextEvents(
  response: Response,
  onNext: (data: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = response.body!.getReader();
  // (an in-process response's body does not end with the request's signal: its reader is cancelled)
  signal?.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (/^event: next$/m.test(block) && data) onNext(data);
    }
  }
}
