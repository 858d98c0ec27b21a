"""The typed state the API lifespan yields and request handlers read."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from arq.connections import ArqRedis

from app.settings import Settings
from connectors.keys import Keys

if TYPE_CHECKING:
    from app.scope import Process
    from flows.base import FlowDefinition


class AppState(TypedDict, total=False):
    settings: Settings
    redis: ArqRedis
    keys: Keys
    flows: dict[str, FlowDefinition]
    process: Process
