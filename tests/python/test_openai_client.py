#!/usr/bin/env python3
"""The official `openai` Python client against a running openclaw-rs gateway.

Usage: python3 tests/python/test_openai_client.py BASE_URL TOKEN
  BASE_URL  the gateway, e.g. http://127.0.0.1:18789 (`/v1` is added)
  TOKEN     the gateway token

Checks that an unmodified OpenAI SDK can list models and complete a chat, streamed and not,
and that it sees OpenAI-shaped errors. A plain script (no pytest): exits 0 when every check
passes, 1 when one fails, 2 on bad usage, 3 when the `openai` package is not installed
(`pip install openai`).
"""

import sys


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
    messages = [{"role": "user", "content": "Say hello."}]

    models = [m.id for m in client.models.list().data]
    check("models.list has the agent targets", "openclaw" in models and "openclaw/main" in models,
          repr(models))

    completion = client.chat.completions.create(model="openclaw", messages=messages)
    text = completion.choices[0].message.content or ""
    check("chat completion has an answer", bool(text.strip()), repr(completion))
    check("chat completion finished with stop", completion.choices[0].finish_reason == "stop",
          repr(completion.choices[0].finish_reason))
    check("chat completion reports usage",
          completion.usage is not None and completion.usage.total_tokens > 0, repr(completion.usage))

    pieces = []
    finish = None
    usage = None
    stream = client.chat.completions.create(
        model="openclaw", messages=messages, stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    streamed = "".join(pieces)
    check("streamed chat has the same answer", streamed == text, f"{streamed!r} != {text!r}")
    check("streamed chat finished with stop", finish == "stop", repr(finish))
    check("streamed chat reports usage", usage is not None and usage.total_tokens > 0, repr(usage))

    try:
        OpenAI(base_url=f"{base_url}/v1", api_key="wrong-token", max_retries=0).models.list()
        check("a wrong token is refused", False, "no error raised")
    except openai.AuthenticationError:
        check("a wrong token is refused", True)

    try:
        client.chat.completions.create(model="ollama/no-such-model", messages=messages)
        check("an unknown model is 404", False, "no error raised")
    except openai.NotFoundError as e:
        check("an unknown model is 404", "not in the catalog" in str(e), str(e))

    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
