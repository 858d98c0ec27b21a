"""Driving console pages with a TestClient: the form's CSRF token, and signing in on the way to a page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.settings import DEMO_ADMIN_TOKEN


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def signed_in(client: TestClient, page: str, shows: str) -> str:
    """Sign in with the admin token, landing on `page` (which must show `shows`); returns the page's CSRF token."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in", data={"csrf": csrf(form.text), "token": DEMO_ADMIN_TOKEN, "next": page}, follow_redirects=True
    )
    assert answer.status_code == 200 and shows in answer.text, answer.text[:500]
    return csrf(answer.text)
