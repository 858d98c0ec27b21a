"""Loads tests/links/legacy_v1.json (a Redis written by the single-administration code) under a test's own names.

Keys under the fixture's prefix `lb` move to the test's prefix; the fixture's arq queue and arq keys (which sat
outside any prefix then) move to `{prefix}:queue:legacy` and under `{prefix}:arq:legacy:`, so a test never writes
outside its own prefix (installation-wide names, which the upgrade does not adopt into a link).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).with_name("legacy_v1.json")


@dataclass(frozen=True)
class Loaded:
    document: dict[str, Any]
    queue: str  # where the fixture's queue now is
    arq_prefix: str  # what `arq:` became

    @property
    def generated_at(self) -> float:
        return float(self.document["generated_at"])

    def keys(self, part: str) -> list[dict[str, Any]]:
        """The fixture's rows whose key (in the fixture's names) starts with `lb:{part}`."""
        return [row for row in self.document["keys"] if row["key"].startswith(f"lb:{part}")]


def _value(cell: dict[str, str]) -> bytes:
    return base64.b64decode(cell["b64"]) if "b64" in cell else cell["text"].encode()


async def load_legacy(redis: Any, prefix: str) -> Loaded:
    document = json.loads(FIXTURE.read_text())
    old_prefix, old_queue = document["prefix"], document["queue"]
    queue, arq_prefix = f"{prefix}:queue:legacy", f"{prefix}:arq:legacy:"

    def job(job_id: str) -> str:
        return prefix + job_id.removeprefix(old_prefix) if job_id.startswith(f"{old_prefix}:") else job_id

    def rename(key: str) -> str:
        if key == old_queue:
            return queue
        if key.startswith("arq:"):
            kind, _, job_id = key.removeprefix("arq:").partition(":")
            return f"{arq_prefix}{kind}:{job(job_id)}"
        assert key.startswith(f"{old_prefix}:"), key
        return prefix + key.removeprefix(old_prefix)

    for row in document["keys"]:
        key, kind, value = rename(row["key"]), row["type"], row["value"]
        if kind == "string":
            await redis.set(key, _value(value))
        elif kind == "hash":
            await redis.hset(key, mapping={field: _value(cell) for field, cell in value.items()})
        elif kind == "zset":
            members = {job(m) if key == queue else m: s for m, s in value}
            await redis.zadd(key, members)
        elif kind == "set":
            await redis.sadd(key, *value)
        elif kind == "list":
            await redis.rpush(key, *[_value(cell) for cell in value])
        if row["pttl"] > 0:
            await redis.pexpire(key, row["pttl"])
    return Loaded(document, queue, arq_prefix)
