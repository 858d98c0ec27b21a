"""`ledgerbridge setup [--link ID]`: the console's setup wizard in a terminal, for people who prefer prompts.

The same six steps over the same services (`app/services/setup.py`), so the same validation: a refused answer is
said with the field at fault and asked again. Progress is the link's wizard state in Redis, shared with the
console: a setup started in the browser resumes here, and the other way round.

Connecting (OAuth) needs a browser once per system: the command prints the provider's consent address; after
consenting, the browser lands on our redirect URI. Paste that address here (the command finishes the connection
itself, no API needed), or, when the ledgerbridge API answered it, just press Enter.

Exit status: 0 the link is set up; 1 stopped before the end (run the command again to resume); 2 it cannot start.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from app.engine import Engine
from app.main import connect_redis
from app.scope import Process, Timing
from app.services import connections, setup
from app.services.errors import InvalidInput
from app.settings import Settings
from connectors.errors import ConnectorError
from connectors.keys import DEFAULT_LINK
from flows.registry import load_flows

__all__ = ["Stopped", "run"]

Ask = Callable[[str], str | Awaitable[str]]  # input(), or a script's answers (tests)
Say = Callable[[str], None]
TRIES = 5


class Stopped(Exception):
    """The person stopped (end of input, or `q`); progress so far is kept."""


def _errors(exc: InvalidInput) -> str:
    detail = exc.detail
    if isinstance(detail, list):
        return "; ".join(f"{' > '.join(str(p) for p in e.get('loc') or [])}: {e.get('msg')}" for e in detail)
    return str(detail)


class Terminal:
    """Prompts and answers; `q` (or the end of the input) stops."""

    def __init__(self, ask: Ask, say: Say) -> None:
        self._ask, self.say = ask, say

    async def ask(self, prompt: str, default: str | None = None) -> str:
        shown = f"{prompt} [{default}]: " if default not in (None, "") else f"{prompt}: "
        try:
            given = self._ask(shown)
            answer = (await given if inspect.isawaitable(given) else given).strip()
        except EOFError:
            raise Stopped from None
        if answer.lower() in ("q", "quit"):
            raise Stopped
        return answer or (default or "")

    async def yes(self, prompt: str, default: bool) -> bool:
        answer = (await self.ask(f"{prompt} (y/n)", "y" if default else "n")).lower()
        return answer.startswith("y")

    async def pick(self, prompt: str, options: list[tuple[str, str]], default: str = "") -> str:
        """One of `options` (value, label) by its number or its value; empty: `default`."""
        for number, (_, label) in enumerate(options, 1):
            self.say(f"    {number}) {label}")
        for _ in range(TRIES):
            answer = await self.ask(prompt, default)
            if answer == default:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][0]
            if any(answer == value for value, _ in options):
                return answer
            self.say(f"  Not one of the {len(options)} listed; answer with its number.")
        raise Stopped


async def _connect(t: Terminal, process: Process, engine: Engine, system: connections.System) -> None:
    name = "Exact Online" if system == "exact" else "eAccounting"
    for _ in range(TRIES):
        url = await connections.start_authorization(engine, system)
        t.say(f"Open this address in a browser and sign in to {name}:\n  {url}")
        t.say("Then paste the address of the page the browser lands on (or press Enter if the API received it).")
        pasted = await t.ask("Address")
        if pasted:
            params = httpx.URL(pasted).params
            if params.get("error"):
                t.say(f"  {name} refused: {params.get('error_description') or params['error']}. Try again.")
                continue
            try:
                await connections.finish_authorization(
                    process, system, code=params.get("code", ""), state=params.get("state", "")
                )
            except InvalidInput as exc:
                t.say(f"  Not connected: {_errors(exc)}")
                continue
        status = (await connections.connection_status(engine))[system]
        if status.get("connected"):
            t.say(f"{name} is connected.")
            return
        t.say(f"  {name} is not connected yet.")
    raise Stopped


async def _step_exact(t: Terminal, process: Process, engine: Engine) -> Engine:
    t.say("\n1. Connect Exact Online")
    if not await setup.exact_connected(engine):
        await _connect(t, process, engine, "exact")
    choices = await setup.divisions(engine)
    t.say("Choose the division this link keeps in sync (Exact's 'current' one is only the last opened there):")
    options = [
        (
            str(d.code),
            f"{d.code} - {d.name}{f' ({d.country})' if d.country else ''}"
            f"{' - last opened in Exact' if d.last_opened else ''}{'' if d.usable else ' - blocked'}",
        )
        for d in choices
    ]
    chosen = next((str(d.code) for d in choices if d.chosen), "")
    for _ in range(TRIES):
        answer = await t.pick("Division", options, chosen)
        if not answer:
            t.say("  Choose one: nothing is taken without asking.")
            continue
        try:
            engine = await setup.choose_division(process, engine, int(answer))
        except InvalidInput as exc:
            t.say(f"  Not saved: {_errors(exc)}")
            continue
        t.say(f"Exact division {answer} chosen.")
        return engine
    raise Stopped


async def _step_eaccounting(t: Terminal, process: Process, engine: Engine) -> None:
    t.say("\n2. Connect eAccounting")
    check = await setup.check_eaccounting(process, engine)
    for _ in range(TRIES):
        if not check.connected:
            await _connect(t, process, engine, "eaccounting")
        elif check.company:
            t.say(f"Connected to the eAccounting company {check.company.rstrip('.')}.")
            return
        else:
            t.say(f"eAccounting refuses the company: {check.problem}\nWhat to do: {check.fix}")
            if (await t.ask("Press Enter to check again, or type 'connect' to connect again")).lower() == "connect":
                await _connect(t, process, engine, "eaccounting")
        check = await setup.check_eaccounting(process, engine)
    raise Stopped


async def _step_flows(t: Terminal, engine: Engine) -> None:
    t.say("\n3. Choose the flows (the safe default is shown in brackets)")
    for _ in range(TRIES):
        enabled: dict[str, bool] = {}
        options: dict[str, dict[str, Any]] = {}
        for choice in await setup.flow_choices(engine):
            t.say(f"{choice.name}: {choice.sentence}")
            enabled[choice.name] = await t.yes(f"  Run {choice.name}", choice.enabled)
            if not enabled[choice.name]:
                continue
            model = engine.flows[choice.name].options_model
            for option, sentence in choice.key_options.items():
                t.say(f"  {sentence}")
                current = choice.options.get(option)
                if isinstance(current, bool):
                    options.setdefault(choice.name, {})[option] = await t.yes(f"  {option}", current)
                    continue
                annotation = model.model_fields[option].annotation
                allowed = [str(a) for a in getattr(annotation, "__args__", ())]
                hint = f" ({'/'.join(allowed)})" if allowed else ""
                options.setdefault(choice.name, {})[option] = await t.ask(f"  {option}{hint}", str(current or ""))
        try:
            await setup.save_flows(engine, enabled, options)
        except InvalidInput as exc:
            t.say(f"  Not saved: {_errors(exc)}. Once more:")
            continue
        t.say("Flows chosen: " + (", ".join(n for n, on in enabled.items() if on) or "none") + ".")
        return
    raise Stopped


async def _step_tables(t: Terminal, engine: Engine) -> None:
    t.say("\n4. Reference tables (eAccounting -> Exact; unmapped values are listed, never guessed)")
    for _ in range(TRIES):
        tables = await setup.reference_tables(engine)
        if not tables.orders_enabled:
            t.say("The orders flow is off: nothing to map.")
            await setup.skip_tables(engine)
            return
        picked: dict[str, dict[str, str | None]] = {}
        for table in tables.tables:
            t.say(f"{table.title}: {table.sentence}")
            picked[table.name] = {}
            for row in table.rows:
                now = (
                    f"chosen {row.chosen}"
                    if row.chosen
                    else f"automatic: {row.automatic_label or ('the account own condition')}"
                    if row.automatic is not None
                    else f"unmapped: {row.unmapped}"
                )
                t.say(f"  {row.label}: {now}")
                if not row.editable or not row.choices:
                    continue
                options = [(c.value, c.label) for c in row.choices]
                answer = await t.pick("  Exact value (number; Enter keeps it)", options, row.chosen or "")
                picked[table.name][row.key] = answer or None
            left = [row.label for row in table.unmapped if not picked[table.name].get(row.key)]
            if left:
                t.say("  Unmapped: " + ", ".join(left))
        t.say("Default debtor: empty (safe default) finds or creates each order's customer in Exact.")
        debtor = await t.ask("Default debtor (Exact account code)", tables.default_debtor or "")
        shipping = await t.ask("Shipping item (Exact item code)", tables.shipping_item)
        rounding = await t.ask("Rounding item (Exact item code)", tables.rounding_item)
        for note in tables.notes:
            t.say(note)
        try:
            await setup.save_tables(
                engine,
                vat=picked["vat"],
                payment=picked["payment"],
                shipping=picked["shipping"],
                cost_centers=picked["cost_centers"],
                default_debtor=debtor,
                shipping_item=shipping,
                rounding_item=rounding,
            )
        except InvalidInput as exc:
            t.say(f"  Not saved: {_errors(exc)}. Once more:")
            continue
        t.say("Reference tables saved.")
        return
    raise Stopped


def _compact(value: Any, lines: int = 30) -> str:
    text = json.dumps(value, indent=1, ensure_ascii=False, default=str).splitlines()
    return "\n".join(["      " + line for line in text[:lines]] + (["      ..."] if len(text) > lines else []))


async def _step_dry_run(t: Terminal, engine: Engine) -> None:
    t.say("\n5. Dry run of the most recent orders (nothing is written)")
    runs = await setup.dry_run(engine)
    if not runs:
        t.say("eAccounting has no recent orders the flow would transfer.")
    for run in runs:
        t.say(f"  {run.label}")
        if run.error:
            t.say(f"    cannot be previewed: {run.error}")
            continue
        result = run.result or {}
        for key, words in (("skipped", "would be skipped"), ("error", "would be refused")):
            value = result.get(key)
            if value:
                t.say(f"    {words}: {value.get('message', value) if isinstance(value, dict) else value}")
        for warning in result.get("warnings") or []:
            t.say(f"    warning: {warning}")
        if result.get("payload") is not None:
            t.say("    would send to Exact:\n" + _compact(result["payload"]))
    if not await t.yes("Does this look right", True):
        raise Stopped
    await setup.confirm_dry_run(engine)


async def _step_enable(t: Terminal, process: Process, engine: Engine) -> None:
    t.say("\n6. Enable: orders dated from the start date are transferred (ones already in Exact are recognised).")
    default = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    for _ in range(TRIES):
        raw = await t.ask("Start date (YYYY-MM-DD)", default)
        try:
            start = date.fromisoformat(raw)
            preview = await setup.backfill_preview(engine, start)
        except ValueError:
            t.say("  Not a date (YYYY-MM-DD).")
            continue
        except InvalidInput as exc:
            t.say(f"  {_errors(exc)}")
            continue
        t.say(
            f"{preview.orders} orders dated from {start}: {preview.new} to transfer, "
            f"{preview.already} already in Exact."
        )
        if not await t.yes(f"Enable from {start}", False):
            continue
        await setup.enable(process, engine, start)
        t.say(f"Enabled: orders from {start} are being transferred. Watch them with the console's activity page.")
        return
    raise Stopped


async def walk(t: Terminal, process: Process, link: str) -> None:
    """The wizard from where the link's state says, to the end."""
    engine = await process.engine_of(link)
    if engine is None:
        raise InvalidInput(f"no link {link!r}; see GET /links")
    state = await setup.begin(process, engine)
    engine = await process.engine_of(link) or engine
    if state.finished and not await t.yes("This administration is set up already. Go through the setup again", False):
        return
    if state.finished:
        state.done.clear()
    elif state.done:
        t.say(f"Resuming at: {setup.STEP_TITLES[state.next_step()]}")
    for step in setup.STEPS:
        if step in state.done:
            continue
        if step == "exact":
            engine = await _step_exact(t, process, engine)
        elif step == "eaccounting":
            await _step_eaccounting(t, process, engine)
        elif step == "flows":
            await _step_flows(t, engine)
        elif step == "tables":
            await _step_tables(t, engine)
        elif step == "dry_run":
            await _step_dry_run(t, engine)
        else:
            await _step_enable(t, process, engine)
        engine = await process.engine_of(link) or engine


async def run(
    settings: Settings,
    ask: Ask,
    say: Say,
    *,
    link: str = DEFAULT_LINK,
    http: httpx.AsyncClient | None = None,
    timing: Timing | None = None,
) -> int:
    """Walk the wizard for `link` with `ask`/`say` (input() and print() in a terminal; tests script them)."""
    redis = connect_redis(settings)
    process = Process(settings, redis, load_flows(), http=http, timing=timing)
    terminal = Terminal(ask, say)
    try:
        await walk(terminal, process, link)
    except Stopped:
        say("\nStopped. What you chose so far is kept: run `ledgerbridge setup` again to go on.")
        return 1
    except InvalidInput as exc:
        say(f"ledgerbridge setup: {_errors(exc)}")
        return 2
    except ConnectorError as exc:
        say(f"ledgerbridge setup: {exc}. Run it again to go on from here.")
        return 1
    finally:
        await process.aclose()
        await redis.aclose()
    say("The setup is finished.")
    return 0
