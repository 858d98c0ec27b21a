"""`seed_demo(sim)`: a Dutch coffee roaster on Visma eAccounting NL (EUR; VAT 21 / 9 / 0 %), with customers at
home, in other EU countries (businesses with a VAT number and private persons) and outside the EU.

It is the same business as the Exact Online simulator's demo division (docs/vat.md says why a Dutch company on
Exact Online NL and eAccounting NL): the articles are `sandbox.catalogue`'s products, so article `SKU-0001` is
Exact item `SKU-0001` at the same price and VAT class. Every VAT situation occurs in the orders: domestic at 21 % and
9 %, a zero-rated gift card, intra-community supplies to EU businesses (reverse charge, no VAT), EU private persons
charged their own country's VAT (the company reports under the One Stop Shop: company setting `UsesMoss`), exports
outside the EU, foreign currencies (NOK, SEK, USD), row discounts, shipping rows and a cash rounding.

Reference data (VAT codes, codings, units, terms, delivery methods, accounts) is written directly; the
customers, articles and orders go through the same validation as API writes, so the seed doubles as a
check that the simulator's own data satisfies the strict schema. Ids of seeded records are stable
(uuid5), so a restarted simulator keeps the ids the sync service stored cross-references for.

`SKU-9999` exists only here: order 1007 names it, to demonstrate a record that fails to sync until someone creates
the item in Exact and replays it; `SHIPPING` is the service article web shops put freight on (orders have no
shipping-amount field).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.catalogue import PRODUCTS

from .domain import create_record, q2, shop_order
from .sim import EAccountingSim, Record, iso_date, iso_utc

__all__ = ["seed_demo"]

_NS = uuid.UUID("6f1c7d3e-2b8a-4e0f-9a51-4c2d8e7b9f10")

# Stock per article SKU-0001..SKU-0040, in catalogue order.
STOCK: tuple[int, ...] = (
    120, 240, 35, 60, 80, 95, 44, 70, 18, 25, 400, 12, 30, 22, 85, 150, 40, 16, 14, 75,
    66, 9, 20, 48, 52, 300, 110, 130, 28, 11, 4, 7, 33, 90, 26, 64, 500, 19, 37, 0,
)  # fmt: skip

# (number, name, private, country, currency, city, postal code, street, e-mail, terms, VAT number)
CUSTOMERS: list[tuple[str, str, bool, str, str, str, str, str, str, str, str | None]] = [
    ("1001", "Café De Jordaan B.V.", False, "NL", "EUR", "Amsterdam", "1016 DV", "Westerstraat 120",
     "inkoop@cafedejordaan.nl", "30", "NL812345678B01"),
    ("1002", "Lisa Bakker", True, "NL", "EUR", "Haarlem", "2011 RB", "Grote Houtstraat 45", "lisa.bakker@example.nl",
     "cash", None),
    ("1003", "Kaffebrenneriet Bergen AS", False, "NO", "NOK", "Bergen", "5003", "Bryggen 7", "innkjop@kbbergen.no",
     "30", None),
    ("1004", "Ole Hansen", True, "NO", "NOK", "Oslo", "0150", "Karl Johans gate 20", "ole.hansen@example.no", "card",
     None),
    ("1005", "København Kaffebar ApS", False, "DK", "EUR", "København", "1050", "Nyhavn 31", "indkob@kbhkaffebar.dk",
     "30", "DK31245678"),
    ("1006", "Lotte Peeters", True, "BE", "EUR", "Antwerpen", "2000", "Meir 50", "lotte.peeters@example.be", "card",
     None),
    ("1007", "Brasserie Le Sablon SRL", False, "BE", "EUR", "Bruxelles", "1000", "Rue de Rollebeek 9",
     "achats@lesablon.be", "30", "BE0412345678"),
    ("1008", "Camille Martin", True, "FR", "EUR", "Lyon", "69002", "Rue de la République 12",
     "camille.martin@example.fr", "card", None),
    ("1009", "Koffiehuis De Molen B.V.", False, "NL", "EUR", "Utrecht", "3511 AB", "Oudegracht 88",
     "inkoop@demolen.nl", "30", "NL856712345B01"),
    ("1010", "Sanne de Vries", True, "NL", "EUR", "Amsterdam", "1015 CJ", "Prinsengracht 21", "sanne@example.nl",
     "card", None),
    ("1011", "Kaffeehaus Müller GmbH", False, "DE", "EUR", "Hamburg", "20095", "Mönckebergstraße 5",
     "einkauf@muller.de", "8", "DE812345678"),
    ("1012", "Jonas Weber", True, "DE", "EUR", "Berlin", "10115", "Invalidenstraße 44", "jonas.weber@example.de",
     "card", None),
    ("1013", "Espressobaren i Malmö AB", False, "SE", "SEK", "Malmö", "211 20", "Stortorget 2",
     "info@espressobaren.se", "30", "SE556677889901"),
    ("1014", "Lukas Gruber", True, "AT", "EUR", "Wien", "1010", "Graben 19", "lukas.gruber@example.at", "card", None),
    ("1015", "Brooklyn Beans Inc.", False, "US", "USD", "Brooklyn", "11201", "45 Main Street",
     "purchasing@brooklynbeans.com", "30", None),
]  # fmt: skip

# Units of a currency per euro: the demo's prices in a customer's currency.
PER_EUR = {"EUR": Decimal(1), "NOK": Decimal("11.60"), "SEK": Decimal("11.20"), "USD": Decimal("1.08")}

Row = tuple[str, int] | tuple[str, int, str]  # (sku, quantity[, discount fraction])
# (customer, status, rows, shipping in the customer's currency or None, days ago, the customer's reference)
ORDERS: list[tuple[str, int, list[Row], str | None, int, str | None]] = [
    ("1001", 2, [("SKU-0001", 10), ("SKU-0002", 20, "0.05"), ("SKU-0020", 1)], None, 1, "PO-2026-031"),
    ("1002", 2, [("SKU-0013", 1), ("SKU-0032", 2)], "6.95", 1, None),
    ("1003", 2, [("SKU-0001", 6), ("SKU-0024", 4), ("SKU-0025", 4), ("SKU-0026", 24)], "249.00", 2, "BER-5521"),
    ("1004", 1, [("SKU-0015", 2)], "79.00", 2, None),
    ("1005", 2, [("SKU-0012", 2), ("SKU-0018", 2), ("SKU-0019", 1), ("SKU-0020", 3), ("SKU-0021", 3)], None, 3,
     "KBH-77"),
    ("1006", 3, [("SKU-0029", 1), ("SKU-0003", 2)], "6.95", 5, None),
    ("1007", 2, [("SKU-0001", 12), ("SKU-0003", 4), ("SKU-0037", 5), ("SKU-9999", 1)], "12.50", 1, "PO-BXL-1007"),
    ("1008", 4, [("SKU-0035", 2), ("SKU-0034", 1)], "6.95", 9, None),
    ("1009", 3, [("SKU-0001", 8), ("SKU-0002", 8, "0.10"), ("SKU-0005", 6), ("SKU-0016", 24), ("SKU-0033", 4)], None,
     4, "PO-77"),
    ("1010", 2, [("SKU-0022", 1), ("SKU-0023", 1), ("SKU-0010", 1), ("SKU-0040", 2)], "6.95", 0, None),
    ("1011", 4, [("SKU-0031", 2), ("SKU-0032", 2), ("SKU-0018", 2)], None, 12, "MÜ-2026-118"),
    ("1013", 2, [("SKU-0001", 20), ("SKU-0002", 10), ("SKU-0004", 6), ("SKU-0007", 4), ("SKU-0008", 4),
                 ("SKU-0024", 6), ("SKU-0025", 6), ("SKU-0026", 12), ("SKU-0027", 12), ("SKU-0028", 12)], None, 0,
     "Inköp 4411"),
    ("1014", 3, [("SKU-0009", 1), ("SKU-0028", 3)], "6.95", 6, None),
    ("1012", 1, [("SKU-0038", 1), ("SKU-0039", 2)], "6.95", 0, None),
    ("1001", 4, [("SKU-0001", 5), ("SKU-0036", 10)], None, 20, "PO-2026-007"),
    ("1015", 2, [("SKU-0020", 2), ("SKU-0004", 10)], "45.00", 1, "BB-PO-9931"),
    ("1012", 2, [("SKU-0001", 2), ("SKU-0021", 1)], "6.95", 0, None),
]  # fmt: skip


class _SeedIds:
    """Stable ids while seeding: uuid5 of table name and a running number."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, table: str) -> str:
        self.counts[table] = self.counts.get(table, 0) + 1
        return str(uuid.uuid5(_NS, f"{table}-{self.counts[table]}"))


def seed_demo(sim: EAccountingSim) -> None:
    """Fill an empty simulator with the demo company."""
    ids = _SeedIds()
    sim.id_factory = ids
    try:
        _reference_data(sim)
        _customers(sim)
        _articles(sim)
        _orders(sim)
    finally:
        sim.id_factory = None


def _put(sim: EAccountingSim, name: str, values: dict[str, Any], key: str | None = None) -> Record:
    from .resources import RESOURCES

    record = sim.blank(RESOURCES[name])
    record.update(values)
    return sim.put(name, record, key=key)


def _reference_data(sim: EAccountingSim) -> None:
    now = sim.now()
    for code, name, eu in [
        ("NL", "Nederland", True),
        ("BE", "België", True),
        ("DE", "Duitsland", True),
        ("FR", "Frankrijk", True),
        ("AT", "Oostenrijk", True),
        ("DK", "Denemarken", True),
        ("SE", "Zweden", True),
        ("FI", "Finland", True),
        ("LU", "Luxemburg", True),
        ("NO", "Noorwegen", False),
        ("GB", "Verenigd Koninkrijk", False),
        ("US", "Verenigde Staten", False),
    ]:
        _put(sim, "countries", {"Code": code, "Name": name, "IsEuMember": eu})
    for code in ("EUR", "USD", "GBP", "NOK", "SEK", "DKK", "CHF"):
        _put(sim, "currencies", {"Code": code})

    # The Dutch VAT return's boxes (rubrieken) as eAccounting NL names its VAT codes.
    for code, desc, rate, accounts in [
        ("1A", "Leveringen/diensten belast met hoog tarief 21%", "0.21", (1500, 8000, None)),
        ("1B", "Leveringen/diensten belast met laag tarief 9%", "0.09", (1510, 8010, None)),
        ("1E", "Leveringen/diensten belast met 0% of niet bij u belast", "0", (None, 8020, None)),
        ("3A", "Leveringen naar landen buiten de EU", "0", (None, 8200, None)),
        ("3B", "Leveringen naar of diensten in landen binnen de EU", "0", (None, 8100, None)),
        ("3C", "Afstandsverkopen binnen de EU (OSS)", "0", (1520, 8150, None)),
        ("5B", "Voorbelasting", "0.21", (1530, None, None)),
    ]:
        related = {"AccountNumber1": accounts[0], "AccountNumber2": accounts[1], "AccountNumber3": accounts[2]}
        _put(sim, "vatcodes", {"Code": code, "Description": desc, "VatRate": Decimal(rate), "RelatedAccounts": related})

    changed = iso_utc(now - timedelta(days=30))
    for name, english, kind, rate, domestic in [
        ("Goederen 21% btw", "Goods 21% VAT", "Goods", "0.21", 8000),
        ("Goederen 9% btw", "Goods 9% VAT", "Goods", "0.09", 8010),
        ("Goederen 0% btw", "Goods 0% VAT", "Goods", "0", 8020),
        ("Diensten 21% btw", "Services 21% VAT", "Service", "0.21", 8000),
    ]:
        _put(
            sim,
            "articleaccountcodings",
            {
                "Name": name,
                "NameEnglish": english,
                "Type": kind,
                "VatRate": f"{int(Decimal(rate) * 100)}%",
                "IsActive": True,
                "VatRatePercent": Decimal(rate),
                "DomesticSalesSubjectToVatAccountNumber": domestic,
                "DomesticSalesSubjectToReversedConstructionVatAccountNumber": 8030,
                "DomesticSalesVatExemptAccountNumber": 8020,
                "ForeignSalesSubjectToMossAccountNumber": 8150,
                "ForeignSalesSubjectToThirdPartySalesAccountNumber": 8110,
                "ForeignSalesSubjectToVatWithinEuAccountNumber": 8150,
                "ForeignSalesVatExemptOutsideEuAccountNumber": 8200,
                "ForeignSalesVatExemptWithinEuAccountNumber": 8100,
                "DomesticSalesVatCodeExemptAccountNumber": 8020,
                "ChangedUtc": changed,
            },
        )
    for name, code, abbreviation in [
        ("Stuks", "PCS", "st"),
        ("Kilogram", "KGM", "kg"),
        ("Uur", "HUR", "u"),
        ("Verpakking", "PK", "vp"),
    ]:
        _put(sim, "units", {"Name": name, "Code": code, "Abbreviation": abbreviation})
    # TermsOfPaymentTypeId: 0 Normal, 1 CurrentMonth, 2 Cash, 3 CardPayment, 4 DigitalWallet, 5 PSP (2020 API).
    for name, english, days, type_id, text in [
        ("8 dagen", "8 days", 8, 0, "Normal"),
        ("30 dagen", "30 days", 30, 0, "Normal"),
        ("Contant", "Cash", 0, 2, "Cash"),
        ("Betaalkaart/creditcard", "Card payment", 0, 3, "CardPayment"),
    ]:
        _put(
            sim,
            "termsofpayments",
            {
                "Name": name,
                "NameEnglish": english,
                "NumberOfDays": days,
                "TermsOfPaymentTypeId": type_id,
                "TermsOfPaymentTypeText": text,
                "AvailableForSales": True,
                "AvailableForPurchase": True,
            },
        )
    for name, code in [("PostNL Pakket", "PNP"), ("DHL Parcel", "DHLP"), ("Afhalen", "PICK")]:
        _put(sim, "deliverymethods", {"Name": name, "Code": code})
    for name, code in [("Free Carrier", "FCA"), ("Delivered at Place", "DAP"), ("Ex Works", "EXW")]:
        _put(sim, "deliveryterms", {"Name": name, "Code": code})
    for name in ("Coffee", "Tea", "Equipment", "Accessories", "Gift cards"):
        _put(sim, "articlelabels", {"Name": name, "Description": f"{name} assortment"})

    centers = []
    for number, name, active in [(1, "Afdeling", True), (2, "Regio", True), (3, "Campagne", False)]:
        centers.append(_put(sim, "costcenters", {"Name": name, "Number": number, "IsActive": active}))
    for center, items in [
        (centers[0], [("Webshop", "WEB"), ("Retail", "RET"), ("Wholesale", "B2B")]),
        (centers[1], [("Benelux", "BNL"), ("DACH", "DACH"), ("Export", "EXP")]),
    ]:
        for name, short in items:
            item = {"CostCenterId": center["Id"], "Name": name, "ShortName": short, "IsActive": True}
            _put(sim, "costcenteritems", item)

    years = []
    for year_number in (now.year - 1, now.year):
        record = {
            "StartDate": f"{year_number}-01-01T00:00:00",
            "EndDate": f"{year_number}-12-31T00:00:00",
            "IsLockedForAccounting": year_number < now.year,
            "BookkeepingMethod": 0,
        }
        years.append(_put(sim, "fiscalyears", record))
    vat_codes = {v["Code"]: v for v in sim.table("vatcodes").values()}
    for year in years:
        for number, name, vat in _ACCOUNTS:
            account_vat = vat_codes.get(vat) if vat else None
            values = {
                "Name": name,
                "Number": str(number),
                "FiscalYearId": year["Id"],
                "IsActive": True,
                "VatCodeId": account_vat["Id"] if account_vat else None,
                "VatCodeDescription": account_vat["Description"] if account_vat else None,
                "IsProjectAllowed": number >= 8000,
                "IsCostCenterAllowed": number >= 4000,
                "IsBlockedForManualBooking": False,
            }
            _put(sim, "accounts", values, key=f"{str(year['Id']).lower()}/{number}")

    terms30 = next(t for t in sim.table("termsofpayments").values() if t["NumberOfDays"] == 30)
    sim.company = dict.fromkeys(sim.spec.properties("CompanySettingsApi"))
    sim.company.update(
        {
            "Name": "Koffiebranderij De Gouden Boon B.V.",
            "Email": "administratie@goudenboon.nl",
            "Phone": "030 123 45 60",
            "Address1": "Kanaalweg 14",
            "CountryCode": "NL",
            "PostalCode": "3526 KL",
            "City": "Utrecht",
            "Website": "https://goudenboon.example",
            "CurrencyCode": "EUR",
            "TermsOfPaymentId": terms30["Id"],
            "CorporateIdentityNumber": "30123456",
            "VatCode": "NL859012345B01",
            "Iban": "NL91ABNA0417164300",
            "Bic": "ABNANL2A",
            "ProductVariant": 1,
            "TypeOfBusiness": 1,
            "VatPeriod": 3,
            # No stock module: with it, StockBalance is read-only (API description 2020) and the stock flow could
            # not set stock; `ledgerbridge doctor` says so for a company that has it.
            "ActivatedModules": ["api_standard", "order_standard"],
            "NextCustomerNumber": 1016,
            "NextSupplierNumber": 1,
            "NextCustomerInvoiceNumber": 10001,
            "NextQuoteNumber": 1,
            "ShowPricesExclVatPC": False,
            # The 2020 API's flag for the (Mini) One Stop Shop: EU private persons pay their own country's VAT.
            "UsesMoss": True,
        }
    )


# (number, name, VAT code of the account or None)
_ACCOUNTS: list[tuple[int, str, str | None]] = [
    (1000, "Kas", None),
    (1100, "Bank", None),
    (1300, "Debiteuren", None),
    (1500, "Af te dragen btw hoog tarief", None),
    (1510, "Af te dragen btw laag tarief", None),
    (1520, "Af te dragen btw OSS", None),
    (1530, "Te vorderen btw (voorbelasting)", None),
    (1600, "Crediteuren", None),
    (3000, "Voorraad handelsgoederen", None),
    (4400, "Bankkosten", None),
    (7000, "Inkoopwaarde van de omzet", None),
    (8000, "Omzet hoog tarief", "1A"),
    (8010, "Omzet laag tarief", "1B"),
    (8020, "Omzet 0% en vrijgesteld", "1E"),
    (8030, "Omzet verlegde btw", None),
    (8100, "Omzet intracommunautaire leveringen", "3B"),
    (8110, "Omzet ABC-leveringen", "3B"),
    (8150, "Omzet afstandsverkopen EU (OSS)", "3C"),
    (8200, "Omzet export buiten de EU", "3A"),
    (8900, "Afrondingsverschillen", None),
]


def _by(sim: EAccountingSim, table: str, field: str, value: Any) -> Record:
    return next(r for r in sim.table(table).values() if r.get(field) == value)


def _customers(sim: EAccountingSim) -> None:
    terms = {
        "8": _by(sim, "termsofpayments", "NumberOfDays", 8),
        "30": _by(sim, "termsofpayments", "NumberOfDays", 30),
        "cash": _by(sim, "termsofpayments", "TermsOfPaymentTypeId", 2),
        "card": _by(sim, "termsofpayments", "TermsOfPaymentTypeId", 3),
    }
    postnl = _by(sim, "deliverymethods", "Code", "PNP")
    for number, name, private, country, currency, city, postal, street, email, term, vat in CUSTOMERS:
        body: dict[str, Any] = {
            "CustomerNumber": number,
            "Name": name,
            "IsPrivatePerson": private,
            "IsActive": True,
            "InvoiceAddress1": street,
            "InvoiceCity": city,
            "InvoicePostalCode": postal,
            "InvoiceCountryCode": country,
            "CurrencyCode": currency,
            "EmailAddress": email,
            "TermsOfPaymentId": terms[term]["Id"],
            "DeliveryMethodId": postnl["Id"],
        }
        if not private:
            body["ContactPersonName"] = "Inkoop"
            body["ContactPersonEmail"] = email
        if vat:
            body["VatNumber"] = vat
        create_record(sim, "customers", body)
    sim.sequences["customer"] = int(CUSTOMERS[-1][0])


_LABELS = {"COFFEE": "Coffee", "TEA": "Tea", "EQUIP": "Equipment", "ACC": "Accessories", "GIFT": "Gift cards"}
_CODINGS = {"standard": "Goederen 21% btw", "reduced": "Goederen 9% btw", "zero": "Goederen 0% btw"}


def _articles(sim: EAccountingSim) -> None:
    codings = {r["Name"]: r for r in sim.table("articleaccountcodings").values()}
    units = {r["Abbreviation"]: r for r in sim.table("units").values()}
    labels = {r["Name"]: r for r in sim.table("articlelabels").values()}
    rows = [(*product, str(stock)) for product, stock in zip(PRODUCTS, STOCK, strict=True)]
    rows.append(("SKU-9999", "Limited edition grinder (discontinued)", "EQUIP", "129.00", "standard", "2"))
    for number, name, group, price, vat_class, stock in rows:
        body = {
            "IsActive": True,
            "Number": number,
            "Name": name,
            "NetPrice": Decimal(price),
            "CodingId": codings[_CODINGS[vat_class]]["Id"],
            "UnitId": units["kg" if name.endswith("1kg") else "st"]["Id"],
            "StockBalance": Decimal(stock),
            "PurchasePrice": q2(Decimal(price) * Decimal("0.45")),
            "ArticleLabels": [{"Id": labels[_LABELS[group]]["Id"], "Name": _LABELS[group]}],
        }
        create_record(sim, "articles", body)
    shipping = {
        "IsActive": True,
        "Number": "SHIPPING",
        "Name": "Verzendkosten",
        "NameEnglish": "Shipping",
        "NetPrice": Decimal("6.95"),
        "CodingId": codings["Diensten 21% btw"]["Id"],
        "UnitId": units["st"]["Id"],
        "SendToWebshop": False,
    }
    create_record(sim, "articles", shipping)
    past = iso_utc(sim.now() - timedelta(days=2))
    for article in sim.table("articles").values():
        article["ChangedUtc"] = past
        article["StockBalanceManuallyChangedUtc"] = past


def _cash_rounding(gross: Decimal) -> Decimal:
    """What rounding the gross amount to 5 cents adds (Dutch cash payments)."""
    rounded = (gross / Decimal("0.05")).quantize(Decimal(1), rounding=ROUND_HALF_UP) * Decimal("0.05")
    return rounded - gross


def _orders(sim: EAccountingSim) -> None:
    prices = {a["Number"]: Decimal(a["NetPrice"]) for a in sim.table("articles").values()}
    customers = {c["CustomerNumber"]: c for c in sim.table("customers").values()}
    cash = _by(sim, "termsofpayments", "TermsOfPaymentTypeId", 2)["Id"]
    now = sim.now()
    for index, (number, status, lines, shipping, days_ago, reference) in enumerate(ORDERS):
        customer = customers[number]
        rate = PER_EUR[customer["CurrencyCode"]]
        rows: list[dict[str, Any]] = []
        for line in lines:
            row: dict[str, Any] = {"article_number": line[0], "quantity": line[1]}
            row["unit_price"] = q2(prices[line[0]] * rate)
            if len(line) == 3:
                row["discount_percentage"] = Decimal(line[2])
            rows.append(row)
        placed: datetime = now - timedelta(days=days_ago, hours=index)
        order = shop_order(
            sim,
            number,
            rows,
            status=status,
            shipping_amount=Decimal(shipping) if shipping else None,
            your_reference=reference,
            order_date=iso_date(placed),
        )
        if customer["TermsOfPaymentId"] == cash:
            order["RoundingsAmount"] = _cash_rounding(order["Amount"] + order["VatAmount"])
        order["CreatedUtc"] = iso_utc(placed)
        order["ModifiedUtc"] = iso_utc(placed + timedelta(minutes=30 if status < 3 else 60 * 24))
        if order.get("ShippedDateTime"):
            order["ShippedDateTime"] = iso_date(placed + timedelta(days=1))
