"""The typed state the API lifespan yields and request handlers read."""

from __future__ import annotations

from typing import TypedDict

from arq.connections import ArqRedis

from app.keys import Keys
from app.settings import Settings


class AppState(TypedDict):
    settings: Settings
    redis: ArqRedis
    keys: Keys
