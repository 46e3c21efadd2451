"""Prompts as live configuration: each service's packaged prompts, overridden from a folder or Redis and read
again while the service runs.

Where overrides come from (settings): ``prompts_dir`` holds ``<service>/<name>.txt``, laid out as the packages'
own ``services/<service>/prompts/<name>.txt``; ``prompts_redis`` names a Redis hash whose fields are
``<service>/<name>`` and whose values are the texts. For each prompt the first of Redis, the folder and the
package that holds it decides. Every ``prompts_reload_interval_s`` the sources are read again (a file only when
its mtime, size or inode moved, the hash in one HGETALL), so an edit takes effect without a restart, and an
override removed gives way to the next source.

An override is checked against its packaged prompt before it goes live: not empty, within ``prompts_max_chars``,
a valid template (a ``$`` that starts no placeholder is written ``$$``), a ``=== user ===`` line exactly where
the packaged prompt has one, and the packaged placeholders in each part, no other and none missing (an unknown
one would fail every request; a missing one would leave the model without the dialog or the products). One that
fails is refused, as the gateway refuses a broken route table: logged once, counted in
``sg_prompt_overrides_total{outcome="refused"}``, listed by ``GET /v1/prompts`` with the reason, and the prompt
that was live stays live. A source that cannot be read (Redis down) keeps what was last read from it.

A prompt's version is the hash of its text (``Prompt.version``): a language service's answer names the one its
LLM answered with (``prompt_version``), and the gateway's response cache keys carry every live version
(``PromptLibrary.fingerprint``), so no answer written under a prompt that is no longer live is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal, cast

import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from shared.prompts import USER_MARKER, Prompt
from shared.service import ReadinessCheck, ServiceState, app_state
from shared.settings import Settings
from shared.telemetry import PROMPT_OVERRIDES
from shared.watch import file_signature

log = logging.getLogger(__name__)

Source = Literal["packaged", "dir", "redis"]
OVERRIDES: tuple[Source, ...] = ("redis", "dir")  # the first that holds a prompt decides
Signature = tuple[int, int, int]


def packaged_prompts(package: str) -> dict[str, Prompt]:
    """The ``prompts/*.txt`` files a service package ships, by name."""
    folder = resources.files(package).joinpath("prompts")
    if not folder.is_dir():
        return {}
    return {
        entry.name.removesuffix(".txt"): Prompt(entry.name.removesuffix(".txt"), entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".txt")
    }


def prompt_packages(root: str = "services") -> list[str]:
    """The packages under ``root`` that ship prompts (``services.intent``, ...)."""
    return sorted(
        f"{root}.{entry.name}"
        for entry in resources.files(root).iterdir()
        if entry.is_dir() and entry.joinpath("prompts").is_dir()
    )


# --------------------------------------------------------------------------- checking an override
def _parts(text: str) -> list[set[str]]:
    """The placeholders of each part: the instruction, and the data after a ``=== user ===`` line if any."""
    system, marker, user = text.partition(USER_MARKER)
    return [set(Template(part).get_identifiers()) for part in ([system, user] if marker else [system])]


def _named(names: set[str]) -> str:
    return ", ".join(f"${name}" for name in sorted(names))


def check_override(packaged: Prompt, text: str, max_chars: int) -> str | None:
    """Why ``text`` cannot stand in for ``packaged``, or None when it can."""
    if not text.strip():
        return "the prompt is empty"
    if len(text) > max_chars:
        return f"the prompt has {len(text)} characters; the limit is {max_chars} (SG_PROMPTS_MAX_CHARS)"
    template = Template(text)
    for match in template.pattern.finditer(text):
        if match.group("invalid") is not None:
            line = text.count("\n", 0, match.start()) + 1
            return f"line {line}: a '$' that starts no placeholder must be written '$$'"
    expected, found = _parts(packaged.text), _parts(text)
    if len(found) != len(expected):
        if len(expected) == 2:
            return "no '=== user ===' line: the instruction goes above it, the data (the customer's words) below"
        return "a '=== user ===' line the packaged prompt does not have"
    labels = ["instruction", "data"] if len(expected) == 2 else ["prompt"]
    problems = []
    for label, want, have in zip(labels, expected, found, strict=True):
        if unknown := have - want:
            problems.append(f"unknown placeholder(s) {_named(unknown)} in the {label}")
        if missing := want - have:
            problems.append(f"missing placeholder(s) {_named(missing)} in the {label}")
    return "; ".join(problems) or None


# --------------------------------------------------------------------------- one service's prompts
@dataclass(frozen=True, slots=True)
class Override:
    """A prompt's text as one source holds it, or why it could not be read."""

    service: str
    name: str
    source: Source
    location: str  # the file, or "<hash> <field>"
    text: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Live:
    prompt: Prompt
    source: Source
    location: str


@dataclass(frozen=True, slots=True)
class Refusal:
    override: Override
    reason: str

    @property
    def version(self) -> str | None:
        text = self.override.text
        return None if text is None else Prompt(self.override.name, text).version


class PromptBook:
    """One service's prompts as they are live now: ``get`` one per request; ``apply`` what the sources hold."""

    def __init__(self, package: str, max_chars: int = 20_000) -> None:
        self.service = package.rpartition(".")[2]
        self.max_chars = max_chars
        root = f"{package.replace('.', '/')}/prompts"
        self.packaged = {
            name: Live(prompt, "packaged", f"{root}/{name}.txt") for name, prompt in packaged_prompts(package).items()
        }
        self._live = dict(self.packaged)
        self._refused: dict[tuple[str, Source], Refusal] = {}

    def get(self, name: str) -> Prompt:
        return self._live[name].prompt

    def live(self) -> list[Live]:
        return [self._live[name] for name in sorted(self._live)]

    def refused(self) -> list[Refusal]:
        return [self._refused[key] for key in sorted(self._refused)]

    def apply(self, overrides: Iterable[Override]) -> None:
        """Make live what the sources hold now (``overrides``: all this service's, from every source read)."""
        found: dict[str, dict[Source, Override]] = {}
        for override in overrides:
            found.setdefault(override.name, {})[override.source] = override
        refused: dict[tuple[str, Source], Refusal] = {}
        for name in sorted(found.keys() | self.packaged.keys()):
            held = found.get(name, {})
            for source, override in held.items():
                if reason := self._refusal(override):
                    refused[(name, source)] = Refusal(override, reason)
            if name not in self.packaged:
                continue
            top = next((held[source] for source in OVERRIDES if source in held), None)
            if top is None:
                self._go_live(name, self.packaged[name])
            elif (name, top.source) not in refused and top.text is not None:
                self._go_live(name, Live(Prompt(name, top.text), top.source, top.location))
            # else the override that decides is refused: what is live stays
        for (name, source), refusal in refused.items():
            if self._refused.get((name, source)) != refusal:  # once per refused text, not at every check
                kept = self._live[name].prompt.version if name in self._live else "nothing"
                log.error(
                    "prompt %s/%s from %s refused, %s stays live: %s",
                    self.service, name, refusal.override.location, kept, refusal.reason,
                )
                PROMPT_OVERRIDES.labels(self.service, name, source, "refused").inc()
        self._refused = refused

    def _refusal(self, override: Override) -> str | None:
        """Why an override cannot go live, or None when it can."""
        packaged = self.packaged.get(override.name)
        if packaged is None:
            return f"the {self.service} service has no prompt {override.name!r} (its prompts: {', '.join(sorted(self.packaged))})"
        if override.text is None:
            return override.problem or "unreadable"
        return check_override(packaged.prompt, override.text, self.max_chars)

    def _go_live(self, name: str, live: Live) -> None:
        if self._live[name] == live:
            return
        self._live[name] = live
        log.info("prompt %s/%s is now %s, from %s", self.service, name, live.prompt.version, live.location)
        PROMPT_OVERRIDES.labels(self.service, name, live.source, "loaded").inc()


# --------------------------------------------------------------------------- the sources
def _text(raw: str) -> str:
    return raw.replace("\r\n", "\n")  # a file saved on Windows keeps its "=== user ===" line


def _read_file(service: str, path: Path) -> Override:
    try:
        return Override(service, path.stem, "dir", str(path), text=_text(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        return Override(service, path.stem, "dir", str(path), problem=f"unreadable: {exc}")


class PromptLibrary:
    """The prompt books of one process (a service's own; every service's in the gateway) and the sources of
    their overrides, read by ``refresh``."""

    def __init__(
        self,
        packages: Iterable[str],
        *,
        folder: Path | None = None,
        redis: aioredis.Redis | None = None,
        redis_key: str | None = None,
        max_chars: int = 20_000,
    ) -> None:
        self.books = {book.service: book for book in (PromptBook(package, max_chars) for package in packages)}
        self.folder = folder
        self.redis = redis if redis_key else None
        self.redis_key = redis_key
        self.redis_error: str | None = None
        self.checked_at: float | None = None  # wall clock of the last refresh
        self._files: dict[Path, tuple[Signature, Override]] = {}
        self._from_redis: list[Override] = []
        self._summarise()

    @property
    def overridable(self) -> bool:
        return self.folder is not None or self.redis is not None

    def book(self, service: str) -> PromptBook:
        return self.books[service]

    def fingerprint(self) -> str:
        """A hash of every live prompt's version: it moves when any prompt does."""
        return self._fingerprint

    def versions(self) -> frozenset[str]:
        return self._versions

    async def refresh(self) -> None:
        """Read the sources and make live what they hold (each book refusing what does not fit)."""
        if self.folder is not None:
            self._files = await asyncio.to_thread(self._read_folder, self.folder, dict(self._files))
        if self.redis is not None:
            self._from_redis = await self._read_redis(self.redis)
        overrides = [*(override for _, override in self._files.values()), *self._from_redis]
        for service, book in self.books.items():
            book.apply(o for o in overrides if o.service == service)
        self.checked_at = time.time()
        self._summarise()

    def _summarise(self) -> None:
        versions = sorted(f"{service}/{live.prompt.version}" for service, book in self.books.items() for live in book.live())
        self._fingerprint = hashlib.sha256("\n".join(versions).encode()).hexdigest()[:16]
        self._versions = frozenset(version.partition("/")[2] for version in versions)

    def _read_folder(
        self, folder: Path, known: Mapping[Path, tuple[Signature, Override]]
    ) -> dict[Path, tuple[Signature, Override]]:
        """The folder's overrides, a file read again only when it changed (run in a thread)."""
        read: dict[Path, tuple[Signature, Override]] = {}
        for service in self.books:
            for path in sorted((folder / service).glob("*.txt")):
                try:
                    signature = file_signature(path)
                except OSError:  # gone since it was listed
                    continue
                seen = known.get(path)
                read[path] = seen if seen is not None and seen[0] == signature else (signature, _read_file(service, path))
        return read

    async def _read_redis(self, redis: aioredis.Redis) -> list[Override]:
        assert self.redis_key is not None
        try:
            # redis types it bytes | str: str only from a client made with decode_responses=True, not this one.
            held = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(self.redis_key))
        except (RedisError, OSError) as exc:
            if self.redis_error is None:
                log.error("prompt overrides in Redis (%s) cannot be read, keeping the last read: %s", self.redis_key, exc)
            self.redis_error = f"{type(exc).__name__}: {exc}"
            return self._from_redis
        if self.redis_error is not None:
            log.info("prompt overrides in Redis (%s) can be read again", self.redis_key)
            self.redis_error = None
        overrides = []
        for raw_field, raw_value in sorted(held.items()):
            field = raw_field.decode("utf-8", "replace")
            service, _, name = field.partition("/")
            if service not in self.books:
                continue  # another service's
            location = f"{self.redis_key} {field}"
            try:
                overrides.append(Override(service, name, "redis", location, text=_text(raw_value.decode("utf-8"))))
            except UnicodeDecodeError as exc:
                overrides.append(Override(service, name, "redis", location, problem=f"not UTF-8: {exc}"))
        return overrides

    def view(self) -> PromptsView:
        return PromptsView(
            dir=str(self.folder) if self.folder is not None else None,
            redis=self.redis_key,
            redis_error=self.redis_error,
            checked_at=self.checked_at,
            prompts=[
                PromptInfo(
                    service=service,
                    name=live.prompt.name,
                    version=live.prompt.version,
                    source=live.source,
                    location=live.location,
                    chars=len(live.prompt.text),
                )
                for service, book in sorted(self.books.items())
                for live in book.live()
            ],
            refused=[
                RefusedOverride(
                    service=service,
                    name=refusal.override.name,
                    source=refusal.override.source,
                    location=refusal.override.location,
                    version=refusal.version,
                    error=refusal.reason,
                )
                for service, book in sorted(self.books.items())
                for refusal in book.refused()
            ],
        )


@asynccontextmanager
async def live_prompts(settings: Settings, *packages: str) -> AsyncIterator[PromptLibrary]:
    """These packages' prompts with the overrides the settings name: read once before the library is handed
    out, then every ``prompts_reload_interval_s`` until the context closes."""
    redis = None
    if settings.prompts_redis:
        redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)
    library = PromptLibrary(
        packages,
        folder=settings.prompts_dir,
        redis=redis,
        redis_key=settings.prompts_redis,
        max_chars=settings.prompts_max_chars,
    )
    if settings.prompts_dir is not None and not settings.prompts_dir.is_dir():
        log.warning("SG_PROMPTS_DIR %s is not a folder: no prompt overrides from it until it is", settings.prompts_dir)
    watcher = None
    try:
        if library.overridable:
            await library.refresh()
            watcher = asyncio.create_task(_watch(library, settings.prompts_reload_interval_s))
        yield library
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if redis is not None:
            await redis.aclose()


async def _watch(library: PromptLibrary, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await library.refresh()
        except Exception:  # noqa: BLE001 - a failed check keeps the live prompts; the next one tries again
            log.exception("checking the prompt overrides failed; trying again in %.1fs", interval_s)


# --------------------------------------------------------------------------- what an operator reads
class PromptInfo(BaseModel):
    service: str
    name: str
    version: str = Field(description="<name>@<first 12 hex digits of the text's sha256>, as answers carry it")
    source: Source = Field(description="Where the live text comes from: the package, SG_PROMPTS_DIR or SG_PROMPTS_REDIS")
    location: str = Field(description="The file, or '<hash> <field>' in Redis")
    chars: int


class RefusedOverride(BaseModel):
    service: str
    name: str
    source: Source
    location: str
    version: str | None = Field(description="The refused text's version; null when it could not be read")
    error: str = Field(description="Why it was refused; the prompt live before it stays live")


class PromptsView(BaseModel):
    dir: str | None = Field(description="SG_PROMPTS_DIR, if set")
    redis: str | None = Field(description="SG_PROMPTS_REDIS (a hash at SG_REDIS_URL), if set")
    redis_error: str | None = Field(None, description="Why the Redis hash could not be read last time, if it could not")
    checked_at: float | None = Field(None, description="Unix time the overrides were last read; null without any")
    prompts: list[PromptInfo] = Field(description="Each prompt in use, its live version and where it comes from")
    refused: list[RefusedOverride] = Field(description="Overrides present but refused, and why")


@dataclass(frozen=True, kw_only=True)
class PromptState(ServiceState):
    """The state of an app whose prompts are live configuration: ``GET /v1/prompts`` lists them."""

    prompts: PromptLibrary

    def degradable(self) -> dict[str, ReadinessCheck]:
        return {**super().degradable(), "prompt_overrides": self._overrides_readable}

    async def _overrides_readable(self) -> bool:
        return self.prompts.redis_error is None


prompts_router = APIRouter(prefix="/v1", tags=["prompts"])


@prompts_router.get("/prompts", response_model=PromptsView, summary="The prompts in use, their versions and sources")
async def prompts(request: Request) -> PromptsView:
    return app_state(request, PromptState).prompts.view()
