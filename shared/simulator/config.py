"""What the simulator answers and how it misbehaves; every field can be changed at runtime."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_name: str = "sim-model"
    ttft_ms: float = Field(0.0, ge=0, description="Delay before the first token")
    itl_ms: float = Field(0.0, ge=0, description="Delay between tokens")

    # The reply, first match wins: echo, then the script, then the first ``replies`` key found
    # in the last user message, then ``reply``.
    echo: bool = Field(False, description="Answer with the last user message")
    script: list[str] = Field(default_factory=list, description="Replies consumed in order, one per request")
    replies: dict[str, str] = Field(default_factory=dict, description="Substring of the last user message -> reply")
    reply: str = "This is a simulated reply."
    constrain_json: bool = Field(
        False,
        description="A request whose response_format asks for JSON gets only the reply's first JSON object, as a "
        "constrained decoder writes nothing around it (a reply without one is sent as it is)",
    )

    # Failures.
    error_rate: float = Field(0.0, ge=0, le=1, description="Share of requests answered with error_status")
    fail_next: int = Field(0, ge=0, description="The next N requests fail with error_status (deterministic)")
    error_status: int = Field(500, ge=400, le=599)
    hang_rate: float = Field(0.0, ge=0, le=1, description="Share of requests never answered (until the client leaves)")
    cut_after: int | None = Field(None, ge=0, description="Streams drop the connection after N tokens, without [DONE]")
    healthy: bool = Field(True, description="False: /health answers 503")
    tokenize: bool = Field(True, description="False: /tokenize answers 404, as servers without one do")
    report_usage: bool = Field(True, description="False: answers carry no usage, as some servers' streams do not")
    seed: int | None = Field(None, description="Seed for error_rate and hang_rate draws")
