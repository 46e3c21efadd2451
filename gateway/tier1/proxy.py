"""Forwarding a request to its upstream and streaming the answer back unchanged (SSE included)."""

from __future__ import annotations

import httpx
from fastapi import HTTPException
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

# Hop-by-hop and length headers are the proxy's own business.
_DROP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "x-request-id"}


async def forward(http: httpx.AsyncClient, url: str, body: bytes, content_type: str, timeout_s: float) -> StreamingResponse:
    request = http.build_request(
        "POST", url, content=body, headers={"content-type": content_type}, timeout=httpx.Timeout(timeout_s, connect=2.0)
    )
    try:
        upstream = await http.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise HTTPException(504, f"upstream {url} timed out") from exc
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"upstream {url} unreachable: {exc.__class__.__name__}") from exc
    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP}
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )
