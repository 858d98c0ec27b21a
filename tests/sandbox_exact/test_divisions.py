"""`system/Divisions`: the divisions the user may open, as read-only rows keyed by the division number."""

from __future__ import annotations

import httpx
import pytest

from sandbox.exact import ExactSimConfig

from .conftest import DIVISION, START, url


@pytest.fixture
def config() -> ExactSimConfig:
    return ExactSimConfig(start_time=START, other_divisions=(7654321,), division_name="Koffie BV")


async def test_lists_every_division_of_the_user_with_its_name(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(
        url("system/Divisions"), params={"$select": "Code,Description,Current,Status"}, headers=headers
    )
    assert response.status_code == 200, response.text
    rows = {row["Code"]: row for row in response.json()["d"]["results"]}
    assert set(rows) == {DIVISION, 7654321}
    assert rows[DIVISION]["Description"] == "Koffie BV"
    assert rows[DIVISION]["Current"] is True
    assert rows[7654321]["Current"] is False
    assert rows[DIVISION]["Status"] == 1
    assert rows[DIVISION]["__metadata"]["uri"].endswith(f"/system/Divisions({DIVISION})")


async def test_filter_by_code_and_counted_against_the_division(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(
        url("system/Divisions"), params={"$filter": f"Code eq {DIVISION}", "$select": "Code"}, headers=headers
    )
    assert [row["Code"] for row in response.json()["d"]["results"]] == [DIVISION]
    assert response.headers["X-RateLimit-Remaining"] == "4999"


async def test_is_read_only(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(url("system/Divisions"), json={"Code": 1, "Description": "x"}, headers=headers)
    assert response.status_code == 405
