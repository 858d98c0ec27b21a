"""The console's pure parts: fix hints, grouping, cursor words, the chart and the options form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.console.charts import outcome_chart
from app.console.options import form_fields, options_from_form
from app.services.activity import changed_fields
from app.services.hints import fix_hint, group_key
from app.services.overview import HourBucket, cursor_words
from flows.orders_options import OrdersOptions

NOW = datetime(2026, 12, 9, 12, 45, tzinfo=UTC)


def test_a_missing_sku_says_what_to_create_and_which_option_helps() -> None:
    error = {
        "type": "RecordFailed",
        "message": "SKU SKU-9999 does not exist in Exact",
        "details": {"sku": ["SKU-9999"]},
    }
    hint = fix_hint("orders", error, "exact")
    assert hint.text.startswith("SKU SKU-9999 is not an Exact item: create it in Exact")
    assert (hint.sku, hint.option) == ("SKU-9999", "missing_sku")


def test_hints_for_access_refusals_and_outages_name_the_system() -> None:
    refused = fix_hint(
        "orders", {"type": "ReauthorizationRequired", "message": "refresh token refused", "system": "exact"}
    )
    assert refused.reconnect == "exact" and "Re-authorize Exact Online" in refused.text
    down = fix_hint("products", {"type": "TransientError", "message": "503", "system": "eaccounting", "status": 503})
    assert "eAccounting did not answer properly" in down.text
    rejected = fix_hint(
        "products", {"type": "ValidationRejected", "message": "Name is required", "status": 400}, "eaccounting"
    )
    assert rejected.text.startswith("eAccounting refused the record: Name is required")
    assert fix_hint("orders", None).text.startswith("The record failed")


def test_the_same_reason_is_one_problem_another_sku_another() -> None:
    a = {"type": "RecordFailed", "message": "SKU SKU-9999 does not exist in Exact"}
    b = {"type": "RecordFailed", "message": "SKU SKU-8888 does not exist in Exact"}
    assert group_key("orders", a) == group_key("orders", dict(a))
    assert group_key("orders", a) != group_key("orders", b) != group_key("products", b)


def test_cursor_words() -> None:
    assert cursor_words("2026-12-06T12:45:00+00:00", None, NOW) == "changes since 6 Dec 12:45"
    last = NOW - timedelta(minutes=2)
    assert (
        cursor_words('{"items": 106069, "deleted": 1}', last, NOW)
        == "changes since the last check, 2 min ago (9 Dec 12:43)"
    )
    assert cursor_words("106018", None, NOW) == "changes since the last check"
    assert cursor_words(None, None, NOW).startswith("not polled yet")


def test_changed_fields() -> None:
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b"}
    assert changed_fields({"a": 1}, None) == {"a"}
    assert changed_fields(None, {"a": 1}) == set()


def test_chart_stacks_outcomes_and_says_its_numbers_in_words() -> None:
    start = NOW.replace(minute=0)
    buckets = [HourBucket(start - timedelta(hours=1), {"created": 3, "failed": 1}), HourBucket(start, {})]
    svg = str(outcome_chart(buckets, ("created", "failed"), "3 created & 1 failed"))
    assert svg.count('class="o-created"') == 1 and svg.count('class="o-failed"') == 1
    assert 'aria-label="3 created &amp; 1 failed"' in svg
    assert "<script" not in svg


def test_options_round_trip_through_the_form() -> None:
    fields = {f.name: f for f in form_fields(OrdersOptions, {"missing_sku": "create_item"}, [])}
    assert fields["missing_sku"].kind == "choice" and fields["missing_sku"].value == "create_item"
    assert fields["missing_sku"].help  # explained even where the model has no description
    assert fields["write_back"].kind == "bool"
    assert fields["vat_code_by_country"].kind == "json"
    form = {
        "field:missing_sku": "1",
        "opt:missing_sku": "fail",
        "field:write_back": "1",  # an unticked checkbox sends nothing: false
        "field:vat_code_by_country": "1",
        "opt:vat_code_by_country": '{"DE": "5"}',
        "field:start_date": "1",
        "opt:start_date": "",
    }
    options, errors = options_from_form(OrdersOptions, form)
    assert errors == []
    assert options == {
        "missing_sku": "fail",
        "write_back": False,
        "vat_code_by_country": {"DE": "5"},
        "start_date": None,
    }
    OrdersOptions.model_validate(options)
    _, errors = options_from_form(OrdersOptions, {"field:vat_code_by_country": "1", "opt:vat_code_by_country": "{x"})
    assert errors[0]["loc"] == ["options", "vat_code_by_country"]


def test_form_fields_show_the_error_next_to_its_field() -> None:
    fields = form_fields(OrdersOptions, {}, [{"loc": ["options", "missing_sku"], "msg": "Input should be 'fail'"}])
    assert next(f for f in fields if f.name == "missing_sku").error == "Input should be 'fail'"


def test_a_refused_form_shows_what_was_typed_and_every_error_of_a_table_naming_its_entry() -> None:
    # What OrdersOptions says of a country table with a bad key and a too-long value (app.flowconfig: loc options...).
    errors = [
        {
            "loc": ["options", "vat_code_by_country", "XX", "[key]"],
            "msg": "XX is not an ISO 3166-1 alpha-2 country code",
        },
        {"loc": ["options", "vat_code_by_country", "NL"], "msg": "String should have at most 200 characters"},
    ]
    typed = '{"XX": "2", "NL": "' + "x" * 201 + '"}'
    form = {"field:vat_code_by_country": "1", "opt:vat_code_by_country": typed, "field:write_back": "1"}
    fields = {f.name: f for f in form_fields(OrdersOptions, {"write_back": True}, errors, form)}
    country = fields["vat_code_by_country"]
    assert country.value == typed  # not the stored table: the person corrects their text
    assert country.error == (
        "the key XX: XX is not an ISO 3166-1 alpha-2 country code\nNL: String should have at most 200 characters"
    )
    assert fields["write_back"].checked is False  # unticked in the refused form
    assert fields["missing_sku"].value == "fail"  # not in the form: stored or default
