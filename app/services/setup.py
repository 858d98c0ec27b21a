"""The setup wizard of one link, shared by the console (`/console/setup`) and `ledgerbridge setup`.

Six steps, each saved through the same validated services as the admin API (links, connections, flow configs), so
the wizard can store nothing `PUT /flows/{flow}/config` would refuse:

1. `exact`: connect Exact (OAuth) and choose the division from `system/Divisions`, the divisions the user can
   reach; never `CurrentDivision` silently (that is only the division last opened in Exact's web interface).
2. `eaccounting`: connect eAccounting; the usual first-connection refusals (no API module, an unfinished startup
   guide) are explained with what to do (`connectors/eaccounting/policy.py`).
3. `flows`: which flows run, and the key options of each, with a sentence and the safe default.
4. `tables`: the orders flow's reference tables, from both systems: VAT situations -> Exact VAT codes, terms of
   payment -> payment conditions, delivery methods -> shipping methods, cost centers, default debtor, shipping and
   rounding items. What the flow would choose by itself is shown; what it cannot choose is listed as unmapped,
   never guessed.
5. `dry_run`: the three most recent orders the flow would transfer, through `app.services.flows.preview` (zero
   writes), side by side with their warnings.
6. `enable`: a start date, its back-fill previewed (how many orders, how many already in Exact), then the link
   resumes and a poll from that date is queued. The orders flow finds what it transferred before (cross-reference,
   then Exact's `Description` "eAccounting order N"), so a back-fill run twice creates nothing twice.

While the wizard runs the link is paused (no polls, no record runs, webhooks ignored): flows enabled in step 3 start
only in step 6. Progress lives in Redis per link (`Keys.setup`), so the wizard resumes where it was left, in the
browser or in the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel, Field, ValidationError

from app.engine import Engine
from app.flowconfig import ConfigInvalid
from app.scope import Process
from app.services import flows as flows_service
from app.services.connections import connection_status, subscribe_webhooks
from app.services.errors import InvalidInput, NotFoundError
from app.services.links import remember_company, set_paused
from connectors.eaccounting.policy import access_problem
from connectors.errors import ConnectorError
from connectors.exact import PaymentCondition
from flows.base import RecordFailed
from flows.orders import _kinds_of_source, vat_rules
from flows.orders_options import OrdersOptions
from flows.orders_payment import METHOD_NAMES, TYPE_NAMES, payment_condition
from flows.orders_vat import choose_code
from mapping.tables import table_problems

log = structlog.get_logger("setup")

STEPS = ("exact", "eaccounting", "flows", "tables", "dry_run", "enable")
STEP_TITLES = {
    "exact": "Connect Exact Online",
    "eaccounting": "Connect eAccounting",
    "flows": "Choose the flows",
    "tables": "Reference tables",
    "dry_run": "Dry run",
    "enable": "Enable",
}
DRY_RUN_ORDERS = 3
RECENT_DAYS = (31, 183, 730)  # the dry run looks this far back for recent orders, widening until it has three

FLOW_SENTENCES = {
    "orders": "eAccounting orders become Exact sales orders (or invoices): the books' income. Safe default: on.",
    "products": "Exact items become eAccounting articles, so web-shop orders name SKUs Exact knows. Safe default: on.",
    "stock": "Exact's stock is written to the eAccounting articles. Safe default: on (on hand).",
    "customers_to_eaccounting": "Exact customers are created and updated in eAccounting. Safe default: on.",
    "customers_to_exact": "eAccounting customers are created in Exact ahead of their orders. The orders flow finds "
    "or creates an order's customer anyway. Safe default: off (two directions can fight over a change).",
    "shipments": "Exact deliveries are recorded on the eAccounting orders (tracking number, carrier). "
    "Safe default: on.",
}
# The options a person should decide at setup, with a sentence each; the rest keep their defaults (flow pages).
KEY_OPTIONS: dict[str, dict[str, str]] = {
    "orders": {
        "document": "What each order becomes in Exact. Safe default: sales_order (Exact invoices it later).",
        "customer_match": "How an order's customer is found in Exact. Safe default: email.",
        "missing_sku": "An order naming an item Exact lacks: fail and wait for you (safe default), or create the item.",
    },
    "products": {
        "update_existing": "Also update articles eAccounting has already. Safe default: on.",
    },
    "stock": {
        "calculation": "Which Exact quantity becomes the article's stock. Safe default: on_hand (eAccounting "
        "subtracts its own open orders and shipments itself).",
    },
}
# VAT situations a single Exact code can stand for (0 %); taxed situations have one code per rate (matched).
ZERO_RATE_SITUATIONS = (
    "eu_b2b_goods",
    "eu_b2b_services",
    "eu_triangulation",
    "export",
    "domestic_reverse_charge",
    "rounding",
)
SITUATION_LABELS = {
    "eu_b2b_goods": "Goods to a business in another EU country (intra-community, 0 %)",
    "eu_b2b_services": "Services to a business in another EU country (reverse charge, 0 %)",
    "eu_triangulation": "Triangulation (ABC) supply within the EU (0 %)",
    "export": "Export outside the EU (0 %)",
    "domestic_reverse_charge": "Domestic sale with reverse charge (0 %)",
    "rounding": "Rounding line (no VAT)",
}
VALUE_MAPS = ("shipping_method_by_delivery_method", "cost_center_by_cost_center_item")


class SetupState(BaseModel):
    """A link's progress through the wizard (stored as JSON under `Keys.setup`)."""

    done: list[str] = Field(default_factory=list)
    paused_by_setup: bool = False
    start_date: date | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def next_step(self) -> str:
        return next((step for step in STEPS if step not in self.done), "enable")


async def load_state(engine: Engine) -> SetupState | None:
    raw = await engine.redis.get(engine.keys.setup)
    return None if raw is None else SetupState.model_validate_json(raw)


async def _save(engine: Engine, state: SetupState) -> None:
    await engine.redis.set(engine.keys.setup, state.model_dump_json())


async def _mark(engine: Engine, step: str) -> SetupState:
    state = await load_state(engine) or SetupState()
    if step not in state.done:
        state.done.append(step)
    await _save(engine, state)
    return state


async def begin(process: Process, engine: Engine) -> SetupState:
    """The link's wizard state, starting it when there is none. A link not yet connected to both systems is paused
    until step 6, so flows enabled on the way run only then; a link already running is reviewed, not stopped (and
    one already paused stays as its owner left it)."""
    state = await load_state(engine)
    if state is not None:
        return state
    state = SetupState()
    status = await connection_status(engine)
    running = all(status[system].get("connected") for system in ("exact", "eaccounting"))
    if not running and not engine.scope.link.paused:
        await set_paused(process, engine.link, True)
        state.paused_by_setup = True
    await _save(engine, state)
    log.info("setup.started", link=engine.link)
    return state


def required_before(state: SetupState, step: str) -> str | None:
    """The first earlier step not done yet (each step needs the ones before it), or None."""
    for earlier in STEPS[: STEPS.index(step)]:
        if earlier not in state.done:
            return earlier
    return None


# -- 1. Exact -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DivisionChoice:
    code: int
    name: str
    country: str | None
    last_opened: bool  # `Current`: the division last opened in Exact's web interface (never taken silently)
    usable: bool
    chosen: bool


async def exact_connected(engine: Engine) -> bool:
    return bool((await connection_status(engine))["exact"].get("connected"))


async def divisions(engine: Engine) -> list[DivisionChoice]:
    """The divisions the connected Exact user can reach (raises ConnectorError)."""
    chosen = engine.scope.link.division
    rows = await engine.exact.divisions()
    return [
        DivisionChoice(
            code=row.code,
            name=row.description or str(row.code),
            country=row.country,
            last_opened=bool(row.current),
            usable=(row.status in (None, 1)) and not row.blocking_status,
            chosen=row.code == chosen,
        )
        for row in sorted(rows, key=lambda r: r.code)
    ]


async def choose_division(process: Process, engine: Engine, code: int) -> Engine:
    """Pin the link to division `code`, one of those the user can reach and not blocked or archived; returns the
    link's engine as now defined (InvalidInput naming the field otherwise)."""
    reachable = {d.code: d for d in await divisions(engine)}
    choice = reachable.get(code)
    if choice is None:
        known = ", ".join(f"{d.code} ({d.name})" for d in reachable.values()) or "none"
        raise InvalidInput([{"loc": ["division"], "msg": f"division {code} is not one you can reach: {known}"}])
    if not choice.usable:
        raise InvalidInput([{"loc": ["division"], "msg": f"division {code} is blocked or archived in Exact"}])
    pinned = process.settings.exact.division
    if engine.link == "default" and pinned is not None and pinned != code:
        raise InvalidInput(
            [{"loc": ["division"], "msg": f"EXACT__DIVISION pins this link to division {pinned}; change the setting"}]
        )
    stored = await process.registry.get(engine.link)
    if stored is None:
        raise NotFoundError(f"no link {engine.link!r}")
    for other in await process.links():
        if other.id != engine.link and other.division == code:
            raise InvalidInput([{"loc": ["division"], "msg": f"link {other.id!r} already syncs division {code}"}])
    await process.registry.put(stored.model_copy(update={"division": code, "title": stored.title or choice.name}))
    process.forget(engine.link)
    fresh = await process.engine_of(engine.link)
    assert fresh is not None
    await _mark(fresh, "exact")
    log.info("setup.division", link=engine.link, division=code)
    return fresh


# -- 2. eAccounting -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class EAccountingCheck:
    connected: bool
    company: str | None = None
    problem: str | None = None  # what eAccounting said
    fix: str | None = None  # what to do about it


async def check_eaccounting(process: Process, engine: Engine) -> EAccountingCheck:
    """Whether the link's eAccounting connection works: the company it reaches, or the refusal explained. A
    working one completes step 2."""
    status = (await connection_status(engine))["eaccounting"]
    if not status.get("connected"):
        return EAccountingCheck(connected=False)
    try:
        company = await engine.eaccounting.company_settings()
        await engine.eaccounting.vat_codes()  # `ea:accounting`, and the module check on a second endpoint
    except ConnectorError as exc:
        return EAccountingCheck(connected=True, problem=exc.message, fix=_fix(exc))
    await remember_company(process, engine.link, company.name)
    await _mark(engine, "eaccounting")
    return EAccountingCheck(connected=True, company=company.name)


def _fix(exc: ConnectorError) -> str:
    explained = access_problem(exc.message, None)
    if explained is not None:
        return explained.removeprefix(exc.message.rstrip(".")).lstrip(". ")
    if exc.status in (401, 403):
        return "eAccounting refused the login: connect eAccounting again (and allow every permission asked)."
    return "eAccounting did not answer properly; try the check again in a minute."


# -- 3. flows -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FlowChoice:
    name: str
    title: str
    sentence: str
    enabled: bool
    options: dict[str, Any]
    key_options: dict[str, str]  # option -> sentence


async def flow_choices(engine: Engine) -> list[FlowChoice]:
    result = []
    for name, definition in engine.flows.items():
        config = await flows_service.flow_config(engine, name)
        stored = config["config"]
        result.append(
            FlowChoice(
                name=name,
                title=definition.title,
                sentence=FLOW_SENTENCES.get(name, definition.title),
                enabled=bool(stored.get("enabled", definition.enabled_by_default)),
                options=dict(config.get("options") or stored.get("options") or {}),
                key_options={
                    k: v for k, v in KEY_OPTIONS.get(name, {}).items() if k in definition.options_model.model_fields
                },
            )
        )
    return result


async def save_flows(engine: Engine, enabled: Mapping[str, bool], options: Mapping[str, Mapping[str, Any]]) -> None:
    """Store each flow's choice and key options through `PUT /flows/{flow}/config`'s validation. Nothing is stored
    when any flow's options are refused; the errors name `flow` and the option."""
    planned: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    for name, definition in engine.flows.items():
        raw = dict((await flows_service.flow_config(engine, name))["config"])
        merged = {**(raw.get("options") or {}), **dict(options.get(name) or {})}
        candidate = {**raw, "enabled": bool(enabled.get(name, False)), "options": merged}
        try:
            definition.options_model.model_validate(merged)
        except ValidationError as exc:
            errors.extend({"loc": [name, *e["loc"]], "msg": e["msg"]} for e in exc.errors())
            continue
        planned[name] = candidate
    if errors:
        raise InvalidInput(errors)
    for name, candidate in planned.items():
        try:
            await flows_service.put_flow_config(engine, name, candidate)
        except InvalidInput as exc:
            detail = exc.detail if isinstance(exc.detail, list) else [{"loc": [], "msg": str(exc.detail)}]
            raise InvalidInput([{**e, "loc": [name, *e.get("loc", [])]} for e in detail]) from None
    await _mark(engine, "flows")


# -- 4. reference tables --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Choice:
    value: str
    label: str


@dataclass(slots=True)
class TableRow:
    """One eAccounting value (or VAT situation) and its Exact counterpart: `chosen` set by the person, else what the
    flow picks by itself (`automatic`), else `unmapped` says what happens and what to do."""

    key: str
    label: str
    choices: list[Choice]
    chosen: str | None = None
    automatic: str | None = None
    unmapped: str | None = None
    editable: bool = True

    @property
    def automatic_label(self) -> str | None:
        """The automatic choice as its dropdown option names it (code and description)."""
        return next((c.label for c in self.choices if c.value == self.automatic), self.automatic)


@dataclass(slots=True)
class Table:
    name: str
    title: str
    sentence: str
    rows: list[TableRow] = field(default_factory=list)

    @property
    def unmapped(self) -> list[TableRow]:
        return [row for row in self.rows if row.chosen is None and row.automatic is None]


@dataclass(slots=True)
class Tables:
    orders_enabled: bool
    mapping: str
    tables: list[Table]
    default_debtor: str | None
    shipping_item: str
    rounding_item: str
    notes: list[str] = field(default_factory=list)


def _pct(value: Decimal | None) -> str:
    """A rate as both APIs store it (a fraction: 0.21) in words."""
    return f"{((value or Decimal(0)) * 100).normalize():f} %"


async def _orders_config(engine: Engine) -> tuple[dict[str, Any], OrdersOptions, str]:
    raw = dict((await flows_service.flow_config(engine, "orders"))["config"])
    return (
        raw,
        await _orders_options(engine),
        (await engine.configs.get("orders")).mapping_name or "orders_to_exact_sales_order",
    )


async def _orders_options(engine: Engine) -> OrdersOptions:
    """The orders flow's options; InvalidInput when its stored config no longer validates (a step shows why)."""
    try:
        options = (await engine.configs.get("orders")).options
    except ConfigInvalid as exc:
        raise InvalidInput(
            [{"loc": ["orders"], "msg": f"the orders flow's stored config is invalid, fix it on its page: {exc}"}]
        ) from None
    assert isinstance(options, OrdersOptions)
    return options


def _value_map(raw: Mapping[str, Any], mapping_name: str, name: str) -> dict[str, Any]:
    overrides = (raw.get("mapping_overrides") or {}).get(mapping_name) or {}
    table = ((overrides.get("value_maps") or {}).get(name) or {}).get("table") or {}
    return dict(table)


async def reference_tables(engine: Engine) -> Tables:
    """The orders flow's reference tables from both systems (raises ConnectorError)."""
    raw, opts, mapping_name = await _orders_config(engine)
    exact, ea = engine.exact, engine.eaccounting
    vat_codes = [c for c in await exact.vat_codes() if c.code and (c.vat_transaction_type or "S") in ("S", "B")]
    conditions = [c for c in await exact.payment_conditions() if c.code]
    shipping = await exact.shipping_methods()
    exact_cost_centers = await exact.cost_centers()
    ea_vat = await ea.vat_codes()
    terms = [t for t in await ea.terms_of_payments() if t.available_for_sales is not False]
    delivery = await ea.delivery_methods()
    ea_cost_centers = await ea.cost_centers()
    rules = vat_rules(opts)
    home = opts.home_country

    vat = Table(
        "vat",
        "VAT situations -> Exact VAT codes",
        "eAccounting decides each order's VAT; the flow books it with the Exact code of the same situation and rate. "
        "Taxed rates are matched by percentage; 0 % situations can be pinned to a code.",
    )
    # eAccounting's own taxed rates (fractions, 0.21), each matched to an Exact code of the same percentage.
    home_rates = sorted({c.vat_rate for c in ea_vat if c.vat_rate}, reverse=True)
    for rate in home_rates:
        vat.rows.append(_vat_row("domestic", rate, home, vat_codes, rules, editable=False))
    for situation in ZERO_RATE_SITUATIONS:
        row = _vat_row(situation, Decimal(0), home if situation != "export" else "US", vat_codes, rules, editable=True)
        row.chosen = opts.vat_code_by_situation.get(situation)  # type: ignore[call-overload]
        vat.rows.append(row)

    payment = Table(
        "payment",
        "Terms of payment -> Exact payment conditions",
        "An order's payment condition comes from its customer's eAccounting terms: matched by payment method and days "
        "unless you choose one.",
    )
    condition_choices = [Choice(c.code or "", _condition_label(c)) for c in conditions]
    for t in terms:
        row = TableRow(
            t.id,
            f"{t.name or t.id} ({TYPE_NAMES.get(t.terms_of_payment_type_id or 0, '?')}, {t.number_of_days or 0} days)",
            condition_choices,
            chosen=opts.payment_condition_by_terms.get(t.id),
        )
        bare = opts.model_copy(update={"payment_condition_by_terms": {}})
        customer = {"TermsOfPaymentId": t.id, "TermsDays": t.number_of_days, "TermsType": t.terms_of_payment_type_id}
        try:
            found = payment_condition(bare, customer, conditions)
        except RecordFailed as exc:
            row.unmapped = exc.reason
        else:
            if found is not None:
                row.automatic = found
            else:
                row.automatic = ""  # the account's own condition applies: a rule, not a gap
        payment.rows.append(row)

    methods = Table(
        "shipping",
        "Delivery methods -> Exact shipping methods",
        "The order's delivery method becomes the sales order's shipping method. Unmapped: none is sent.",
    )
    method_choices = [
        Choice(m.id.lower(), f"{m.code} - {m.description or ''}".strip(" -")) for m in shipping if m.active is not False
    ]
    chosen_methods = _value_map(raw, mapping_name, "shipping_method_by_delivery_method")
    for m in delivery:
        key = m.code or m.id
        row = TableRow(key, f"{m.name or key} ({key})", method_choices, chosen=chosen_methods.get(key))
        if row.chosen is None:
            row.unmapped = "no Exact shipping method is sent for it"
        methods.rows.append(row)

    cost = Table(
        "cost_centers",
        "Cost centers -> Exact cost centers",
        "An order row's first eAccounting cost center becomes the Exact line's cost center. Unmapped: none is sent.",
    )
    cost_choices = [Choice(c.code or "", f"{c.code} - {c.description or ''}") for c in exact_cost_centers if c.code]
    chosen_costs = _value_map(raw, mapping_name, "cost_center_by_cost_center_item")
    first = sorted(ea_cost_centers, key=lambda c: c.number or 0)[:1]
    for center in first:
        for item in center.items or []:
            row = TableRow(item.id.lower(), f"{center.name}: {item.name or item.short_name or item.id}", cost_choices)
            row.chosen = chosen_costs.get(item.id.lower()) or chosen_costs.get(item.id)
            if row.chosen is None:
                row.unmapped = "no Exact cost center is sent for it"
            cost.rows.append(row)

    notes = [
        "Discounts: eAccounting's orders carry row discounts only (no order-level discount amount), so they travel on "
        "the lines as Exact's Discount; no discount item is needed.",
    ]
    return Tables(
        orders_enabled=bool(raw.get("enabled", True)),
        mapping=mapping_name,
        tables=[vat, payment, methods, cost],
        default_debtor=opts.default_debtor_code,
        shipping_item=opts.shipping_item_code,
        rounding_item=opts.rounding_item_code,
        notes=notes,
    )


def _condition_label(condition: PaymentCondition) -> str:
    method = METHOD_NAMES.get(condition.payment_method or "", condition.payment_method or "?")
    return f"{condition.code} - {condition.description or ''} ({method}, {condition.payment_days or 0} days)"


def _vat_row(situation: str, rate: Decimal, country: str, codes: list[Any], rules: Any, *, editable: bool) -> TableRow:
    bare = type(rules)(
        home_country=rules.home_country,
        by_situation={},
        by_country={},
        reverse_charge_code=None,
        shipping_article=rules.shipping_article,
    )
    fitting = [c for c in codes if (c.percentage or Decimal(0)) == rate]
    row = TableRow(
        situation if editable else f"{situation}:{rate}",
        f"Domestic sale at {_pct(rate)}" if situation == "domestic" else SITUATION_LABELS.get(situation, situation),
        [Choice(c.code, f"{c.code} - {c.description or ''} ({_pct(c.percentage)})") for c in fitting],
        editable=editable,
    )
    try:
        row.automatic = choose_code(situation, rate, country, codes, bare, None)
    except RecordFailed as exc:
        row.unmapped = exc.reason
    return row


async def save_tables(
    engine: Engine,
    *,
    vat: Mapping[str, str | None],
    payment: Mapping[str, str | None],
    shipping: Mapping[str, str | None],
    cost_centers: Mapping[str, str | None],
    default_debtor: str | None,
    shipping_item: str,
    rounding_item: str,
) -> None:
    """Store the choices (empty: automatic / unmapped) in the orders flow's options and mapping value maps, through
    `PUT /flows/orders/config`'s validation; codes are checked against Exact first (InvalidInput naming the field)."""
    raw, _opts, mapping_name = await _orders_config(engine)
    vat_map = {k: v for k, v in vat.items() if v}
    pay_map = {k: v for k, v in payment.items() if v}
    debtor = (default_debtor or "").strip() or None
    options = {
        **(raw.get("options") or {}),
        "vat_code_by_situation": vat_map,
        "payment_condition_by_terms": pay_map,
        "default_debtor_code": debtor,
        "shipping_item_code": shipping_item.strip(),
        "rounding_item_code": rounding_item.strip(),
    }
    # What the options and value maps cannot hold (no item code, a code too long, a table too large) is refused
    # before Exact is asked anything.
    errors: list[dict[str, Any]] = [
        {"loc": [loc], "msg": "an item code is needed"}
        for loc, code in (("shipping_item", shipping_item), ("rounding_item", rounding_item))
        if not code.strip()
    ]
    named = [e["loc"] for e in errors]
    errors.extend(e for e in _option_errors(options) if e["loc"] not in named)
    ship_map = {k: v.lower() for k, v in shipping.items() if v}
    cost_map = {k: v for k, v in cost_centers.items() if v}
    for form_field, table in (("shipping", ship_map), ("cost_centers", cost_map)):  # the value maps' bounds
        errors.extend({"loc": [form_field, *loc], "msg": msg} for loc, msg in table_problems(table))
    if errors:
        raise InvalidInput(errors)
    codes = {c.code: c for c in await engine.exact.vat_codes() if c.code}
    for situation, code in vat_map.items():
        if situation not in ZERO_RATE_SITUATIONS:
            errors.append({"loc": ["vat", situation], "msg": "only 0 % situations take a fixed code"})
        elif code not in codes:
            errors.append({"loc": ["vat", situation], "msg": f"Exact has no VAT code {code!r}"})
        elif (codes[code].percentage or Decimal(0)) != 0:
            errors.append(
                {"loc": ["vat", situation], "msg": f"VAT code {code} charges {_pct(codes[code].percentage)}, not 0 %"}
            )
    conditions = {c.code for c in await engine.exact.payment_conditions() if c.code}
    for term, code in pay_map.items():
        if code not in conditions:
            errors.append({"loc": ["payment", term], "msg": f"Exact has no payment condition {code!r}"})
    methods = {m.id.lower() for m in await engine.exact.shipping_methods()}
    for key, method in ship_map.items():
        if method not in methods:
            errors.append({"loc": ["shipping", key], "msg": "Exact has no such shipping method"})
    centers = {c.code for c in await engine.exact.cost_centers() if c.code}
    for key, code in cost_map.items():
        if code not in centers:
            errors.append({"loc": ["cost_centers", key], "msg": f"Exact has no cost center {code!r}"})
    if debtor is not None and await engine.exact.find_account_by_code(debtor) is None:
        errors.append({"loc": ["default_debtor"], "msg": f"Exact has no account with code {debtor!r}"})
    if errors:
        raise InvalidInput(errors)
    overrides = json.loads(json.dumps(raw.get("mapping_overrides") or {}))
    mapping_overrides = overrides.setdefault(mapping_name, {})
    value_maps = mapping_overrides.setdefault("value_maps", {})
    for name, table in (
        ("shipping_method_by_delivery_method", ship_map),
        ("cost_center_by_cost_center_item", cost_map),
    ):
        entry = value_maps.setdefault(name, {})
        entry["table"] = table
    await flows_service.put_flow_config(engine, "orders", {**raw, "options": options, "mapping_overrides": overrides})
    await _mark(engine, "tables")


# The orders options the tables step fills, by the name of the form field that gives them.
_TABLE_FIELDS = {
    "vat_code_by_situation": "vat",
    "payment_condition_by_terms": "payment",
    "default_debtor_code": "default_debtor",
    "shipping_item_code": "shipping_item",
    "rounding_item_code": "rounding_item",
}


def _option_errors(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the orders options refuse of `options`, each naming its form field (else the option)."""
    try:
        OrdersOptions.model_validate(options)
    except ValidationError as exc:
        return [
            {"loc": [_TABLE_FIELDS[str(e["loc"][0])], *e["loc"][1:]], "msg": e["msg"]}
            if e["loc"] and str(e["loc"][0]) in _TABLE_FIELDS
            else {"loc": ["options", *e["loc"]], "msg": e["msg"]}
            for e in exc.errors()
        ]
    return []


async def skip_tables(engine: Engine) -> None:
    """Step 4 when the orders flow is off: nothing to map."""
    await _mark(engine, "tables")


# -- 5. dry run -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DryRun:
    record_id: str
    label: str
    result: dict[str, Any] | None = None
    error: str | None = None


async def _orders_dated(engine: Engine, opts: OrdersOptions, first: date, last: date) -> dict[str, Any]:
    """The eAccounting orders of the flow's statuses dated `first` to `last` (both included), by id."""
    found: dict[str, Any] = {}
    for status in opts.statuses:
        async for order in engine.eaccounting.list_orders(status=status, dated=(first, last)):
            found[order.id] = order
    return found


async def recent_orders(engine: Engine, count: int = DRY_RUN_ORDERS) -> list[dict[str, Any]]:
    """The `count` most recent eAccounting orders the orders flow would transfer (its statuses), newest first."""
    opts = await _orders_options(engine)
    today = datetime.now(UTC).date()
    found: dict[str, Any] = {}
    for days in RECENT_DAYS:
        found = await _orders_dated(engine, opts, today - timedelta(days=days), today)
        if len(found) >= count:
            break
    newest = sorted(found.values(), key=lambda o: (str(o.order_date or ""), str(o.number or "")), reverse=True)
    return [
        {"id": o.id, "number": o.number, "date": str(o.order_date or "")[:10], "customer": o.invoice_customer_name}
        for o in newest[:count]
    ]


async def dry_run(engine: Engine) -> list[DryRun]:
    """Preview the most recent orders through `app.services.flows.preview` (no writes), each with its result or
    the reason it cannot be previewed."""
    runs = []
    for order in await recent_orders(engine):
        label = f"order {order['number']} - {order['customer'] or '?'} ({order['date']})"
        run = DryRun(order["id"], label)
        try:
            run.result = await flows_service.preview(
                engine, "orders", flows_service.PreviewRequest(record_id=order["id"])
            )
        except (InvalidInput, NotFoundError) as exc:
            run.error = str(exc.detail)
        except ConnectorError as exc:
            run.error = exc.message
        runs.append(run)
    return runs


async def confirm_dry_run(engine: Engine) -> None:
    """The person has looked at the dry run (step 5 done)."""
    await _mark(engine, "dry_run")


# -- 6. enable ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Backfill:
    start_date: date
    orders: int
    already: int
    numbers: list[str]

    @property
    def new(self) -> int:
        return self.orders - self.already


async def backfill_preview(engine: Engine, start: date) -> Backfill:
    """How many eAccounting orders dated from `start` the flow would read, and how many are in Exact already
    (reads only)."""
    today = datetime.now(UTC).date()
    if start > today:
        raise InvalidInput([{"loc": ["start_date"], "msg": "the start date is in the future"}])
    opts = await _orders_options(engine)
    ids = {
        order_id.lower(): str(order.number)
        for order_id, order in (await _orders_dated(engine, opts, start, today)).items()
    }
    transferred: set[str] = set()
    for kind in _kinds_of_source(opts):
        transferred |= set((await engine.xref.targets(kind, list(ids))).keys())
    numbers = sorted((n for i, n in ids.items() if i not in transferred), key=lambda n: (len(n), n))
    return Backfill(start, len(ids), len(transferred & set(ids)), numbers)


async def enable(process: Process, engine: Engine, start: date) -> dict[str, Any]:
    """Finish: orders dated before `start` are ignored, the link resumes (if the wizard paused it) and a poll of
    the orders flow from `start` is queued (a back-fill; run again, it creates nothing twice)."""
    state = await load_state(engine) or SetupState()
    missing = required_before(state, "enable")
    if missing is not None:
        raise InvalidInput([{"loc": ["step"], "msg": f"finish step {STEP_TITLES[missing]!r} first"}])
    preview = await backfill_preview(engine, start)
    raw = dict((await flows_service.flow_config(engine, "orders"))["config"])
    options = {**(raw.get("options") or {}), "start_date": start.isoformat()}
    await flows_service.put_flow_config(engine, "orders", {**raw, "options": options})
    if state.paused_by_setup or engine.scope.link.paused:
        await set_paused(process, engine.link, False)
    fresh = await process.engine_of(engine.link)
    assert fresh is not None
    queued = False
    if raw.get("enabled", True):
        since = datetime(start.year, start.month, start.day, tzinfo=UTC).isoformat()
        queued = bool((await flows_service.run_flow(fresh, "orders", record_id=None, since=since))["queued"])
    webhooks: dict[str, Any] | str | None = None
    if fresh.settings.exact.public_webhook_url:
        # Exact's webhooks for the link's division (the worker subscribes every link only when it starts).
        try:
            webhooks = await subscribe_webhooks(fresh)
        except (ConnectorError, InvalidInput) as exc:
            webhooks = f"not subscribed ({exc}); the flows poll instead"
    state = await load_state(fresh) or state
    if "enable" not in state.done:
        state.done.append("enable")
    state.start_date = start
    state.paused_by_setup = False
    state.finished_at = datetime.now(UTC)
    await _save(fresh, state)
    log.info("setup.finished", link=engine.link, start_date=start.isoformat(), orders=preview.orders)
    return {"queued": queued, "preview": preview, "webhooks": webhooks}


__all__ = [
    "FLOW_SENTENCES",
    "KEY_OPTIONS",
    "STEPS",
    "STEP_TITLES",
    "Backfill",
    "DryRun",
    "SetupState",
    "Tables",
    "backfill_preview",
    "begin",
    "check_eaccounting",
    "choose_division",
    "confirm_dry_run",
    "divisions",
    "dry_run",
    "enable",
    "flow_choices",
    "load_state",
    "recent_orders",
    "reference_tables",
    "save_flows",
    "save_tables",
]
