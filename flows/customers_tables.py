"""Reference tables of the customers flows, read once per cache TTL: payment terms both ways, GL accounts by code,
eAccounting customers by VAT number.

Payment terms are the one setting both systems have on a customer, under different keys: Exact names a payment
condition by `Code` (`30`, with `PaymentDays`), eAccounting by `TermsOfPaymentId` (a GUID, with `NumberOfDays`).
A user may map them explicitly (options); anything not mapped is matched by its number of days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.errors import NotFound
from flows.base import FlowContext, RecordFailed

if TYPE_CHECKING:
    from connectors.eaccounting.models import Customer, TermsOfPayment
    from connectors.exact.reference import GLAccount, PaymentCondition

# Stands in for "the customer's current terms" in update mode, so the hash of a mapped update does not depend on
# the eAccounting customer (which is then read only when the hash says something changed).
KEEP_TERMS = "(keep the customer's terms)"


async def ea_terms(ctx: FlowContext) -> list[TermsOfPayment]:
    async def load() -> list[TermsOfPayment]:
        return await ctx.eaccounting.terms_of_payments()

    terms: list[TermsOfPayment] = await ctx.cache.get("customers:ea_terms", load)
    return terms


async def exact_conditions(ctx: FlowContext) -> list[PaymentCondition]:
    async def load() -> list[PaymentCondition]:
        return list(await ctx.exact.payment_conditions())

    conditions: list[PaymentCondition] = await ctx.cache.get("customers:exact_conditions", load)
    return conditions


def _terms_by_days(terms: list[TermsOfPayment], days: int) -> TermsOfPayment | None:
    """The eAccounting terms for sales with `days` days; "normal" terms (type 0) before cash or other kinds."""
    fitting = [t for t in terms if t.number_of_days == days and t.available_for_sales is not False]
    fitting.sort(key=lambda t: (t.terms_of_payment_type_id or 0) != 0)
    return fitting[0] if fitting else None


def resolve_terms(terms: list[TermsOfPayment], value: str, option: str) -> str:
    """An option value (an eAccounting TermsOfPaymentId, or a number of days) as a TermsOfPaymentId."""
    wanted = value.strip()
    for t in terms:
        if t.id.lower() == wanted.lower():
            return t.id
    if wanted.isdigit():
        found = _terms_by_days(terms, int(wanted))
        if found is not None:
            return found.id
    raise RecordFailed(f"{option}: eAccounting has no terms of payment {value!r} (an Id or a number of days)")


async def default_terms_id(ctx: FlowContext, configured: str | None) -> str:
    """The terms new customers get when their account has no (known) payment condition: the option, else the
    company's default terms (`/v2/companysettings`, read once per cache TTL)."""
    terms = await ea_terms(ctx)
    if configured:
        return resolve_terms(terms, configured, "default_terms_of_payment")

    async def load() -> str | None:
        return (await ctx.eaccounting.company_settings()).terms_of_payment_id

    company: str | None = await ctx.cache.get("customers:ea_company_terms", load)
    if company:
        return company
    normal = sorted((t for t in terms if t.available_for_sales is not False), key=lambda t: t.number_of_days or 0)
    if not normal:
        raise RecordFailed("eAccounting has no terms of payment for sales; set default_terms_of_payment")
    return normal[0].id


async def terms_by_condition(
    ctx: FlowContext, explicit: dict[str, str], *, by_days: bool, default: str
) -> dict[str, str]:
    """Exact payment condition code -> eAccounting TermsOfPaymentId, with `*` -> `default` (the mapping's
    `terms_of_payment_by_condition` lookup)."""
    terms = await ea_terms(ctx)
    table: dict[str, str] = {}
    if by_days:
        for condition in await exact_conditions(ctx):
            if condition.code is None or condition.payment_days is None:
                continue
            found = _terms_by_days(terms, condition.payment_days)
            if found is not None:
                table[condition.code.strip()] = found.id
    for code, value in explicit.items():
        table[code.strip()] = resolve_terms(terms, value, f"terms_of_payment_by_condition[{code!r}]")
    table["*"] = default
    return table


async def payment_condition_for(
    ctx: FlowContext, explicit: dict[str, str], customer: dict[str, object], *, by_days: bool
) -> str | None:
    """The Exact payment condition code for an eAccounting customer's terms (by TermsOfPaymentId or number of
    days in `explicit`, else by days), or None to leave Exact's default."""
    terms_id = str(customer.get("TermsOfPaymentId") or "")
    expanded = customer.get("TermsOfPayment")
    days: int | None = None
    if isinstance(expanded, dict) and isinstance(expanded.get("NumberOfDays"), int):
        days = int(expanded["NumberOfDays"])
    elif terms_id:
        days = next((t.number_of_days for t in await ea_terms(ctx) if t.id.lower() == terms_id.lower()), None)
    for key in (terms_id, None if days is None else str(days)):
        if key and key in explicit:
            return explicit[key]
    if not by_days or days is None:
        return None
    matching = sorted(c.code.strip() for c in await exact_conditions(ctx) if c.code and c.payment_days == days)
    return matching[0] if matching else None


async def gl_account_ids(ctx: FlowContext) -> dict[str, str]:
    """Exact GL account code -> ID (one read per cache TTL)."""

    async def load() -> dict[str, str]:
        accounts: list[GLAccount] = list(await ctx.exact.gl_accounts())
        return {a.code.strip(): a.id for a in accounts if a.code}

    table: dict[str, str] = await ctx.cache.get("customers:gl_accounts", load)
    return table


_VAT_INDEX = "customers:ea_by_vat"
_VAT_INDEX_TTL = 300.0


async def ea_customer_by_vat(ctx: FlowContext, vat_number: str) -> Customer | None:
    """The eAccounting customer with this VAT number (spaces and case ignored), as eAccounting has it now.

    The API has no VAT filter we may use, so all customers are read once per `_VAT_INDEX_TTL` (1,000 a page) into
    an index of VAT number -> customer Id only; the customer itself is then read by Id, because a caller writes it
    back whole (a PUT replaces the customer) and a copy up to five minutes old would revert edits made meanwhile.
    An entry that no longer holds (the customer was deleted, or its VAT number changed) re-reads the index once.
    """
    key = _vat_key(vat_number)
    for attempt in range(2):
        customer_id = (await _vat_index(ctx)).get(key)
        if customer_id is None:
            return None
        try:
            customer = await ctx.eaccounting.get_customer(customer_id)
        except NotFound:
            customer = None
        if customer is not None and customer.vat_number and _vat_key(customer.vat_number) == key:
            return customer
        if attempt == 0:
            ctx.cache.invalidate(_VAT_INDEX)
    return None


async def _vat_index(ctx: FlowContext) -> dict[str, str]:
    async def load() -> dict[str, str]:
        index: dict[str, str] = {}
        async for customer in ctx.eaccounting.iter_customers():
            if customer.vat_number:
                index.setdefault(_vat_key(customer.vat_number), customer.id)
        return index

    index: dict[str, str] = await ctx.cache.get(_VAT_INDEX, load, ttl=_VAT_INDEX_TTL)
    return index


def remember_ea_vat(ctx: FlowContext, customer: Customer) -> None:
    """Put a customer we just created or wrote into this process's VAT index (when it is loaded), so the next
    account with its VAT number finds it instead of creating it again before the index is re-read."""
    index = ctx.cache.peek(_VAT_INDEX)
    if isinstance(index, dict) and customer.vat_number:
        index.setdefault(_vat_key(customer.vat_number), customer.id)


def _vat_key(vat: str) -> str:
    return "".join(vat.split()).upper()
