"""A fresh installation waits for its connections quietly: the worker's poll tick enqueues no poll of a link that
was never connected (they would fail and alert every interval until someone opens the wizard), and starts them once
both systems are connected. A connection that was lost keeps its polls, so that loss stays loud."""

from __future__ import annotations

import time

from tests.setup.conftest import Fresh


async def _due(fresh: Fresh) -> list[str]:
    engine = await fresh.engine()
    return sorted(await engine.polls_due(time.time()))


async def test_a_link_never_connected_is_not_polled_until_both_systems_are(fresh: Fresh) -> None:
    assert await _due(fresh) == []
    assert await fresh.redis.zcard(fresh.settings.redis.queue_name) == 0

    await fresh.consent("exact")
    assert await _due(fresh) == []  # every flow reads or writes eAccounting too

    await fresh.consent("eaccounting")
    enabled = sorted(n for n, d in (await fresh.engine()).flows.items() if d.poll is not None and d.enabled_by_default)
    assert enabled and await _due(fresh) == enabled


async def test_a_lost_connection_keeps_its_polls_so_the_loss_stays_loud(fresh: Fresh) -> None:
    await fresh.consent("exact")
    await fresh.consent("eaccounting")
    engine = await fresh.engine()
    # What the token manager records when eAccounting refuses the refresh token (the user withdrew consent).
    await engine.eaccounting.tokens._store.set_needs_reauthorization("refresh token refused")
    assert (await engine.eaccounting.auth_status())["connected"] is False
    assert await _due(fresh)  # they run, fail with the re-authorization reason and alert, as before
