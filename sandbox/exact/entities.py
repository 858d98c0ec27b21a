"""Entity and view definitions: which properties each endpoint has, which are writable, required, references.

Every endpoint and every property comes from the vendor reference (`reference.py`: `exact-entities.json`, picqer's
entity list): an endpoint it lacks cannot be defined here, and a modeled property it does not list for THAT endpoint
fails at import (`_entity`). The tables below model what the simulator computes or checks (docs/exact-online-api.md
§9), in a compact notation: `Name:kind` with suffix `!` = mandatory on POST and `~` = read-only (computed by Exact;
sent values are ignored, as OData does). Kinds: str, guid, int, decimal, bool, datetime. The reference's other
fields of the endpoint are added with the kind of their docblock type (`reference.kind_of`), null until written,
read-only by `reference.derived_read_only`. Audit properties the simulator stamps on every record are only served
where the reference lists them. Sync and bulk views take their fields from the reference's own sync/bulk entity,
which differs from the regular one (`sync/Inventory/ItemWarehouses` has no quantities; `sync/Logistics/Items` no
`StandardSalesPrice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.exact.reference import AUDIT_FIELDS, derived_read_only, kind_of, reference

__all__ = [
    "BULK_VIEWS",
    "ENTITIES",
    "SYNC_VIEWS",
    "TOPICS",
    "EntitySpec",
    "LineSpec",
    "ViewSpec",
    "entity_by_path",
    "view_by_path",
]


@dataclass(frozen=True)
class LineSpec:
    """A line collection created in the same POST as its header (deep insert)."""

    nav: str  # SalesOrderLines
    entity: str  # name of the line entity
    parent_field: str  # OrderID on the line


@dataclass(frozen=True)
class EntitySpec:
    name: str
    path: str
    type_name: str
    key: str
    kinds: dict[str, str]
    required: tuple[str, ...]
    readonly: frozenset[str]
    refs: dict[str, str] = field(default_factory=dict)  # property -> "Entity" (GUID) or "code:Entity"
    methods: frozenset[str] = frozenset({"GET"})
    lines: LineSpec | None = None
    scope: str = ""
    select_required: bool = False
    has_sync: bool = False  # regular endpoint with a sync counterpart -> mandatory $filter
    topic: str | None = None
    deleted_type: int | None = None
    immutable: frozenset[str] = frozenset()  # cannot change on PUT
    code_field: str | None = None  # unique, indexed
    modeled: frozenset[str] = frozenset()  # the properties the tables below define (records carry only these)


def _props(text: str) -> tuple[dict[str, str], tuple[str, ...], frozenset[str]]:
    kinds: dict[str, str] = {}
    required: list[str] = []
    readonly: set[str] = set()
    for word in text.split():
        flag = ""
        while word[-1] in "!~":
            flag += word[-1]
            word = word[:-1]
        name, _, kind = word.partition(":")
        kinds[name] = kind or "str"
        if "!" in flag:
            required.append(name)
        if "~" in flag:
            readonly.add(name)
    return kinds, tuple(required), frozenset(readonly)


def _entity(name: str, path: str, type_name: str, key: str, props: str, **kw: object) -> EntitySpec:
    """The endpoint's properties: the modeled ones (each checked against the reference) plus the reference's others."""
    kinds, required, readonly = _props(props)
    listed = reference().fields(path)  # KeyError: the reference has no such endpoint
    for prop in list(kinds):
        if prop in listed:
            continue
        if prop not in AUDIT_FIELDS:
            raise ValueError(f"{path}: {prop!r} is not a field of this endpoint in the reference")
        del kinds[prop]  # stamped on the record, not served: the reference does not list it here
    lines = kw.get("lines")
    if isinstance(lines, LineSpec) and not listed.get(lines.nav, "").endswith("[]"):
        raise ValueError(f"{path}: {lines.nav!r} is not a collection field in the reference")
    modeled = frozenset(kinds)
    read_only = set(readonly) & modeled | {key}
    for prop, php_type in listed.items():
        if prop in kinds or php_type.endswith("[]"):
            continue
        kinds[prop] = kind_of(php_type)
        if derived_read_only(prop, listed):
            read_only.add(prop)
    return EntitySpec(
        name=name,
        path=path,
        type_name=f"Exact.Web.Api.Models.{type_name}",
        key=key,
        kinds=kinds,
        required=required,
        readonly=frozenset(read_only),
        modeled=modeled,
        **kw,  # type: ignore[arg-type]
    )


# The free fields of an item (reference §9.3): what users put their own data in (custom fields, filters).
_ITEM_FREE_FIELDS = " ".join(
    [f"FreeTextField_{n:02d}" for n in range(1, 11)]
    + [f"FreeNumberField_{n:02d}:decimal" for n in range(1, 9)]
    + [f"FreeDateField_{n:02d}:datetime" for n in range(1, 6)]
    + [f"FreeBoolField_{n:02d}:bool" for n in range(1, 6)]
)
_AUDIT = "Created:datetime~ Creator:guid~ Modified:datetime~ Modifier:guid~ Division:int~"
_RW = frozenset({"GET", "POST", "PUT", "DELETE"})

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in [
        _entity(
            "Accounts",
            "crm/Accounts",
            "CRM.Account",
            "ID",
            "ID:guid~ Code Name! SearchCode Email Phone Website VATNumber ChamberOfCommerce AddressLine1 AddressLine2"
            " AddressLine3 Postcode City Country State Language IsSales:bool IsSupplier:bool"
            " Blocked:bool StartDate:datetime EndDate:datetime Status Type SalesVATCode PurchaseVATCode"
            " PaymentConditionSales PaymentConditionPurchase SalesCurrency ShippingMethod:guid InvoicingMethod:int"
            " InvoiceAccount:guid DiscountSales:decimal CreditLineSales:decimal GLAccountSales:guid"
            " MainContact:guid Parent:guid PeppolIdentifier PeppolIdentifierType:int EORINumber Remarks " + _AUDIT,
            refs={
                "SalesVATCode": "code:VATCodes",
                "PurchaseVATCode": "code:VATCodes",
                "PaymentConditionSales": "code:PaymentConditions",
                "PaymentConditionPurchase": "code:PaymentConditions",
                "ShippingMethod": "ShippingMethods",
                "InvoiceAccount": "Accounts",
                "Parent": "Accounts",
                "MainContact": "Contacts",
                "GLAccountSales": "GLAccounts",
            },
            methods=_RW,
            scope="Crm accounts",
            has_sync=True,
            topic="Accounts",
            deleted_type=2,
            code_field="Code",
        ),
        _entity(
            "Contacts",
            "crm/Contacts",
            "CRM.Contact",
            "ID",
            "ID:guid~ Account:guid! AccountName~ AccountIsCustomer:bool~ FirstName LastName FullName~ Initials Email"
            " BusinessEmail Phone Mobile IsMainContact:bool JobTitleDescription Language AddressLine2 Postcode City"
            " Country Notes " + _AUDIT,
            refs={"Account": "Accounts"},
            methods=_RW,
            scope="Crm accounts",
            has_sync=True,
            topic="Contacts",
            deleted_type=5,
        ),
        _entity(
            "Items",
            "logistics/Items",
            "Logistics.Item",
            "ID",
            "ID:guid~ Code! Description! ExtraDescription Barcode IsSalesItem:bool IsPurchaseItem:bool IsStockItem:bool"
            " IsWebshopItem:int IsFractionAllowedItem:bool IsSerialItem:bool IsBatchItem:bool ItemGroup:guid"
            " ItemGroupCode~ ItemGroupDescription~ Unit UnitDescription~ UnitType~ SalesVatCode"
            " SalesVatCodeDescription~ CostPriceStandard:decimal CostPriceNew:decimal AverageCost:decimal~"
            " StandardSalesPrice:decimal Stock:decimal~ GLRevenue:guid GLCosts:guid GLStock:guid StartDate:datetime"
            " EndDate:datetime GrossWeight:decimal NetWeight:decimal Notes " + _ITEM_FREE_FIELDS + " " + _AUDIT,
            refs={
                "ItemGroup": "ItemGroups",
                "Unit": "code:Units",
                "SalesVatCode": "code:VATCodes",
                "GLRevenue": "GLAccounts",
                "GLCosts": "GLAccounts",
                "GLStock": "GLAccounts",
            },
            methods=_RW,
            scope="Logistics items",
            has_sync=True,
            topic="Items",
            deleted_type=9,
            code_field="Code",
        ),
        _entity(
            "ItemGroups",
            "logistics/ItemGroups",
            "Logistics.ItemGroup",
            "ID",
            "ID:guid~ Code! Description! GLRevenue:guid GLCosts:guid GLStock:guid IsDefault:int " + _AUDIT,
            refs={"GLRevenue": "GLAccounts", "GLCosts": "GLAccounts", "GLStock": "GLAccounts"},
            methods=frozenset({"GET", "POST", "PUT"}),
            scope="Logistics items",
            code_field="Code",
        ),
        _entity(
            "Units",
            "logistics/Units",
            "Logistics.Unit",
            "ID",
            "ID:guid~ Code! Description! Main:int Type Active:bool " + _AUDIT,
            scope="Logistics items",
            code_field="Code",
        ),
        _entity(
            "Warehouses",
            "inventory/Warehouses",
            "Inventory.Warehouse",
            "ID",
            "ID:guid~ Code! Description! Main:int " + _AUDIT,
            scope="Logistics inventory",
            code_field="Code",
        ),
        _entity(
            "ItemWarehouses",
            "inventory/ItemWarehouses",
            "Inventory.ItemWarehouse",
            "ID",
            "ID:guid~ Item:guid~ ItemCode~ ItemDescription~ Warehouse:guid~ WarehouseCode~ CurrentStock:decimal~"
            " PlannedStockIn:decimal~ PlannedStockOut:decimal~ ProjectedStock:decimal~ ReservedStock:decimal~"
            " SafetyStock:decimal ReorderPoint:decimal MaximumStock:decimal DefaultStorageLocation:guid " + _AUDIT,
            scope="Logistics inventory",
            has_sync=True,
            topic="StockPositions",
            deleted_type=19,
        ),
        _entity(
            "SalesOrders",
            "salesorder/SalesOrders",
            "SalesOrder.SalesOrder",
            "OrderID",
            "OrderID:guid~ OrderNumber:int OrderDate:datetime DeliveryDate:datetime Description YourRef Remarks"
            " OrderedBy:guid! OrderedByName~ OrderedByContactPerson:guid DeliverTo:guid DeliverToName~"
            " DeliverToContactPerson:guid InvoiceTo:guid InvoiceToName~ DeliveryAddress:guid PaymentCondition"
            " PaymentConditionDescription~ PaymentReference ShippingMethod:guid ShippingMethodDescription~"
            " WarehouseID:guid WarehouseCode~ Currency Salesperson:guid Status:int~ StatusDescription~"
            " DeliveryStatus:int~ DeliveryStatusDescription~ InvoiceStatus:int~ InvoiceStatusDescription~"
            " ApprovalStatus:int ApprovalStatusDescription~ AmountFC:decimal~ AmountDC:decimal~"
            " AmountFCExclVat:decimal~ AmountDiscount:decimal~ Discount:decimal " + _AUDIT,
            refs={
                "OrderedBy": "Accounts",
                "DeliverTo": "Accounts",
                "InvoiceTo": "Accounts",
                "OrderedByContactPerson": "Contacts",
                "DeliverToContactPerson": "Contacts",
                "PaymentCondition": "code:PaymentConditions",
                "ShippingMethod": "ShippingMethods",
                "WarehouseID": "Warehouses",
            },
            methods=_RW,
            lines=LineSpec("SalesOrderLines", "SalesOrderLines", "OrderID"),
            scope="Sales orders",
            has_sync=True,
            topic="SalesOrders",
            deleted_type=32,
            immutable=frozenset({"OrderedBy", "DeliverTo", "InvoiceTo"}),
        ),
        _entity(
            "SalesOrderLines",
            "salesorder/SalesOrderLines",
            "SalesOrder.SalesOrderLine",
            "ID",
            "ID:guid~ OrderID:guid! OrderNumber:int~ LineNumber:int~ Item:guid! ItemCode~ ItemDescription~ Description"
            " Quantity:decimal! UnitPrice:decimal NetPrice:decimal~ Discount:decimal AmountFC:decimal~"
            " AmountDC:decimal~ VATCode VATPercentage:decimal~ VATAmount:decimal~ UnitCode DeliveryDate:datetime"
            " CostCenter CostUnit Notes QuantityDelivered:decimal~ QuantityInvoiced:decimal~ DeliveryStatus:int~"
            " InvoiceStatus:int~ OrderStatus:int~ " + _AUDIT,
            refs={
                "OrderID": "SalesOrders",
                "Item": "Items",
                "VATCode": "code:VATCodes",
                "UnitCode": "code:Units",
                "CostCenter": "code:Costcenters",
                "CostUnit": "code:Costunits",
            },
            methods=_RW,
            scope="Sales orders",
            has_sync=True,
            topic="SalesOrders",
            deleted_type=33,
            immutable=frozenset({"OrderID", "Item"}),
        ),
        _entity(
            "SalesInvoices",
            "salesinvoice/SalesInvoices",
            "SalesInvoice.SalesInvoice",
            "InvoiceID",
            "InvoiceID:guid~ InvoiceNumber:int~ Journal! Type:int OrderedBy:guid! OrderedByName~ InvoiceTo:guid"
            " DeliverTo:guid InvoiceDate:datetime OrderNumber:int OrderDate:datetime DueDate:datetime PaymentCondition"
            " PaymentReference YourRef Description Remarks Currency Discount:decimal ShippingMethod:guid"
            " Salesperson:guid Warehouse:guid Status:int~ StatusDescription~ AmountFC:decimal~"
            " AmountFCExclVat:decimal~ VATAmountFC:decimal~ AmountDC:decimal~ " + _AUDIT,
            refs={
                "Journal": "code:Journals",
                "OrderedBy": "Accounts",
                "InvoiceTo": "Accounts",
                "DeliverTo": "Accounts",
                "PaymentCondition": "code:PaymentConditions",
                "ShippingMethod": "ShippingMethods",
                "Warehouse": "Warehouses",
            },
            methods=_RW,
            lines=LineSpec("SalesInvoiceLines", "SalesInvoiceLines", "InvoiceID"),
            scope="Sales invoices",
            has_sync=True,
            topic="SalesInvoices",
            deleted_type=13,
            immutable=frozenset({"OrderedBy", "Type", "Journal"}),
        ),
        _entity(
            "SalesInvoiceLines",
            "salesinvoice/SalesInvoiceLines",
            "SalesInvoice.SalesInvoiceLine",
            "ID",
            "ID:guid~ InvoiceID:guid! LineNumber:int~ Item:guid ItemCode~ Description Quantity:decimal"
            " UnitPrice:decimal NetPrice:decimal~ Discount:decimal AmountFC:decimal~ VATCode VATPercentage:decimal~"
            " VATAmountFC:decimal~ GLAccount:guid CostCenter CostUnit UnitCode DeliveryDate:datetime SalesOrder:guid"
            " SalesOrderLine:guid Notes " + _AUDIT,
            refs={
                "InvoiceID": "SalesInvoices",
                "Item": "Items",
                "VATCode": "code:VATCodes",
                "GLAccount": "GLAccounts",
                "CostCenter": "code:Costcenters",
                "CostUnit": "code:Costunits",
                "UnitCode": "code:Units",
                "SalesOrder": "SalesOrders",
                "SalesOrderLine": "SalesOrderLines",
            },
            methods=frozenset({"GET"}),
            scope="Sales invoices",
            has_sync=True,
        ),
        _entity(
            "SalesEntries",
            "salesentry/SalesEntries",
            "SalesEntry.SalesEntry",
            "EntryID",
            "EntryID:guid~ EntryNumber:int~ Customer:guid! CustomerName~ Journal! EntryDate:datetime InvoiceNumber:int"
            " YourRef Description PaymentCondition PaymentReference Currency Rate:decimal ReportingYear:int"
            " ReportingPeriod:int DueDate:datetime Type:int Status:int~ AmountFC:decimal~ AmountDC:decimal~"
            " VATAmountFC:decimal~ " + _AUDIT,
            refs={"Customer": "Accounts", "Journal": "code:Journals", "PaymentCondition": "code:PaymentConditions"},
            methods=_RW,
            lines=LineSpec("SalesEntryLines", "SalesEntryLines", "EntryID"),
            scope="Financial accounting",
            topic="FinancialTransactions",
        ),
        _entity(
            "SalesEntryLines",
            "salesentry/SalesEntryLines",
            "SalesEntry.SalesEntryLine",
            "ID",
            "ID:guid~ EntryID:guid! LineNumber:int~ GLAccount:guid! AmountFC:decimal! VATCode VATAmountFC:decimal"
            " VATPercentage:decimal~ CostCenter CostUnit Description Quantity:decimal From:datetime To:datetime "
            + _AUDIT,
            refs={
                "EntryID": "SalesEntries",
                "GLAccount": "GLAccounts",
                "VATCode": "code:VATCodes",
                "CostCenter": "code:Costcenters",
                "CostUnit": "code:Costunits",
            },
            scope="Financial accounting",
        ),
        _entity(
            "GeneralJournalEntries",
            "generaljournalentry/GeneralJournalEntries",
            "GeneralJournalEntry.GeneralJournalEntry",
            "EntryID",
            "EntryID:guid~ EntryNumber:int~ JournalCode! JournalDescription~ FinancialYear:int FinancialPeriod:int"
            " Currency ExchangeRate:decimal Reversal:bool Type:int Status:int~ " + _AUDIT,
            refs={"JournalCode": "code:Journals"},
            methods=frozenset({"GET", "POST"}),
            lines=LineSpec("GeneralJournalEntryLines", "GeneralJournalEntryLines", "EntryID"),
            scope="Financial accounting",
            select_required=True,
            topic="FinancialTransactions",
        ),
        _entity(
            "GeneralJournalEntryLines",
            "generaljournalentry/GeneralJournalEntryLines",
            "GeneralJournalEntry.GeneralJournalEntryLine",
            "ID",
            "ID:guid~ EntryID:guid! LineNumber:int~ GLAccount:guid! AmountFC:decimal! AmountVATFC:decimal VATCode"
            " Date:datetime Description Account:guid CostCenter CostUnit Quantity:decimal OurRef:int " + _AUDIT,
            refs={
                "EntryID": "GeneralJournalEntries",
                "GLAccount": "GLAccounts",
                "VATCode": "code:VATCodes",
                "Account": "Accounts",
                "CostCenter": "code:Costcenters",
                "CostUnit": "code:Costunits",
            },
            scope="Financial accounting",
            select_required=True,
        ),
        _entity(
            "GoodsDeliveries",
            "salesorder/GoodsDeliveries",
            "SalesOrder.GoodsDelivery",
            "EntryID",
            "EntryID:guid~ DeliveryNumber:int~ EntryNumber:int~ DeliveryDate:datetime! DeliveryAccount:guid~"
            " DeliveryAccountCode~ DeliveryAccountName~ DeliveryAddress:guid DeliveryContact:guid Description Remarks"
            " TrackingNumber ShippingMethod:guid ShippingMethodCode~ ShippingMethodDescription~ Warehouse:guid"
            " WarehouseCode~ Document:guid " + _AUDIT,
            refs={"ShippingMethod": "ShippingMethods", "Warehouse": "Warehouses", "DeliveryContact": "Contacts"},
            methods=frozenset({"GET", "POST", "PUT"}),
            lines=LineSpec("GoodsDeliveryLines", "GoodsDeliveryLines", "EntryID"),
            scope="Sales orders",
            select_required=True,
            has_sync=True,
            topic="GoodsDeliveries",
            deleted_type=16,
        ),
        _entity(
            "GoodsDeliveryLines",
            "salesorder/GoodsDeliveryLines",
            "SalesOrder.GoodsDeliveryLine",
            "ID",
            "ID:guid~ EntryID:guid~ LineNumber:int~ SalesOrderLineID:guid! SalesOrderNumber:int~"
            " SalesOrderLineNumber:int~ Item:guid~ ItemCode~ ItemDescription~ QuantityOrdered:decimal~"
            " QuantityDelivered:decimal! TrackingNumber StorageLocation:guid Notes DeliveryDate:datetime~ " + _AUDIT,
            refs={"SalesOrderLineID": "SalesOrderLines"},
            scope="Sales orders",
            select_required=True,
            has_sync=True,
            deleted_type=17,
        ),
        _entity(
            "VATCodes",
            "vat/VATCodes",
            "VAT.VATCode",
            "ID",
            "ID:guid~ Code! Description! Percentage:decimal Type VATTransactionType EUSalesListing Charged:bool"
            " IsBlocked:bool GLToPay:guid GLToClaim:guid LegalText OssCountry " + _AUDIT,
            scope="Financial VAT",
            code_field="Code",
        ),
        _entity(
            "PaymentConditions",
            "cashflow/PaymentConditions",
            "Cashflow.PaymentCondition",
            "ID",
            "ID:guid~ Code! Description! PaymentDays:int PaymentEndOfMonths:int DiscountPercentage:decimal"
            " DiscountPaymentDays:int PaymentMethod " + _AUDIT,
            scope="Financial cashflow",
            code_field="Code",
        ),
        _entity(
            "ShippingMethods",
            "sales/ShippingMethods",
            "Sales.ShippingMethod",
            "ID",
            "ID:guid~ Code! Description! Active:bool Amount:decimal VATCode TrackingURL Notes " + _AUDIT,
            scope="Sales orders",
            code_field="Code",
        ),
        _entity(
            "Costcenters",
            "hrm/Costcenters",
            "HRM.Costcenter",
            "ID",
            "ID:guid~ Code! Description! EndDate:datetime " + _AUDIT,
            scope="Financial accounting",
            code_field="Code",
        ),
        _entity(
            "Costunits",
            "hrm/Costunits",
            "HRM.Costunit",
            "ID",
            "ID:guid~ Code! Description! EndDate:datetime " + _AUDIT,
            scope="Financial accounting",
            code_field="Code",
        ),
        _entity(
            "GLAccounts",
            "financial/GLAccounts",
            "Financial.GLAccount",
            "ID",
            "ID:guid~ Code! Description! Type:int BalanceSide BalanceType VATCode IsBlocked:bool Costcenter Costunit"
            " UseCostcenter:int UseCostunit:int " + _AUDIT,
            scope="Financial generalledgers",
            has_sync=True,
            code_field="Code",
        ),
        _entity(
            "Journals",
            "financial/Journals",
            "Financial.Journal",
            "ID",
            "ID:guid~ Code! Description! Type:int " + _AUDIT,
            scope="Financial generalledgers",
            code_field="Code",
        ),
        # The divisions the user may open (reference §2.7): every division's table lists all of them. Read-only;
        # the key is the division number. No scope is enforced: the reference names none for this endpoint (?).
        _entity(
            "Divisions",
            "system/Divisions",
            "System.Division",
            "Code",
            "Code:int~ Description~ Current:bool~ Status:int~ BlockingStatus:int~ Country~ Currency~ Customer:guid~"
            " CustomerCode~ CustomerName~ StartDate:datetime~ DivisionMoveDate:datetime~ Created:datetime~"
            " Creator:guid~ Modified:datetime~ Modifier:guid~",
        ),
        _entity(
            "WebhookSubscriptions",
            "webhooks/WebhookSubscriptions",
            "Webhooks.WebhookSubscription",
            "ID",
            "ID:guid~ CallbackURL! Topic! Description IsInstant:bool ClientID:guid~ Created:datetime~ Creator:guid~"
            " CreatorFullName~ Division:int~ UserID:guid~",
            methods=frozenset({"GET", "POST", "DELETE"}),
            scope="Organization administration",
        ),
    ]
}

_BY_PATH = {spec.path.lower(): spec for spec in ENTITIES.values()}


def entity_by_path(path: str) -> EntitySpec | None:
    """Exact's URLs are case-insensitive (`crm/accounts` works), so we look up lower-cased."""
    return _BY_PATH.get(path.lower())


@dataclass(frozen=True)
class ViewSpec:
    """A sync or bulk endpoint: a read-only window on an entity store, 1000 rows a page, `$select` mandatory.

    Its properties are the reference's for the view's own `path` (not the entity's): each is read from the store
    under the same name, or under `rename`'s; `computed` ones are filled in by the API layer; the rest are null."""

    path: str
    entity: str
    kind: str  # sync | bulk
    rename: dict[str, str] = field(default_factory=dict)  # view property -> entity property
    computed: frozenset[str] = frozenset()

    @property
    def kinds(self) -> dict[str, str]:
        return _view_kinds(self)

    def source(self, prop: str) -> str:
        """The store property a view property is read from (`ID` of a view on an `OrderID`-keyed entity: the key)."""
        spec = ENTITIES[self.entity]
        if prop in self.rename:
            return self.rename[prop]
        return spec.key if prop == "ID" and "ID" not in spec.kinds else prop


_VIEW_KINDS: dict[str, dict[str, str]] = {}


def _view_kinds(view: ViewSpec) -> dict[str, str]:
    found = _VIEW_KINDS.get(view.path)
    if found is None:
        spec = ENTITIES[view.entity]
        found = {}
        for prop, php_type in reference().fields(view.path).items():
            if php_type.endswith("[]"):
                continue
            kind = "int" if prop == "Timestamp" else spec.kinds.get(view.source(prop))
            found[prop] = kind or kind_of(php_type)
        _VIEW_KINDS[view.path] = found
    return found


_STOCK_RENAME = {"ItemId": "Item", "PlanningIn": "PlannedStockIn", "PlanningOut": "PlannedStockOut"}

SYNC_VIEWS: dict[str, ViewSpec] = {
    view.path.lower(): view
    for view in [
        ViewSpec("sync/CRM/Accounts", "Accounts", "sync"),
        ViewSpec("sync/CRM/Contacts", "Contacts", "sync"),
        ViewSpec("sync/Logistics/Items", "Items", "sync"),
        ViewSpec("sync/Inventory/ItemWarehouses", "ItemWarehouses", "sync"),
        ViewSpec(
            "sync/Inventory/StockPositions",
            "ItemWarehouses",
            "sync",
            rename=_STOCK_RENAME,
            computed=frozenset({"FreeStock", "UnitCode", "UnitDescription", "WarehouseDescription"}),
        ),
        ViewSpec("sync/SalesOrder/SalesOrderHeaders", "SalesOrders", "sync"),
        ViewSpec("sync/SalesOrder/SalesOrderLines", "SalesOrderLines", "sync"),
        ViewSpec("sync/SalesOrder/GoodsDeliveries", "GoodsDeliveries", "sync"),
        ViewSpec("sync/SalesOrder/GoodsDeliveryLines", "GoodsDeliveryLines", "sync"),
        ViewSpec("sync/SalesInvoice/SalesInvoices", "SalesInvoices", "sync"),
        ViewSpec("sync/Financial/GLAccounts", "GLAccounts", "sync"),
    ]
}

# The reference lists one bulk endpoint of these entities; picqer's other Bulk* classes only override the URL of
# their parent class and are not in the file, so the simulator does not serve them (docs/exact-simulator.md).
BULK_VIEWS: dict[str, ViewSpec] = {
    view.path.lower(): view for view in [ViewSpec("bulk/SalesOrder/SalesOrderLines", "SalesOrderLines", "bulk")]
}


def view_by_path(path: str) -> ViewSpec | None:
    lowered = path.lower()
    return SYNC_VIEWS.get(lowered) or BULK_VIEWS.get(lowered)


for _view in [*SYNC_VIEWS.values(), *BULK_VIEWS.values()]:
    _view_kinds(_view)  # every view's path is in the reference (KeyError at import otherwise)


# Webhook topics Exact accepts (reference §8.2: the confirmed list plus the (?) ones, so a subscription the
# real API might accept is not refused here). Only some of them have events in the simulator.
TOPICS = frozenset(
    {
        "Accounts",
        "Contacts",
        "Items",
        "StockPositions",
        "SalesOrders",
        "SalesInvoices",
        "GoodsDeliveries",
        "FinancialTransactions",
        "PurchaseOrders",
        "Documents",
        "Quotations",
        "BankAccounts",
        "CostTransactions",
        "TimeTransactions",
        "Subscriptions",
        "TransactionLines",
        "GeneralJournalEntries",
        "BankEntries",
        "CashEntries",
    }
)
