"""Import directions: ``shared`` is the base, each service and the gateway stand on it alone, ``training`` is
offline tooling that nothing at run time imports.

Every import statement counts, relative ones and ``importlib.import_module``/``__import__`` with a literal
name included, wherever it stands (inside a function or ``if TYPE_CHECKING`` too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import PROJECT_ROOT

CHECKED = ("shared", "services", "gateway")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``importer``."""
    if not level:
        return module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def imported(source: str, importer: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for each module the source imports; ``from a import b`` yields ``a`` and ``a.b``,
    since ``b`` may be a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, importer, is_package)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            target = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(target, str):
                dots = len(target) - len(target.lstrip("."))
                # import_module("..x", package) is relative to ``package``, the importer's package in practice
                yield node.lineno, _absolute(target[dots:] or None, dots, importer, is_package)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violation(importer: str, module: str) -> str | None:
    """Why ``importer`` may not import ``module``, or None when it may."""
    top = importer.split(".")[0]
    if top == "shared":
        for forbidden in ("services", "gateway", "training"):
            if _within(module, forbidden):
                return f"shared is the base: it imports no {forbidden}"
    if top in ("services", "gateway") and _within(module, "training"):
        return f"{top} is run-time code: training is offline tooling"
    if top == "gateway" and _within(module, "services"):
        return "the gateway reaches the services over HTTP, never by import"
    if top == "services" and _within(module, "services"):
        own, other = importer.split(".")[:2], module.split(".")[:2]
        if len(own) == 2 and len(other) == 2 and own != other:
            return f"a service is its own process: {'.'.join(own)} imports no other service"
    return None


def violations(path: Path) -> list[str]:
    importer = module_name(path)
    found: dict[int, str] = {}  # one per line: ``from a import b`` is checked as ``a`` and as ``a.b``
    for line, module in imported(path.read_text("utf-8"), importer, path.name == "__init__.py"):
        if line not in found and (reason := violation(importer, module)):
            found[line] = f"{path.relative_to(PROJECT_ROOT)}:{line} imports {module}: {reason}"
    return list(found.values())


def checked_files() -> list[Path]:
    return sorted(path for root in CHECKED for path in (PROJECT_ROOT / root).rglob("*.py"))


def test_import_directions() -> None:
    files = checked_files()
    assert len(files) > 50, "the walk found the packages"
    problems = [problem for path in files for problem in violations(path)]
    assert not problems, "\n".join(problems)


def test_no_app_loads_training() -> None:
    """At run time too, where a computed name could slip past the parse: every app of the suite imported."""
    code = (
        "import importlib, sys; from shared.suite import APPS; [importlib.import_module(m) for m in APPS.values()]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'training'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("importer", "source", "bad"),
    [
        ("shared.engines.intent", "from training.data import INTENT_FILE", True),
        ("shared.x", "import services.intent.engine", True),
        ("shared.engines.artefacts", "from ..llm import base", False),
        ("shared.engines.artefacts", "from ...gateway import tier1", True),
        ("services.intent.app", "from training import build", True),
        ("services.intent.app", "def f():\n    import training.build", True),
        ("services.intent.app", "importlib.import_module('training.build')", True),
        ("services.intent.app", "from services.extraction.engine import Extractor", True),
        ("services.intent.app", "from services import extraction", True),
        ("services.intent.app", "from .. import extraction", True),
        ("services.intent.app", "from . import engine", False),
        ("services.intent.app", "from services.intent.engine import LocalIntentEngine", False),
        ("gateway.router.app", "from services.intent.schemas import IntentResponse", True),
        ("gateway.router.app", "__import__('training')", True),
        ("gateway.router.app", "from shared.engines import intent", False),
        ("training.build", "from services.intent.engine import LocalIntentEngine", False),
    ],
)
def test_the_check_sees_violations(importer: str, source: str, bad: bool) -> None:
    found = [m for _, m in imported(source, importer) if violation(importer, m)]
    assert bool(found) == bad, found
