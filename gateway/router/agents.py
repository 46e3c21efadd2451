"""Agents: each user operation as a tree of sub-tasks, independent ones run concurrently.

``shopping_turn`` is seed 000's per-turn flow: intent+scene and extraction together; if the intent is a
shopping one, recommendation and knowledge recall together; then the grounded dialog reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from shared.schemas import NON_SHOPPING_INTENTS, FunctionCall, KnowledgeHit, Message, Scene, SkuInfo
from shared.text import is_chinese

from gateway.router.clients import ServiceError, Services
from gateway.router.schemas import ChatResponse
from gateway.router.sessions import Session

log = logging.getLogger(__name__)

T = TypeVar("T")


async def _degrade(stage: str, work: Awaitable[T], fallback: T, engines: dict[str, Any]) -> T:
    """Run one sub-task; a failing service costs its stage, never the turn."""
    try:
        return await work
    except ServiceError as exc:
        log.warning("stage %s degraded: %s", stage, exc)
        engines[stage] = "unavailable"
        return fallback


class ShoppingTurn:
    def __init__(self, services: Services, history_turns: int) -> None:
        self.services = services
        self.history_turns = history_turns

    async def run(self, session: Session, message: str) -> ChatResponse:
        history = [*session.history[-2 * self.history_turns :], Message(role="user", content=message)]
        engines: dict[str, Any] = {}
        intent, extraction = await asyncio.gather(
            _degrade("intent", self.services.intent(history), None, engines),
            _degrade("extraction", self.services.extract(history), None, engines),
        )
        label = intent["intent"] if intent else "random chat"
        scene = Scene.model_validate(intent["scene"]) if intent else Scene()
        if intent:
            engines["intent"] = intent["engine"]
        call: FunctionCall | None = None
        products: list[SkuInfo] = []
        knowledge: list[KnowledgeHit] = []
        if label not in NON_SHOPPING_INTENTS and extraction and extraction.get("call"):
            engines["extraction"] = extraction["engine"]
            call = FunctionCall.model_validate(extraction["call"])
            products, knowledge = await asyncio.gather(
                _degrade("recommend", self.services.recommend(call), [], engines),
                _degrade("knowledge", self.services.knowledge(message, call.arguments.get("category")), [], engines),
            )
        dialog_body = {
            "messages": [m.model_dump() for m in history],
            "intent": label,
            "call": call.model_dump() if call else None,
            "products": [p.model_dump() for p in products],
            "knowledge": [k.model_dump() for k in knowledge],
        }
        dialog = await _degrade("dialog", self.services.dialog(dialog_body), None, engines)
        reply = dialog["reply"] if dialog else _apology(message)
        if dialog:
            engines["dialog"] = dialog["engine"]

        session.history = [*history, Message(role="assistant", content=reply)]
        session.intents.append(label)
        if call:
            session.preferences.update(call.arguments)
        if products:
            session.last_products = products
        return ChatResponse(
            session_id=session.id,
            reply=reply,
            intent=label,
            scene=scene,
            call=call,
            products=products,
            knowledge=knowledge,
            engines=engines,
        )


def _apology(message: str) -> str:
    if is_chinese(message):
        return "抱歉，导购助手暂时无法回答，请稍后再试。"
    return "Sorry, the shopping guide cannot answer right now. Please try again in a moment."
