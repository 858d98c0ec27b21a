"""A config nested deeper than any mapping needs is refused with 422 where it arrives, naming where, before any
step that recurses over it (validation, compiling, storing) can overflow the stack and answer 500 (issue 18)."""

from __future__ import annotations

import httpx
import pytest

from app.flowconfig import MAX_DEPTH

MAPPING = "orders_to_exact_sales_order"


def _config(depth: int) -> bytes:
    """An orders config whose one filter is a condition wrapped in `depth` `not`s (written out: json.dumps itself
    cannot encode what is deep enough to matter)."""
    condition = '{"not":' * depth + '{"path":"Status","op":"eq","value":1}' + "}" * depth
    return ('{"enabled":true,"mapping_overrides":{"' + MAPPING + '":{"filters":[' + condition + "]}}}").encode()


@pytest.mark.parametrize("depth", [MAX_DEPTH, 600, 900])
async def test_a_config_nested_too_deeply_is_refused_with_422_and_the_old_one_stays(
    api: httpx.AsyncClient, depth: int
) -> None:
    before = (await api.get("/flows/orders/config")).json()
    for path in ("/flows/orders/config", "/links/default/flows/orders/config"):
        answer = await api.put(path, content=_config(depth), headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, answer.text[:300]
        [error] = answer.json()["detail"]
        assert error["msg"] == f"nested deeper than {MAX_DEPTH} levels"
        assert error["loc"][:4] == ["mapping_overrides", MAPPING, "filters", 0] and "..." in error["loc"]
        assert len(answer.content) < 1000
    assert (await api.get("/flows/orders/config")).json() == before


async def test_a_deep_but_reasonable_config_is_still_judged_on_its_content(api: httpx.AsyncClient) -> None:
    """Ten levels of `not` are a valid filter: the depth rule leaves room for every real mapping."""
    answer = await api.put("/flows/orders/config", content=_config(10), headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text[:300]
