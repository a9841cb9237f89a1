#!/usr/bin/env node
// The official `openai` npm package against a gateway: client-side tools (plain and streamed),
// max_tokens with finish_reason `length`, an image refused for a text-only model,
// a vision model, `GET /v1/models/{id}`, and `/v1/responses` plain and streamed.
//
// Usage: node tests/node/openai_client.mjs BASE_URL TOKEN
// The gateway must sit in front of the test server that
// crates/gateway/tests/suite/openai_clients.rs starts (the same models as
// tests/python/test_openai_tools.py). Exits 0 when every check passes, 1 when one fails, 2 on
// bad usage, 3 when the `openai` package is not installed (`npm ci --prefix tests/node`).

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || !token) {
  console.error("usage: node openai_client.mjs BASE_URL TOKEN");
  process.exit(2);
}

let OpenAI;
try {
  ({ default: OpenAI } = await import("openai"));
} catch (e) {
  console.error(`the \`openai\` package is not installed (${e.message}); run \`npm ci --prefix tests/node\``);
  process.exit(3);
}

const failures = [];
function check(name, condition, detail = "") {
  if (condition) {
    console.log(`ok   ${name}`);
  } else {
    console.log(`FAIL ${name} ${detail}`);
    failures.push(name);
  }
}
const show = (v) => JSON.stringify(v);

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const WEATHER_FLAT = { type: "function", ...WEATHER.function };
const QUESTION = "What is the weather in Paris?";
const RESULT = "22 C and sunny";
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" +
  "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const parseArgs = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};
const isParis = (text) => show(parseArgs(text)) === show({ city: "Paris" });

const client = new OpenAI({ baseURL: `${baseUrl.replace(/\/$/, "")}/v1`, apiKey: token, maxRetries: 0, timeout: 60_000 });
const ask = [{ role: "user", content: QUESTION }];

// A tool round trip, plain.
const first = await client.chat.completions.create({
  model: "ollama/tooly", messages: ask, tools: [WEATHER], tool_choice: "auto",
  temperature: 0.2, top_p: 0.9, seed: 7, max_tokens: 200, stop: ["\n\n\n"],
});
const choice = first.choices[0];
const calls = choice.message.tool_calls ?? [];
check("a tool call finishes with tool_calls", choice.finish_reason === "tool_calls", show(choice.finish_reason));
check("a tool call has no text", choice.message.content === null, show(choice.message.content));
check("the client's tool is called with its arguments",
  calls.length === 1 && calls[0].function.name === "get_weather" && isParis(calls[0].function.arguments) && calls[0].id,
  show(calls));
if (calls.length) {
  const final = await client.chat.completions.create({
    model: "ollama/tooly", tools: [WEATHER],
    messages: [...ask, choice.message, { role: "tool", tool_call_id: calls[0].id, content: RESULT }],
  });
  check("the answer after the tool result ends with stop", final.choices[0].finish_reason === "stop",
    show(final.choices[0].finish_reason));
  check("the answer uses the tool result", (final.choices[0].message.content ?? "").includes("22"),
    show(final.choices[0].message.content));
}

// Streamed: tool calls as indexed deltas.
const pieces = new Map();
let finish = null;
let usage = null;
let deltas = 0;
const stream = await client.chat.completions.create({
  model: "ollama/tooly-stream", messages: ask, tools: [WEATHER], stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    for (const d of c.delta.tool_calls ?? []) {
      deltas += 1;
      const slot = pieces.get(d.index) ?? { id: null, name: "", arguments: "" };
      if (d.id) slot.id = d.id;
      if (d.function?.name) slot.name += d.function.name;
      if (d.function?.arguments) slot.arguments += d.function.arguments;
      pieces.set(d.index, slot);
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
}
const streamed = pieces.get(0) ?? {};
check("a streamed tool call finishes with tool_calls", finish === "tool_calls", show(finish));
check("a streamed tool call comes in indexed pieces",
  pieces.size === 1 && deltas >= 2 && streamed.id && streamed.name === "get_weather" && isParis(streamed.arguments),
  show([...pieces]));
check("a streamed tool call reports usage", usage && usage.total_tokens > 0, show(usage));
if (streamed.id) {
  // The SDK's own accumulator, on the follow-up.
  const runner = client.chat.completions.stream({
    model: "ollama/tooly-stream", tools: [WEATHER],
    messages: [...ask,
      { role: "assistant", content: null, tool_calls: [{ id: streamed.id, type: "function", function: { name: streamed.name, arguments: streamed.arguments } }] },
      { role: "tool", tool_call_id: streamed.id, content: RESULT }],
  });
  const done = await runner.finalChatCompletion();
  check("the streamed answer after the tool result",
    (done.choices[0].message.content ?? "").includes("22") && done.choices[0].finish_reason === "stop", show(done.choices[0]));
}

// max_tokens reaches the model, and a cut reply says `length`.
const short = await client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "Say hello." }], max_tokens: 1 });
check("max_tokens cuts the reply with finish_reason length",
  short.choices[0].finish_reason === "length" && short.choices[0].message.content === "Hello", show(short.choices[0]));

// An image to a text-only model is a 400 that names the model.
const look = [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: PIXEL } }] }];
try {
  await client.chat.completions.create({ model: "ollama/m", messages: look });
  check("an image to a text-only model is refused", false, "no error raised");
} catch (e) {
  check("an image to a text-only model is a 400 naming the model",
    e instanceof OpenAI.BadRequestError && e.status === 400 && String(e.message).includes("ollama/m"), String(e));
}

const seen = await client.chat.completions.create({ model: "ollama/eyes", messages: look });
check("an image reaches a vision model", Boolean(seen.choices[0].message.content), show(seen));

// Models by id.
check("models.retrieve finds openclaw/default", (await client.models.retrieve("openclaw/default")).id === "openclaw/default");
try {
  await client.models.retrieve("ollama/no-such-model");
  check("an unknown model id is 404", false, "no error raised");
} catch (e) {
  check("an unknown model id is 404 model_not_found", e instanceof OpenAI.NotFoundError && e.code === "model_not_found", String(e));
}

// The Responses API: a tool round trip, plain.
const r1 = await client.responses.create({ model: "ollama/resp-tools", input: QUESTION, tools: [WEATHER_FLAT], max_output_tokens: 200 });
const fcalls = r1.output.filter((o) => o.type === "function_call");
check("responses.create returns the function call",
  r1.status === "completed" && fcalls.length === 1 && fcalls[0].name === "get_weather" && isParis(fcalls[0].arguments), show(r1.output));
if (fcalls.length) {
  const r2 = await client.responses.create({
    model: "ollama/resp-tools", tools: [WEATHER_FLAT],
    input: [{ role: "user", content: QUESTION },
      { type: "function_call", call_id: fcalls[0].call_id, name: fcalls[0].name, arguments: fcalls[0].arguments },
      { type: "function_call_output", call_id: fcalls[0].call_id, output: RESULT }],
  });
  check("responses.create answers after the function output", r2.output_text.includes("22"), show(r2.output_text));
}

// Streamed responses.
const types = [];
let args = "";
let call = null;
for await (const event of await client.responses.create({ model: "ollama/resp-stream", input: QUESTION, tools: [WEATHER_FLAT], stream: true })) {
  types.push(event.type);
  if (event.type === "response.function_call_arguments.delta") args += event.delta;
  if (event.type === "response.output_item.done" && event.item.type === "function_call") call = event.item;
}
check("a streamed response starts with response.created and ends with response.completed",
  types[0] === "response.created" && types.at(-1) === "response.completed", show(types));
check("a streamed response streams the call's arguments",
  types.includes("response.function_call_arguments.delta") && call && isParis(args), show(types));
if (call) {
  const s = client.responses.stream({
    model: "ollama/resp-stream", tools: [WEATHER_FLAT],
    input: [{ role: "user", content: QUESTION },
      { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: "function_call_output", call_id: call.call_id, output: RESULT }],
  });
  let text = "";
  s.on("response.output_text.delta", (e) => { text += e.delta; });
  const final = await s.finalResponse();
  check("a streamed response answers after the function output",
    text.includes("22") && final.output_text === text, show([text, final.output_text]));
}

if (failures.length) {
  console.error(`${failures.length} check(s) failed: ${failures.join(", ")}`);
  process.exit(1);
}
console.log("every check passed");
