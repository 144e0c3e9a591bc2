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
  let buffer = '';
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== 'next' || !data) continue;
          const payload = JSON.parse(data) as Record<string, unknown>;
          const waiter = waiters.shift();
          if (waiter) waiter(payload);
          else queue.push(payload);
        }
      }
    } catch {
      // aborted
    }
  })();
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
      await reader.cancel().catch(() => undefined);
      await done;
    },
  };
}
