"""Bounds of the text in flow options: every string, list and table a config holds is finite.

Where the vendors' reference (../shared/reference/) states a field's length, an option that is sent to that field
(or names a record by it) is bounded by it; where it states none, by `UNSTATED`, generous but finite. Top-level
string options take these numbers as `Field(max_length=...)` (the console reads their plain `str` annotation to
pick a control); the types below are for the items of lists and the keys and values of tables.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import StringConstraints

# Entries of any list or table in a flow's options: far more codes than an administration has of any kind.
MAX_ENTRIES: Final = 500
# The reference states no length (Exact VAT, item, item group, unit, warehouse, journal, payment condition,
# shipping method and GL account codes; eAccounting coding and unit names): generous, but finite.
UNSTATED: Final = 200
EXACT_ACCOUNT_CODE: Final = 18  # crm/Accounts Code: 18 characters, padded with leading spaces (reference §9.2)
ARTICLE_NUMBER: Final = 40  # eAccounting ArticleApi.Number maxLength 40 (2020 Swagger)
ARTICLE_LABEL: Final = 50  # eAccounting ArticleLabelApi.Name maxLength 50 (an Id, a GUID, is 36)
DELIVERY_METHOD_CODE: Final = 20  # eAccounting OrderApi.DeliveryMethodCode maxLength 20 (2020 Swagger)
TERMS_OF_PAYMENT: Final = 36  # eAccounting TermsOfPaymentId (a GUID, 36 characters) or a number of days
ORDER_ROW_TEXT: Final = 2000  # eAccounting OrderRowApi.Text maxLength 2000 (2020 Swagger)

ExactCode = Annotated[str, StringConstraints(max_length=UNSTATED)]
EAccountingName = Annotated[str, StringConstraints(max_length=UNSTATED)]
ArticleLabel = Annotated[str, StringConstraints(max_length=ARTICLE_LABEL)]
DeliveryMethodCode = Annotated[str, StringConstraints(max_length=DELIVERY_METHOD_CODE)]
TermsOfPayment = Annotated[str, StringConstraints(max_length=TERMS_OF_PAYMENT)]
