"""The customer's eAccounting terms of payment as an Exact payment condition (docs/flows/orders.md, "Payment").

eAccounting says how a customer pays in its terms of payment: `TermsOfPaymentTypeId` 0 normal (on account),
1 current month, 2 cash, 3 card payment, 4 digital wallet, 5 payment service provider, with `NumberOfDays`. Exact
says it in a payment condition's `PaymentMethod`: B on credit, I collection (direct debit), K cash, V credit card,
Q payment service provider, with `PaymentDays`. The condition of an order is, in this order:

1. `payment_condition_by_terms`: the terms' id, or their number of days, -> an Exact condition code;
2. the Exact condition with the payment method of the terms' type (card: V, else Q; wallet and PSP: Q, else V;
   cash: K; normal and current month: B) and the same number of days (for card, cash, wallet and PSP any days);
3. none: for normal terms the account's own condition applies (Exact's default); a card, cash, wallet or PSP
   customer without a fitting condition fails the record, naming the method to create: booked "on credit", a
   paid order would be chased as a debt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.exact import PaymentCondition
from flows.base import RecordFailed
from flows.orders_options import OrdersOptions

# eAccounting TermsOfPaymentTypeId -> Exact PaymentMethod, in order of preference
METHODS: dict[int, tuple[str, ...]] = {0: ("B",), 1: ("B",), 2: ("K",), 3: ("V", "Q"), 4: ("Q", "V"), 5: ("Q", "V")}
TYPE_NAMES = {0: "normal", 1: "current month", 2: "cash", 3: "card", 4: "digital wallet", 5: "payment provider"}
METHOD_NAMES = {"B": "on credit", "I": "collection", "K": "cash", "V": "credit card", "Q": "payment provider"}


def payment_condition(
    opts: OrdersOptions, customer: Mapping[str, Any], conditions: Sequence[PaymentCondition]
) -> str | None:
    """The Exact payment condition code for the customer's terms (None: the account's own applies). `customer` is
    the eAccounting customer (its `TermsOfPayment` expanded) or the profile the flow keeps of it."""
    nested = customer.get("TermsOfPayment")
    terms: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    days = customer.get("TermsDays", terms.get("NumberOfDays"))
    for key in (customer.get("TermsOfPaymentId"), None if days is None else str(days)):
        if key is not None and str(key) in opts.payment_condition_by_terms:
            return opts.payment_condition_by_terms[str(key)]
    kind = customer.get("TermsType", terms.get("TermsOfPaymentTypeId"))
    if kind is None or int(kind) not in METHODS:
        return None
    kind = int(kind)
    paid = kind not in (0, 1)
    for method in METHODS[kind]:
        fitting = [c for c in conditions if c.payment_method == method and c.code]
        same_days = [c for c in fitting if days is not None and c.payment_days == int(days)]
        chosen = same_days or (fitting if paid else [])
        if chosen:
            return sorted(chosen, key=lambda c: (c.payment_days or 0, c.code or ""))[0].code
    if paid:
        wanted = " or ".join(f"{m} ({METHOD_NAMES[m]})" for m in METHODS[kind])
        raise RecordFailed(
            f"payment: the customer pays by {TYPE_NAMES[kind]} (eAccounting terms of payment), and Exact has no "
            f"payment condition with payment method {wanted}: create one in Exact or set payment_condition_by_terms"
        )
    return None
