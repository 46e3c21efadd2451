"""``python -m training.finetune.serve``: a small OpenAI-compatible server for a transformers model on the CPU.

What the CPU fine-tune (``training.finetune.cpu``) produces is served here so that a task can be routed to it
like to any vLLM or llama.cpp pool (``SG_LLM_POOLS``, ``SG_LLM_TASKS__<TASK>__BACKEND=openai``):
``POST /v1/chat/completions`` (plain and streamed, with usage), ``GET /v1/models``, ``GET /health``,
``POST /tokenize``. One generation at a time, off the event loop. The KV cache of each request's system
message is kept (a few, least recently used first out), so a task whose prompt opens with a long fixed
instruction reads it once, as vLLM's prefix caching does. ``response_format`` ``json_schema`` and
``json_object`` constrain the reply with xgrammar (the grammar engine vLLM uses), so the structured tasks get
JSON that is valid by construction here too, as from vLLM and llama.cpp.

Not a production server (vLLM is, on GPUs): an offline tool beside the training code. Needs the ``finetune``
extra.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import torch
import uvicorn
import xgrammar as xgr
from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from transformers import TextIteratorStreamer

from training.finetune.cpu import load_model, load_tokenizer

PREFIX_CACHE_SIZE = 4


class ChatMessageIn(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class StreamOptions(BaseModel):
    include_usage: bool = False


class JsonSchemaFormat(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("json_schema is required with type json_schema, and only with it")
        return self


class ChatCompletionRequest(BaseModel):
    # Unknown OpenAI parameters (n, logprobs, tools...) are refused by name rather than silently ignored.
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    messages: list[ChatMessageIn] = Field(min_length=1)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None


class TokenizeRequest(BaseModel):
    content: str


class Generator:
    """A causal LM and its tokenizer; generates one reply at a time (callers hold ``lock``)."""

    def __init__(self, model: Any, tokenizer: Any, name: str, context: int) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.context = context
        self.lock = asyncio.Lock()
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        # The model's vocabulary size (padded past the tokenizer's): the width of the logits being masked.
        vocab = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
        self._grammars = xgr.GrammarCompiler(vocab, max_threads=1)  # it caches compiled schemas itself

    def grammar(self, response_format: ResponseFormat | None) -> Any:
        """The reply's grammar, compiled (a bad schema raises ValueError); None for free text."""
        if response_format is None or response_format.type == "text":
            return None
        if response_format.json_schema is None:
            return self._grammars.compile_builtin_json_grammar()
        try:
            # No free whitespace between tokens: a small model otherwise fills its max_tokens with it.
            schema = json.dumps(response_format.json_schema.schema_)
            return self._grammars.compile_json_schema(schema, any_whitespace=False)
        except RuntimeError as error:  # xgrammar's word for a schema it cannot compile
            raise ValueError(f"response_format.json_schema.schema: {error}") from error

    def prompt_ids(self, messages: list[ChatMessageIn]) -> list[int]:
        chat = [m.model_dump() for m in messages]
        ids = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True, return_dict=False)
        return list(ids)

    def _prefix_cache(self, messages: list[ChatMessageIn], ids: list[int]) -> Any:
        """A copy of the KV cache of the system message that opens ``ids``, read now if not kept; None when the
        request has no system message or nothing after it."""
        if messages[0].role != "system" or len(messages) < 2:
            return None
        head = self.tokenizer.apply_chat_template([messages[0].model_dump()], tokenize=True, return_dict=False)
        key = tuple(head)
        if len(key) >= len(ids) or tuple(ids[: len(key)]) != key:
            return None  # the template does not render the system message alone as a prefix of the whole
        if key not in self._prefixes:
            with torch.no_grad():
                self._prefixes[key] = self.model(input_ids=torch.tensor([head]), use_cache=True).cache
            while len(self._prefixes) > PREFIX_CACHE_SIZE:
                self._prefixes.popitem(last=False)
        self._prefixes.move_to_end(key)
        return copy.deepcopy(self._prefixes[key])

    def _arguments(self, request: ChatCompletionRequest, ids: list[int]) -> dict[str, Any]:
        room = self.context - len(ids)
        if room < 1:
            raise ValueError(f"the prompt takes {len(ids)} tokens, the model's context {self.context}")
        sampling = request.temperature > 0
        if request.seed is not None:
            torch.manual_seed(request.seed)
        arguments: dict[str, Any] = {
            "input_ids": torch.tensor([ids]),
            "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
            "max_new_tokens": min(request.max_tokens or room, room),
            "do_sample": sampling,
            "pad_token_id": self.tokenizer.eos_token_id,
        }
        if sampling:
            arguments.update(temperature=request.temperature, top_p=request.top_p)
        else:  # the checkpoint's generation config may carry sampling values that greedy decoding warns about
            arguments.update(temperature=None, top_p=None, top_k=None)
        if request.stop:
            arguments.update(stop_strings=[request.stop] if isinstance(request.stop, str) else request.stop,
                             tokenizer=self.tokenizer)
        if (cache := self._prefix_cache(request.messages, ids)) is not None:
            arguments["cache"] = cache
        if (grammar := self.grammar(request.response_format)) is not None:
            # A matcher per generation: it follows this reply's tokens from its first.
            arguments["logits_processor"] = [xgr.contrib.hf.LogitsProcessor(grammar)]
        return arguments

    def complete(self, request: ChatCompletionRequest) -> tuple[str, str, int, int]:
        """Text, finish reason, prompt and completion tokens."""
        ids = self.prompt_ids(request.messages)
        arguments = self._arguments(request, ids)
        with torch.no_grad():
            out = self.model.generate(**arguments)
        new = out[0, len(ids):].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return text, self._finish(new, arguments["max_new_tokens"]), len(ids), len(new)

    def stream(self, request: ChatCompletionRequest) -> tuple[Iterator[str], threading.Thread, dict[str, int]]:
        """Text deltas as generated, the thread generating them, and the token counts it fills in at the end."""
        ids = self.prompt_ids(request.messages)
        arguments = self._arguments(request, ids)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        counts = {"prompt_tokens": len(ids)}

        def generate() -> None:
            with torch.no_grad():
                out = self.model.generate(**arguments, streamer=streamer)
            new = out[0, len(ids):].tolist()
            counts["completion_tokens"] = len(new)
            counts["length"] = int(self._finish(new, arguments["max_new_tokens"]) == "length")

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        return iter(streamer), thread, counts

    def _finish(self, new: list[int], limit: int) -> str:
        return "length" if len(new) >= limit and (not new or new[-1] != self.tokenizer.eos_token_id) else "stop"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def create_app(generator: Generator) -> FastAPI:
    app = FastAPI(title=f"transformers OpenAI server: {generator.name}")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": generator.name}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": generator.name, "object": "model", "owned_by": "shopguide",
                                            "max_model_len": generator.context}]}

    @app.post("/tokenize")
    async def tokenize(body: TokenizeRequest) -> dict[str, Any]:
        tokens = generator.tokenizer(body.content, add_special_tokens=False)["input_ids"]
        return {"tokens": tokens, "count": len(tokens)}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatCompletionRequest) -> dict[str, Any] | StreamingResponse:
        created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
        if (n := len(generator.prompt_ids(body.messages))) >= generator.context:
            raise HTTPException(400, f"messages: the prompt takes {n} tokens, the model's context {generator.context}")
        try:
            generator.grammar(body.response_format)  # refused before a stream starts; compiled once, then cached
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        if body.stream:
            return StreamingResponse(_sse(generator, body, cid, created), media_type="text/event-stream")
        async with generator.lock:
            text, finish, prompt, completion = await asyncio.to_thread(generator.complete, body)
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": generator.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": _usage(prompt, completion),
        }

    return app


async def _sse(generator: Generator, body: ChatCompletionRequest, cid: str, created: int) -> AsyncIterator[str]:
    def chunk(delta: dict[str, str], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        data: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                "model": generator.name,
                                "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            data["usage"] = usage
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async with generator.lock:
        deltas, thread, counts = await asyncio.to_thread(generator.stream, body)
        yield chunk({"role": "assistant"})
        while (delta := await asyncio.to_thread(next, deltas, None)) is not None:
            if delta:
                yield chunk({"content": delta})
        await asyncio.to_thread(thread.join)
    yield chunk({}, "length" if counts.get("length") else "stop")
    if body.stream_options and body.stream_options.include_usage:
        yield chunk({}, usage=_usage(counts["prompt_tokens"], counts.get("completion_tokens", 0)))
    yield "data: [DONE]\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.finetune.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="a saved model folder (var/finetune/merged); default: the packaged SmolLM2 GGUF")
    parser.add_argument("--name", default=None, help="the served model name (default: from --model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--context", type=int, default=4096, help="prompt and reply tokens at most")
    args = parser.parse_args(argv)
    name = args.name or (args.model.name if args.model else "smollm2-135m-instruct")
    generator = Generator(load_model(args.model), load_tokenizer(args.model), name, args.context)
    uvicorn.run(create_app(generator), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
