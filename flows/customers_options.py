"""Options of the two customers flows (one per direction) and the cross-reference kinds they share."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from flows.base import FlowOptions
from flows.countries import CountryOrAny
from flows.limits import MAX_ENTRIES, TERMS_OF_PAYMENT, ExactCode, TermsOfPayment

# CUSTOMER_KIND (flows/exact_accounts.py) pairs (eAccounting customer, Exact account), keyed source = eAccounting
# Id, target = Exact ID; the orders flow links the customers it creates under it too. Its content hash is the hash
# of the eAccounting customer mapped for Exact (`customers_eaccounting_to_exact`, update mode): what the
# eAccounting -> Exact direction would write.
# Mirror kept by the Exact -> eAccounting direction: Exact ID -> eAccounting Id, the intent of a create keyed by the
# Exact account, and the hash of the account mapped for eAccounting (what that direction would write).
ACCOUNT_KIND = "exact:account>ea:customer"

Match = Literal["email", "customer_number", "vat_number", "none"]


class ToEAccountingOptions(FlowOptions):
    """Exact Online accounts -> eAccounting customers."""

    match_by: Match = Field(
        "email",
        description="How an Exact account without a link finds an existing eAccounting customer: e-mail address, "
        "customer number (= the Exact account code), VAT number, or none (always create)",
    )
    update_existing: bool = Field(True, description="Write changes of linked accounts to their eAccounting customer")
    skip_blocked: bool = Field(
        True, description="Do not create customers for blocked Exact accounts (a linked one is still updated)"
    )
    terms_of_payment_by_condition: dict[ExactCode, TermsOfPayment] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Exact payment condition code -> eAccounting TermsOfPaymentId or number of days ('30')",
        examples=[{"30": "30", "00": "0"}],
    )
    match_terms_by_days: bool = Field(
        True, description="An Exact payment condition not in the table gets the eAccounting terms with as many days"
    )
    default_terms_of_payment: str | None = Field(
        None,
        max_length=TERMS_OF_PAYMENT,
        description="Terms (TermsOfPaymentId or number of days) for new customers whose account has no known "
        "payment condition; None: the eAccounting company's default terms",
    )
    contact_person: bool = Field(
        True,
        description="Companies get the account's main contact as contact person (1 Exact call per written company)",
    )


class ToExactOptions(FlowOptions):
    """eAccounting customers -> Exact Online accounts."""

    match_by: Match = Field(
        "email",
        description="How an eAccounting customer without a link finds an existing Exact account: e-mail address, "
        "customer number (= Exact account code), VAT number, or none (always create)",
    )
    update_existing: bool = Field(True, description="Write changes of linked customers to their Exact account")
    skip_inactive: bool = Field(
        True, description="Do not create accounts for inactive eAccounting customers (a linked one is still updated)"
    )
    create_contact_person: bool = Field(True, description="New company accounts get their contact person (1 call)")
    vat_code_by_country: dict[CountryOrAny, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="ISO 3166-1 alpha-2 country of the invoice address (NL; nl is read as NL) -> Exact "
        "SalesVATCode; key '*' for every other country",
        examples=[{"NL": "2", "BE": "BE21", "*": "4"}],
    )
    revenue_account_by_country: dict[CountryOrAny, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="ISO 3166-1 alpha-2 country -> Exact GL account code for the account's revenue "
        "(GLAccountSales); '*' default",
        examples=[{"NL": "8000", "*": "8100"}],
    )
    cost_center_by_country: dict[CountryOrAny, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Not supported: an Exact account has no cost center (the reference lists none on crm/Accounts); "
        "cost centers go on document lines (the orders flow's CostCenter). Must stay empty",
    )

    @field_validator("cost_center_by_country")
    @classmethod
    def _no_account_cost_center(cls, value: dict[str, str]) -> dict[str, str]:
        if value:
            raise ValueError(
                "Exact accounts have no cost center (crm/Accounts has no Costcenter field); cost centers are set on "
                "the lines of the documents the orders flow creates (SalesOrderLines/SalesInvoiceLines CostCenter, "
                "mapping value map cost_center_by_cost_center_item); see docs/flows/customers.md"
            )
        return value

    payment_condition_by_terms: dict[TermsOfPayment, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="eAccounting TermsOfPaymentId, or its number of days ('30'), -> Exact payment condition code",
        examples=[{"30": "30", "10": "14"}],
    )
    match_terms_by_days: bool = Field(
        True, description="Terms not in the table get the Exact payment condition with as many PaymentDays"
    )
