"""Pydantic models of Exact's master data: the user, divisions, accounts, contacts, items, stock, webhooks, deletions.

Attributes are snake_case; each carries its wire name as alias (`vat_number` <-> `VATNumber`), so models parse
Exact's answers and can be built with either name. Properties follow the reference (docs/exact-online-api.md §9,
generated from Exact's reference pages) and the simulator's entity table (`sandbox/exact/entities.py`); a test
checks every alias against that table. Read models keep unknown members (`extra="allow"`). Every property is
optional except the key: Exact answers nulls freely, and with `$select` only the selected ones come back.

Amounts and quantities are `Decimal`; dates are aware UTC datetimes (`ExactDateTime`: Exact's Amsterdam-time
`/Date(ms)/`); GUIDs are strings as Exact writes them (lower case). `Account.Code` is read without its padding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from connectors.exact.wire import AccountCode, ExactDateTime, body_of

__all__ = [
    "Account",
    "Audited",
    "Contact",
    "Deleted",
    "Division",
    "ExactModel",
    "InDivision",
    "Item",
    "ItemGroup",
    "ItemWarehouse",
    "Me",
    "StockPosition",
    "Unit",
    "Warehouse",
    "WebhookSubscription",
]


class ExactModel(BaseModel):
    """Base of every Exact model: wire aliases, unknown members kept, construction by either name.

    Class attributes describe the endpoint to the client: `__entity__` is the resource, `__lines__` the line
    collection created in the same POST, `__sync_only__` the properties only the sync API has (`Timestamp`, and `ID`
    where the key is `OrderID`/`EntryID`), `__regular_only__` the ones the sync API lacks.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    __entity__: ClassVar[str] = ""
    __lines__: ClassVar[str | None] = None
    __sync_only__: ClassVar[frozenset[str]] = frozenset({"Timestamp"})
    __regular_only__: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def wire_fields(cls, *, sync: bool = False) -> tuple[str, ...]:
        """The wire names to `$select` on the regular (or the sync/bulk) endpoint; line collections excluded."""
        skip = cls.__regular_only__ if sync else cls.__sync_only__
        return tuple(
            info.alias
            for info in cls.model_fields.values()
            if info.alias and info.alias != cls.__lines__ and info.alias not in skip
        )

    def to_payload(self) -> dict[str, Any]:
        """This model as a request body (set, non-null properties by wire name; audit fields left out)."""
        return body_of(self)


class InDivision(ExactModel):
    """Every entity names its division; lines and some reference tables carry nothing more (no audit fields)."""

    division: int | None = Field(None, alias="Division")


class Audited(InDivision):
    """The audit properties most Exact entities carry (the reference lists them per endpoint)."""

    created: ExactDateTime | None = Field(None, alias="Created")
    creator: str | None = Field(None, alias="Creator")
    modified: ExactDateTime | None = Field(None, alias="Modified")
    modifier: str | None = Field(None, alias="Modifier")


class Me(ExactModel):
    """`current/Me`: the connected user. `CurrentDivision` is only the division last used in Exact's UI."""

    __entity__: ClassVar[str] = "current/Me"

    user_id: str = Field(alias="UserID")
    current_division: int | None = Field(None, alias="CurrentDivision")
    accounting_division: int | None = Field(None, alias="AccountingDivision")
    division_customer: str | None = Field(None, alias="DivisionCustomer")
    division_customer_vat_number: str | None = Field(None, alias="DivisionCustomerVatNumber")
    email: str | None = Field(None, alias="Email")
    full_name: str | None = Field(None, alias="FullName")
    first_name: str | None = Field(None, alias="FirstName")
    last_name: str | None = Field(None, alias="LastName")
    language_code: str | None = Field(None, alias="LanguageCode")
    legislation: int | None = Field(None, alias="Legislation")
    package_code: str | None = Field(None, alias="PackageCode")
    server_time: ExactDateTime | None = Field(None, alias="ServerTime")
    server_utc_offset: Decimal | None = Field(None, alias="ServerUtcOffset")
    user_name: str | None = Field(None, alias="UserName")


class Division(ExactModel):
    """`system/Divisions`: a division (administration). A changed `DivisionMoveDate` resets sync Timestamps."""

    __entity__: ClassVar[str] = "system/Divisions"

    code: int = Field(alias="Code")
    description: str | None = Field(None, alias="Description")
    current: bool | None = Field(None, alias="Current")
    customer: str | None = Field(None, alias="Customer")
    customer_code: AccountCode | None = Field(None, alias="CustomerCode")
    customer_name: str | None = Field(None, alias="CustomerName")
    country: str | None = Field(None, alias="Country")
    currency: str | None = Field(None, alias="Currency")
    vat_number: str | None = Field(None, alias="VATNumber")
    status: int | None = Field(None, alias="Status")
    blocking_status: int | None = Field(None, alias="BlockingStatus")
    division_move_date: ExactDateTime | None = Field(None, alias="DivisionMoveDate")


class Account(Audited):
    """`crm/Accounts`: a customer or supplier. `Status` is the customer stage (C = customer), `Blocked` inactive.

    `Code` is stored right-aligned in 18 characters; it reads here without the padding, and the client pads it in
    filters and bodies. Codes, not GUIDs: `SalesVATCode`, `PaymentConditionSales`. An account has no cost center in
    the reference (only document lines do: `SalesOrderLines`/`SalesInvoiceLines` `CostCenter`).
    """

    __entity__: ClassVar[str] = "crm/Accounts"

    id: str = Field(alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    code: AccountCode | None = Field(None, alias="Code")
    name: str | None = Field(None, alias="Name")
    search_code: str | None = Field(None, alias="SearchCode")
    email: str | None = Field(None, alias="Email")
    phone: str | None = Field(None, alias="Phone")
    website: str | None = Field(None, alias="Website")
    vat_number: str | None = Field(None, alias="VATNumber")
    chamber_of_commerce: str | None = Field(None, alias="ChamberOfCommerce")
    address_line1: str | None = Field(None, alias="AddressLine1")
    address_line2: str | None = Field(None, alias="AddressLine2")
    address_line3: str | None = Field(None, alias="AddressLine3")
    postcode: str | None = Field(None, alias="Postcode")
    city: str | None = Field(None, alias="City")
    country: str | None = Field(None, alias="Country")
    state: str | None = Field(None, alias="State")
    language: str | None = Field(None, alias="Language")
    is_sales: bool | None = Field(None, alias="IsSales")
    is_supplier: bool | None = Field(None, alias="IsSupplier")
    blocked: bool | None = Field(None, alias="Blocked")
    start_date: ExactDateTime | None = Field(None, alias="StartDate")
    end_date: ExactDateTime | None = Field(None, alias="EndDate")
    status: str | None = Field(None, alias="Status")
    type: str | None = Field(None, alias="Type")
    sales_vat_code: str | None = Field(None, alias="SalesVATCode")
    purchase_vat_code: str | None = Field(None, alias="PurchaseVATCode")
    payment_condition_sales: str | None = Field(None, alias="PaymentConditionSales")
    payment_condition_purchase: str | None = Field(None, alias="PaymentConditionPurchase")
    sales_currency: str | None = Field(None, alias="SalesCurrency")
    shipping_method: str | None = Field(None, alias="ShippingMethod")
    invoicing_method: int | None = Field(None, alias="InvoicingMethod")
    invoice_account: str | None = Field(None, alias="InvoiceAccount")
    discount_sales: Decimal | None = Field(None, alias="DiscountSales")
    credit_line_sales: Decimal | None = Field(None, alias="CreditLineSales")
    gl_account_sales: str | None = Field(None, alias="GLAccountSales")
    main_contact: str | None = Field(None, alias="MainContact")
    parent: str | None = Field(None, alias="Parent")
    peppol_identifier: str | None = Field(None, alias="PeppolIdentifier")
    peppol_identifier_type: int | None = Field(None, alias="PeppolIdentifierType")
    eori_number: str | None = Field(None, alias="EORINumber")
    remarks: str | None = Field(None, alias="Remarks")


class Contact(Audited):
    """`crm/Contacts`: a person at an account (`FirstName` or `LastName` is required)."""

    __entity__: ClassVar[str] = "crm/Contacts"

    id: str = Field(alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    account: str | None = Field(None, alias="Account")
    account_name: str | None = Field(None, alias="AccountName")
    account_is_customer: bool | None = Field(None, alias="AccountIsCustomer")
    first_name: str | None = Field(None, alias="FirstName")
    last_name: str | None = Field(None, alias="LastName")
    full_name: str | None = Field(None, alias="FullName")
    initials: str | None = Field(None, alias="Initials")
    email: str | None = Field(None, alias="Email")
    business_email: str | None = Field(None, alias="BusinessEmail")
    phone: str | None = Field(None, alias="Phone")
    mobile: str | None = Field(None, alias="Mobile")
    is_main_contact: bool | None = Field(None, alias="IsMainContact")
    job_title_description: str | None = Field(None, alias="JobTitleDescription")
    language: str | None = Field(None, alias="Language")
    address_line2: str | None = Field(None, alias="AddressLine2")
    postcode: str | None = Field(None, alias="Postcode")
    city: str | None = Field(None, alias="City")
    country: str | None = Field(None, alias="Country")
    notes: str | None = Field(None, alias="Notes")


class Item(Audited):
    """`logistics/Items`: an article; `Code` (our SKU) is unique. `Stock` is the total over warehouses.

    `StandardSalesPrice` exists on the regular endpoint only (`sync/Logistics/Items` lacks it): sync rows have None.
    """

    __entity__: ClassVar[str] = "logistics/Items"
    __regular_only__: ClassVar[frozenset[str]] = frozenset({"StandardSalesPrice"})

    id: str = Field(alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    extra_description: str | None = Field(None, alias="ExtraDescription")
    barcode: str | None = Field(None, alias="Barcode")
    is_sales_item: bool | None = Field(None, alias="IsSalesItem")
    is_purchase_item: bool | None = Field(None, alias="IsPurchaseItem")
    is_stock_item: bool | None = Field(None, alias="IsStockItem")
    is_webshop_item: int | None = Field(None, alias="IsWebshopItem")
    is_fraction_allowed_item: bool | None = Field(None, alias="IsFractionAllowedItem")
    is_serial_item: bool | None = Field(None, alias="IsSerialItem")
    is_batch_item: bool | None = Field(None, alias="IsBatchItem")
    item_group: str | None = Field(None, alias="ItemGroup")
    item_group_code: str | None = Field(None, alias="ItemGroupCode")
    item_group_description: str | None = Field(None, alias="ItemGroupDescription")
    unit: str | None = Field(None, alias="Unit")
    unit_description: str | None = Field(None, alias="UnitDescription")
    unit_type: str | None = Field(None, alias="UnitType")
    sales_vat_code: str | None = Field(None, alias="SalesVatCode")
    sales_vat_code_description: str | None = Field(None, alias="SalesVatCodeDescription")
    cost_price_standard: Decimal | None = Field(None, alias="CostPriceStandard")
    cost_price_new: Decimal | None = Field(None, alias="CostPriceNew")
    average_cost: Decimal | None = Field(None, alias="AverageCost")
    standard_sales_price: Decimal | None = Field(None, alias="StandardSalesPrice")
    stock: Decimal | None = Field(None, alias="Stock")
    gl_revenue: str | None = Field(None, alias="GLRevenue")
    gl_costs: str | None = Field(None, alias="GLCosts")
    gl_stock: str | None = Field(None, alias="GLStock")
    start_date: ExactDateTime | None = Field(None, alias="StartDate")
    end_date: ExactDateTime | None = Field(None, alias="EndDate")
    gross_weight: Decimal | None = Field(None, alias="GrossWeight")
    net_weight: Decimal | None = Field(None, alias="NetWeight")
    notes: str | None = Field(None, alias="Notes")
    # Free fields (§9.3), where administrations keep their own data: selected, so mappings and filters can use them.
    free_text_field_01: str | None = Field(None, alias="FreeTextField_01")
    free_text_field_02: str | None = Field(None, alias="FreeTextField_02")
    free_text_field_03: str | None = Field(None, alias="FreeTextField_03")
    free_text_field_04: str | None = Field(None, alias="FreeTextField_04")
    free_text_field_05: str | None = Field(None, alias="FreeTextField_05")
    free_text_field_06: str | None = Field(None, alias="FreeTextField_06")
    free_text_field_07: str | None = Field(None, alias="FreeTextField_07")
    free_text_field_08: str | None = Field(None, alias="FreeTextField_08")
    free_text_field_09: str | None = Field(None, alias="FreeTextField_09")
    free_text_field_10: str | None = Field(None, alias="FreeTextField_10")
    free_number_field_01: Decimal | None = Field(None, alias="FreeNumberField_01")
    free_number_field_02: Decimal | None = Field(None, alias="FreeNumberField_02")
    free_number_field_03: Decimal | None = Field(None, alias="FreeNumberField_03")
    free_number_field_04: Decimal | None = Field(None, alias="FreeNumberField_04")
    free_number_field_05: Decimal | None = Field(None, alias="FreeNumberField_05")
    free_number_field_06: Decimal | None = Field(None, alias="FreeNumberField_06")
    free_number_field_07: Decimal | None = Field(None, alias="FreeNumberField_07")
    free_number_field_08: Decimal | None = Field(None, alias="FreeNumberField_08")
    free_date_field_01: ExactDateTime | None = Field(None, alias="FreeDateField_01")
    free_date_field_02: ExactDateTime | None = Field(None, alias="FreeDateField_02")
    free_date_field_03: ExactDateTime | None = Field(None, alias="FreeDateField_03")
    free_date_field_04: ExactDateTime | None = Field(None, alias="FreeDateField_04")
    free_date_field_05: ExactDateTime | None = Field(None, alias="FreeDateField_05")
    free_bool_field_01: bool | None = Field(None, alias="FreeBoolField_01")
    free_bool_field_02: bool | None = Field(None, alias="FreeBoolField_02")
    free_bool_field_03: bool | None = Field(None, alias="FreeBoolField_03")
    free_bool_field_04: bool | None = Field(None, alias="FreeBoolField_04")
    free_bool_field_05: bool | None = Field(None, alias="FreeBoolField_05")


class ItemGroup(Audited):
    """`logistics/ItemGroups`: default GL accounts for its items."""

    __entity__: ClassVar[str] = "logistics/ItemGroups"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    gl_revenue: str | None = Field(None, alias="GLRevenue")
    gl_costs: str | None = Field(None, alias="GLCosts")
    gl_stock: str | None = Field(None, alias="GLStock")
    is_default: bool | None = Field(None, alias="IsDefault")


class Unit(InDivision):
    """`logistics/Units`: a unit of measure; items name it by `Code`. No audit fields (the reference lists none)."""

    __entity__: ClassVar[str] = "logistics/Units"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    main: bool | None = Field(None, alias="Main")
    type: str | None = Field(None, alias="Type")
    active: bool | None = Field(None, alias="Active")


class Warehouse(Audited):
    """`inventory/Warehouses`: exactly one has `Main`."""

    __entity__: ClassVar[str] = "inventory/Warehouses"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    main: bool | None = Field(None, alias="Main")


class ItemWarehouse(Audited):
    """`inventory/ItemWarehouses`: stock of one item in one warehouse.

    `CurrentStock` includes stock committed to sales orders; `PlannedStockOut` is what open orders still take.
    """

    __entity__: ClassVar[str] = "inventory/ItemWarehouses"

    id: str = Field(alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    item: str | None = Field(None, alias="Item")
    item_code: str | None = Field(None, alias="ItemCode")
    item_description: str | None = Field(None, alias="ItemDescription")
    warehouse: str | None = Field(None, alias="Warehouse")
    warehouse_code: str | None = Field(None, alias="WarehouseCode")
    current_stock: Decimal | None = Field(None, alias="CurrentStock")
    planned_stock_in: Decimal | None = Field(None, alias="PlannedStockIn")
    planned_stock_out: Decimal | None = Field(None, alias="PlannedStockOut")
    projected_stock: Decimal | None = Field(None, alias="ProjectedStock")
    reserved_stock: Decimal | None = Field(None, alias="ReservedStock")
    safety_stock: Decimal | None = Field(None, alias="SafetyStock")
    reorder_point: Decimal | None = Field(None, alias="ReorderPoint")
    maximum_stock: Decimal | None = Field(None, alias="MaximumStock")
    default_storage_location: str | None = Field(None, alias="DefaultStorageLocation")


class StockPosition(ExactModel):
    """A stock position: a `sync/Inventory/StockPositions` row (per item and warehouse, with `Timestamp`) or the
    answer of the function `read/logistics/StockPosition?itemId=…` (per item over all warehouses, with `InStock`).

    `FreeStock` is Exact's "quantity of available stock"; its formula is not documented (§9.5 (?)). The safe
    number for "available minus open sales reservations" is `CurrentStock - PlanningOut` (sync row) or
    `InStock - PlanningOut` (function), which `available` computes.
    """

    __entity__: ClassVar[str] = "sync/Inventory/StockPositions"
    __regular_only__: ClassVar[frozenset[str]] = frozenset({"InStock"})

    item_id: str | None = Field(None, alias="ItemId")
    timestamp: int | None = Field(None, alias="Timestamp")
    id: str | None = Field(None, alias="ID")
    item_code: str | None = Field(None, alias="ItemCode")
    item_description: str | None = Field(None, alias="ItemDescription")
    warehouse: str | None = Field(None, alias="Warehouse")
    warehouse_code: str | None = Field(None, alias="WarehouseCode")
    current_stock: Decimal | None = Field(None, alias="CurrentStock")
    in_stock: Decimal | None = Field(None, alias="InStock")
    planning_in: Decimal | None = Field(None, alias="PlanningIn")
    planning_out: Decimal | None = Field(None, alias="PlanningOut")
    projected_stock: Decimal | None = Field(None, alias="ProjectedStock")
    reserved_stock: Decimal | None = Field(None, alias="ReservedStock")
    free_stock: Decimal | None = Field(None, alias="FreeStock")
    reorder_point: Decimal | None = Field(None, alias="ReorderPoint")
    unit_code: str | None = Field(None, alias="UnitCode")

    @property
    def available(self) -> Decimal | None:
        """On hand minus what open sales orders still take (None when Exact sent neither number)."""
        on_hand = self.current_stock if self.current_stock is not None else self.in_stock
        if on_hand is None:
            return None
        return on_hand - (self.planning_out or Decimal(0))


class Deleted(ExactModel):
    """A `sync/Deleted` row: `EntityKey` is the GUID of the deleted record, `EntityType` its kind (§7: 2 Accounts,
    5 Contacts, 9 Items, 13 SalesInvoices, 16 GoodsDeliveries, 19 ItemWarehouses, 32 SalesOrderHeaders, …).
    Kept by Exact for two months only."""

    __entity__: ClassVar[str] = "sync/Deleted"
    __sync_only__: ClassVar[frozenset[str]] = frozenset()

    timestamp: int = Field(alias="Timestamp")
    id: str | None = Field(None, alias="ID")
    entity_key: str | None = Field(None, alias="EntityKey")
    entity_type: int | None = Field(None, alias="EntityType")
    deleted_by: str | None = Field(None, alias="DeletedBy")
    deleted_date: ExactDateTime | None = Field(None, alias="DeletedDate")
    division: int | None = Field(None, alias="Division")


class WebhookSubscription(ExactModel):
    """`webhooks/WebhookSubscriptions`: one per topic per app and division (§8.1)."""

    __entity__: ClassVar[str] = "webhooks/WebhookSubscriptions"

    id: str = Field(alias="ID")
    callback_url: str | None = Field(None, alias="CallbackURL")
    topic: str | None = Field(None, alias="Topic")
    description: str | None = Field(None, alias="Description")
    is_instant: bool | None = Field(None, alias="IsInstant")
    client_id: str | None = Field(None, alias="ClientID")
    created: ExactDateTime | None = Field(None, alias="Created")
    creator: str | None = Field(None, alias="Creator")
    creator_full_name: str | None = Field(None, alias="CreatorFullName")
    division: int | None = Field(None, alias="Division")
    user_id: str | None = Field(None, alias="UserID")
