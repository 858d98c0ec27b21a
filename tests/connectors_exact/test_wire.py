"""The wire format in one place: Amsterdam-time `/Date()/`, OData literals, the account-code padding, bodies,
envelopes. Values are checked against the simulator's own wire helpers where it has them (an independent
implementation of the same reading of the reference)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connectors.errors import PermanentError
from connectors.exact import Item, SalesOrder, SalesOrderLine
from connectors.exact.wire import (
    body_of,
    exact_datetime,
    odata_datetime,
    odata_guid,
    odata_int64,
    odata_string,
    pad_account_code,
    to_exact_date,
    to_wire,
    unwrap_list,
    unwrap_one,
)
from sandbox.exact.wire import from_wire_date, parse_local_datetime, to_wire_date


def test_date_is_amsterdam_wall_clock_read_as_utc() -> None:
    # The reference's example: 2022-01-01 00:00 in Amsterdam (CET) is 2021-12-31T23:00Z.
    assert exact_datetime("/Date(1640995200000)/") == datetime(2021, 12, 31, 23, 0, tzinfo=UTC)
    # Summer time: Amsterdam is UTC+2.
    summer = exact_datetime("/Date(1783166400000)/")
    assert summer == datetime(2026, 7, 4, 10, 0, tzinfo=UTC)
    assert summer.tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
        datetime(2026, 1, 15, 23, 30, 15, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # just before the spring change
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # just after it
        datetime(1965, 6, 1, 12, 0, tzinfo=UTC),  # before the epoch
    ],
)
def test_dates_round_trip_and_agree_with_the_simulator(moment: datetime) -> None:
    text = to_exact_date(moment)
    assert text == to_wire_date(moment)
    assert exact_datetime(text) == moment
    ms = int(text[6:-2])
    assert exact_datetime(f"/Date({ms})/") == from_wire_date(ms)


def test_naive_and_iso_values_are_amsterdam_time_and_offsets_are_respected() -> None:
    assert exact_datetime("2026-05-04T12:00:00") == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert exact_datetime("2026-05-04T12:00:00Z") == datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert exact_datetime(datetime(2026, 1, 4, 12, 0)) == datetime(2026, 1, 4, 11, 0, tzinfo=UTC)  # noqa: DTZ001
    assert exact_datetime(date(2026, 5, 4)) == datetime(2026, 5, 3, 22, 0, tzinfo=UTC)
    # A .NET offset suffix means the milliseconds are true UTC.
    assert exact_datetime("/Date(1640995200000+0100)/") == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert to_exact_date(date(2026, 5, 4)) == to_exact_date(datetime(2026, 5, 4, tzinfo=timezone(timedelta(hours=2))))


def test_odata_literals() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"
    assert odata_guid("A738F0AC-6224-44BD-8DDF-6A9BEE71EF23") == "guid'a738f0ac-6224-44bd-8ddf-6a9bee71ef23'"
    with pytest.raises(ValueError):
        odata_guid("x' or 1 eq 1 or ID eq guid'")
    assert odata_int64(105870) == "105870L"
    with pytest.raises(ValueError):
        odata_int64(1.5)  # type: ignore[arg-type]
    winter = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert odata_datetime(winter) == "datetime'2026-01-15T10:00:00'"
    summer = datetime(2026, 5, 4, 10, 0, 0, 250000, tzinfo=UTC)
    assert odata_datetime(summer) == "datetime'2026-05-04T12:00:00.250'"
    assert parse_local_datetime(odata_datetime(summer)[9:-1]) == summer
    assert odata_datetime(date(2026, 5, 4)) == "datetime'2026-05-04T00:00:00'"
    with pytest.raises(ValueError):
        odata_datetime(datetime(2026, 5, 4))  # noqa: DTZ001 - naive is refused


def test_account_code_is_right_aligned_in_eighteen_characters() -> None:
    assert pad_account_code("4711") == " " * 14 + "4711"
    assert pad_account_code("  4711 ") == pad_account_code("4711")
    assert len(pad_account_code("ABCDEFGHIJKLMNOPQR")) == 18
    for bad in ("", "   ", "X" * 19):
        with pytest.raises(ValueError):
            pad_account_code(bad)


def test_decimals_go_out_exactly_or_not_at_all() -> None:
    body = to_wire({"UnitPrice": Decimal("24.95"), "Quantity": Decimal("3"), "Big": Decimal("1E+2"), "F": 0.1})
    assert body == {"UnitPrice": 24.95, "Quantity": 3, "Big": 100.0, "F": 0.1}
    assert repr(body["UnitPrice"]) == "24.95"
    with pytest.raises(ValueError, match="without rounding"):
        to_wire({"Amount": Decimal("0.12345678901234567890")})
    with pytest.raises(ValueError):
        to_wire({"Amount": Decimal("NaN")})


def test_model_bodies_use_wire_names_and_leave_out_unset_and_audit_fields() -> None:
    order = SalesOrder(
        ordered_by="a738f0ac-6224-44bd-8ddf-6a9bee71ef23",
        your_ref="WEB-1",
        delivery_date=datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
        sales_order_lines=[SalesOrderLine(item="b738f0ac-6224-44bd-8ddf-6a9bee71ef23", quantity=Decimal("2"))],
    )
    assert body_of(order) == {
        "OrderedBy": "a738f0ac-6224-44bd-8ddf-6a9bee71ef23",
        "YourRef": "WEB-1",
        "DeliveryDate": "/Date(1777896000000)/",
        "SalesOrderLines": [{"Item": "b738f0ac-6224-44bd-8ddf-6a9bee71ef23", "Quantity": 2}],
    }
    read = Item.model_validate(
        {
            "__metadata": {"uri": "x"},
            "ID": "c738f0ac-6224-44bd-8ddf-6a9bee71ef23",
            "Code": "SKU-1",
            "Created": "/Date(1777896000000)/",
            "Modified": "/Date(1777896000000)/",
            "Division": 1,
            "NewerField": "kept",
            "Notes": None,
        }
    )
    assert read.to_payload() == {"ID": "c738f0ac-6224-44bd-8ddf-6a9bee71ef23", "Code": "SKU-1", "NewerField": "kept"}
    # A mapping is sent as given: a None there deliberately clears the property.
    assert body_of({"Notes": None, "When": date(2026, 5, 4)}) == {"Notes": None, "When": "/Date(1777852800000)/"}


def test_envelopes_in_all_three_shapes() -> None:
    paged = {"d": {"results": [{"ID": "1"}, {"ID": "2"}], "__next": "https://h/api/v1/1/x?$skiptoken=guid'2'"}}
    assert unwrap_list(paged) == ([{"ID": "1"}, {"ID": "2"}], "https://h/api/v1/1/x?$skiptoken=guid'2'")
    assert unwrap_list({"d": {"results": []}}) == ([], None)
    assert unwrap_list({"d": [{"ID": "1"}]}) == ([{"ID": "1"}], None)
    assert unwrap_one({"d": {"ID": "1", "Code": "A"}}) == {"ID": "1", "Code": "A"}
    assert unwrap_one({"d": []}) is None
    with pytest.raises(PermanentError):  # an answer we cannot read is a connector error, not a ValueError
        unwrap_list({"value": []})
