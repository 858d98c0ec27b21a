"""The customer of an order, as an Exact account: default debtor, returning customer, match, or a new account.

Returning customers cost no call at all (cross-reference plus the profile kept next to it). A new one is read once
from eAccounting, matched in Exact by e-mail (the sync-fed accounts index, no call), customer number or VAT number,
else created (a company with its contact person, a private person as an account named after the person), under a
lock so two orders of one new customer never create it twice.
"""

from __future__ import annotations

from typing import Any

from app.xref import content_hash
from flows.base import FlowContext, RecordFailed, source_record
from flows.exact_accounts import CUSTOMER_KIND, create_contact_person, profile, remember_profile
from flows.orders_exact import account_by_key, remember_account
from flows.orders_options import OrdersOptions


async def order_customer(
    ctx: FlowContext, opts: OrdersOptions, source: dict[str, Any], vat_code: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The Exact account id of the order's customer, and the eAccounting customer (empty when not read). An account
    created here gets `vat_code` (the Exact VAT code the flow chose for the order) as its sales VAT code."""
    debtor = opts.default_debtor_code
    if debtor:

        async def load() -> str:
            account = await ctx.exact.find_account_by_code(debtor)
            if account is None:
                raise RecordFailed(f"default debtor {debtor} does not exist in Exact")
            return account.id.lower()

        return await ctx.cache.get(f"orders:debtor:{debtor}", load), {}
    customer_id = str(source["CustomerId"])
    known = await _linked_customer(ctx, opts, customer_id)
    if known is not None:
        return known
    # One job at a time per customer: two orders of a new customer must not both create its account.
    async with ctx.xref.lock(CUSTOMER_KIND, customer_id):
        return await _resolve_customer(ctx, opts, customer_id, vat_code)


async def _linked_customer(
    ctx: FlowContext, opts: OrdersOptions, customer_id: str
) -> tuple[str, dict[str, Any]] | None:
    """A returning customer from the cross-reference (no API call), with the profile kept when it was read."""
    linked = await ctx.xref.target(CUSTOMER_KIND, customer_id)
    if linked is None or opts.update_customers:
        return None
    return linked, await profile(ctx, customer_id)


async def _resolve_customer(
    ctx: FlowContext, opts: OrdersOptions, customer_id: str, vat_code: str | None
) -> tuple[str, dict[str, Any]]:
    known = await _linked_customer(ctx, opts, customer_id)  # linked by the job that held the lock before us
    if known is not None:
        return known
    linked = await ctx.xref.target(CUSTOMER_KIND, customer_id)
    customer = source_record(await ctx.eaccounting.get_customer(customer_id))
    await remember_profile(ctx, customer_id, customer)
    if linked:
        await _update_account(ctx, customer_id, linked, customer)
        return linked, customer
    key = {
        "email": customer.get("EmailAddress"),
        "customer_number": customer.get("CustomerNumber"),
        "vat_number": customer.get("VatNumber"),
    }[opts.customer_match]
    refresh = opts.accounts_refresh_seconds
    found = await account_by_key(ctx, opts.customer_match, str(key), refresh) if key else None
    if found is None:
        if await ctx.xref.begin(CUSTOMER_KIND, customer_id):
            found = await _created_before(ctx, opts, customer, key)
        if found is None:
            found = await _create_account(ctx, customer, contact=opts.create_contact_person, vat_code=vat_code)
    await ctx.xref.link(CUSTOMER_KIND, customer_id, found, payload_hash=content_hash(_account_update(ctx, customer)))
    return found, customer


async def _created_before(ctx: FlowContext, opts: OrdersOptions, customer: dict[str, Any], key: Any) -> str | None:
    """An earlier attempt began creating this customer's account and never linked it (it died, or the POST's
    answer was lost): find what it may have created, by the Code the create sends (always there, even when the
    customer has no e-mail), then by the match key, asking Exact directly rather than the sync index."""
    code = _account_update(ctx, customer).get("Code") or customer.get("CustomerNumber")
    if code:
        account = await ctx.exact.find_account_by_code(str(code))
        if account is not None:
            return account.id.lower()
    if key:
        return await account_by_key(ctx, opts.customer_match, str(key), opts.accounts_refresh_seconds, verify=True)
    return None


def _account_update(ctx: FlowContext, customer: dict[str, Any]) -> dict[str, Any]:
    return dict(ctx.mappings("customers_eaccounting_to_exact").map(customer, mode="update").payload or {})


async def _update_account(ctx: FlowContext, customer_id: str, account: str, customer: dict[str, Any]) -> None:
    """Write the customer's changes to its Exact account, only when the mapped fields changed (hash)."""
    payload = _account_update(ctx, customer)
    digest = content_hash(payload)
    if digest == await ctx.xref.last_hash(CUSTOMER_KIND, customer_id):
        return
    ctx.target_payload = payload
    await ctx.exact.update_account(account, payload)
    await ctx.xref.set_hash(CUSTOMER_KIND, customer_id, digest)


async def _create_account(
    ctx: FlowContext, customer: dict[str, Any], *, contact: bool, vat_code: str | None = None
) -> str:
    """Company -> account plus contact person; private person -> an account named after the person. The sales
    VAT code is the one the flow chose for the order (eAccounting's VAT decision), over the mapping's."""
    mapped = ctx.mappings("customers_eaccounting_to_exact").map(customer, mode="create")
    payload = dict(mapped.payload or {})
    if vat_code:
        payload["SalesVATCode"] = vat_code
    payload.setdefault("Name", customer.get("Name"))
    payload.setdefault("Email", customer.get("EmailAddress"))
    payload.setdefault("Status", "C")
    ctx.target_payload = payload
    account = (await ctx.exact.create_account(payload)).id.lower()
    remember_account(ctx, customer.get("EmailAddress"), account)
    if contact and not customer.get("IsPrivatePerson"):
        await create_contact_person(ctx, account, customer)
    return account
