"""Business rules of the simulated company: what the API checks, computes and refuses on writes.

Every write first validates the body against the strict Swagger schema (`spec.py`), then applies the
rules below. Rules the documentation does not state are marked (?) and err on the strict side.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.catalogue import EU_RATES

from .errors import (
    ACCOUNT_NOT_FOUND,
    CANNOT_BE_CREATED_OR_UPDATED,
    CANNOT_BE_DELETED,
    CONFLICT,
    FISCAL_YEAR_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    ApiError,
    validation_error,
)
from .odata import parse_datetime
from .resources import RESOURCES
from .sim import EAccountingSim, Record, iso_date, iso_utc

__all__ = [
    "create_record",
    "delete_record",
    "present",
    "reserved_stock",
    "shop_order",
    "update_record",
]

CENT = Decimal("0.01")
EU = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU"}
EU |= {"MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
_DATE_ONLY = {"OrderDate", "DeliveryDate", "ShippedDateTime", "InvoiceDate", "DueDate", "StartDate", "EndDate"}
_DATE_ONLY |= {"VoucherDate"}


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value: Any, default: str = "0") -> Decimal:
    if value is None:
        return Decimal(default)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _ref_missing(label: str, field: str, value: Any) -> ApiError:
    return ApiError(400, RESOURCE_NOT_FOUND, f"{label} with id '{value}' given in {field} was not found.")


def _validated(sim: EAccountingSim, definition: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_error(f"The request body must be a JSON object of type '{definition}'.")
    errors = sim.spec.validate(definition, body)
    if errors:
        raise validation_error(" ".join(e.message for e in errors))
    return body


def _merge(sim: EAccountingSim, name: str, body: Mapping[str, Any], existing: Record | None) -> Record:
    """A full replacement (PUT semantics): every property from the body, server-owned ones kept."""
    resource = RESOURCES[name]
    record = sim.blank(resource)
    for key, value in body.items():
        if key not in resource.read_only:
            record[key] = _normalize(key, value)
    if existing is not None:
        for key in resource.read_only:
            record[key] = existing.get(key)
    return record


def _normalize(key: str, value: Any) -> Any:
    if key in _DATE_ONLY and isinstance(value, str):
        return iso_date(parse_datetime(value if "T" in value else f"{value}T00:00:00Z"))
    return value


# -- reading ---------------------------------------------------------------------------------------


def reserved_stock(sim: EAccountingSim) -> dict[str, Decimal]:
    """Quantity per article id on orders not yet shipped (Draft, Ongoing)."""
    reserved: dict[str, Decimal] = {}
    for order in sim.table("orders").values():
        if order.get("Status") not in (1, 2):
            continue
        for row in order.get("Rows") or ():
            article = row.get("ArticleId")
            if article and not row.get("IsTextRow"):
                reserved[article] = reserved.get(article, Decimal(0)) + _dec(row.get("Quantity"))
    return reserved


def present(
    sim: EAccountingSim, name: str, record: Mapping[str, Any], reserved: Mapping[str, Decimal] | None = None
) -> Record:
    """The record as the API returns it, with derived read-only fields filled in."""
    out = dict(record)
    if name == "articles":
        held = (reserved if reserved is not None else reserved_stock(sim)).get(str(record["Id"]), Decimal(0))
        out["StockBalanceReserved"] = held
        out["StockBalanceAvailable"] = _dec(record.get("StockBalance")) - held
    elif name == "customers":
        terms = sim.find("termsofpayments", record.get("TermsOfPaymentId"))
        out["TermsOfPayment"] = dict(terms) if terms else None
    elif name == "costcenters":
        items = sim.table("costcenteritems").values()
        out["Items"] = [dict(i) for i in items if i.get("CostCenterId") == record["Id"]]
    elif name == "vouchers":
        out.pop("_FiscalYearId", None)
    elif name == "projects":
        customer = sim.find("customers", record.get("CustomerId"))
        out["CustomerName"] = customer["Name"] if customer else None
    return out


# -- writes ----------------------------------------------------------------------------------------


def create_record(sim: EAccountingSim, name: str, body: Any) -> Record:
    """POST on a collection."""
    resource = RESOURCES[name]
    data = _validated(sim, resource.definition, body)
    record = _merge(sim, name, data, None)
    _RULES[name](sim, record, None)
    return sim.put(name, record)


def update_record(sim: EAccountingSim, name: str, ident: str, body: Any) -> Record:
    """PUT on one item: the body replaces the item (fields left out become null)."""
    resource = RESOURCES[name]
    existing = sim.get(name, ident)
    data = _validated(sim, resource.definition, body)
    record = _merge(sim, name, data, existing)
    record["Id"] = existing["Id"]
    _RULES[name](sim, record, existing)
    return sim.put(name, record)


def delete_record(sim: EAccountingSim, name: str, ident: str) -> Record:
    record = sim.get(name, ident)
    if name == "customers":
        used = any(o.get("CustomerId") == record["Id"] for o in sim.table("orders").values())
        used = used or any(i.get("CustomerId") == record["Id"] for i in sim.table("customerinvoices").values())
        if used:
            raise ApiError(400, CANNOT_BE_DELETED, "The customer has orders or invoices and cannot be deleted.")
    if name == "orders" and record.get("Status") not in (1, 2):
        raise ApiError(400, CANNOT_BE_DELETED, "Only draft and ongoing orders can be deleted.")
    if name == "articlelabels":
        for article in sim.table("articles").values():
            labels = article.get("ArticleLabels") or []
            article["ArticleLabels"] = [lb for lb in labels if lb.get("Id") != record["Id"]] or None
    return sim.remove(name, str(record["Id"]))


def _unique(sim: EAccountingSim, name: str, field: str, record: Record, label: str) -> None:
    value = record.get(field)
    other = sim.by_unique(name, value)
    if other is not None and str(other.get("Id")).lower() != str(record.get("Id")).lower():
        raise ApiError(409, CONFLICT, f"A {label} with {field} '{value}' already exists.")


def _customer_rules(sim: EAccountingSim, record: Record, existing: Record | None) -> None:
    if not record.get("CustomerNumber"):
        record["CustomerNumber"] = existing["CustomerNumber"] if existing else str(sim.next_number("customer"))
    _unique(sim, "customers", "CustomerNumber", record, "customer")
    if sim.find("termsofpayments", record["TermsOfPaymentId"]) is None:
        raise _ref_missing("Terms of payment", "TermsOfPaymentId", record["TermsOfPaymentId"])
    for field, table, label in (
        ("DeliveryMethodId", "deliverymethods", "Delivery method"),
        ("DeliveryTermId", "deliveryterms", "Delivery term"),
    ):
        if record.get(field) is not None and sim.find(table, record[field]) is None:
            raise _ref_missing(label, field, record[field])
    record["CurrencyCode"] = record.get("CurrencyCode") or sim.company.get("CurrencyCode", "SEK")
    if record["CurrencyCode"] not in sim.table("currencies"):
        raise validation_error(f"The currency code '{record['CurrencyCode']}' is not valid.")
    for field in ("InvoiceCountryCode", "DeliveryCountryCode"):
        if record.get(field) and record[field] not in sim.table("countries"):
            raise validation_error(f"The country code '{record[field]}' in {field} is not valid.")
    if record.get("ReverseChargeOnConstructionServices") and not record.get("VatNumber"):
        raise validation_error("VatNumber must be set when ReverseChargeOnConstructionServices is true.")
    record["PayToAccountId"] = existing.get("PayToAccountId") if existing else str(uuid.uuid4())


def _article_rules(sim: EAccountingSim, record: Record, existing: Record | None) -> None:
    _unique(sim, "articles", "Number", record, "article")
    coding = sim.find("articleaccountcodings", record["CodingId"])
    if coding is None:
        raise _ref_missing("Article account coding", "CodingId", record["CodingId"])
    unit = sim.find("units", record["UnitId"])
    if unit is None:
        raise _ref_missing("Unit", "UnitId", record["UnitId"])
    record["CodingName"] = coding["Name"]
    record["UnitName"] = unit["Name"]
    record["UnitAbbreviation"] = unit["Abbreviation"]
    rate = _dec(coding.get("VatRatePercent"))
    if record.get("NetPrice") is not None and record.get("GrossPrice") is None:
        record["GrossPrice"] = q2(_dec(record["NetPrice"]) * (1 + rate))
    elif record.get("GrossPrice") is not None and record.get("NetPrice") is None:
        record["NetPrice"] = q2(_dec(record["GrossPrice"]) / (1 + rate))
    record["StockBalance"] = _dec(record.get("StockBalance"))
    if sim.stock_module:
        # "When stock module is active, this is read only" (2020): accepted and ignored, nothing says so (?).
        record["StockBalance"] = _dec(existing.get("StockBalance")) if existing is not None else Decimal(0)
    if existing is None or _dec(existing.get("StockBalance")) != record["StockBalance"]:
        record["StockBalanceManuallyChangedUtc"] = iso_utc(sim.now())
    if existing is not None and existing.get("PurchasePrice") != record.get("PurchasePrice"):
        record["PurchasePriceManuallyChangedUtc"] = iso_utc(sim.now())
    labels = []
    for label in record.get("ArticleLabels") or ():
        found = sim.find("articlelabels", label.get("Id")) if label.get("Id") else None
        if label.get("Id") and found is None:
            raise _ref_missing("Article label", "ArticleLabels.Id", label["Id"])
        labels.append(dict(found) if found else label)
    record["ArticleLabels"] = labels
    if record.get("SendToWebshop") is None:
        record["SendToWebshop"] = True


def _row_vat_rate(
    sim: EAccountingSim, customer: Record, document: Record | None, row: Record, coding: Record | None
) -> Decimal:
    """The VAT rate eAccounting charges on one row, decided by the customer and the article's coding.

    Domestic: the coding's rate, except a row `EligibleForReverseChargeOnVat` on a document with
    `ReverseChargeOnConstructionServices` (domestic reverse charge: none). Another EU country: none for a company
    with a VAT number or an `EuThirdParty` (triangulation) document (intra-community supply, reverse charge); a
    private person (or a company without a VAT number) pays VAT: the coding's rate, or, when the company reports
    under the One Stop Shop (company setting `UsesMoss`, the API's name since MOSS), the customer country's
    standard or reduced rate for the coding's class. Outside the EU: none (export). (?) eAccounting documents none
    of this; it is the law as a Dutch company applies it.
    """
    rate = _dec(coding.get("VatRatePercent") if coding else None)
    home = sim.company.get("CountryCode") or "NL"
    country = customer.get("InvoiceCountryCode") or home
    if country == home:
        reverse = bool((document or {}).get("ReverseChargeOnConstructionServices"))
        return Decimal(0) if reverse and row.get("EligibleForReverseChargeOnVat") else rate
    if country not in EU:
        return Decimal(0)
    business = not customer.get("IsPrivatePerson") and customer.get("VatNumber")
    if business or (document or {}).get("EuThirdParty"):
        return Decimal(0)
    if sim.company.get("UsesMoss") and country in EU_RATES and home in EU_RATES and rate:
        standard, reduced = EU_RATES[home]
        if rate in (standard, reduced):
            return EU_RATES[country][0 if rate == standard else 1]
    return rate


def _price_rows(
    sim: EAccountingSim, rows: list[Record], customer: Record, what: str, document: Record | None = None
) -> tuple[Decimal, Decimal]:
    """Check article references on rows, fill row defaults, and return (net amount, VAT).

    The VAT is rounded per rate (?): eAccounting states no VAT amount per row, and a customer invoice's
    `VatSpecification` (2020 description) gives one VAT amount per rate, so the document's VAT is the sum of the
    rates' amounts, each rounded to the cent once.
    """
    amount = Decimal(0)
    by_rate: dict[Decimal, Decimal] = {}
    for index, row in enumerate(rows):
        row["Id"] = row.get("Id") or str(uuid.uuid4())
        if row.get("IsTextRow"):
            continue
        article = sim.find("articles", row.get("ArticleId"))
        if row.get("ArticleId") is None:
            raise validation_error(f"Rows[{index}].ArticleId: The ArticleId field is required on a {what} row.")
        if article is None:
            raise _ref_missing("Article", f"Rows[{index}].ArticleId", row["ArticleId"])
        if not article.get("IsActive"):
            raise ApiError(
                400, CANNOT_BE_CREATED_OR_UPDATED, f"Rows[{index}]: article {article['Number']} is inactive."
            )
        if row.get("Quantity") is None:
            raise validation_error(f"Rows[{index}].Quantity: The Quantity field is required on an article row.")
        row["ArticleNumber"] = article["Number"]
        row["Text"] = row.get("Text") or article["Name"]
        if row.get("UnitPrice") is None:
            row["UnitPrice"] = _dec(article.get("NetPrice"))
        line = q2(_dec(row["Quantity"]) * _dec(row["UnitPrice"]) * (1 - _dec(row.get("DiscountPercentage"))))
        amount += line
        coding = sim.find("articleaccountcodings", article.get("CodingId"))
        rate = _row_vat_rate(sim, customer, document, row, coding)
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + line * rate
    return q2(amount), sum((q2(v) for v in by_rate.values()), Decimal(0)).quantize(CENT)


def _move_stock(sim: EAccountingSim, rows: Iterable[Record], sign: int) -> None:
    for row in rows:
        article = sim.find("articles", row.get("ArticleId"))
        if article is None or row.get("IsTextRow"):
            continue
        quantity = _dec(row.get("DeliveredQuantity") if row.get("DeliveredQuantity") is not None else row["Quantity"])
        article["StockBalance"] = _dec(article.get("StockBalance")) + sign * quantity
        sim.put("articles", article)


def _order_rules(sim: EAccountingSim, record: Record, existing: Record | None) -> None:
    customer = sim.find("customers", record["CustomerId"])
    if customer is None:
        raise _ref_missing("Customer", "CustomerId", record["CustomerId"])
    if existing is None and record["Status"] not in (1, 2):
        raise ApiError(400, CANNOT_BE_CREATED_OR_UPDATED, "A new order must have Status 1 (Draft) or 2 (Ongoing).")
    if existing is not None and existing.get("Status") == 4:
        raise ApiError(400, CANNOT_BE_CREATED_OR_UPDATED, "An invoiced order cannot be changed.")
    if record["CurrencyCode"] not in sim.table("currencies"):
        raise validation_error(f"The currency code '{record['CurrencyCode']}' is not valid.")
    record["Number"] = existing["Number"] if existing else sim.next_number("order")
    record["CustomerIsPrivatePerson"] = bool(customer.get("IsPrivatePerson"))
    rows = record.get("Rows") or []
    record["Rows"] = rows
    record["Amount"], record["VatAmount"] = _price_rows(sim, rows, customer, "order", record)
    record["RoundingsAmount"] = _dec(record.get("RoundingsAmount"))
    was_shipped = existing is not None and existing.get("Status", 0) >= 3
    now_shipped = record["Status"] >= 3
    if now_shipped:
        for row in rows:
            if not row.get("IsTextRow") and row.get("DeliveredQuantity") is None:
                row["DeliveredQuantity"] = row["Quantity"]
        record["ShippedDateTime"] = record.get("ShippedDateTime") or iso_date(sim.now())
        record["DeliveredAmount"] = record["Amount"]
        record["DeliveredVatAmount"] = record["VatAmount"]
        record["DeliveredRoundingsAmount"] = record["RoundingsAmount"]
    if now_shipped and not was_shipped:
        _move_stock(sim, rows, -1)
    elif was_shipped and not now_shipped and existing is not None:
        _move_stock(sim, existing.get("Rows") or [], +1)


def _draft_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    customer = sim.find("customers", record["CustomerId"])
    if customer is None:
        raise _ref_missing("Customer", "CustomerId", record["CustomerId"])
    record["Rows"] = record.get("Rows") or []
    amount, vat = _price_rows(sim, record["Rows"], customer, "invoice", record)
    record["TotalAmount"], record["TotalVatAmount"], record["TotalRoundings"] = amount, vat, Decimal(0)
    record["TotalAmountBaseCurrency"], record["TotalVatAmountBaseCurrency"] = amount, vat
    record["CustomerNumber"] = customer["CustomerNumber"]
    record["InvoiceCurrencyCode"] = record.get("InvoiceCurrencyCode") or customer.get("CurrencyCode")


def _invoice_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    customer = sim.find("customers", record["CustomerId"])
    if customer is None:
        raise _ref_missing("Customer", "CustomerId", record["CustomerId"])
    if not record["Rows"]:
        raise validation_error("Rows: An invoice must have at least one row.")
    for index, row in enumerate(record["Rows"]):
        article_id = row.get("ArticleId")
        if not row.get("IsTextRow") and article_id is not None and sim.find("articles", article_id) is None:
            raise _ref_missing("Article", f"Rows[{index}].ArticleId", row["ArticleId"])
        if not row.get("IsTextRow") and row.get("Quantity") is None:
            raise validation_error(f"Rows[{index}].Quantity: The Quantity field is required on an article row.")
    amount, vat = _price_rows(sim, record["Rows"], customer, "invoice", record)
    record["TotalAmount"] = record["TotalAmountInvoiceCurrency"] = amount
    record["TotalVatAmount"] = record["TotalVatAmountInvoiceCurrency"] = vat
    record["TotalRoundings"] = Decimal(0)
    record["RemainingAmount"] = record["RemainingAmountInvoiceCurrency"] = amount + vat
    record["InvoiceNumber"] = sim.next_number("invoice")
    record["CustomerNumber"] = customer["CustomerNumber"]
    record["CurrencyCode"] = record.get("CurrencyCode") or customer.get("CurrencyCode")
    record["InvoiceDate"] = record.get("InvoiceDate") or iso_date(sim.now())
    terms = sim.find("termsofpayments", record.get("TermsOfPaymentId") or customer.get("TermsOfPaymentId"))
    days = int(terms["NumberOfDays"]) if terms else 30
    record["TermsOfPaymentId"] = terms["Id"] if terms else None
    record["DueDate"] = record.get("DueDate") or iso_date(parse_datetime(record["InvoiceDate"]) + timedelta(days=days))


def convert_draft(sim: EAccountingSim, ident: str) -> Record:
    """`POST /v2/customerinvoicedrafts/{id}/convert`: the draft becomes a booked invoice."""
    draft = sim.get("customerinvoicedrafts", ident)
    invoice = sim.blank(RESOURCES["customerinvoices"])
    for key in invoice:
        if key in draft and key not in ("Id", "CreatedUtc", "Rows"):
            invoice[key] = draft[key]
    invoice["Rows"] = [
        {k: v for k, v in row.items() if k not in ("ReversedConstructionServicesVatFree", "VatRateId")}
        for row in draft["Rows"]
    ]
    invoice["CurrencyCode"] = draft.get("InvoiceCurrencyCode")
    _invoice_rules(sim, invoice, None)
    sim.remove("customerinvoicedrafts", str(draft["Id"]))
    return sim.put("customerinvoices", invoice)


def _fiscal_year_for(sim: EAccountingSim, date_text: str) -> Record:
    moment = parse_datetime(date_text)
    for year in sim.table("fiscalyears").values():
        if parse_datetime(year["StartDate"]) <= moment <= parse_datetime(year["EndDate"]):
            return year
    raise ApiError(400, FISCAL_YEAR_NOT_FOUND, f"There is no fiscal year for the date {date_text[:10]}.")


def _voucher_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    year = _fiscal_year_for(sim, record["VoucherDate"])
    debit = credit = Decimal(0)
    for index, row in enumerate(record["Rows"]):
        account = sim.find("accounts", f"{year['Id']}/{row['AccountNumber']}")
        if account is None:
            raise ApiError(400, ACCOUNT_NOT_FOUND, f"Rows[{index}]: account {row['AccountNumber']} does not exist.")
        row["AccountDescription"] = account["Name"]
        debit += _dec(row.get("DebitAmount"))
        credit += _dec(row.get("CreditAmount"))
    if debit != credit or not record["Rows"]:
        raise validation_error(f"The voucher is not balanced: debit {debit} and credit {credit}.")
    record["NumberSeries"] = record.get("NumberSeries") or "A"
    record["NumberAndNumberSeries"] = f"{record['NumberSeries']}{sim.next_number('voucher')}"
    record["_FiscalYearId"] = str(year["Id"]).lower()


def _project_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    _unique(sim, "projects", "Number", record, "project")
    if record.get("CustomerId") is not None and sim.find("customers", record["CustomerId"]) is None:
        raise _ref_missing("Customer", "CustomerId", record["CustomerId"])
    record["Status"] = record.get("Status") or 1
    record["CustomerName"] = None


def _label_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    _unique(sim, "articlelabels", "Name", record, "article label")


def _cost_center_item_rules(sim: EAccountingSim, record: Record, _existing: Record | None) -> None:
    if sim.find("costcenters", record["CostCenterId"]) is None:
        raise _ref_missing("Cost center", "CostCenterId", record["CostCenterId"])


def _cost_center_rules(_sim: EAccountingSim, record: Record, existing: Record | None) -> None:
    if existing is not None:
        record["Number"] = existing["Number"]
    record["Items"] = None


_RULES = {
    "customers": _customer_rules,
    "articles": _article_rules,
    "orders": _order_rules,
    "customerinvoicedrafts": _draft_rules,
    "customerinvoices": _invoice_rules,
    "vouchers": _voucher_rules,
    "projects": _project_rules,
    "articlelabels": _label_rules,
    "costcenteritems": _cost_center_item_rules,
    "costcenters": _cost_center_rules,
}


def update_company(sim: EAccountingSim, body: Any) -> Record:
    data = _validated(sim, "CompanySettingsApi", body)
    read_only = {"CorporateIdentityNumber", "ProductVariant", "TypeOfBusiness", "VatPeriod", "NextCustomerNumber"}
    read_only |= {"NextSupplierNumber", "NextCustomerInvoiceNumber", "NextQuoteNumber", "ShowPricesExclVatPC"}
    company = dict.fromkeys(sim.spec.properties("CompanySettingsApi"))
    company.update({k: v for k, v in data.items() if k not in read_only})
    for key in read_only:
        company[key] = sim.company.get(key)
    if company.get("TermsOfPaymentId") and sim.find("termsofpayments", company["TermsOfPaymentId"]) is None:
        raise _ref_missing("Terms of payment", "TermsOfPaymentId", company["TermsOfPaymentId"])
    sim.company = company
    return company


def shop_order(
    sim: EAccountingSim,
    customer_number: str,
    rows: Iterable[Any],
    *,
    status: int = 2,
    currency_code: str | None = None,
    your_reference: str | None = None,
    shipping_amount: Decimal | None = None,
    order_date: str | None = None,
    roundings_amount: Decimal | None = None,
    eu_third_party: bool = False,
) -> Record:
    """Build a full `OrderApi` body from a customer number and (SKU, quantity) rows, then POST it.

    A row is `(sku, quantity)` or a mapping with `article_number`, `quantity` and optionally `unit_price` and
    `discount_percentage` (a fraction); `shipping_amount` adds a row on the `SHIPPING` article (orders have no
    shipping-amount field); `roundings_amount` is the order's `RoundingsAmount` (cash rounding)."""
    customer = sim.by_unique("customers", customer_number)
    if customer is None:
        raise _ref_missing("Customer", "CustomerNumber", customer_number)
    body_rows: list[dict[str, Any]] = []
    for line, raw in enumerate(rows, start=1):
        spec: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"article_number": raw[0], "quantity": raw[1]}
        article = sim.by_unique("articles", str(spec["article_number"]))
        if article is None:
            raise _ref_missing("Article", "ArticleNumber", spec["article_number"])
        row: dict[str, Any] = {
            "LineNumber": line,
            "ArticleId": article["Id"],
            "IsTextRow": False,
            "IsWorkCost": False,
            "EligibleForReverseChargeOnVat": False,
            "Quantity": _dec(spec["quantity"]),
        }
        if spec.get("unit_price") is not None:
            row["UnitPrice"] = _dec(spec["unit_price"])
        if spec.get("discount_percentage") is not None:
            row["DiscountPercentage"] = _dec(spec["discount_percentage"])
        body_rows.append(row)
    if shipping_amount is not None:
        shipping = sim.by_unique("articles", "SHIPPING")
        if shipping is None:
            raise _ref_missing("Article", "ArticleNumber", "SHIPPING")
        body_rows.append(
            {
                "LineNumber": len(body_rows) + 1,
                "ArticleId": shipping["Id"],
                "IsTextRow": False,
                "IsWorkCost": False,
                "EligibleForReverseChargeOnVat": False,
                "Quantity": Decimal(1),
                "UnitPrice": _dec(shipping_amount),
            }
        )
    home = sim.company.get("CountryCode") or "NL"
    body = {
        "Amount": Decimal(0),
        "VatAmount": Decimal(0),
        "RoundingsAmount": _dec(roundings_amount),
        "CustomerId": customer["Id"],
        "CurrencyCode": currency_code or customer["CurrencyCode"],
        "InvoiceCustomerName": customer["Name"],
        "InvoiceAddress1": customer.get("InvoiceAddress1"),
        "InvoiceCity": customer["InvoiceCity"],
        "InvoicePostalCode": customer["InvoicePostalCode"],
        "InvoiceCountryCode": customer.get("InvoiceCountryCode") or home,
        "DeliveryCustomerName": customer["Name"],
        "DeliveryAddress1": customer.get("InvoiceAddress1"),
        "DeliveryCity": customer["InvoiceCity"],
        "DeliveryPostalCode": customer["InvoicePostalCode"],
        "DeliveryCountryCode": customer.get("InvoiceCountryCode") or home,
        "EuThirdParty": eu_third_party,
        "CustomerIsPrivatePerson": bool(customer.get("IsPrivatePerson")),
        # A shop sends a date and time (the description types OrderDate date-time); a bare date given here is the day.
        "OrderDate": _as_date_time(order_date) if order_date else iso_date(sim.now()),
        "Status": min(status, 2),
        "RotReducedInvoicingType": 0,
        "ReverseChargeOnConstructionServices": False,
        "YourReference": your_reference,
        "Rows": body_rows,
    }
    order = create_record(sim, "orders", body)
    if status > 2:
        shipped = {k: v for k, v in order.items() if k not in RESOURCES["orders"].read_only}
        shipped["Status"] = status
        order = update_record(sim, "orders", order["Id"], _jsonable(shipped))
    return order


def _as_date_time(value: str) -> str:
    return f"{value}T00:00:00" if len(value) == 10 else value


def _jsonable(record: Record) -> dict[str, Any]:
    """Drop server-filled nulls the strict schema would refuse (required fields are never null here)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, list):
            out[key] = [_jsonable(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
