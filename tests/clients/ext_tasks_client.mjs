// A Tasks client nobody here wrote, driven from tests/test_tasks_clients.py: the official
// @modelcontextprotocol/ext-tasks requester over the official TypeScript client (2025-11-25 Tasks).
//
//   node ext_tasks_client.mjs <command> <target.json> [reference.json]
//
// target.json: {"command": "...", "args": [...], "env": {...}} for stdio, or {"url": "...", "token": "..."}.
// Commands (each prints one JSON line on stdout):
//   call    generate_image as a task, settled: {kind, taskId, status, result}
//   start   generate_image as a task, not waited for: {kind, taskId, reference}
//   resume  the task `reference` names, settled (another process, maybe another server): {status, result}
//   cancel  generate_image as a task, cancelled once it is working: {kind, taskId, status}
import { readFileSync } from "node:fs";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { createTaskSessionFromClient, resultFromTaskOutcome } from "@modelcontextprotocol/ext-tasks/client";

const [command, targetFile, referenceFile] = process.argv.slice(2);
const target = JSON.parse(readFileSync(targetFile, "utf8"));

function transportFor(target) {
  if (target.url) {
    const headers = target.token ? { Authorization: `Bearer ${target.token}` } : {};
    return new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers } });
  }
  return new StdioClientTransport({ command: target.command, args: target.args, env: target.env, stderr: "ignore" });
}

const client = new Client({ name: "ext-tasks-test-client", version: "1.0.0" });
await client.connect(transportFor(target), { prior: { kind: "legacy" } });
const session = createTaskSessionFromClient(client, { endpointId: "wiro-mcp-under-test" });
const { tools } = await client.listTools();
const tool = tools.find((candidate) => candidate.name === "generate_image");
const declaration = {
  name: tool.name,
  inputSchema: tool.inputSchema,
  ...(tool.execution?.taskSupport ? { taskSupport: tool.execution.taskSupport } : {}),
};
const args = JSON.parse(process.env.TOOL_ARGS ?? '{"prompt": "a lighthouse", "preview": false}');

function print(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

try {
  if (command === "resume") {
    const reference = JSON.parse(readFileSync(referenceFile, "utf8"));
    const execution = await session.resumeTask(reference, { declaration });
    const { outcome } = await execution.settle();
    print({ status: outcome.status, result: resultFromTaskOutcome(outcome) });
  } else {
    const execution = await session.callTool("generate_image", args, {
      declaration,
      task: { preference: "prefer" },
    });
    const taskId = execution.kind === "task" ? execution.handle.taskId : null;
    if (command === "start") {
      print({ kind: execution.kind, taskId, reference: execution.kind === "task" ? execution.serializeReference() : null });
      await execution.detach();
    } else if (command === "cancel") {
      await execution.cancel();
      const { outcome } = await execution.settle();
      print({ kind: execution.kind, taskId, status: outcome.status });
    } else {
      const { outcome } = await execution.settle();
      print({ kind: execution.kind, taskId, status: outcome.status, result: resultFromTaskOutcome(outcome) });
    }
  }
} finally {
  // session.close() cancels every execution it does not yet count as settled, and a detached one
  // only counts once its rejection has run (a tick later, longer under load). A hand-off must not
  // stop the task, so after `start` only the connection is closed.
  if (command !== "start") await session.close();
  await client.close();
}
