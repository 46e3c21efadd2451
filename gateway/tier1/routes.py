"""The business route table: which upstream serves each public path."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

DEFAULT_ROUTES = Path(__file__).with_name("routes.yaml")


class Route(BaseModel):
    path: str
    upstream: str
    timeout_s: float = Field(30.0, gt=0)


class RouteTable(BaseModel):
    routes: list[Route]

    @classmethod
    def load(cls, path: Path = DEFAULT_ROUTES) -> RouteTable:
        return cls.model_validate(yaml.safe_load(path.read_text("utf-8")))

    def match(self, path: str) -> Route | None:
        return next((r for r in self.routes if r.path == path), None)
