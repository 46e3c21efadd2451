"""The dialog state: what a shopping conversation adds up to, turn after turn (pure functions).

The call is the state of the conversation, not of its last message. Each turn, the extraction service's reading
of the new message (``TurnReading``) is merged into the state the session keeps:
- the kind of product persists until the user names another one (one the catalog does not carry too: its call has
  no category and keeps the user's words as ``query``); a new kind starts a new state, since what was
  said about the old kind does not hold for it. A kind the extraction only inferred sets the kind of a dialog that
  has none, never switches one ("camera quality" in a phone dialog is the phone's camera);
- wishes and constraints said later refine or replace earlier ones (``constraints.merge``); exclusions add up;
- "cheaper", "bigger screen" move from what was last shown, or from the product last referred to: below the
  cheapest price shown, above the largest screen;
- "the second one", "第二款" refers to the second product shown: the state's ``focus``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shared.engines.constraints import measure, merge
from shared.schemas import (
    AttributeConstraint,
    Constraints,
    DialogState,
    FunctionCall,
    PriceRange,
    Relative,
    SkuInfo,
    TurnReading,
)

# A move from what was shown goes this far past it ("cheaper" than ¥1699 is at most ¥1698.99).
STEP = 0.01


def merge_turn(state: DialogState, reading: TurnReading, shown: Sequence[SkuInfo]) -> DialogState:
    """The state after a message read as ``reading``, ``shown`` being the products the user last saw."""
    category = state.call.arguments.get("category") if state.call else None
    if reading.query is not None and reading.category is None:
        # A kind the catalog does not carry: a new state too, its words kept for the guide's honest answer.
        return DialogState(call=_call(dict(reading.arguments), reading.constraints))
    if reading.category is not None and reading.category != category and (reading.named or category is None):
        # A new kind: a new state; what was shown was of the old kind, so nothing moves from it or refers to it.
        return DialogState(call=_call({"category": reading.category, **reading.arguments}, reading.constraints))
    if state.call is None or category is None:
        return state
    arguments = {**state.call.arguments, **reading.arguments}
    constraints = merge(state.call.constraints or Constraints(), reading.constraints)
    focus = _referred(reading.ordinal, shown)
    reference = [p for p in shown if p.skuId == state.focus] or list(shown)
    for move in reading.relative:
        constraints = moved(constraints, move, reference)
        if move.key == "price" and constraints.price is not None:
            arguments["price"] = _price_words(constraints.price)  # an outside recommender reads the words
    return DialogState(call=_call(_brand_words(arguments, constraints), constraints), focus=focus)


def _price_words(price: PriceRange) -> str:
    """A moved price in words the shared parser reads back: "under 1698.99 CNY", "over 2499.01 CNY"."""
    if price.max is not None:
        return f"under {price.max:g} {price.currency}"
    return f"over {price.min:g} {price.currency}"


def _call(arguments: dict[str, str], constraints: Constraints) -> FunctionCall:
    return FunctionCall(arguments=arguments, constraints=constraints or None)


def _referred(ordinal: int | None, shown: Sequence[SkuInfo]) -> str | None:
    if not ordinal or not shown:
        return None
    index = ordinal - 1 if ordinal > 0 else len(shown) + ordinal
    return shown[index].skuId if 0 <= index < len(shown) else None


def _brand_words(arguments: dict[str, str], constraints: Constraints) -> dict[str, str]:
    """The call's brand words may not name a brand the user has since excluded ("Sony or Bose", then "not Sony")."""
    brands = constraints.brands
    words = arguments.get("brand", "")
    if brands is None or not words or not any(b.lower() in words.lower() for b in brands.exclude):
        return arguments
    kept = {key: value for key, value in arguments.items() if key != "brand"}
    return {**kept, "brand": " or ".join(brands.include)} if brands.include else kept


def moved(constraints: Constraints, move: Relative, reference: Sequence[SkuInfo]) -> Constraints:
    """``constraints`` moved past the ``reference`` products: "cheaper" is below the cheapest of them, "bigger
    screen" above the largest. Without products to move from, nothing moves (the words stay a wish)."""
    if move.key == "price":
        prices = [p.price for p in reference if p.price is not None]
        if not prices:
            return constraints
        # "Cheaper" drops the floor an earlier "about $800" set, "pricier" the ceiling: the user moves past them.
        currency = constraints.price.currency if constraints.price else PriceRange().currency
        if move.direction == "less":
            price = PriceRange(max=round(min(prices) - STEP, 2), currency=currency)
        else:
            price = PriceRange(min=round(max(prices) + STEP, 2), currency=currency)
        return constraints.model_copy(update={"price": price})
    measures = [q for p in reference if (q := measure(str(p.attributes.get(move.key, "")))) is not None]
    if not measures:
        return constraints
    unit = measures[0].unit
    values = [b / unit.factor for q in measures if q.unit.dimension == unit.dimension for b in q.base() if math.isfinite(b)]
    if move.direction == "less":
        wanted = AttributeConstraint(max=round(min(values) - STEP, 4), unit=unit.name)
    else:
        wanted = AttributeConstraint(min=round(max(values) + STEP, 4), unit=unit.name)
    return constraints.model_copy(update={"attributes": {**constraints.attributes, move.key: wanted}})
