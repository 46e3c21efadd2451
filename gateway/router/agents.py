"""Agents: each user operation as a declared tree of sub-tasks (``tree.py``), independent ones concurrent.

``ShoppingTurn`` is the guide's per-turn flow: intent+scene and extraction together; if the intent is a
shopping one, recommendation and knowledge recall together; then the grounded reply, streamed; then
next-question suggestions. Every stage reports itself as an event (``shared/events.py``) as soon as it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.router.clients import ServiceError, Services
from gateway.router.dialog_state import merge_turn
from gateway.router.schemas import ChatResponse
from gateway.router.tree import Node, TaskTree
from shared.engines.suggestions import suggest
from shared.events import StreamEvent
from shared.schemas import (
    NON_SHOPPING_INTENTS,
    DialogState,
    FunctionCall,
    Generation,
    IntentLabel,
    KnowledgeHit,
    Message,
    Scene,
    SkuInfo,
    TokenUsage,
    TurnReading,
)
from shared.sessions import Exchange, Session, SessionStore
from shared.sse import Event, error_event
from shared.text import is_chinese
from shared.vocabulary import OpenCatalog

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[StreamEvent, dict[str, Any]], Awaitable[None]]


class TurnFailed(Exception):
    """The reply broke off mid-way: the turn cannot be completed or saved."""

    kind = "upstream_error"
    status = 502


class TurnUnanswered(TurnFailed):
    """The dialog service could not answer, and the client asked for an error rather than an apology."""

    kind = "service_unavailable"
    status = 503


@dataclass
class Turn:
    """What one dialog turn knows so far; the tree's nodes fill it in."""

    session: Session
    message: str
    history: list[Message]
    emit: Emit
    engines: dict[str, Any] = field(default_factory=dict)
    prompt_versions: dict[str, str] = field(default_factory=dict)
    intent: IntentLabel = "random chat"
    extraction: dict[str, Any] | None = None
    scene: Scene = field(default_factory=Scene)
    call: FunctionCall | None = None
    state: DialogState | None = None  # the dialog state after this turn; None: the turn left it as it was
    products: list[SkuInfo] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    knowledge: list[KnowledgeHit] = field(default_factory=list)
    reply: str = ""
    suggestions: list[str] = field(default_factory=list)
    saved: bool = False
    # What the client asked of the reply, and whether a turn the dialog cannot answer is an apology or an error.
    generation: Generation | None = None
    instructions: str | None = None
    apology: bool = True
    # The exchanges of a history the session did not have, saved with this turn (a session rebuilt from them).
    earlier: list[Exchange] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: TokenUsage | None = None  # summed over the stages whose model ran

    @property
    def chinese(self) -> bool:
        return is_chinese(self.message)

    def answered(self, stage: str, result: Mapping[str, Any]) -> None:
        """Record which engine answered a stage, with which prompt, and the tokens its model used."""
        self.engines[stage] = result.get("engine")
        if version := result.get("prompt_version"):
            self.prompt_versions[stage] = str(version)
        self.used(result.get("usage"))

    def used(self, usage: dict[str, Any] | None) -> None:
        """Add a stage's usage (its service's ``usage``) to the turn's."""
        if usage:
            counted = TokenUsage.model_validate(usage)
            self.usage = counted if self.usage is None else self.usage + counted

    async def degrade(self, stage: str, work: Awaitable[T], fallback: T) -> T:
        """Run one service call; a failing service costs its stage, never the turn."""
        try:
            return await work
        except ServiceError as exc:
            log.warning("stage %s degraded: %s", stage, exc)
            self.engines[stage] = "unavailable"
            return fallback


class ShoppingTurn:
    def __init__(
        self,
        services: Services,
        sessions: SessionStore,
        catalog: OpenCatalog,
        history_turns: int,
        *,
        knowledge_min_score: float = 0.0,
        sequential: bool = False,
    ) -> None:
        self.services = services
        self.sessions = sessions
        self.catalog = catalog  # the catalog's vocabulary: replaced when it changes
        self.history_turns = history_turns
        self.knowledge_min_score = knowledge_min_score
        nodes = [
            Node("intent", self._intent),
            Node("extraction", self._extraction),
            Node("call", self._call, after=("intent", "extraction")),
            Node("recommend", self._recommend, after=("call",)),
            Node("knowledge", self._knowledge, after=("call",)),
            Node("dialog", self._dialog, after=("recommend", "knowledge")),
            Node("suggestions", self._suggestions, after=("dialog",)),
        ]
        # A plain pipeline runs every stage one after the other; kept as the baseline `make bench` compares with.
        self.tree: TaskTree[Turn] = TaskTree(_chained(nodes) if sequential else nodes)

    # ------------------------------------------------------------------ nodes
    async def _intent(self, turn: Turn) -> None:
        result = await turn.degrade("intent", self.services.intent(turn.history), None)
        if result:
            turn.intent, turn.scene = result["intent"], Scene.model_validate(result["scene"])
            turn.answered("intent", result)
            await turn.emit(StreamEvent.INTENT, {k: result[k] for k in ("intent", "reason", "confidence", "engine")})
        await turn.emit(StreamEvent.SCENE, turn.scene.model_dump())

    async def _extraction(self, turn: Turn) -> None:
        turn.extraction = await turn.degrade("extraction", self.services.extract(turn.history), None)
        if turn.extraction:
            turn.answered("extraction", turn.extraction)

    async def _call(self, turn: Turn) -> None:
        # The call is the dialog state with this message merged in. No call for random chat or random shopping,
        # except a message that moves a running dialog ("cheaper", "the second one", "under $100" read alone
        # look like browsing): that is a shopping turn, and the dialog is told so.
        state = turn.session.state
        found = turn.extraction.get("turn") if turn.extraction else None
        reading = TurnReading.model_validate(found) if found else None
        moves = reading is not None and bool(reading.relative or reading.ordinal or reading.constraints)
        if turn.intent in NON_SHOPPING_INTENTS and not (state.call and moves):
            await turn.emit(StreamEvent.CALL, {"call": None, "focus": None})
            return
        if turn.intent in NON_SHOPPING_INTENTS:
            turn.intent = "specific needs"
        turn.state = merge_turn(state, reading, turn.session.last_products) if reading else state
        turn.call = turn.state.call
        await turn.emit(
            StreamEvent.CALL, {"call": turn.call.model_dump() if turn.call else None, "focus": turn.state.focus}
        )

    async def _recommend(self, turn: Turn) -> None:
        if turn.call is None:
            return
        if "category" not in turn.call.arguments:
            # Something the catalog has no category for ("ice skates"): no other kind's products stand in for it.
            await turn.emit(StreamEvent.PRODUCTS, {"products": [], "relaxed": []})
            return
        if turn.state is not None and turn.state.focus:
            # "The second one": the product the user pointed at, as they saw it.
            turn.products = [p for p in turn.session.last_products if p.skuId == turn.state.focus]
        else:
            recommended = self.services.recommend(turn.call)
            turn.products, turn.relaxed = await turn.degrade("recommend", recommended, ([], []))
        await turn.emit(
            StreamEvent.PRODUCTS, {"products": [p.model_dump() for p in turn.products], "relaxed": turn.relaxed}
        )

    async def _knowledge(self, turn: Turn) -> None:
        if turn.call is None or "category" not in turn.call.arguments:
            return
        category = turn.call.arguments.get("category")
        hits = await turn.degrade("knowledge", self.services.knowledge(turn.message, category), [])
        turn.knowledge = [hit for hit in hits if (hit.score or 0) >= self.knowledge_min_score]
        await turn.emit(StreamEvent.KNOWLEDGE, {"hits": [k.model_dump() for k in turn.knowledge]})

    async def _dialog(self, turn: Turn) -> None:
        body: dict[str, Any] = {
            "messages": [m.model_dump() for m in turn.history],
            "intent": turn.intent,
            "call": turn.call.model_dump() if turn.call else None,
            "products": [p.model_dump() for p in turn.products],
            "relaxed": turn.relaxed,  # the filters the recommender dropped: the guide says so
            "knowledge": [k.model_dump() for k in turn.knowledge],
        }
        if turn.generation is not None:
            body["generation"] = turn.generation.model_dump(exclude_none=True)
        if turn.instructions:
            body["instructions"] = turn.instructions
        pieces: list[str] = []
        failure = "the dialog service did not answer"
        try:
            async for name, data in self.services.stream("dialog", "/v1/dialog", body):
                if name == StreamEvent.TOKEN:
                    pieces.append(data.get("text", ""))
                    await turn.emit(StreamEvent.TOKEN, data)
                elif name == StreamEvent.DONE:
                    turn.reply = data.get("reply", "".join(pieces))
                    turn.answered("dialog", data)
                    turn.finish_reason = str(data.get("finish_reason") or "stop")
                    return
                elif name == StreamEvent.ERROR:
                    raise TurnFailed(data.get("message", "the dialog service failed mid-reply"))
        except ServiceError as exc:
            if pieces:
                raise TurnFailed(str(exc)) from exc
            log.warning("stage dialog degraded: %s", exc)
            failure = str(exc)
        if pieces:
            raise TurnFailed("the dialog stream ended without its done event")
        turn.engines["dialog"] = "unavailable"
        if not turn.apology:
            raise TurnUnanswered(f"the guide cannot answer now ({failure}); try again")
        turn.reply = _apology(turn.chinese)
        await turn.emit(StreamEvent.TOKEN, {"text": turn.reply})

    async def _suggestions(self, turn: Turn) -> None:
        turn.suggestions = suggest(self.catalog, turn.chinese, turn.call, turn.products)
        await turn.emit(StreamEvent.SUGGESTIONS, {"suggestions": turn.suggestions})

    # ------------------------------------------------------------------ running a turn
    async def events(
        self,
        session_id: str | None,
        message: str,
        *,
        history: Sequence[Message] = (),
        generation: Generation | None = None,
        instructions: str | None = None,
        apology: bool = True,
    ) -> AsyncIterator[Event]:
        """The turn's events as they happen; closing the iterator cancels every running stage.

        ``history`` is the dialog before ``message`` as the client has it: a session without history (new, or
        expired) is rebuilt from it, its exchanges saved with this turn's."""
        session = await self.sessions.load(session_id)
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        earlier = list(history) if not session.history else []
        turn = Turn(
            session=session,
            message=message,
            history=[*(session.history or earlier)[-2 * self.history_turns :], Message(role="user", content=message)],
            emit=lambda name, data: queue.put((name, data)),
            generation=generation,
            instructions=instructions,
            apology=apology,
            earlier=_exchanges(earlier),
        )
        yield StreamEvent.SESSION, {"session_id": session.id}
        runner = asyncio.create_task(self._run_tree(turn, queue))
        try:
            while (item := await queue.get()) is not None:
                yield item
            await runner
        finally:
            if not runner.done():
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner

    async def _run_tree(self, turn: Turn, queue: asyncio.Queue[Event | None]) -> None:
        try:
            await self.tree.run(turn)
            await self._save(turn)
            await queue.put((StreamEvent.DONE, self._response(turn).model_dump()))
        except* TurnFailed as failed:
            first = failed.exceptions[0]
            await queue.put(error_event(first.kind if isinstance(first, TurnFailed) else "upstream_error", str(first)))
        finally:
            await queue.put(None)

    async def run(self, session_id: str | None, message: str, **ask: Any) -> ChatResponse:
        """The whole turn (``ask``: as ``events``); ``TurnFailed`` (``TurnUnanswered``) when it failed."""
        async for name, data in self.events(session_id, message, **ask):
            if name == StreamEvent.DONE:
                return ChatResponse.model_validate(data)
            if name == StreamEvent.ERROR:
                failed = TurnUnanswered if data.get("type") == TurnUnanswered.kind else TurnFailed
                raise failed(data["message"])
        raise TurnFailed("the turn ended without a result")

    async def _save(self, turn: Turn) -> None:
        # Appended, never rewritten: a turn that ran alongside others on the session is kept with them. A store
        # that fails costs the turn its place in the session, not its answer, and the answer says so.
        focused = turn.state is not None and turn.state.focus is not None
        turn.saved = await self.sessions.append(
            turn.session.id,
            Exchange(user=turn.message, assistant=turn.reply, intent=turn.intent),
            preferences=dict(turn.call.arguments) if turn.call else None,
            # A turn about one of the shown products keeps the list it picked from: "the third one" comes next.
            products=[] if focused else turn.products,
            state=turn.state,
            earlier=turn.earlier,
        )
        if not turn.saved:
            turn.engines["session"] = "unsaved"

    @staticmethod
    def _response(turn: Turn) -> ChatResponse:
        return ChatResponse(
            session_id=turn.session.id,
            reply=turn.reply,
            intent=turn.intent,
            scene=turn.scene,
            call=turn.call,
            products=turn.products,
            relaxed=turn.relaxed,
            knowledge=turn.knowledge,
            suggestions=turn.suggestions,
            engines=turn.engines,
            prompt_versions=turn.prompt_versions,
            session_saved=turn.saved,
            finish_reason=turn.finish_reason,
            usage=turn.usage,
        )


def _chained(nodes: list[Node[Turn]]) -> list[Node[Turn]]:
    return [Node(node.name, node.run, after=(nodes[i - 1].name,) if i else ()) for i, node in enumerate(nodes)]


def _exchanges(history: Sequence[Message]) -> list[Exchange]:
    """A client's dialog as a session's exchanges: each user message with the reply after it (consecutive
    messages of one role joined); a reply before any question, or a question without a reply, is left out.
    Their intents were never classified: they are empty."""
    merged: list[Message] = []
    for message in history:
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(role=message.role, content=f"{merged[-1].content}\n{message.content}")
        else:
            merged.append(message)
    if merged and merged[0].role == "assistant":
        merged = merged[1:]
    return [
        Exchange(user=question.content, assistant=reply.content, intent="")
        for question, reply in zip(merged[::2], merged[1::2], strict=False)
    ]


def _apology(chinese: bool) -> str:
    if chinese:
        return "抱歉，导购助手暂时无法回答，请稍后再试。"
    return "Sorry, the shopping guide cannot answer right now. Please try again in a moment."
