"""Every app's OpenAPI, fuzzed with schemathesis: a few seeded examples per operation, valid and invalid,
each app in-process (ASGI). No answer may be a 5xx, and every answer must be what the operation documents:
its status code, content type and body schema (errors included: ``shared.schemas.ErrorResponse``).

The router and the gateway call their upstreams over HTTP: the six services and a router run on real
servers in threads, so those calls succeed and a 502/504 (documented for an upstream that cannot be reached)
is a failure here too. schemathesis's negative_data_rejection check is not run: pydantic's lax mode takes
some values the schema does not list on purpose (``"stream": 0`` as false), and that is no hostile input.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from shared.settings import Settings
from shared.suite import APPS, serve_in_threads

KEY = "fuzz-key"
# Per operation and mode: few, so the run stays short; seeded (derandomize), so a failure repeats run after run.
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SERVICES = ["intent", "extraction", "dialog", "copywriting", "summary", "catalog"]


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The services and a router on real servers: what the fuzzed router and gateway call."""
    base = Settings(
        _env_file=None,
        env="test",
        cache_backend="memory",
        log_json=False,
        api_keys=[KEY],
        gateway_tenants_file=None,
        qdrant_path=tmp_path_factory.mktemp("fuzz-upstream-store"),
    )
    with serve_in_threads(base, [*SERVICES, "router"]) as started:
        yield started


@pytest.fixture
def fuzzed_settings(upstreams: Settings, tmp_path: Path) -> Iterator[Settings]:
    yield upstreams.model_copy(update={"qdrant_path": tmp_path / "store"})
    asgi.shutdown_lifespans()  # the app under test is done: close its resources (schemathesis started them)


@pytest.mark.parametrize("name", sorted(APPS))
def test_openapi_holds_under_fuzzing(name: str, fuzzed_settings: Settings) -> None:
    app = importlib.import_module(APPS[name]).create_app(fuzzed_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {KEY}"} if name == "gateway" else None
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"schemathesis cannot read an operation of {name}: {result}"
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failing example
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body schema)
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be made"
            except Exception as exc:  # noqa: BLE001 - collected, so one run reports every operation's failure
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
