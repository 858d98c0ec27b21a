"""Believable demo data for one division: a small Dutch coffee roaster (EUR, VAT 21 / 9 / 0 %).

Items are the catalogue of `sandbox.catalogue`, which the eAccounting simulator's demo company sells too: same
codes `SKU-0001`…, prices and VAT classes, so the demo can sync them both ways. Everything goes through the
same engine as API writes, so derived fields, stock rows and Timestamps are exactly what the API would produce.
Generated GUIDs are reproducible (seeded RNG).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.catalogue import PRODUCTS
from sandbox.exact.entities import ENTITIES
from sandbox.exact.store import DivisionState

if TYPE_CHECKING:
    from sandbox.exact.sim import ExactSim

__all__ = ["PRODUCT_NAMES", "VAT_CODES", "seed_demo"]

# (description, item group, unit price): the demo catalogue shared with the eAccounting simulator.
PRODUCT_NAMES: tuple[tuple[str, str, str], ...] = tuple((name, group, price) for _c, name, group, price, _v in PRODUCTS)
_SALES_VAT_CODE = {"reduced": "1", "standard": "2", "zero": "0"}

_GROUPS = (
    ("COFFEE", "Coffee", True),
    ("TEA", "Tea", False),
    ("EQUIP", "Equipment", False),
    ("ACC", "Accessories", False),
    ("GIFT", "Gift cards", False),
)

# A Dutch administration's VAT codes, as Exact Online NL sets them up (docs/vat.md): domestic high and low rate,
# excluding and including, 0 %, no VAT, export, intra-community goods (ICP) and services, triangulation (ABC),
# domestic reverse charge, a purchase-only code, and One Stop Shop codes for EU private persons per country.
# (code, description, percentage, Type, EUSalesListing, Charged, OssCountry, VATTransactionType, legal text)
VAT_CODES: tuple[tuple[str, str, str, str, str, bool, str | None, str, str | None], ...] = (
    ("0", "No VAT", "0", "N", "N", False, None, "B", None),
    ("1", "VAT low 9% excl.", "0.09", "E", "N", False, None, "B", None),
    ("2", "VAT high 21% excl.", "0.21", "E", "N", False, None, "B", None),
    ("3", "VAT low 9% incl.", "0.09", "I", "N", False, None, "B", None),
    ("4", "VAT high 21% incl.", "0.21", "I", "N", False, None, "B", None),
    ("5", "VAT 0%", "0", "B", "N", False, None, "S", None),
    ("6", "Export outside the EU 0%", "0", "B", "N", False, None, "S", "Export: VAT 0%"),
    ("7", "Intra-community supply of goods (ICP) 0%", "0", "B", "L", False, None, "S", "VAT reverse-charged (ICP)"),
    ("8", "Intra-community services 0%", "0", "B", "S", False, None, "S", "VAT reverse-charged"),
    ("9", "Triangulation (ABC supply) 0%", "0", "B", "T", False, None, "S", "Triangular transaction, art. 141"),
    ("10", "VAT reverse-charged (domestic)", "0", "B", "N", True, None, "S", "VAT reverse-charged"),
    ("11", "Acquisitions from the EU 21%", "0.21", "E", "N", True, None, "P", None),
    ("ATH", "OSS Austria 20%", "0.20", "E", "N", False, "AT", "S", None),
    ("ATL", "OSS Austria 10%", "0.10", "E", "N", False, "AT", "S", None),
    ("BEH", "OSS Belgium 21%", "0.21", "E", "N", False, "BE", "S", None),
    ("BEL", "OSS Belgium 6%", "0.06", "E", "N", False, "BE", "S", None),
    ("DEH", "OSS Germany 19%", "0.19", "E", "N", False, "DE", "S", None),
    ("DEL", "OSS Germany 7%", "0.07", "E", "N", False, "DE", "S", None),
    ("FRH", "OSS France 20%", "0.20", "E", "N", False, "FR", "S", None),
    ("FRL", "OSS France 5.5%", "0.055", "E", "N", False, "FR", "S", None),
)


def _add(sim: ExactSim, div: DivisionState, entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert reference data directly (no API validation: these tables are read-only over the API)."""
    spec = ENTITIES[entity]
    record = sim.engine.blank(spec)
    record.update(values)
    record[spec.key] = sim.engine.new_guid()
    sim.engine.save(div, spec, record, created=True)
    return record


def _reference_data(sim: ExactSim, div: DivisionState) -> dict[str, str]:
    gl: dict[str, str] = {}
    for code, description, kind, side in (
        ("1300", "Debtors", 20, "D"),
        ("1500", "VAT payable", 24, "C"),
        ("1520", "VAT payable OSS", 24, "C"),
        ("1600", "Creditors", 22, "C"),
        ("3000", "Stock", 32, "D"),
        ("7000", "Cost of goods sold", 111, "D"),
        ("8000", "Revenue NL", 110, "C"),
        ("8100", "Revenue EU", 110, "C"),
        ("8200", "Revenue export", 110, "C"),
        ("8900", "Shipping revenue", 110, "C"),
        ("8950", "Rounding differences", 110, "C"),
    ):
        balance = "B" if code < "7000" else "W"
        record = _add(
            sim,
            div,
            "GLAccounts",
            {
                "Code": code,
                "Description": description,
                "Type": kind,
                "BalanceSide": side,
                "BalanceType": balance,
                "IsBlocked": False,
                "UseCostcenter": 0,
                "UseCostunit": 0,
            },
        )
        gl[code] = record["ID"]
    for code, description, pct, vat_type, listing, charged, oss, transactions, legal in VAT_CODES:
        _add(
            sim,
            div,
            "VATCodes",
            {
                "Code": code,
                "Description": description,
                "Percentage": Decimal(pct),
                "Type": vat_type,
                "EUSalesListing": listing,
                "Charged": charged,
                "VATTransactionType": transactions,
                "IsBlocked": False,
                "GLToPay": gl["1520"] if oss else gl["1500"],
                "GLToClaim": gl["1500"] if transactions != "S" else None,
                "OssCountry": oss,
                "LegalText": legal,
            },
        )
    for code in ("8000",):
        div.store("GLAccounts").records[gl[code]]["VATCode"] = "2"
    # PaymentMethod: B on credit, I collection (direct debit), K cash, V credit card, Q payment service provider.
    for code, description, days, method in (
        ("00", "Cash", 0, "K"),
        ("14", "14 days", 14, "B"),
        ("30", "30 days", 30, "B"),
        ("CC", "Credit card", 0, "V"),
        ("PSP", "Paid through payment provider", 0, "Q"),
        ("DD", "Direct debit 14 days", 14, "I"),
    ):
        _add(
            sim,
            div,
            "PaymentConditions",
            {"Code": code, "Description": description, "PaymentDays": days, "PaymentEndOfMonths": 0,
             "DiscountPercentage": Decimal(0), "DiscountPaymentDays": 0, "PaymentMethod": method},
        )  # fmt: skip
    for code, description, url in (
        ("DHL", "DHL Parcel", "https://www.dhl.com/nl-en/home/tracking.html?tracking-id={TrackingNumber}"),
        ("PostNL", "PostNL Pakket", "https://jouw.postnl.nl/track-and-trace/{TrackingNumber}"),
        ("UPS", "UPS Standard", "https://www.ups.com/track?tracknum={TrackingNumber}"),
    ):
        _add(
            sim,
            div,
            "ShippingMethods",
            {"Code": code, "Description": description, "Active": True, "Amount": Decimal("6.95"), "VATCode": "2",
             "TrackingURL": url},
        )  # fmt: skip
    for code, description in (("100", "Webshop"), ("200", "Wholesale"), ("300", "Horeca")):
        _add(sim, div, "Costcenters", {"Code": code, "Description": description})
    for code, description in (("CU01", "Coffee"), ("CU02", "Equipment")):
        _add(sim, div, "Costunits", {"Code": code, "Description": description})
    for code, description, kind in (("70", "Sales journal", 20), ("90", "General journal", 90)):
        _add(sim, div, "Journals", {"Code": code, "Description": description, "Type": kind})
    for code, description, unit_type in (
        ("pc", "Piece", "quantity"),
        ("kg", "Kilogram", "weight"),
        ("box", "Box", "quantity"),
    ):
        _add(
            sim, div, "Units", {"Code": code, "Description": description, "Main": int(code == "pc"), "Type": unit_type}
        )
    for code, description, main in (("1", "Main warehouse", True), ("2", "Returns warehouse", False)):
        _add(sim, div, "Warehouses", {"Code": code, "Description": description, "Main": int(main)})
    for code, description, default in _GROUPS:
        _add(
            sim,
            div,
            "ItemGroups",
            {"Code": code, "Description": description, "IsDefault": int(default), "GLRevenue": gl["8000"],
             "GLCosts": gl["7000"], "GLStock": gl["3000"]},
        )  # fmt: skip
    return gl


def _items(sim: ExactSim, div: DivisionState, count: int) -> None:
    groups = {g["Code"]: g["ID"] for g in div.store("ItemGroups").records.values()}
    spec = ENTITIES["Items"]
    main = sim.engine.main_warehouse(div)
    for number in range(1, count + 1):
        _code, name, group, price, vat_class = PRODUCTS[(number - 1) % len(PRODUCTS)]
        if number > len(PRODUCT_NAMES):
            name = f"{name} ({number // len(PRODUCT_NAMES) + 1})"
        unit_price = Decimal(price)
        item = sim.engine.create(
            div,
            spec,
            {
                "Code": f"SKU-{number:04d}",
                "Description": name,
                "Barcode": f"87{number:011d}",
                "IsSalesItem": True,
                "IsPurchaseItem": True,
                "IsStockItem": True,
                "ItemGroup": groups[group],
                "Unit": "pc",
                "SalesVatCode": _SALES_VAT_CODE[vat_class],
                "StandardSalesPrice": unit_price,
                "CostPriceStandard": (unit_price * Decimal("0.45")).quantize(Decimal("0.01")),
                "GrossWeight": Decimal("1.1") if "1kg" in name else Decimal("0.4"),
            },
        )
        stock = Decimal(sim.rng.randrange(0, 240))
        sim.engine.adjust_stock(div, item["ID"], main, set_current=stock)


_ACCOUNTS = (
    ("Koffiebar De Boon", "NL", "Amsterdam", "1012 AB", "Damstraat 12", "2", "30", "PostNL",
     ("Sanne", "de Vries", "sanne@koffiebardeboon.nl")),
    ("Hotel Amstel Zuid", "NL", "Amsterdam", "1077 XX", "Beethovenstraat 50", "2", "14", "DHL",
     ("Pieter", "Jansen", "inkoop@hotelamstelzuid.nl")),
    ("Café Kanelbulle AB", "SE", "Stockholm", "111 52", "Drottninggatan 20", "7", "30", "UPS",
     ("Astrid", "Lindqvist", "astrid@kanelbulle.se")),
    ("Rösterei Müller GmbH", "DE", "Köln", "50667", "Hohe Straße 88", "7", "30", "DHL",
     ("Jonas", "Müller", "einkauf@roesterei-mueller.de")),
    ("Brasserie du Sablon", "BE", "Bruxelles", "1000", "Rue de Rollebeek 7", "7", "14", "PostNL",
     ("Claire", "Dubois", "claire@brasseriedusablon.be")),
)  # fmt: skip


def _accounts(sim: ExactSim, div: DivisionState) -> list[dict[str, Any]]:
    shipping = {s["Code"]: s["ID"] for s in div.store("ShippingMethods").records.values()}
    out = []
    for name, country, city, postcode, street, vat, terms, ship, (first, last, email) in _ACCOUNTS:
        account = sim.engine.create(
            div,
            ENTITIES["Accounts"],
            {
                "Name": name,
                "Country": country,
                "City": city,
                "Postcode": postcode,
                "AddressLine1": street,
                "Email": email,
                "Status": "C",
                "IsSales": True,
                "SalesVATCode": vat,
                "PaymentConditionSales": terms,
                "ShippingMethod": shipping[ship],
                "Language": {"NL": "NL", "BE": "FR", "DE": "DE", "SE": "EN"}[country],
            },
        )
        contact = sim.engine.create(
            div,
            ENTITIES["Contacts"],
            {"Account": account["ID"], "FirstName": first, "LastName": last, "Email": email, "IsMainContact": True},
        )
        account = sim.engine.update(div, ENTITIES["Accounts"], account["ID"], {"MainContact": contact["ID"]})
        out.append(account)
    return out


def _orders(sim: ExactSim, div: DivisionState, accounts: list[dict[str, Any]], items: int) -> None:
    if items == 0:
        return
    codes = [f"SKU-{n:04d}" for n in range(1, min(items, 12) + 1)]
    store = div.store("Items")
    for index, account in enumerate(accounts[:3]):
        lines = [
            {"Item": store.by_code[codes[(index * 3 + k) % len(codes)]], "Quantity": Decimal(k + 1)} for k in range(2)
        ]
        sim.engine.create(
            div,
            ENTITIES["SalesOrders"],
            {"OrderedBy": account["ID"], "YourRef": f"DEMO-{1001 + index}", "Description": "Demo order",
             "SalesOrderLines": lines},
        )  # fmt: skip


def seed_demo(sim: ExactSim, *, items: int = 40, division: int | None = None) -> None:
    """Fill a division (default: the main one) with reference data, `items` items with stock, customers, orders."""
    div = sim.division(division)
    _reference_data(sim, div)
    _items(sim, div, items)
    accounts = _accounts(sim, div)
    _orders(sim, div, accounts, items)
