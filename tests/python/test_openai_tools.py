#!/usr/bin/env python3
"""The official `openai` Python client against a gateway, for what applications build on chat:
client-side tools, generation parameters, images, `GET /v1/models/{id}` and `/v1/responses`.

Usage: python3 tests/python/test_openai_tools.py BASE_URL TOKEN
  BASE_URL  the gateway, e.g. http://127.0.0.1:18789 (`/v1` is added)
  TOKEN     the gateway token

The gateway must sit in front of the test server that crates/gateway/tests/suite/
openai_clients.rs starts: `ollama/m` (text only, the default), `ollama/eyes` (vision), and
models scripted to call `get_weather` once and then answer (`ollama/tooly`, `ollama/tooly-stream`,
`ollama/resp-tools`, `ollama/resp-stream`). A plain script (no pytest): exits 0 when every check
passes, 1 when one fails, 2 on bad usage, 3 when the `openai` package is not installed.
"""

import json
import sys

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# The Responses API describes the same tool without the `function` wrapper.
WEATHER_FLAT = {"type": "function", **WEATHER["function"]}
QUESTION = "What is the weather in Paris?"
RESULT = "22 C and sunny"
# A 1x1 PNG.
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
         "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base_url, token = sys.argv[1].rstrip("/"), sys.argv[2]
    try:
        import openai
        from openai import OpenAI
    except ImportError as e:
        print(f"the `openai` package is not installed ({e}); install it with `pip install openai`",
              file=sys.stderr)
        return 3

    failures = []

    def check(name, condition, detail=""):
        if condition:
            print(f"ok   {name}")
        else:
            print(f"FAIL {name} {detail}")
            failures.append(name)

    client = OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0, timeout=60)
    ask = [{"role": "user", "content": QUESTION}]

    # A tool round trip: the model calls the client's tool, the client answers, the model ends.
    first = client.chat.completions.create(
        model="ollama/tooly", messages=ask, tools=[WEATHER], tool_choice="auto",
        temperature=0.2, top_p=0.9, seed=7, max_tokens=200, stop=["\n\n\n"])
    choice = first.choices[0]
    calls = choice.message.tool_calls or []
    check("a tool call finishes with tool_calls", choice.finish_reason == "tool_calls",
          repr(choice.finish_reason))
    check("a tool call has no text", choice.message.content is None, repr(choice.message.content))
    check("the client's tool is called with its arguments",
          len(calls) == 1 and calls[0].function.name == "get_weather"
          and json.loads(calls[0].function.arguments) == {"city": "Paris"} and calls[0].id,
          repr(calls))
    if calls:
        history = ask + [choice.message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": calls[0].id, "content": RESULT}]
        final = client.chat.completions.create(model="ollama/tooly", messages=history,
                                               tools=[WEATHER])
        answer = final.choices[0].message.content or ""
        check("the answer after the tool result ends with stop",
              final.choices[0].finish_reason == "stop", repr(final.choices[0].finish_reason))
        check("the answer uses the tool result", "22" in answer, repr(answer))

    # The same round trip streamed: tool calls arrive as indexed deltas.
    stream = client.chat.completions.create(
        model="ollama/tooly-stream", messages=ask, tools=[WEATHER], stream=True,
        stream_options={"include_usage": True})
    pieces, finish, usage, deltas = {}, None, None, 0
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            for d in c.delta.tool_calls or []:
                deltas += 1
                slot = pieces.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
                if d.id:
                    slot["id"] = d.id
                if d.function and d.function.name:
                    slot["name"] += d.function.name
                if d.function and d.function.arguments:
                    slot["arguments"] += d.function.arguments
            if c.finish_reason:
                finish = c.finish_reason
    streamed = pieces.get(0, {})
    check("a streamed tool call finishes with tool_calls", finish == "tool_calls", repr(finish))
    check("a streamed tool call comes in indexed pieces",
          list(pieces) == [0] and deltas >= 2 and streamed.get("id")
          and streamed.get("name") == "get_weather"
          and json.loads(streamed.get("arguments") or "null") == {"city": "Paris"}, repr(pieces))
    check("a streamed tool call reports usage", usage is not None and usage.total_tokens > 0,
          repr(usage))
    if streamed.get("id"):
        history = ask + [
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": streamed["id"], "type": "function",
                "function": {"name": streamed["name"], "arguments": streamed["arguments"]}}]},
            {"role": "tool", "tool_call_id": streamed["id"], "content": RESULT},
        ]
        text, finish = "", None
        for chunk in client.chat.completions.create(model="ollama/tooly-stream", messages=history,
                                                    tools=[WEATHER], stream=True):
            for c in chunk.choices:
                text += c.delta.content or ""
                finish = c.finish_reason or finish
        check("the streamed answer after the tool result", "22" in text and finish == "stop",
              f"{text!r} {finish!r}")

    # max_tokens reaches the model, and a cut reply says `length`.
    short = client.chat.completions.create(model="openclaw", messages=[
        {"role": "user", "content": "Say hello."}], max_tokens=1)
    check("max_tokens cuts the reply with finish_reason length",
          short.choices[0].finish_reason == "length" and short.choices[0].message.content == "Hello",
          repr(short.choices[0]))
    finish = None
    for chunk in client.chat.completions.create(model="openclaw", messages=[
            {"role": "user", "content": "Say hello."}], max_completion_tokens=1, stream=True):
        for c in chunk.choices:
            finish = c.finish_reason or finish
    check("a streamed cut reply says length", finish == "length", repr(finish))

    # Images: refused for a text-only model (naming it), sent to a vision model.
    look = [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": PIXEL}}]}]
    try:
        client.chat.completions.create(model="ollama/m", messages=look)
        check("an image to a text-only model is refused", False, "no error raised")
    except openai.BadRequestError as e:
        check("an image to a text-only model is a 400 naming the model",
              e.status_code == 400 and "ollama/m" in str(e) and "text only" in str(e), str(e))
    seen = client.chat.completions.create(model="ollama/eyes", messages=look)
    check("an image reaches a vision model", bool(seen.choices[0].message.content), repr(seen))

    # Refused fields say which.
    try:
        client.chat.completions.create(model="openclaw", messages=ask, n=2)
        check("n > 1 is refused", False, "no error raised")
    except openai.BadRequestError as e:
        check("n > 1 is a 400 with param n", e.status_code == 400 and e.param == "n", repr(e.body))

    # One model by id, the default alias, and an unknown one.
    check("models.retrieve finds openclaw/default",
          client.models.retrieve("openclaw/default").id == "openclaw/default")
    check("models.retrieve finds a catalog model",
          client.models.retrieve("ollama/m:latest").id == "ollama/m:latest")
    try:
        client.models.retrieve("ollama/no-such-model")
        check("an unknown model id is 404", False, "no error raised")
    except openai.NotFoundError as e:
        check("an unknown model id is 404 model_not_found", e.code == "model_not_found", repr(e.body))

    # The Responses API: a tool round trip, plain.
    r1 = client.responses.create(model="ollama/resp-tools", input=QUESTION, tools=[WEATHER_FLAT],
                                 max_output_tokens=200)
    fcalls = [o for o in r1.output if o.type == "function_call"]
    check("responses.create returns the function call",
          r1.status == "completed" and len(fcalls) == 1 and fcalls[0].name == "get_weather"
          and json.loads(fcalls[0].arguments) == {"city": "Paris"}, repr(r1.output))
    if fcalls:
        r2 = client.responses.create(model="ollama/resp-tools", tools=[WEATHER_FLAT], input=[
            {"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": fcalls[0].call_id, "name": fcalls[0].name,
             "arguments": fcalls[0].arguments},
            {"type": "function_call_output", "call_id": fcalls[0].call_id, "output": RESULT},
        ])
        check("responses.create answers after the function output", "22" in r2.output_text,
              repr(r2.output_text))

    # Streamed: the event sequence the SDK expects, a call, then the answer.
    types, arguments, call = [], "", None
    for event in client.responses.create(model="ollama/resp-stream", input=QUESTION,
                                         tools=[WEATHER_FLAT], stream=True):
        types.append(event.type)
        if event.type == "response.function_call_arguments.delta":
            arguments += event.delta
        if event.type == "response.output_item.done" and event.item.type == "function_call":
            call = event.item
    check("a streamed response starts with response.created and ends with response.completed",
          types[:1] == ["response.created"] and types[-1:] == ["response.completed"], repr(types))
    check("a streamed response streams the call's arguments",
          "response.function_call_arguments.delta" in types and call is not None
          and json.loads(arguments) == {"city": "Paris"}, repr(types))
    if call is not None:
        with client.responses.stream(model="ollama/resp-stream", tools=[WEATHER_FLAT], input=[
            {"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": call.call_id, "name": call.name,
             "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": RESULT},
        ]) as s:
            deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
            final = s.get_final_response()
        check("a streamed response answers after the function output",
              "22" in "".join(deltas) and final.output_text == "".join(deltas),
              f"{deltas!r} {final.output_text!r}")

    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
