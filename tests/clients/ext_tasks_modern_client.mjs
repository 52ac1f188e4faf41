// A Tasks client nobody here wrote, on 2026-07-28, driven from tests/test_tasks_ext_2026.py: the official
// @modelcontextprotocol/ext-tasks requester over the official TypeScript client, connected over streamable
// HTTP. The SDK's Client cannot carry the extension's wire shapes (a CreateTaskResult for tools/call, the
// tasks/* methods), so ext-tasks sends those through the host's `rawDispatch` with its own framing: here a
// plain POST per request, with the routing headers a transport derives from the body (Mcp-Protocol-Version,
// Mcp-Method, Mcp-Name of a tools/call) and exactly the headers ext-tasks hands over (its Mcp-Name for
// tasks/get, tasks/update and tasks/cancel).
//
//   node ext_tasks_modern_client.mjs <command> <target.json>
//
// target.json: {"url": "...", "token": "...", "arguments": {...}, "answer": {...}}
// Commands (each prints one JSON line on stdout at the end, with `wire`: every raw request and its answer):
// Each calls generate_image with target.arguments, the extension declared (the server decides whether it
// becomes a task; `kind` says what ext-tasks made of the answer: "task" or "immediate"):
//   start   left running: {kind, taskId, reference}
//   call    settled: {kind, taskId, status, result}, or {thrown}: what ext-tasks threw at the answer
//   answer  as `call`, answering the task's input requests with target.answer: {..., asked}
//   cancel  prints {"step": "created", taskId} and waits for a line on stdin, then cancels the task and
//           reads it until it ends: {kind, taskId, status, observed}
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  DispatchError,
  createTaskSessionFromClient,
  resultFromTaskOutcome,
} from "@modelcontextprotocol/ext-tasks/client";

const MODERN = "2026-07-28";
const VERSION_META = "io.modelcontextprotocol/protocolVersion";
const [command, targetFile] = process.argv.slice(2);
const target = JSON.parse(readFileSync(targetFile, "utf8"));
const clientInfo = { name: "ext-tasks-2026-test-client", version: "1.0.0" };
// The person's yes comes back as an elicitation answer, so the client says it can be asked.
const clientCapabilities = { elicitation: { form: {} } };
const wire = [];
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function print(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** One line to the test, then its go-ahead (a line on stdin). */
async function step(value) {
  print(value);
  await stdin.next();
}

/** The JSON-RPC answer to request `id` in an HTTP response: a JSON body or an event stream. */
async function answerOf(response, id) {
  const text = await response.text();
  const kind = response.headers.get("content-type") ?? "";
  const messages = [];
  if (kind.startsWith("text/event-stream")) {
    for (const event of text.replaceAll("\r\n", "\n").split("\n\n")) {
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data.trim()) messages.push(JSON.parse(data));
    }
  } else if (text.trim()) {
    messages.push(JSON.parse(text));
  }
  return messages.find((message) => message.id === id && ("result" in message || "error" in message));
}

let nextId = 1;
let sessionId;

/** ext-tasks' raw request path, over HTTP: the request as ext-tasks framed it, POSTed on its own. */
async function rawDispatch(request, options = {}) {
  const id = `raw-${nextId++}`;
  const message = { jsonrpc: "2.0", id, ...request };
  const handed = { ...(options.context?.headers ?? {}) };
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": request.params?._meta?.[VERSION_META] ?? MODERN,
    "mcp-method": request.method,
  });
  if (target.token) headers.set("authorization", `Bearer ${target.token}`);
  if (sessionId) headers.set("mcp-session-id", sessionId);
  // Derived from the body as the SDK's transport derives it; for tasks/* only ext-tasks names the task.
  if (request.method === "tools/call") headers.set("mcp-name", request.params.name);
  for (const [name, value] of Object.entries(handed)) headers.set(name, value);
  const exchange = {
    method: request.method,
    params: request.params,
    handed,
    sent: { mcpName: headers.get("mcp-name"), mcpMethod: headers.get("mcp-method") },
  };
  wire.push(exchange);
  let response;
  try {
    response = await fetch(target.url, {
      method: "POST",
      headers,
      body: JSON.stringify(message),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    exchange.failed = String(error);
    throw new DispatchError(`POST ${request.method} failed`, false, { cause: error });
  }
  exchange.status = response.status;
  const answer = await answerOf(response, id);
  if (answer === undefined) {
    exchange.failed = `HTTP ${response.status} without an answer to ${id}`;
    throw new DispatchError(exchange.failed);
  }
  if ("error" in answer) {
    exchange.error = answer.error;
    return { kind: "error", error: answer.error };
  }
  exchange.result = answer.result;
  return { kind: "result", result: answer.result };
}

function thrown(error) {
  return {
    name: error?.name,
    message: error?.message,
    ...(error?.code === undefined ? {} : { code: error.code }),
    ...(error?.data === undefined ? {} : { data: error.data }),
    ...(error?.cause === undefined ? {} : { cause: String(error.cause) }),
  };
}

const asked = [];
const transport = new StreamableHTTPClientTransport(new URL(target.url), {
  requestInit: { headers: target.token ? { Authorization: `Bearer ${target.token}` } : {} },
});
const client = new Client(clientInfo, { capabilities: clientCapabilities, versionNegotiation: { mode: { pin: MODERN } } });
let finished = false;
let session;
try {
  await client.connect(transport);
  sessionId = transport.sessionId;
  const protocolVersion = client.getNegotiatedProtocolVersion();
  session = createTaskSessionFromClient(client, {
    endpointId: "wiro-mcp-under-test",
    rawDispatch,
    v2RequestFraming: { protocolVersion, clientInfo, clientCapabilities },
    onInputRequest: async (request, context) => {
      asked.push({ request, taskId: context.taskId, inputId: context.inputId, delivery: context.delivery });
      return target.answer ?? { action: "cancel" };
    },
  });
  const { tools } = await client.listTools();
  const tool = tools.find((candidate) => candidate.name === "generate_image");
  const declaration = { name: tool.name, inputSchema: tool.inputSchema };
  const era = { era: client.getProtocolEra(), protocolVersion, generation: session.capabilities };
  let execution;
  try {
    // No task preference (ext-tasks' default, "allow"): on 2026-07-28 the server alone decides.
    execution = await session.callTool("generate_image", target.arguments, { declaration });
  } catch (error) {
    // A refusal ext-tasks could not take as a task or a result: what it threw, as it threw it.
    print({ ...era, thrown: thrown(error), wire });
    finished = true;
  }
  if (execution !== undefined) {
    const taskId = execution.kind === "task" ? execution.handle.taskId : null;
    const seen = { ...era, kind: execution.kind, taskId };
    if (command === "start") {
      print({ ...seen, reference: execution.kind === "task" ? execution.serializeReference() : null, wire });
      await execution.detach();
    } else if (command === "cancel") {
      await step({ step: "created", taskId });
      await execution.cancel();
      const { outcome: local } = await execution.settle();
      // The ack ends ext-tasks' own wait; the task itself is read until the server says it ended.
      const observed = await session.task(taskId).result({ signal: AbortSignal.timeout(30_000) });
      print({ ...seen, status: local.status, observed: observed.status, wire });
    } else {
      const { outcome } = await execution.settle();
      const ended = { ...seen, status: outcome.status, asked };
      if (outcome.status === "completed") print({ ...ended, result: resultFromTaskOutcome(outcome), wire });
      else print({ ...ended, failure: outcome.status === "failed" ? thrown(outcome.error) : null, wire });
    }
    finished = true;
  }
} catch (error) {
  print({ thrown: thrown(error), wire, unexpected: true });
  process.exitCode = 1;
} finally {
  // session.close() would cancel an execution it does not count as settled: after `start` the task
  // must stay running, so only the connection is closed.
  if (session !== undefined && command !== "start") await session.close();
  await client.close();
  if (!finished) process.exitCode = 1;
  process.stdin.destroy();
}
