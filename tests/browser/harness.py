"""Real-browser testing of the console: Debian's chromium driven through chromium-driver (selenium), and the demo.

Reusable by every suite with pages (the setup wizard builds on it):
- `ensure_chromium()` installs Debian's `chromium` and `chromium-driver` with apt-get when either is missing (the
  tests run as root here and in CI), and fails with the reason when it cannot.
- `Browser` wraps one headless Chromium with a fresh profile: `open`, `sign_in`, waits for what a person sees
  (`wait_text`, `wait_gone`, `until`), buttons and links by their visible name, `screenshots` at 390 px and 1280 px
  into `test-artifacts/console/`, and `assert_no_console_errors` (called after every page by the fixture).
- `DemoWorld` runs `ledgerbridge demo` (what `make run` starts) in a subprocess on a free port and its own Redis
  database, and stops it.

Waits are explicit: a condition polled until it holds or a generous deadline passes (then the test fails with what
the page showed). Nothing sleeps to pass time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 60.0
WIDTHS = (390, 1280)
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,900",
)
T = TypeVar("T")


def ensure_chromium() -> None:
    """Debian's chromium and chromium-driver, installed with apt-get when missing."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            "the browser tests need Debian's chromium and chromium-driver: apt-get install them (as root)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    for command in (
        ["apt-get", *lock, "update", "-q"],
        ["apt-get", *lock, "install", "-y", "-q", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One headless Chromium with a fresh profile (see the module docstring)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._profile = tempfile.mkdtemp(prefix="lb-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (*CHROME_ARGS, f"--user-data-dir={self._profile}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Selenium Manager would look for drivers online; ours is Debian's.
        os.environ.setdefault("SE_OFFLINE", "true")
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(60)
        self.errors: list[str] = []

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- navigation and waiting ----------------------------------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(path if path.startswith("http") else self.base_url + path)
        self.collect_console()

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.split(self.base_url, 1)[-1] if url.startswith(self.base_url) else url

    def until(self, condition: Callable[[], T | bool | None], what: str, seconds: float = WAIT_SECONDS) -> T:
        """Poll `condition` until it returns something truthy; fail naming `what` and showing the page."""

        def check(_driver: Any) -> Any:
            try:
                return condition()
            except (StaleElementReferenceException, WebDriverException):
                return False

        try:
            result: T = WebDriverWait(self.driver, seconds, poll_frequency=0.25).until(check)
        except Exception as exc:
            raise AssertionError(f"waited {seconds:.0f} s for {what}; the page says:\n{self.text()[:3000]}") from exc
        return result

    def text(self, within: WebElement | None = None) -> str:
        element = within or self.driver.find_element(By.TAG_NAME, "body")
        text: str = element.text
        return text

    def wait_text(self, text: str | re.Pattern[str], within: str = "body", seconds: float = WAIT_SECONDS) -> str:
        """Wait until the element `within` (CSS) shows `text` (a string or a pattern); returns the element's text."""

        def shown() -> str | None:
            found = self.driver.find_element(By.CSS_SELECTOR, within).text
            ok = text.search(found) if isinstance(text, re.Pattern) else text in found
            return found if ok else None

        return self.until(shown, f"{text!r} in {within}", seconds)

    def wait_reloading(self, text: str | re.Pattern[str], seconds: float = WAIT_SECONDS) -> str:
        """Reload the page until it shows `text` (what a person does while waiting for the worker)."""

        def shown() -> str | None:
            self.driver.refresh()
            self.collect_console()
            found = self.text()
            ok = text.search(found) if isinstance(text, re.Pattern) else text in found
            return found if ok else None

        return self.until(shown, f"{text!r} after reloading", seconds)

    # -- finding things as people name them ---------------------------------------------------------------------

    def button(self, name: str, within: WebElement | None = None) -> WebElement:
        root = within or self.driver
        for element in root.find_elements(By.CSS_SELECTOR, "button, input[type=submit], a.button"):
            if element.is_displayed() and element.text.strip() == name:
                return element
        raise AssertionError(f"no button {name!r}; the page says:\n{self.text()[:2000]}")

    def link(self, name: str, within: WebElement | None = None) -> WebElement:
        root = within or self.driver
        for element in root.find_elements(By.TAG_NAME, "a"):
            if element.is_displayed() and element.text.strip() == name:
                return element
        raise AssertionError(f"no link {name!r}; the page says:\n{self.text()[:2000]}")

    def field(self, label: str) -> WebElement:
        """The form control whose <label> reads `label`."""
        for element in self.driver.find_elements(By.TAG_NAME, "label"):
            if element.text.strip() == label:
                target = element.get_attribute("for")
                if target:
                    return self.driver.find_element(By.ID, target)
                return element.find_element(By.CSS_SELECTOR, "input, select, textarea")
        raise AssertionError(f"no field labelled {label!r}")

    def fill(self, label: str, value: str) -> None:
        control = self.field(label)
        control.clear()
        control.send_keys(value)

    def click(self, element: WebElement) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        self.collect_console()

    def sign_in(self, token: str) -> None:
        self.open("/sign-in")
        self.fill("Admin token", token)
        self.click(self.button("Sign in"))
        self.until(lambda: not self.path.startswith("/sign-in"), "leaving the sign-in page")

    # -- console errors and screenshots ---------------------------------------------------------------------------

    def collect_console(self) -> None:
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.errors.append(str(entry.get("message")))

    def forget_errors(self, expected: str) -> None:
        """Drop the console errors containing `expected` (a page whose refusal is the point of the test)."""
        self.collect_console()
        self.errors = [e for e in self.errors if expected not in e]

    def assert_no_console_errors(self) -> None:
        self.collect_console()
        errors, self.errors = self.errors, []
        assert not errors, f"browser console errors: {errors}"

    def screenshots(self, name: str) -> list[Path]:
        """Full-page screenshots at 390 px and 1280 px; fails when the page is wider than the window."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        written = []
        for width in WIDTHS:
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 700},
            )
            overflow = self.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} is {overflow}px wider than a {width}px screen"
            height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": min(max(height, 600), 8000), "deviceScaleFactor": 1, "mobile": width < 700},
            )
            path = ARTIFACTS / f"{name}-{width}.png"
            self.driver.save_screenshot(str(path))
            written.append(path)
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        self.collect_console()
        return written


@contextmanager
def browser(base_url: str) -> Iterator[Browser]:
    ensure_chromium()
    opened = Browser(base_url)
    try:
        yield opened
    finally:
        opened.close()


@dataclass
class DemoWorld:
    """`ledgerbridge demo` running in a subprocess (see the module docstring)."""

    url: str
    exact_url: str
    admin_token: str
    process: subprocess.Popen[str]
    log_file: Path
    ea_url: str = ""  # the eAccounting simulator's host (its `/_sim/` control plane)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def demo_world(redis_url: str, *, seconds: float = 120.0, fresh: bool = False) -> Iterator[DemoWorld]:
    """Start the demo against `redis_url` (a database of its own) and wait for its banner. `fresh`: `ledgerbridge
    demo --fresh`, nothing connected or configured (the setup wizard's start)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = ARTIFACTS / ("demo-fresh.log" if fresh else "demo.log")
    env = {**os.environ, "REDIS__URL": redis_url, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--log-file", str(log_file)]
    if fresh:
        command.append("--fresh")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    banner: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    lines: list[str] = []
    try:
        while time.monotonic() < deadline and "redis" not in banner:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.match(r"\s+(console|admin token|Exact sim|eAcc\. sim|redis)\s+(\S+)", line)
            if match:
                banner[match.group(1)] = match.group(2)
        if "console" not in banner:
            raise RuntimeError("the demo did not start:\n" + "".join(lines))
        world = DemoWorld(
            url=banner["console"].rstrip("/"),
            exact_url=banner["Exact sim"].rstrip("/"),
            admin_token=banner["admin token"],
            process=process,
            log_file=log_file,
            ea_url=banner.get("eAcc. sim", "").removesuffix("/").removesuffix("/v2"),
        )
        httpx.get(world.url + "/health/ready", timeout=10).raise_for_status()
        yield world
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if process.stdout is not None:
            process.stdout.close()
