"""Believable demo data for one division: a small coffee wholesaler in the Netherlands.

Item codes `SKU-0001`… are shared with the eAccounting simulator's demo data, so the demo can sync them
both ways. Everything goes through the same engine as API writes, so derived fields, stock rows and
Timestamps are exactly what the API would produce. Generated GUIDs are reproducible (seeded RNG).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.exact.entities import ENTITIES
from sandbox.exact.store import DivisionState

if TYPE_CHECKING:
    from sandbox.exact.sim import ExactSim

__all__ = ["PRODUCT_NAMES", "seed_demo"]

PRODUCT_NAMES: tuple[tuple[str, str, str], ...] = (
    # (description, item group, unit price)
    ("Espresso beans 1kg", "COFFEE", "24.95"),
    ("House blend beans 1kg", "COFFEE", "19.95"),
    ("Decaf beans 500g", "COFFEE", "12.50"),
    ("Colombia Supremo beans 1kg", "COFFEE", "27.50"),
    ("Ethiopia Yirgacheffe beans 500g", "COFFEE", "16.95"),
    ("Brazil Santos beans 1kg", "COFFEE", "21.00"),
    ("Guatemala Antigua beans 1kg", "COFFEE", "26.25"),
    ("Kenya AA beans 500g", "COFFEE", "18.75"),
    ("Filter coffee ground 250g", "COFFEE", "5.95"),
    ("Espresso ground 250g", "COFFEE", "6.45"),
    ("Coffee pods 50 pcs", "COFFEE", "14.95"),
    ("Cold brew concentrate 1l", "COFFEE", "9.95"),
    ("Green tea sencha 100g", "TEA", "7.50"),
    ("Earl Grey tea 100g", "TEA", "6.95"),
    ("Rooibos tea 100g", "TEA", "5.95"),
    ("Chai spice tea 100g", "TEA", "8.25"),
    ("Peppermint tea 50 bags", "TEA", "4.95"),
    ("Matcha powder 30g", "TEA", "15.95"),
    ("Hand grinder steel", "EQUIP", "49.00"),
    ("Electric burr grinder", "EQUIP", "189.00"),
    ("Pour-over dripper ceramic", "EQUIP", "22.50"),
    ("French press 1l", "EQUIP", "34.95"),
    ("Moka pot 6 cups", "EQUIP", "39.95"),
    ("Milk frother electric", "EQUIP", "59.00"),
    ("Gooseneck kettle 1l", "EQUIP", "64.50"),
    ("Espresso tamper 58mm", "EQUIP", "29.95"),
    ("Digital coffee scale", "EQUIP", "44.95"),
    ("Paper filters 100 pcs", "ACC", "3.95"),
    ("Barista apron", "ACC", "24.00"),
    ("Latte cup 300ml", "ACC", "9.50"),
    ("Espresso cup 80ml", "ACC", "7.25"),
    ("Travel mug 350ml", "ACC", "19.95"),
    ("Cleaning tablets 100 pcs", "ACC", "12.95"),
    ("Descaler 500ml", "ACC", "8.95"),
    ("Knock box", "ACC", "27.50"),
    ("Milk pitcher 600ml", "ACC", "18.50"),
    ("Coffee canister 1kg", "ACC", "21.95"),
    ("Cane sugar sticks 500 pcs", "ACC", "11.50"),
    ("Caramel syrup 700ml", "ACC", "9.25"),
    ("Gift box tasting set", "ACC", "39.00"),
)

_GROUPS = (
    ("COFFEE", "Coffee", True),
    ("TEA", "Tea", False),
    ("EQUIP", "Equipment", False),
    ("ACC", "Accessories", False),
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
        ("1600", "Creditors", 22, "C"),
        ("3000", "Stock", 32, "D"),
        ("7000", "Cost of goods sold", 111, "D"),
        ("8000", "Revenue NL", 110, "C"),
        ("8100", "Revenue EU", 110, "C"),
        ("8200", "Revenue export", 110, "C"),
        ("8900", "Shipping revenue", 110, "C"),
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
    for code, description, pct, vat_type, oss in (
        ("0", "VAT 0%", "0", "B", None),
        ("1", "VAT low 9%", "0.09", "E", None),
        ("2", "VAT high 21%", "0.21", "E", None),
        ("3", "Intra-community supply (ICP) 0%", "0", "B", None),
        ("4", "Export outside the EU 0%", "0", "B", None),
        ("SE25", "OSS Sweden 25%", "0.25", "E", "SE"),
        ("SE12", "OSS Sweden 12%", "0.12", "E", "SE"),
        ("DE19", "OSS Germany 19%", "0.19", "E", "DE"),
        ("BE21", "OSS Belgium 21%", "0.21", "E", "BE"),
    ):
        _add(
            sim,
            div,
            "VATCodes",
            {
                "Code": code,
                "Description": description,
                "Percentage": Decimal(pct),
                "Type": vat_type,
                "VATTransactionType": "S",
                "IsBlocked": False,
                "GLToPay": gl["1500"],
                "OssCountry": oss,
            },
        )
    for code in ("8000",):
        div.store("GLAccounts").records[gl[code]]["VATCode"] = "2"
    for code, description, days in (("00", "Direct payment", 0), ("14", "14 days", 14), ("30", "30 days", 30)):
        _add(
            sim,
            div,
            "PaymentConditions",
            {"Code": code, "Description": description, "PaymentDays": days, "PaymentEndOfMonths": 0,
             "DiscountPercentage": Decimal(0), "DiscountPaymentDays": 0, "PaymentMethod": "B"},
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
        _add(sim, div, "Costcenters", {"Code": code, "Description": description, "Active": True})
    for code, description in (("CU01", "Coffee"), ("CU02", "Equipment")):
        _add(sim, div, "Costunits", {"Code": code, "Description": description})
    for code, description, kind in (("70", "Sales journal", 20), ("90", "General journal", 90)):
        _add(sim, div, "Journals", {"Code": code, "Description": description, "Type": kind})
    for code, description, unit_type in (
        ("pc", "Piece", "quantity"),
        ("kg", "Kilogram", "weight"),
        ("box", "Box", "quantity"),
    ):
        _add(sim, div, "Units", {"Code": code, "Description": description, "Main": code == "pc", "Type": unit_type})
    for code, description, main in (("1", "Main warehouse", True), ("2", "Returns warehouse", False)):
        _add(sim, div, "Warehouses", {"Code": code, "Description": description, "Main": main})
    for code, description, default in _GROUPS:
        _add(
            sim,
            div,
            "ItemGroups",
            {"Code": code, "Description": description, "IsDefault": default, "GLRevenue": gl["8000"],
             "GLCosts": gl["7000"], "GLStock": gl["3000"]},
        )  # fmt: skip
    return gl


def _items(sim: ExactSim, div: DivisionState, count: int) -> None:
    groups = {g["Code"]: g["ID"] for g in div.store("ItemGroups").records.values()}
    spec = ENTITIES["Items"]
    main = sim.engine.main_warehouse(div)
    for number in range(1, count + 1):
        name, group, price = PRODUCT_NAMES[(number - 1) % len(PRODUCT_NAMES)]
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
                "SalesVatCode": "1" if group in ("COFFEE", "TEA") else "2",
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
    ("Café Kanelbulle AB", "SE", "Stockholm", "111 52", "Drottninggatan 20", "SE25", "30", "UPS",
     ("Astrid", "Lindqvist", "astrid@kanelbulle.se")),
    ("Rösterei Müller GmbH", "DE", "Köln", "50667", "Hohe Straße 88", "3", "30", "DHL",
     ("Jonas", "Müller", "einkauf@roesterei-mueller.de")),
    ("Brasserie du Sablon", "BE", "Bruxelles", "1000", "Rue de Rollebeek 7", "3", "14", "PostNL",
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
