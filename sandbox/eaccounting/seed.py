"""`seed_demo(sim)`: a believable Swedish coffee wholesaler with customers across the Nordics and Europe.

Reference data (VAT codes, codings, units, terms, delivery methods, accounts) is written directly; the
customers, articles and orders go through the same validation as API writes, so the seed doubles as a
check that the simulator's own data satisfies the strict schema. Ids of seeded records are stable
(uuid5), so a restarted simulator keeps the ids the sync service stored cross-references for.

Article numbers `SKU-0001`..`SKU-0040` are shared with the Exact Online simulator's item codes;
`SKU-9999` exists only here (one ongoing order uses it, to demonstrate a record that fails to sync), and
`SHIPPING` is the service article web shops put freight on (orders have no shipping-amount field).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .domain import create_record, q2, shop_order
from .sim import EAccountingSim, Record, iso_date, iso_utc

__all__ = ["seed_demo"]

_NS = uuid.UUID("6f1c7d3e-2b8a-4e0f-9a51-4c2d8e7b9f10")

# (name, net price SEK, VAT class, unit, stock)
ARTICLES: list[tuple[str, str, str, str, str]] = [
    ("Espresso beans 1kg", "289.00", "food", "kg", "120"),
    ("Filter coffee 500g", "119.00", "food", "pcs", "240"),
    ("Decaf espresso beans 1kg", "299.00", "food", "kg", "35"),
    ("Cold brew coffee pack 4x250ml", "149.00", "food", "pcs", "60"),
    ("Green tea sencha 100g", "89.00", "food", "pcs", "80"),
    ("Earl Grey tea 100g", "79.00", "food", "pcs", "95"),
    ("Chai latte mix 250g", "109.00", "food", "pcs", "44"),
    ("Hot chocolate 500g", "129.00", "food", "pcs", "70"),
    ("Milk frother electric", "449.00", "goods", "pcs", "18"),
    ("Pour-over dripper ceramic", "259.00", "goods", "pcs", "25"),
    ("Paper filters size 2, 100 pcs", "39.00", "goods", "pcs", "400"),
    ("Burr grinder manual", "895.00", "goods", "pcs", "12"),
    ("French press 1L", "349.00", "goods", "pcs", "30"),
    ("Moka pot 6 cups", "399.00", "goods", "pcs", "22"),
    ("Travel mug 350ml", "219.00", "goods", "pcs", "85"),
    ("Ceramic cup 200ml", "99.00", "goods", "pcs", "150"),
    ("Espresso cup set 4 pcs", "329.00", "goods", "pcs", "40"),
    ("Barista tamper 58mm", "389.00", "goods", "pcs", "16"),
    ("Knock box", "279.00", "goods", "pcs", "14"),
    ("Cleaning tablets 100 pcs", "159.00", "goods", "pcs", "75"),
    ("Descaler 500ml", "119.00", "goods", "pcs", "66"),
    ("Gooseneck kettle 1L", "699.00", "goods", "pcs", "9"),
    ("Coffee scale with timer", "499.00", "goods", "pcs", "20"),
    ("Vanilla syrup 700ml", "119.00", "food", "pcs", "48"),
    ("Caramel syrup 700ml", "119.00", "food", "pcs", "52"),
    ("Oat drink barista 1L", "32.50", "food", "pcs", "300"),
    ("Almond biscotti 200g", "69.00", "food", "pcs", "110"),
    ("Dark chocolate 70% 100g", "45.00", "food", "pcs", "130"),
    ("Gift box small", "399.00", "goods", "pcs", "28"),
    ("Gift box large", "799.00", "goods", "pcs", "11"),
    ("Espresso machine home", "6990.00", "goods", "pcs", "4"),
    ("Portafilter bottomless 58mm", "749.00", "goods", "pcs", "7"),
    ("Milk jug 600ml", "229.00", "goods", "pcs", "33"),
    ("Tea infuser stainless", "79.00", "goods", "pcs", "90"),
    ("Matcha ceremonial 30g", "249.00", "food", "pcs", "26"),
    ("Rooibos tea 100g", "75.00", "food", "pcs", "64"),
    ("Espresso capsules 10 pcs", "49.00", "food", "pcs", "500"),
    ("Cold brew bottle 1L", "299.00", "goods", "pcs", "19"),
    ("Bean storage canister", "269.00", "goods", "pcs", "37"),
    ("Colombia single origin 250g", "139.00", "food", "pcs", "0"),
]

# (number, name, private, country, currency, city, postal code, street, e-mail)
CUSTOMERS: list[tuple[str, str, bool, str, str, str, str, str, str]] = [
    (
        "1001",
        "Café Lindqvist AB",
        False,
        "SE",
        "SEK",
        "Stockholm",
        "111 22",
        "Drottninggatan 12",
        "order@cafelindqvist.se",
    ),
    ("1002", "Anna Svensson", True, "SE", "SEK", "Göteborg", "411 05", "Linnégatan 4", "anna.svensson@example.se"),
    ("1003", "Kaffebrenneriet Bergen AS", False, "NO", "NOK", "Bergen", "5003", "Bryggen 7", "innkjop@kbbergen.no"),
    ("1004", "Ole Hansen", True, "NO", "NOK", "Oslo", "0150", "Karl Johans gate 20", "ole.hansen@example.no"),
    ("1005", "København Kaffebar ApS", False, "DK", "DKK", "København", "1050", "Nyhavn 31", "indkob@kbhkaffebar.dk"),
    ("1006", "Mette Nielsen", True, "DK", "DKK", "Aarhus", "8000", "Åboulevarden 9", "mette.nielsen@example.dk"),
    ("1007", "Helsinki Roastery Oy", False, "FI", "EUR", "Helsinki", "00100", "Esplanadi 3", "osto@hkiroastery.fi"),
    ("1008", "Matti Virtanen", True, "FI", "EUR", "Tampere", "33100", "Hämeenkatu 15", "matti.virtanen@example.fi"),
    (
        "1009",
        "Koffiehuis De Molen B.V.",
        False,
        "NL",
        "EUR",
        "Utrecht",
        "3511 AB",
        "Oudegracht 88",
        "inkoop@demolen.nl",
    ),
    ("1010", "Sanne de Vries", True, "NL", "EUR", "Amsterdam", "1015 CJ", "Prinsengracht 21", "sanne@example.nl"),
    (
        "1011",
        "Kaffeehaus Müller GmbH",
        False,
        "DE",
        "EUR",
        "Hamburg",
        "20095",
        "Mönckebergstraße 5",
        "einkauf@muller.de",
    ),
    ("1012", "Jonas Weber", True, "DE", "EUR", "Berlin", "10115", "Invalidenstraße 44", "jonas.weber@example.de"),
    (
        "1013",
        "Espressobaren i Malmö AB",
        False,
        "SE",
        "SEK",
        "Malmö",
        "211 20",
        "Stortorget 2",
        "info@espressobaren.se",
    ),
    ("1014", "Erik Johansson", True, "SE", "SEK", "Uppsala", "753 10", "Svartbäcksgatan 8", "erik.j@example.se"),
]

SEK_PER = {"SEK": Decimal(1), "NOK": Decimal("0.98"), "DKK": Decimal("1.55"), "EUR": Decimal("11.50")}

# (customer number, status, [(sku, qty)], shipping SEK or None, days ago)
ORDERS: list[tuple[str, int, list[tuple[str, int]], str | None, int]] = [
    ("1001", 2, [("SKU-0001", 10), ("SKU-0002", 20), ("SKU-0011", 5)], None, 1),
    ("1002", 2, [("SKU-0013", 1), ("SKU-0006", 2)], "59.00", 1),
    ("1003", 2, [("SKU-0001", 6), ("SKU-0024", 4), ("SKU-0025", 4), ("SKU-0026", 24)], "249.00", 2),
    ("1004", 1, [("SKU-0015", 2)], "79.00", 2),
    ("1005", 2, [("SKU-0012", 2), ("SKU-0018", 2), ("SKU-0019", 1), ("SKU-0020", 3), ("SKU-0021", 3)], None, 3),
    ("1006", 3, [("SKU-0029", 1)], "69.00", 5),
    ("1007", 2, [("SKU-0001", 12), ("SKU-0003", 4), ("SKU-0037", 50), ("SKU-9999", 1)], "299.00", 1),
    ("1008", 4, [("SKU-0035", 2), ("SKU-0034", 1)], "49.00", 9),
    ("1009", 3, [("SKU-0001", 8), ("SKU-0002", 8), ("SKU-0005", 6), ("SKU-0016", 24), ("SKU-0033", 4)], None, 4),
    ("1010", 2, [("SKU-0022", 1), ("SKU-0023", 1), ("SKU-0010", 1), ("SKU-0011", 2)], "99.00", 0),
    ("1011", 4, [("SKU-0031", 2), ("SKU-0032", 2), ("SKU-0018", 2)], None, 12),
    (
        "1013",
        2,
        [
            ("SKU-0001", 20),
            ("SKU-0002", 10),
            ("SKU-0004", 6),
            ("SKU-0007", 4),
            ("SKU-0008", 4),
            ("SKU-0024", 6),
            ("SKU-0025", 6),
            ("SKU-0026", 48),
            ("SKU-0027", 12),
            ("SKU-0028", 12),
        ],
        None,
        0,
    ),
    ("1014", 3, [("SKU-0009", 1), ("SKU-0028", 3)], "59.00", 6),
    ("1012", 1, [("SKU-0038", 1), ("SKU-0039", 2)], "129.00", 0),
    ("1001", 4, [("SKU-0001", 5), ("SKU-0036", 10)], None, 20),
]


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
        ("SE", "Sverige", True),
        ("NO", "Norge", False),
        ("DK", "Danmark", True),
        ("FI", "Finland", True),
        ("NL", "Nederländerna", True),
        ("DE", "Tyskland", True),
        ("GB", "Storbritannien", False),
        ("US", "USA", False),
        ("FR", "Frankrike", True),
        ("BE", "Belgien", True),
        ("AT", "Österrike", True),
        ("EE", "Estland", True),
    ]:
        _put(sim, "countries", {"Code": code, "Name": name, "IsEuMember": eu})
    for code in ("SEK", "EUR", "NOK", "DKK", "USD", "GBP"):
        _put(sim, "currencies", {"Code": code})

    for code, desc, rate, accounts in [
        ("MP1", "Utgående moms 25%", "0.25", (2611, 2614, 2615)),
        ("MP2", "Utgående moms 12%", "0.12", (2621, 2624, 2625)),
        ("MP3", "Utgående moms 6%", "0.06", (2631, 2634, 2635)),
        ("MF", "Momsfri försäljning 0%", "0", (None, None, None)),
        ("EUS", "Försäljning av varor till annat EU-land 0%", "0", (None, None, None)),
        ("EXP", "Export av varor utanför EU 0%", "0", (None, None, None)),
        ("IP", "Ingående moms", "0.25", (2641, None, None)),
    ]:
        related = {"AccountNumber1": accounts[0], "AccountNumber2": accounts[1], "AccountNumber3": accounts[2]}
        _put(sim, "vatcodes", {"Code": code, "Description": desc, "VatRate": Decimal(rate), "RelatedAccounts": related})

    changed = iso_utc(now - timedelta(days=30))
    for name, english, kind, rate, domestic in [
        ("Varor 25% moms", "Goods 25% VAT", "Goods", "0.25", 3001),
        ("Varor 12% moms", "Goods 12% VAT", "Goods", "0.12", 3002),
        ("Varor 6% moms", "Goods 6% VAT", "Goods", "0.06", 3003),
        ("Tjänster 25% moms", "Services 25% VAT", "Service", "0.25", 3041),
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
                "DomesticSalesSubjectToReversedConstructionVatAccountNumber": 3231,
                "DomesticSalesVatExemptAccountNumber": 3004,
                "ForeignSalesSubjectToMossAccountNumber": 3106,
                "ForeignSalesSubjectToThirdPartySalesAccountNumber": 3107,
                "ForeignSalesSubjectToVatWithinEuAccountNumber": 3108,
                "ForeignSalesVatExemptOutsideEuAccountNumber": 3105,
                "ForeignSalesVatExemptWithinEuAccountNumber": 3108,
                "DomesticSalesVatCodeExemptAccountNumber": 3004,
                "ChangedUtc": changed,
            },
        )
    for name, code, abbreviation in [
        ("Styck", "PCS", "st"),
        ("Kilogram", "KGM", "kg"),
        ("Timme", "HUR", "h"),
        ("Förpackning", "PK", "fp"),
    ]:
        _put(sim, "units", {"Name": name, "Code": code, "Abbreviation": abbreviation})
    for name, english, days, type_id, text in [
        ("10 dagar netto", "10 days net", 10, 0, "Normal"),
        ("30 dagar netto", "30 days net", 30, 0, "Normal"),
        ("Kontant", "Cash", 0, 1, "Cash"),
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
    for name, code in [("PostNord MyPack", "PNMP"), ("DHL Freight", "DHLF"), ("Bring", "BRING"), ("Hämtas", "PICK")]:
        _put(sim, "deliverymethods", {"Name": name, "Code": code})
    for name, code in [("Fritt vårt lager", "FCA"), ("Levererat", "DAP"), ("Fritt fabrik", "EXW")]:
        _put(sim, "deliveryterms", {"Name": name, "Code": code})
    for name in ("Coffee", "Tea", "Equipment", "Accessories"):
        _put(sim, "articlelabels", {"Name": name, "Description": f"{name} assortment"})

    centers = []
    for number, name, active in [(1, "Avdelning", True), (2, "Region", True), (3, "Kampanj", False)]:
        centers.append(_put(sim, "costcenters", {"Name": name, "Number": number, "IsActive": active}))
    for center, items in [
        (centers[0], [("Webshop", "WEB"), ("Retail", "RET"), ("Wholesale", "B2B")]),
        (centers[1], [("Nordics", "NORD"), ("DACH", "DACH"), ("Benelux", "BNL")]),
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
    mp1 = next(v for v in sim.table("vatcodes").values() if v["Code"] == "MP1")
    for year in years:
        for number, name, vat in _ACCOUNTS:
            values = {
                "Name": name,
                "Number": str(number),
                "FiscalYearId": year["Id"],
                "IsActive": True,
                "VatCodeId": mp1["Id"] if vat else None,
                "VatCodeDescription": mp1["Description"] if vat else None,
                "IsProjectAllowed": number >= 3000,
                "IsCostCenterAllowed": number >= 3000,
                "IsBlockedForManualBooking": False,
            }
            _put(sim, "accounts", values, key=f"{str(year['Id']).lower()}/{number}")

    terms30 = next(t for t in sim.table("termsofpayments").values() if t["NumberOfDays"] == 30)
    sim.company = dict.fromkeys(sim.spec.properties("CompanySettingsApi"))
    sim.company.update(
        {
            "Name": "Nordic Roast AB",
            "Email": "ekonomi@nordicroast.se",
            "Phone": "08-123 45 60",
            "Address1": "Roslagsgatan 10",
            "CountryCode": "SE",
            "PostalCode": "113 55",
            "City": "Stockholm",
            "Website": "https://nordicroast.example",
            "CurrencyCode": "SEK",
            "TermsOfPaymentId": terms30["Id"],
            "CorporateIdentityNumber": "556677-8899",
            "VatCode": "SE556677889901",
            "BankGiro": "123-4567",
            "Iban": "SE4550000000058398257466",
            "ProductVariant": 1,
            "TypeOfBusiness": 1,
            "VatPeriod": 1,
            # No stock module: with it, StockBalance is read-only (API description 2020) and the stock flow could
            # not set stock; `ledgerbridge doctor` says so for a company that has it.
            "ActivatedModules": ["api_standard", "order_standard"],
            "NextCustomerNumber": 1015,
            "NextSupplierNumber": 1,
            "NextCustomerInvoiceNumber": 10001,
            "NextQuoteNumber": 1,
            "ShowPricesExclVatPC": False,
        }
    )


_ACCOUNTS: list[tuple[int, str, bool]] = [
    (1510, "Kundfordringar", False),
    (1910, "Kassa", False),
    (1930, "Företagskonto", False),
    (1460, "Lager av handelsvaror", False),
    (2440, "Leverantörsskulder", False),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %", False),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %", False),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %", False),
    (2641, "Debiterad ingående moms", False),
    (3001, "Försäljning inom Sverige, 25 % moms", True),
    (3002, "Försäljning inom Sverige, 12 % moms", True),
    (3003, "Försäljning inom Sverige, 6 % moms", True),
    (3004, "Försäljning inom Sverige, momsfri", False),
    (3041, "Försäljning tjänster inom Sverige, 25 % moms", True),
    (3105, "Försäljning varor till land utanför EU", False),
    (3106, "Försäljning varor till annat EU-land, momspliktig", False),
    (3107, "Försäljning varor till annat EU-land, trepartshandel", False),
    (3108, "Försäljning varor till annat EU-land, momsfri", False),
    (3231, "Försäljning inom byggsektorn, omvänd skattskyldighet", False),
    (3740, "Öres- och kronutjämning", False),
    (4010, "Inköp material och varor", False),
    (6570, "Bankkostnader", False),
]


def _by(sim: EAccountingSim, table: str, field: str, value: Any) -> Record:
    return next(r for r in sim.table(table).values() if r.get(field) == value)


def _customers(sim: EAccountingSim) -> None:
    terms10 = _by(sim, "termsofpayments", "NumberOfDays", 10)
    terms30 = _by(sim, "termsofpayments", "NumberOfDays", 30)
    postnord = _by(sim, "deliverymethods", "Code", "PNMP")
    for number, name, private, country, currency, city, postal, street, email in CUSTOMERS:
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
            "TermsOfPaymentId": (terms10 if private else terms30)["Id"],
            "DeliveryMethodId": postnord["Id"],
        }
        if not private:
            body["ContactPersonName"] = "Inköp"
            body["ContactPersonEmail"] = email
            if country not in ("NO",):
                body["VatNumber"] = f"{country}{int(number) * 7919:010d}01"
        create_record(sim, "customers", body)
    sim.sequences["customer"] = 1014


def _articles(sim: EAccountingSim) -> None:
    codings = {r["Name"]: r for r in sim.table("articleaccountcodings").values()}
    units = {r["Abbreviation"]: r for r in sim.table("units").values()}
    labels = {r["Name"]: r for r in sim.table("articlelabels").values()}
    rows = [(f"SKU-{i:04d}", *spec) for i, spec in enumerate(ARTICLES, start=1)]
    rows.append(("SKU-9999", "Limited edition grinder (discontinued)", "1495.00", "goods", "pcs", "2"))
    for number, name, price, kind, unit, stock in rows:
        coding = codings["Varor 12% moms" if kind == "food" else "Varor 25% moms"]
        lower = name.lower()
        label = "Tea" if "tea" in lower or "matcha" in lower or "rooibos" in lower else "Coffee"
        label = label if kind == "food" else ("Equipment" if Decimal(price) >= 250 else "Accessories")
        body = {
            "IsActive": True,
            "Number": number,
            "Name": name,
            "NetPrice": Decimal(price),
            "CodingId": coding["Id"],
            "UnitId": units["kg" if unit == "kg" else "st"]["Id"],
            "StockBalance": Decimal(stock),
            "PurchasePrice": q2(Decimal(price) * Decimal("0.45")),
            "ArticleLabels": [{"Id": labels[label]["Id"], "Name": label}],
        }
        create_record(sim, "articles", body)
    shipping = {
        "IsActive": True,
        "Number": "SHIPPING",
        "Name": "Shipping",
        "NameEnglish": "Shipping",
        "NetPrice": Decimal("59.00"),
        "CodingId": codings["Tjänster 25% moms"]["Id"],
        "UnitId": units["st"]["Id"],
        "SendToWebshop": False,
    }
    create_record(sim, "articles", shipping)
    past = iso_utc(sim.now() - timedelta(days=2))
    for article in sim.table("articles").values():
        article["ChangedUtc"] = past
        article["StockBalanceManuallyChangedUtc"] = past


def _orders(sim: EAccountingSim) -> None:
    prices = {a["Number"]: Decimal(a["NetPrice"]) for a in sim.table("articles").values()}
    customers = {c["CustomerNumber"]: c for c in sim.table("customers").values()}
    now = sim.now()
    for index, (number, status, lines, shipping, days_ago) in enumerate(ORDERS):
        currency = customers[number]["CurrencyCode"]
        rate = SEK_PER[currency]
        rows = [{"article_number": sku, "quantity": qty, "unit_price": q2(prices[sku] / rate)} for sku, qty in lines]
        placed: datetime = now - timedelta(days=days_ago, hours=index)
        order = shop_order(
            sim,
            number,
            rows,
            status=status,
            shipping_amount=q2(Decimal(shipping) / rate) if shipping else None,
            your_reference=f"WEB-{20000 + index * 7}",
            order_date=iso_date(placed),
        )
        order["CreatedUtc"] = iso_utc(placed)
        order["ModifiedUtc"] = iso_utc(placed + timedelta(minutes=30 if status < 3 else 60 * 24))
        if order.get("ShippedDateTime"):
            order["ShippedDateTime"] = iso_date(placed + timedelta(days=1))
