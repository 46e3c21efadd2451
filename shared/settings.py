"""One settings object for every process, read from the environment (prefix ``SG_``) and ``.env``.

Nested values use ``__``: ``SG_LLM_TASKS__INTENT__BACKEND=openai``. Dict/list values may be given
as JSON: ``SG_LLM_POOLS='{"vllm": {"endpoints": ["http://10.0.0.5:8000"]}}'``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Task(StrEnum):
    """The language tasks; each is routed to a backend and model by ``Settings.llm_tasks``."""

    INTENT = "intent"
    SCENE = "scene"
    EXTRACTION = "extraction"
    DIALOG = "dialog"
    COPYWRITING = "copywriting"
    SUMMARY = "summary"


StructuredOutput = Literal["json_schema", "json_object", "none"]


class PoolSettings(BaseModel):
    """A logical model served by several OpenAI-compatible replicas (vLLM, llama.cpp, TGI, Ollama)."""

    endpoints: list[str] = Field(default_factory=list, description="Base URLs, e.g. http://10.0.0.5:8000")
    dns: str | None = Field(
        None,
        description="host:port whose addresses are the endpoints, instead of a fixed list: a headless Service "
        "(vllm.shopguide.svc.cluster.local:8000) has one per ready pod; resolved every dns_interval_s",
    )
    dns_interval_s: float = Field(10.0, gt=0, description="How often the dns name is resolved again")
    model: str | None = Field(None, description="Model name sent upstream when a task names none")
    api_key: str | None = None
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 60.0
    max_retries: int = Field(2, ge=0, le=10, description="Retries on connect errors and 5xx before the first token")
    backoff_s: float = Field(0.05, ge=0)
    health_path: str = "/health"
    health_interval_s: float = Field(10.0, gt=0)
    eject_s: float = Field(30.0, gt=0, description="How long a failing endpoint stays out before it is retried")
    session_affinity: bool = Field(True, description="Same session -> same replica, for prefix-cache reuse")
    max_connections: int = Field(100, ge=1)
    tokenize_path: str | None = Field(
        "/tokenize",
        description="Where the servers count tokens (vLLM, llama.cpp: POST {content} -> {tokens}); None for servers "
        "without one (TGI, Ollama). A server that does not answer it is counted locally instead",
    )

    structured_output: StructuredOutput = Field(
        "json_schema",
        description="How a structured task (intent, extraction, summary) asks for its JSON: response_format "
        "json_schema (valid by construction: vLLM's guided decoding, llama.cpp's grammars, OpenAI), json_object "
        "(any JSON: servers without schemas), none (the prompt alone; the tolerant parser and a repair round cope)",
    )

    @field_validator("endpoints")
    @classmethod
    def _strip_slash(cls, value: list[str]) -> list[str]:
        return [url.rstrip("/") for url in value]

    @field_validator("dns")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+:\d{1,5}", value):
            raise ValueError(f"dns must be host:port, e.g. vllm.shopguide.svc.cluster.local:8000, not {value!r}")
        return value

    @model_validator(mode="after")
    def _endpoints_or_dns(self) -> PoolSettings:
        if bool(self.endpoints) == bool(self.dns):
            raise ValueError("a pool takes either endpoints (a fixed list) or dns (a name resolved to them)")
        return self


class TaskRoute(BaseModel):
    """Where one task's completions go."""

    backend: Literal["local", "openai", "bedrock"] = "local"
    pool: str | None = Field(None, description="Pool name in llm_pools, for backend=openai")
    model: str | None = Field(None, description="Model name or Bedrock model id; defaults per backend")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(512, ge=1, le=32768)
    timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How long one call may take (a whole reply; a stream's first token), retries included; the "
        "caller's deadline may cut it shorter. Size it for the backend: a GPU pool answers in a few seconds (5-10), "
        "a small model on CPU (llama.cpp) needs tens (60-120; raise service_timeout_s and the gateway routes' "
        "timeout_s to match)",
    )


def _default_tasks() -> dict[Task, TaskRoute]:
    return {task: TaskRoute() for task in Task}


class ServiceUrls(BaseModel):
    """Where each internal service answers; defaults are the local ports from the README."""

    gateway: str = "http://127.0.0.1:8000"
    router: str = "http://127.0.0.1:8001"
    intent: str = "http://127.0.0.1:8101"
    extraction: str = "http://127.0.0.1:8102"
    dialog: str = "http://127.0.0.1:8103"
    copywriting: str = "http://127.0.0.1:8104"
    summary: str = "http://127.0.0.1:8105"
    catalog: str = "http://127.0.0.1:8106"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SG_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"
    log_json: bool = True
    # OpenTelemetry traces (shared/tracing.py): an OTLP/HTTP collector's base URL (http://collector:4318), spans
    # going to <it>/v1/traces. Unset: no tracing at all, nothing installed.
    otel_endpoint: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    # Real labelled shopping and customer-service data for `make eval` (training.eval_realdata), kept outside
    # the repository: the checkout's parent holds shared/realdata. Absent: that report is skipped.
    realdata_dir: Path = PROJECT_ROOT.parent / "shared" / "realdata"

    # Internal HTTP between services.
    services: ServiceUrls = ServiceUrls()
    service_timeout_s: float = Field(30.0, gt=0)
    host: str = "127.0.0.1"
    # On SIGTERM an app refuses new requests and gives those in flight this long to finish; then the streams
    # still open end with an error event of type "shutdown". A pod's terminationGracePeriodSeconds covers it.
    drain_timeout_s: float = Field(25.0, ge=0)
    # Deadlines (shared.deadline): each hop waits for the next at most its remaining budget minus this, and sends
    # that wait on (X-Timeout-Ms), so a hop that gives up still has this long to answer, degraded, in time.
    deadline_margin_s: float = Field(0.2, ge=0, le=5)
    # Prometheus metrics on a port of their own (a process serving an app, `python -m shared.suite serve`),
    # which is then the only place they are: the app's own port, the one a Service or load balancer exposes,
    # answers /metrics with 404. Unset: /metrics on the app's port, as `make run` has it.
    metrics_port: int | None = Field(None, ge=1, le=65535)

    # Redis: the KV cache, sessions and rate limits. "auto" falls back to memory when none answers.
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_backend: Literal["auto", "redis", "memory"] = "auto"
    cache_namespace: str = "sg"
    cache_default_ttl_s: int = Field(3600, ge=1)

    # Qdrant: a server by URL in production, embedded under data_dir by default.
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    qdrant_path: Path | None = Field(None, description="Embedded store path; defaults to data_dir/qdrant")
    qdrant_engine: Literal["edge", "local"] = Field(
        "edge", description="Embedded engine when qdrant_url is unset: Qdrant Edge in-process, or qdrant-client local mode"
    )

    # Embeddings for the knowledge base: the packaged multilingual model, or an OpenAI-compatible endpoint.
    embedding_backend: Literal["local", "openai"] = "local"
    embedding_url: str | None = Field(None, description="OpenAI-compatible base URL; /v1/embeddings is appended")
    embedding_model: str | None = Field(None, description="Model name sent to the endpoint (backend=openai)")
    embedding_api_key: str | None = None
    embedding_timeout_s: float = Field(10.0, gt=0)
    embedding_threads: int = Field(1, ge=1, le=64, description="BLAS threads of the local model")
    embedding_query_cache: int = Field(4096, ge=0, description="Query vectors kept in the in-process LRU")

    # Catalog and knowledge recall.
    knowledge_cache_ttl_s: int = Field(600, ge=1, description="TTL of cached recall results in the KV cache")
    catalog_seed_sample: bool = Field(True, description="Ingest the shipped sample data when the store is empty")
    vocabulary_refresh_s: float = Field(
        30.0, gt=0, description="How often the services and the router ask the catalog whether its vocabulary changed"
    )

    # The recommender the router calls: the built-in catalog service, or an outside API with the same shape.
    recommender_url: str | None = Field(None, description="Outside POST endpoint taking {call, top_k}; None = catalog")
    recommender_timeout_s: float = Field(2.0, gt=0)
    # Prices the user states in another currency are converted to the catalog's before filtering ("under $100").
    catalog_currency: str = Field("CNY", min_length=3, max_length=3, description="ISO code of the catalog's prices")
    currency_rates: dict[str, float] = Field(
        default_factory=lambda: {"USD": 7.2, "EUR": 7.8, "GBP": 9.1, "HKD": 0.92, "JPY": 0.048},
        description="Units of the catalog currency one unit of each other currency is worth",
    )

    # LLM layer.
    llm_pools: dict[str, PoolSettings] = {}
    llm_tasks: dict[Task, TaskRoute] = Field(default_factory=_default_tasks)
    bedrock_region: str = "us-east-1"
    bedrock_model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"
    bedrock_endpoint_url: str | None = None
    bedrock_structured_output: Literal["tool", "none"] = Field(
        "tool", description="A structured task's JSON from Bedrock: a forced tool whose input schema is the task's "
        "(toolConfig), or the prompt alone (models without tool use)"
    )

    # Gateway.
    api_keys: list[str] = Field(default_factory=lambda: ["dev-key"], description="Accepted client API keys")
    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_inflight_turns: int = Field(
        100, ge=1, description="LLM-route requests one gateway process serves at once; more get 503 + Retry-After"
    )
    cors_origins: list[str] = ["*"]
    gateway_routes_file: Path = Field(
        PROJECT_ROOT / "gateway" / "tier1" / "routes.yaml", description="The tier-1 route table (YAML, hot-reloaded)"
    )
    gateway_tenants_file: Path | None = Field(
        PROJECT_ROOT / "gateway" / "tier1" / "tenants.yaml",
        description="Tenants and their hashed API keys (YAML, hot-reloaded); None: only api_keys",
    )
    gateway_reload_interval_s: float = Field(
        1.0, ge=0, description="How often the gateway checks its route table and tenants file for changes"
    )
    gateway_rate_limit_window_s: float = Field(
        60.0, gt=0, description="The sliding window the *_per_minute rate limits count over; shorter only in tests"
    )
    gateway_settle_delay_s: float = Field(
        0.05,
        ge=0,
        description="How long the gateway gathers the token reservations it settles before writing them to the "
        "cache in one round trip; the next request on the same key and route carries its window's at once",
    )
    gateway_send_ahead: bool = Field(
        True,
        description="Send a rate-limited request upstream while its admission is checked, when its window had "
        "room for it at the last check; answered only once admitted, cancelled upstream if refused after all",
    )
    gateway_static_dir: Path = Field(
        PROJECT_ROOT / "gateway" / "tier1" / "static", description="The demo page: index.html at /, assets at /static/"
    )

    # Dialog history the guide reads: the last N exchanges before the current message.
    dialog_history_turns: int = Field(10, ge=1, le=50)
    # Exchanges a session keeps (its history, intents, what the summary agent reads): beyond it the oldest are
    # dropped as each new one is saved.
    session_history_turns: int = Field(50, ge=1, le=1000)
    # The LLM path's prompt budget, in tokens: the oldest turns go first, then an overlong message is cut.
    dialog_max_prompt_tokens: int = Field(3000, ge=200, le=200_000)
    # The LLM path's longest reply, in characters: a streamed reply is cut there (its done event says
    # "truncated": "length"), as it is where it starts to loop ("truncated": "repetition").
    dialog_max_reply_chars: int = Field(1500, ge=100, le=100_000)

    # Counting tokens (prompt budgets, the gateway's token limits, usage where no model reported it): the serving
    # pool's tokenize endpoint (PoolSettings.tokenize_path), else this tokenizer, else a word estimate.
    tokenizer_path: Path | None = Field(
        None, description="A tokenizer.json (Hugging Face tokenizers format) of the served model, read locally"
    )
    tokenize_timeout_s: float = Field(2.0, gt=0, description="How long a count may wait for a tokenize endpoint")
    token_count_cache: int = Field(4096, ge=0, description="Texts whose endpoint counts are kept in process")

    # The OpenAI-compatible facade (/v1/chat/completions).
    openai_drop_params: bool = Field(
        False,
        description="Drop the parameters the guide cannot honour (n>1, tools, logprobs, response_format json...) "
        "instead of refusing the request with a 400; what was dropped is named in X-SG-Ignored-Params",
    )
    openai_max_instructions_chars: int = Field(
        2000, ge=0, le=8000, description="The longest system message the guide takes as operator instructions"
    )

    # False runs a shopping turn's stages one after the other, as a plain pipeline would: the baseline
    # `make bench` compares the concurrent task tree with.
    shopping_turn_concurrent: bool = True
    # Knowledge hits below this cosine score are not shown to the guide: a loosely related guide quoted as a
    # tip reads as noise (measured on the sample guides: on-topic hits score 0.45-0.65, same-category
    # off-topic ones 0.2-0.3).
    knowledge_min_score: float = Field(0.35, ge=0, le=1)

    # Prompts: each language service's prompts/*.txt, overridable without a restart (shared/live_prompts.py). An
    # override in Redis wins over one in the folder, which wins over the packaged file; one that does not fit its
    # packaged prompt (placeholders, size) is refused and what was live stays.
    prompts_dir: Path | None = Field(
        None, description="A folder of prompt overrides: <dir>/<service>/<name>.txt, as services/<service>/prompts/"
    )
    prompts_redis: str | None = Field(
        None, description="A Redis hash (at redis_url) of prompt overrides: field <service>/<name>, value the text"
    )
    prompts_reload_interval_s: float = Field(
        2.0, gt=0, description="How often each service (and the gateway's cache keys) checks the overrides"
    )
    prompts_max_chars: int = Field(20_000, ge=100, description="The longest prompt text an override may have")

    # Cascade: a local answer at or above this confidence is used without asking the LLM.
    cascade_threshold: float = Field(0.7, ge=0, le=1)

    # Input limits shared by the service schemas.
    max_message_chars: int = Field(8000, ge=1)
    max_messages: int = Field(100, ge=1)
    # Checked on the raw bytes before any parser sees them: parsers and what reads their result recurse, and a
    # body thousands deep would exhaust the stack (a 500). The apps' own bodies nest a handful of levels.
    max_json_depth: int = Field(32, ge=8, le=256, description="Deepest nesting of arrays and objects a JSON body may have")

    @field_validator("llm_tasks", mode="after")
    @classmethod
    def _every_task_routed(cls, value: dict[Task, TaskRoute]) -> dict[Task, TaskRoute]:
        return {**_default_tasks(), **value}

    @field_validator("currency_rates")
    @classmethod
    def _positive_rates(cls, value: dict[str, float]) -> dict[str, float]:
        if bad := [code for code, rate in value.items() if rate <= 0]:
            raise ValueError(f"currency rates must be positive: {bad}")
        return {code.upper(): rate for code, rate in value.items()}

    @field_validator("gateway_tenants_file", "tokenizer_path", "prompts_dir", "prompts_redis", mode="before")
    @classmethod
    def _no_file(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def qdrant_location(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own ``Settings`` instead."""
    return Settings()
