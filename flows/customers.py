"""Customers flows: Exact Online accounts <-> eAccounting customers, one direction per flow.

`customers_to_eaccounting` (Exact -> eAccounting, on by default) is triggered by the Exact `Accounts` webhook and
by polling `sync/CRM/Accounts`; `customers_to_exact` (eAccounting -> Exact, off by default) polls eAccounting's
`ChangedUtc`. Both link pairs under the orders flow's kind `ea:customer>exact:account`, so no flow creates a
customer another flow already created, and both skip a write whose mapped content hash is the one last written or
last seen, so a change we wrote, echoed back by the other side's trigger, does not bounce. See docs/flows/customers.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from app.xref import content_hash
from connectors.eaccounting.wire import to_wire
from connectors.errors import NotFound
from flows.base import (
    FlowContext,
    FlowDefinition,
    Outcome,
    PollPage,
    RecordFailed,
    RecordLabel,
    label_value,
    source_record,
)
from flows.customers_options import ACCOUNT_KIND, ToEAccountingOptions, ToExactOptions
from flows.customers_tables import (
    KEEP_TERMS,
    default_terms_id,
    ea_customer_by_vat,
    remember_ea_vat,
    terms_by_condition,
)
from flows.customers_to_exact import exact_mapping_hash, fetch_customer, handle_to_exact, poll_customers
from flows.exact_accounts import CUSTOMER_KIND, remember_profile
from mapping import MapResult

if TYPE_CHECKING:
    from connectors.eaccounting.models import Customer
    from connectors.exact.models import Account

__all__ = ["CUSTOMERS_TO_EACCOUNTING", "CUSTOMERS_TO_EXACT", "FLOWS"]


def _dump_account(account: Account) -> dict[str, Any]:
    dumped = source_record(account)
    dumped["ID"] = account.id.lower()
    return dumped


async def poll_accounts(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Accounts changed since the cursor (sync `Timestamp`); full rows travel along, so jobs do not fetch again."""
    async for page in ctx.exact.sync_accounts(int(cursor) if cursor else 1):
        payloads = {account.id.lower(): _dump_account(account) for account in page.rows}
        yield PollPage(list(payloads), str(page.timestamp), payloads)


async def fetch_account(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The account a webhook or job names, or None when it is gone: a filtered read, because a GET by key of a
    deleted account is a 404, one of the 10 errors an hour per endpoint Exact allows before it blocks the app."""
    account = await ctx.exact.find_account(record_id)
    return None if account is None else _dump_account(account)


async def _mapped(
    ctx: FlowContext, opts: ToEAccountingOptions, account: dict[str, Any], mode: str, default_terms: str
) -> MapResult:
    table = await terms_by_condition(
        ctx, opts.terms_of_payment_by_condition, by_days=opts.match_terms_by_days, default=default_terms
    )
    result: MapResult = ctx.mapping.map(account, mode=mode, lookups={"terms_of_payment_by_condition": table})
    return result


async def _contact_fields(ctx: FlowContext, account: dict[str, Any]) -> dict[str, Any]:
    """The account's main contact as eAccounting contact person fields (one Exact call).

    Read among the account's contacts (a filtered read) rather than by key: a main contact deleted since the account
    was read would be a 404 on Exact's error budget."""
    contact_id = str(account.get("MainContact") or "").lower()
    if not contact_id:
        return {}
    contact = next((c for c in await ctx.exact.contacts_of(str(account["ID"])) if c.id.lower() == contact_id), None)
    if contact is None:
        return {}
    name = contact.full_name or " ".join(p for p in (contact.first_name, contact.last_name) if p)
    fields = {
        "ContactPersonName": (name or "").strip()[:50] or None,
        "ContactPersonEmail": (contact.email or contact.business_email or "").strip()[:255] or None,
        "ContactPersonPhone": (contact.phone or "").strip()[:50] or None,
        "ContactPersonMobile": (contact.mobile or "").strip()[:50] or None,
    }
    return {k: v for k, v in fields.items() if v}


async def _link(ctx: FlowContext, customer: Customer, account_id: str, account_digest: str) -> None:
    """Link the pair both ways with both hashes: what each direction would write next time, were nothing changed.

    The eAccounting side's hash is taken from the customer as eAccounting stored it, so the eAccounting -> Exact
    direction (and the orders flow's `update_customers`) recognises this write as ours and sends nothing back.
    """
    await ctx.xref.link(CUSTOMER_KIND, customer.id, account_id, payload_hash=exact_mapping_hash(ctx, customer))
    await ctx.xref.link(ACCOUNT_KIND, account_id, customer.id, payload_hash=account_digest)
    await remember_profile(ctx, customer.id, customer.to_payload())


async def _apply(
    ctx: FlowContext,
    opts: ToEAccountingOptions,
    account: dict[str, Any],
    customer: Customer,
    update: dict[str, Any],
    digest: str,
    context: str,
) -> Outcome:
    """Write `update` onto `customer` (read-modify-write: eAccounting's PUT replaces the whole customer) when a
    mapped field differs; `context` starts the reason."""
    account_id = str(account["ID"])
    changes = dict(update)
    if changes.get("TermsOfPaymentId") == KEEP_TERMS:
        changes["TermsOfPaymentId"] = customer.terms_of_payment_id
    before = customer.to_payload()
    changed = sorted(k for k, v in changes.items() if to_wire(v) != before.get(k))
    if changed and opts.contact_person and not customer.is_private_person:
        contact = await _contact_fields(ctx, account)
        changed = sorted({*changed, *(k for k, v in contact.items() if v != before.get(k))})
        changes.update(contact)
    if not changed:
        await _link(ctx, customer, account_id, digest)
        return Outcome("unchanged", target_id=customer.id, reason=f"{context}; eAccounting is already up to date")
    payload = {**before, **to_wire(changes)}
    ctx.target_payload = payload
    written = await ctx.eaccounting.update_customer(customer.id, payload)
    remember_ea_vat(ctx, written)
    await _link(ctx, written, account_id, digest)
    reason = f"{context}; changed {', '.join(changed)}"
    return Outcome("updated", target_id=customer.id, reason=reason, target_payload=payload)


async def _find_customer(
    ctx: FlowContext, opts: ToEAccountingOptions, payload: dict[str, Any], *, verify: bool
) -> tuple[Customer | None, str]:
    """An existing eAccounting customer for a new account, and how it was found. With `verify` (an earlier run
    began a create and never linked it) the customer number we would have sent is tried first."""
    number, email, vat = payload.get("CustomerNumber"), payload.get("EmailAddress"), payload.get("VatNumber")
    if verify and number:
        found = await ctx.eaccounting.find_customer_by_number(str(number))
        if found is not None:
            return found, f"customer number {number}"
    if opts.match_by == "email" and email:
        return await ctx.eaccounting.find_customer_by_email(str(email)), f"e-mail {email}"
    if opts.match_by == "customer_number" and number:
        return await ctx.eaccounting.find_customer_by_number(str(number)), f"customer number {number}"
    if opts.match_by == "vat_number" and vat:
        return await ea_customer_by_vat(ctx, str(vat)), f"VAT number {vat}"
    if verify and email:
        return await ctx.eaccounting.find_customer_by_email(str(email)), f"e-mail {email}"
    return None, ""


async def handle_to_eaccounting(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: ToEAccountingOptions = ctx.options
    account_id = str(source["ID"]).lower()
    account = {**source, "ID": account_id}
    customer_id = await ctx.xref.source(CUSTOMER_KIND, account_id) or await ctx.xref.target(ACCOUNT_KIND, account_id)
    if customer_id is not None:
        if not opts.update_existing:
            return Outcome("unchanged", target_id=customer_id, reason="linked; update_existing is off")
        update = await _mapped(ctx, opts, account, "update", KEEP_TERMS)
        if update.payload is None:
            return Outcome.skipped(update.skipped or "filtered by the mapping", target_id=customer_id)
        digest = content_hash(update.payload)
        if digest == await ctx.xref.last_hash(ACCOUNT_KIND, account_id):
            return Outcome("unchanged", target_id=customer_id, reason="no mapped field changed since the last sync")
        try:
            customer = await ctx.eaccounting.get_customer(customer_id)
        except NotFound:
            await ctx.xref.unlink(ACCOUNT_KIND, account_id)
            await ctx.xref.unlink(CUSTOMER_KIND, customer_id)
            raise RecordFailed(
                f"the linked eAccounting customer {customer_id} no longer exists; the link was removed, a retry "
                "matches or creates the customer again",
                customer_id=customer_id,
            ) from None
        return await _apply(ctx, opts, account, customer, update.payload, digest, "linked customer")

    created = await _mapped(ctx, opts, account, "create", await default_terms_id(ctx, opts.default_terms_of_payment))
    if created.payload is None:
        return Outcome.skipped(created.skipped or "filtered by the mapping")
    if opts.skip_blocked and source.get("Blocked"):
        return Outcome.skipped("the account is blocked in Exact; blocked accounts are not created (skip_blocked)")
    update = await _mapped(ctx, opts, account, "update", KEEP_TERMS)
    digest = content_hash(update.payload or {})
    pending = await ctx.xref.pending(ACCOUNT_KIND, account_id)
    found, how = await _find_customer(ctx, opts, created.payload, verify=pending)
    if found is not None:
        other = await ctx.xref.target(CUSTOMER_KIND, found.id)
        if other is not None and other != account_id:
            raise RecordFailed(
                f"eAccounting customer {found.customer_number} (matched by {how}) is already linked to Exact "
                f"account {other}; merge the duplicate accounts in Exact or match by something else",
                customer_id=found.id,
                linked_account=other,
            )
        context = f"matched eAccounting customer {found.customer_number} by {how}"
        return await _apply(ctx, opts, account, found, update.payload or {}, digest, context)

    payload = dict(created.payload)
    if opts.contact_person and not payload.get("IsPrivatePerson"):
        payload.update(await _contact_fields(ctx, account))
    ctx.target_payload = payload
    await ctx.xref.begin(ACCOUNT_KIND, account_id)
    customer = await ctx.eaccounting.create_customer(payload)
    remember_ea_vat(ctx, customer)
    await _link(ctx, customer, account_id, digest)
    return Outcome("created", target_id=customer.id, target_payload=payload)


def exact_account_label(source: Mapping[str, Any]) -> RecordLabel:
    """ "customer 10023 - Jansen BV" (Exact pads account codes with spaces; a person's name is personal data)."""
    return RecordLabel(
        "customer",
        label_value(source.get("Code")),
        label_value(source.get("Name")),
        person=bool(source.get("IsPerson")),
    )


def eaccounting_customer_label(source: Mapping[str, Any]) -> RecordLabel:
    """ "customer 10023 - Jansen BV" from an eAccounting customer."""
    return RecordLabel(
        "customer",
        label_value(source.get("CustomerNumber")),
        label_value(source.get("Name")),
        person=source.get("IsPrivatePerson") is True,
    )


CUSTOMERS_TO_EACCOUNTING = FlowDefinition(
    name="customers_to_eaccounting",
    title="Exact Online accounts -> eAccounting customers",
    source="exact",
    target="eaccounting",
    fetch=fetch_account,
    handle=handle_to_eaccounting,
    poll=poll_accounts,
    webhook_topics=("Accounts",),
    options_model=ToEAccountingOptions,
    default_mapping="customers_exact_to_eaccounting",
    label=exact_account_label,
)
CUSTOMERS_TO_EXACT = FlowDefinition(
    name="customers_to_exact",
    title="eAccounting customers -> Exact Online accounts",
    source="eaccounting",
    target="exact",
    fetch=fetch_customer,
    handle=handle_to_exact,
    poll=poll_customers,
    options_model=ToExactOptions,
    default_mapping="customers_eaccounting_to_exact",
    label=eaccounting_customer_label,
    enabled_by_default=False,
)
FLOWS = (CUSTOMERS_TO_EACCOUNTING, CUSTOMERS_TO_EXACT)
