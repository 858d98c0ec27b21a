"""The simulator serves every path of the vendor's description, the one file the contract tests also read."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import httpx

from sandbox.eaccounting import EAccountingSim

# sha256 of `swagger.json` in pwitab/visma, commit ffa6698738fcc1be9de727e7fe77cce30310f830 (docs/eaccounting-api.md S1)
VENDOR_SHA256 = "ce1191e76405a724ec1ce3a3b02f983dcdad3e3cf068ae7e45e9e0808a9ecbea"


def test_packaged_description_is_the_vendor_file_unchanged() -> None:
    packaged = resources.files("sandbox.eaccounting").joinpath("swagger.json").read_bytes()
    assert hashlib.sha256(packaged).hexdigest() == VENDOR_SHA256


async def test_every_described_operation_is_routed(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    for method, path in sim.spec.operations:
        url = re.sub(r"\{[^}]+\}", zero, path)
        response = await client.request(method, url, headers=auth)
        assert response.status_code not in (404, 405) or response.json().get("ErrorCode") in (3000, 3002), (
            method,
            path,
            response.text,
        )
        assert response.status_code < 500 or response.status_code == 501, (method, path, response.text)
