"""Config files that change without a restart: the gateway's route table and tenants file, the prompt overrides."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T")


def file_signature(path: Path) -> tuple[int, int, int]:
    # Size and inode as well as mtime: editors that save by rename, or two writes in one mtime tick.
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class WatchedFile(Generic[T]):
    """A YAML file's parsed content, parsed again when the file changes.

    Checked when asked for, at most once per ``interval_s``, so a request costs a clock read. The new
    version replaces the old in one assignment (requests see one or the other, never a mix). A version that
    does not parse keeps the previous one and logs an error, so a typo cannot take the gateway down; at
    start-up a broken file fails loudly instead.
    """

    def __init__(self, path: Path, parse: Callable[[Any], T], interval_s: float) -> None:
        self.path = path
        self.interval_s = interval_s
        self._parse = parse
        self._signature: tuple[int, int, int] | None = file_signature(path)
        self._value = parse(yaml.safe_load(path.read_text("utf-8")))
        self._checked = time.monotonic()

    def get(self) -> T:
        now = time.monotonic()
        if now - self._checked >= self.interval_s:
            self._checked = now
            self._reload()
        return self._value

    def _reload(self) -> None:
        try:
            signature: tuple[int, int, int] | None = file_signature(self.path)
        except OSError as exc:
            signature = None
            if self._signature is not None:
                log.error("%s is gone; keeping the previous version: %s", self.path, exc)
        if signature is None or signature == self._signature:
            self._signature = signature
            return
        # Remembered before parsing, so a broken version is reported once, not on every check.
        self._signature = signature
        try:
            value = self._parse(yaml.safe_load(self.path.read_text("utf-8")))
        except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
            log.error("%s changed but does not load; keeping the previous version: %s", self.path, exc)
            return
        self._value = value
        log.info("reloaded %s", self.path)
