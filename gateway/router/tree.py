"""Agents as declared trees of sub-tasks: each node names what it runs after; independent nodes run together.

A node gets the agent's context object and returns its result (``None`` when it decides it does not apply);
the context carries the results of the nodes before it. Cancelling the tree (a client hung up) cancels every
running node, which closes their upstream calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Node(Generic[C]):
    name: str
    run: Callable[[C], Awaitable[Any]]
    after: tuple[str, ...] = ()


class TaskTree(Generic[C]):
    def __init__(self, nodes: Sequence[Node[C]]) -> None:
        self.nodes = _topological(nodes)

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    async def run(self, context: C) -> dict[str, Any]:
        tasks: dict[str, asyncio.Task[Any]] = {}

        async def run_node(node: Node[C]) -> Any:
            if node.after:
                await asyncio.gather(*(tasks[name] for name in node.after))
            return await node.run(context)

        async with asyncio.TaskGroup() as group:
            for node in self.nodes:  # dependencies first, so their tasks exist when a node waits on them
                tasks[node.name] = group.create_task(run_node(node), name=node.name)
        return {name: task.result() for name, task in tasks.items()}


def _topological(nodes: Sequence[Node[C]]) -> list[Node[C]]:
    by_name = {node.name: node for node in nodes}
    if len(by_name) != len(nodes):
        raise ValueError("node names must be unique")
    ordered: list[Node[C]] = []
    state: dict[str, str] = {}

    def visit(node: Node[C], path: tuple[str, ...]) -> None:
        if state.get(node.name) == "done":
            return
        if node.name in path:
            raise ValueError(f"cycle: {' -> '.join((*path, node.name))}")
        for name in node.after:
            if name not in by_name:
                raise ValueError(f"node {node.name!r} runs after unknown node {name!r}")
            visit(by_name[name], (*path, node.name))
        state[node.name] = "done"
        ordered.append(node)

    for node in nodes:
        visit(node, ())
    return ordered
