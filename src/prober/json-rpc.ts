/**
 * Recognising the JSON-RPC 2.0 response to the probe's `initialize` request
 * (MCP basic lifecycle, Initialization), in a body or an SSE `message` event.
 */

/** The response to our request: a result object or an error. */
export type JsonRpcReply =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'error'; code: number; message: string; data?: unknown };

/**
 * Parses `text` and returns the response whose `id` is `id`, or undefined when
 * the text is not JSON or holds no such response (a notification, a request
 * from the server, another id). A batch (array, 2025-03-26) is searched.
 */
export function parseJsonRpcReply(text: string, id: number | string): JsonRpcReply | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  for (const message of messages) {
    const reply = asReply(message, id);
    if (reply) return reply;
  }
  return undefined;
}

function asReply(message: unknown, id: number | string): JsonRpcReply | undefined {
  if (!isObject(message) || message.jsonrpc !== '2.0') return undefined;
  if (isObject(message.error)) {
    // A server that cannot read our request answers with id null (JSON-RPC 2.0, 5.1).
    if (message.id !== id && message.id !== null) return undefined;
    const { code, message: text, data } = message.error;
    return {
      kind: 'error',
      code: typeof code === 'number' ? code : 0,
      message: typeof text === 'string' ? text : '',
      ...(data === undefined ? {} : { data }),
    };
  }
  if (message.id === id && isObject(message.result)) return { kind: 'result', result: message.result };
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
