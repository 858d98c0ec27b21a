"""The eAccounting -> Exact direction of the customers flows (`customers_to_exact`, off by default).

A new customer is matched in Exact by its natural key (e-mail by default) or created (a company with its contact
person, a private person as an account named after the person), exactly as the orders flow creates the customers
of the orders it transfers; a linked one is written only when the hash of its mapped fields changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.xref import content_hash
from connectors.errors import NotFound
from flows.base import Action, FlowContext, Outcome, PollPage, RecordFailed, source_record
from flows.customers_options import ACCOUNT_KIND, ToExactOptions
from flows.customers_tables import gl_account_ids, payment_condition_for
from flows.exact_accounts import CUSTOMER_KIND, create_contact_person, remember_profile
from mapping import MappingError

if TYPE_CHECKING:
    from connectors.eaccounting.models import Customer
    from connectors.exact.models import Account

MAPPING = "customers_eaccounting_to_exact"
PAGE = 200


def exact_mapping_hash(ctx: FlowContext, customer: Customer) -> str | None:
    """The hash of `customer` mapped for Exact in update mode: what this direction (and the orders flow's
    `update_customers`) compares with before writing to Exact. None when the customer does not map."""
    try:
        result = ctx.mappings(MAPPING).map(source_record(customer), mode="update")
    except MappingError:
        return None
    return content_hash(dict(result.payload or {}))


async def poll_customers(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Customers changed since the cursor (`ChangedUtc gt`); the next cursor is eAccounting's own clock."""
    listing = ctx.eaccounting.iter_customers(datetime.fromisoformat(cursor) if cursor else None)
    batch: dict[str, dict[str, Any]] = {}
    async for customer in listing:
        batch[customer.id] = source_record(customer)
        if len(batch) >= PAGE:
            yield PollPage(list(batch), None, batch)
            batch = {}
    if batch:
        yield PollPage(list(batch), None, batch)
    server_time = listing.server_time_utc
    yield PollPage([], server_time.isoformat() if server_time else cursor)


async def fetch_customer(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    try:
        return source_record(await ctx.eaccounting.get_customer(record_id))
    except NotFound:
        return None


def _by_country(table: dict[str, str], country: str | None) -> str | None:
    return table.get(country or "") or table.get("*")


async def _account_settings(
    ctx: FlowContext, opts: ToExactOptions, source: dict[str, Any], payload: dict[str, Any]
) -> dict[str, Any]:
    """VAT code, revenue account and payment condition from the options (they win over the mapping's value maps when
    they have an entry for the customer). No cost center: an Exact account has none (the lines of documents do)."""
    country = payload.get("Country")
    settings: dict[str, Any] = {}
    if vat := _by_country(opts.vat_code_by_country, country):
        settings["SalesVATCode"] = vat
    if gl_code := _by_country(opts.revenue_account_by_country, country):
        gl_id = (await gl_account_ids(ctx)).get(gl_code.strip())
        if gl_id is None:
            raise RecordFailed(f"revenue_account_by_country: GL account {gl_code} does not exist in Exact")
        settings["GLAccountSales"] = gl_id
    condition = await payment_condition_for(
        ctx, opts.payment_condition_by_terms, source, by_days=opts.match_terms_by_days
    )
    if condition:
        settings["PaymentConditionSales"] = condition
    return settings


async def _find_account(
    ctx: FlowContext, opts: ToExactOptions, payload: dict[str, Any], *, verify: bool
) -> tuple[Account | None, str]:
    """An existing Exact account for a new customer, and how it was found. With `verify` (an earlier run began a
    create and never linked it) the code we would have sent is tried first."""
    code, email, vat = payload.get("Code"), payload.get("Email"), payload.get("VATNumber")
    if verify and code:
        found = await ctx.exact.find_account_by_code(str(code))
        if found is not None:
            return found, f"code {code}"
    if opts.match_by == "email" and email:
        return await ctx.exact.find_account_by_email(str(email)), f"e-mail {email}"
    if opts.match_by == "customer_number" and code:
        return await ctx.exact.find_account_by_code(str(code)), f"code {code}"
    if opts.match_by == "vat_number" and vat:
        return await ctx.exact.find_account_by_vat(str(vat)), f"VAT number {vat}"
    if verify and email:
        return await ctx.exact.find_account_by_email(str(email)), f"e-mail {email}"
    return None, ""


async def _update_linked(
    ctx: FlowContext, opts: ToExactOptions, source: dict[str, Any], update: dict[str, Any], digest: str, account_id: str
) -> Outcome:
    """A linked customer: one PUT of the mapped fields and settings when the hash says something changed."""
    customer_id = str(source["Id"])
    if digest == await ctx.xref.last_hash(CUSTOMER_KIND, customer_id):
        return Outcome("unchanged", target_id=account_id, reason="no mapped field changed since the last sync")
    if not opts.update_existing:
        return Outcome("unchanged", target_id=account_id, reason="linked; update_existing is off")
    payload = {**update, **await _account_settings(ctx, opts, source, update)}
    ctx.target_payload = payload
    try:
        await ctx.exact.update_account(account_id, payload)
    except NotFound:
        await ctx.xref.unlink(CUSTOMER_KIND, customer_id)
        await ctx.xref.unlink(ACCOUNT_KIND, account_id)
        raise RecordFailed(
            f"the linked Exact account {account_id} no longer exists; the link was removed, a retry matches "
            "or creates the account again",
            account_id=account_id,
        ) from None
    await ctx.xref.set_hash(CUSTOMER_KIND, customer_id, digest)
    await remember_profile(ctx, customer_id, source)
    return Outcome("updated", target_id=account_id, reason="linked account", target_payload=payload)


async def _match_or_create(
    ctx: FlowContext,
    opts: ToExactOptions,
    source: dict[str, Any],
    update: dict[str, Any],
    create: dict[str, Any],
    digest: str,
) -> Outcome:
    """Find the customer's account by its natural key, else create it (with its contact person), and link them.
    Called under `xref.lock(CUSTOMER_KIND, customer_id)`, the lock the orders flow creates accounts under."""
    customer_id = str(source["Id"])
    pending = await ctx.xref.pending(CUSTOMER_KIND, customer_id)
    found, how = await _find_account(ctx, opts, create, verify=pending)
    if found is not None:
        found_id = found.id.lower()
        other = await ctx.xref.source(CUSTOMER_KIND, found_id)
        if other is not None and other != customer_id:
            raise RecordFailed(
                f"Exact account {found.code} (matched by {how}) is already linked to eAccounting customer "
                f"{other}; merge the duplicate customers in eAccounting or match by something else",
                account_id=found_id,
                linked_customer=other,
            )
        reason = f"matched Exact account {found.code} by {how}"
        action: Action = "unchanged"
        if opts.update_existing:
            payload = {**update, **await _account_settings(ctx, opts, source, update)}
            ctx.target_payload = payload
            await ctx.exact.update_account(found_id, payload)
            action = "updated"
        await ctx.xref.link(CUSTOMER_KIND, customer_id, found_id, payload_hash=digest)
        await remember_profile(ctx, customer_id, source)
        return Outcome(action, target_id=found_id, reason=reason)

    payload = {**create, **await _account_settings(ctx, opts, source, create)}
    payload.setdefault("Status", "C")
    ctx.target_payload = payload
    await ctx.xref.begin(CUSTOMER_KIND, customer_id)
    account = await ctx.exact.create_account(payload)
    account_id = account.id.lower()
    if opts.create_contact_person and not source.get("IsPrivatePerson"):
        await create_contact_person(ctx, account_id, source)
    await ctx.xref.link(CUSTOMER_KIND, customer_id, account_id, payload_hash=digest)
    await remember_profile(ctx, customer_id, source)
    return Outcome("created", target_id=account_id, target_payload=payload)


async def handle_to_exact(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: ToExactOptions = ctx.options
    customer_id = str(source["Id"])
    update = ctx.mapping.map(source, mode="update")
    if update.payload is None:
        return Outcome.skipped(update.skipped or "filtered by the mapping")
    digest = content_hash(dict(update.payload))
    account_id = await ctx.xref.target(CUSTOMER_KIND, customer_id)
    if account_id is not None:
        return await _update_linked(ctx, opts, source, dict(update.payload), digest, account_id)

    created = ctx.mapping.map(source, mode="create")
    if created.payload is None:
        return Outcome.skipped(created.skipped or "filtered by the mapping")
    if opts.skip_inactive and source.get("IsActive") is False:
        return Outcome.skipped("the customer is inactive in eAccounting; inactive customers are not created")
    # The orders flow creates the account of a new customer's first order under this lock; both flows see the
    # customer on the same tick, so without it both find nothing and both create (Exact refuses the second
    # POST: "Code already exists", or it is a real duplicate when no Code is sent).
    async with ctx.xref.lock(CUSTOMER_KIND, customer_id):
        account_id = await ctx.xref.target(CUSTOMER_KIND, customer_id)  # linked by whoever held the lock before us
        if account_id is not None:
            return await _update_linked(ctx, opts, source, dict(update.payload), digest, account_id)
        return await _match_or_create(ctx, opts, source, dict(update.payload), dict(created.payload), digest)
