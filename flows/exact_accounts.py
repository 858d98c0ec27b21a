"""Exact accounts of eAccounting customers, shared by the orders flow and `customers_to_exact`.

Both flows link an eAccounting customer to its Exact account under one cross-reference kind, so neither creates an
account the other already created, and both keep the same small customer profile next to the link, so an order
of a returning customer gets reverse charge and payment terms right without reading the customer again.
"""

from __future__ import annotations

import json
from typing import Any

from flows.base import FlowContext

CUSTOMER_KIND = "ea:customer>exact:account"

_PROFILE_FIELDS = ("VatNumber", "IsPrivatePerson", "InvoiceCountryCode", "TermsOfPaymentId")


async def remember_profile(ctx: FlowContext, customer_id: str, customer: dict[str, Any]) -> None:
    """Keep the facts an order needs of its customer (VAT number, private or not, country, terms of payment: id,
    days and type, the type saying how the customer pays: normal, cash, card, ...)."""
    facts: dict[str, Any] = {k: customer.get(k) for k in _PROFILE_FIELDS}
    terms = customer.get("TermsOfPayment")
    facts["TermsDays"] = terms.get("NumberOfDays") if isinstance(terms, dict) else None
    facts["TermsType"] = terms.get("TermsOfPaymentTypeId") if isinstance(terms, dict) else None
    await ctx.xref.set_last_value(CUSTOMER_KIND, customer_id, json.dumps(facts))


async def profile(ctx: FlowContext, customer_id: str) -> dict[str, Any]:
    """The facts `remember_profile` kept ({} when none were)."""
    raw = await ctx.xref.last_value(CUSTOMER_KIND, customer_id)
    facts: dict[str, Any] = json.loads(raw) if raw else {}
    return facts


async def create_contact_person(ctx: FlowContext, account_id: str, customer: dict[str, Any]) -> None:
    """The eAccounting customer's contact person as a contact of its (company) Exact account (one call)."""
    person = str(customer.get("ContactPersonName") or "").strip()
    if not person:
        return
    first, _, last = person.partition(" ")
    contact: dict[str, Any] = {"Account": account_id, "FirstName": first, "LastName": last or first}
    email = customer.get("ContactPersonEmail") or customer.get("EmailAddress")
    if email:
        contact["Email"] = str(email)
    for wire, key in (("Phone", "ContactPersonPhone"), ("Mobile", "ContactPersonMobile")):
        if customer.get(key):
            contact[wire] = str(customer[key])
    await ctx.exact.create_contact(contact)
