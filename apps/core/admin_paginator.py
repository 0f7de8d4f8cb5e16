"""A changelist paginator whose cost does not grow with the table: counts at most ``CAP`` rows.

Django's admin counts the whole (filtered) changelist on every page view
(``SELECT COUNT(*)``), a scan of every row of a million-row table. This
paginator counts the first ``CAP + 1`` rows only (``SELECT COUNT(*) FROM
(… LIMIT CAP + 1)``): a list of up to ``CAP`` rows gets its exact total, a
longer one the planner's estimate of its size (``EXPLAIN``, no rows read),
shown as "about N" (``approximate``; templates/admin/pagination.html).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


def planner_estimate(queryset: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows ``queryset`` has (its plan's top row count); no rows are read."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class BoundedCountPaginator(Paginator):
    CAP = 10_000

    approximate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        # Only the primary keys of the first CAP + 1 rows: no annotation (the product stock sum) is computed.
        counted = queryset.order_by().values("pk")[: self.CAP + 1].count()
        if counted <= self.CAP:
            return counted
        self.approximate = True
        return max(self.CAP + 1, planner_estimate(queryset))
