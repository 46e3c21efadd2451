"""The dialog state's merge: the kind persists, later constraints refine or replace, exclusions add up, moves go
from what was shown, an ordinal refers to a shown product."""

from __future__ import annotations

from gateway.router.dialog_state import merge_turn
from shared.engines.constraints import Currencies, read_price
from shared.schemas import (
    AttributeConstraint,
    BrandConstraint,
    Constraints,
    DialogState,
    FunctionCall,
    PriceRange,
    Relative,
    SkuInfo,
    TurnReading,
)

SHOWN = [
    SkuInfo(skuId="p1", skuName="one", brand="Samsung", price=2199, attributes={"screen size": "6.5 inch"}),
    SkuInfo(skuId="p2", skuName="two", brand="Apple", price=2499, attributes={"screen size": "6.1 inch"}),
    SkuInfo(skuId="p3", skuName="three", brand="Honor", price=1699, attributes={"screen size": "6.7 inch"}),
]


def _phone(**arguments: str) -> DialogState:
    return DialogState(call=FunctionCall(arguments={"category": "smartphone", **arguments}))


def test_a_first_reading_sets_the_kind_and_what_it_says() -> None:
    reading = TurnReading(category="tent", named=True, arguments={"capacity": "4 people"},
                          constraints=Constraints(attributes={"capacity": AttributeConstraint(min=4, unit="person")}))
    state = merge_turn(DialogState(), reading, [])
    assert state.call is not None and state.call.arguments == {"category": "tent", "capacity": "4 people"}
    assert state.call.constraints == reading.constraints
    assert merge_turn(DialogState(), TurnReading(), []) == DialogState(), "no kind, no state"


def test_the_kind_persists_until_another_is_named() -> None:
    # "Camera quality matters" is read as the phone's camera; an inferred kind never switches a dialog.
    inferred = TurnReading(category="camera", named=False, arguments={"price": "about $800"},
                           constraints=Constraints(price=PriceRange(min=4608, max=6912)))
    state = merge_turn(_phone(camera="good camera"), inferred, SHOWN)
    assert state.call is not None and state.call.arguments == {
        "category": "smartphone", "camera": "good camera", "price": "about $800"
    }
    assert state.call.constraints == Constraints(price=PriceRange(min=4608, max=6912))
    switched = merge_turn(state, TurnReading(category="laptop", named=True), SHOWN)
    assert switched.call == FunctionCall(arguments={"category": "laptop"}), "a new kind starts afresh"


def test_later_constraints_refine_or_replace_earlier_ones() -> None:
    state = merge_turn(_phone(), TurnReading(arguments={"price": "3000以内"},
                                             constraints=Constraints(price=PriceRange(max=3000))), SHOWN)
    state = merge_turn(state, TurnReading(arguments={"price": "两千以上"},
                                          constraints=Constraints(price=PriceRange(min=2000))), SHOWN)
    assert state.call is not None and state.call.constraints is not None
    assert state.call.constraints.price == PriceRange(min=2000, max=3000)
    assert state.call.arguments["price"] == "两千以上"
    state = merge_turn(state, TurnReading(constraints=Constraints(price=PriceRange(min=5000, max=6000))), SHOWN)
    assert state.call is not None and state.call.constraints is not None
    assert state.call.constraints.price == PriceRange(min=5000, max=6000)


def test_exclusions_add_up_and_leave_the_brand_words() -> None:
    state = merge_turn(_phone(brand="Sony or Bose"), TurnReading(
        constraints=Constraints(brands=BrandConstraint(include=["Sony", "Bose"]))), SHOWN)
    state = merge_turn(state, TurnReading(constraints=Constraints(brands=BrandConstraint(exclude=["Sony"]))), SHOWN)
    state = merge_turn(state, TurnReading(constraints=Constraints(brands=BrandConstraint(exclude=["Apple"]))), SHOWN)
    assert state.call is not None and state.call.constraints is not None
    assert state.call.constraints.brands == BrandConstraint(include=["Bose"], exclude=["Sony", "Apple"])
    assert state.call.arguments["brand"] == "Bose"


def test_cheaper_and_bigger_move_from_what_was_shown() -> None:
    about = _phone().model_copy(update={"call": FunctionCall(
        arguments={"category": "smartphone"}, constraints=Constraints(price=PriceRange(min=1500, max=2600)))})
    cheaper = merge_turn(about, TurnReading(relative=[Relative(key="price", direction="less")]), SHOWN)
    assert cheaper.call is not None and cheaper.call.constraints is not None
    assert cheaper.call.constraints.price == PriceRange(max=1698.99), "below the cheapest shown, the old floor gone"
    assert cheaper.call.arguments["price"] == "under 1698.99 CNY", "the words say the same"
    assert read_price(cheaper.call.arguments["price"], Currencies("CNY", {})) == PriceRange(max=1698.99)
    bigger = merge_turn(_phone(), TurnReading(relative=[Relative(key="screen size", direction="more")]), SHOWN)
    assert bigger.call is not None and bigger.call.constraints is not None
    assert bigger.call.constraints.attributes == {"screen size": AttributeConstraint(min=6.71, unit="inch")}
    nothing_shown = merge_turn(_phone(), TurnReading(relative=[Relative(key="price", direction="less")]), [])
    assert nothing_shown.call is not None and nothing_shown.call.constraints is None


def test_an_ordinal_refers_to_a_shown_product_and_moves_go_from_it() -> None:
    second = merge_turn(_phone(), TurnReading(ordinal=2), SHOWN)
    assert second.focus == "p2"
    assert merge_turn(_phone(), TurnReading(ordinal=-1), SHOWN).focus == "p3"
    assert merge_turn(_phone(), TurnReading(ordinal=7), SHOWN).focus is None
    cheaper = merge_turn(second, TurnReading(relative=[Relative(key="price", direction="less")]), SHOWN)
    assert cheaper.call is not None and cheaper.call.constraints is not None
    assert cheaper.call.constraints.price == PriceRange(max=2498.99), "cheaper than the one referred to"
    assert cheaper.focus is None
