"""Admin change lists that stay fast on tables of millions of rows (votes, candidates, tasks)."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

# Below this many rows an exact count is cheap, and the list shows it.
EXACT_COUNT_BELOW = 50_000
# Parameters of an admin list that only page or sort it; any other one filters or searches it.
PAGING_PARAMETERS = {"p", "o"}


class EstimatedCountPaginator(Paginator):
    """Pages of a whole large table, counted from PostgreSQL's statistics instead of a COUNT(*) of every row."""

    @cached_property
    def count(self) -> int:
        with connection.cursor() as cursor:
            table = self.object_list.model._meta.db_table
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
            row = cursor.fetchone()
        estimate = row[0] if row else -1
        return estimate if estimate >= EXACT_COUNT_BELOW else super().count


class LargeTableAdmin(admin.ModelAdmin):
    """Newest first by primary key (an index, not a sort of the table), no second count of the unfiltered table,
    and the unfiltered list's size estimated on PostgreSQL (filtered and searched lists are counted exactly)."""

    show_full_result_count = False
    ordering = ["-pk"]

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        unfiltered = set(request.GET) <= PAGING_PARAMETERS
        paginator = EstimatedCountPaginator if unfiltered and connection.vendor == "postgresql" else Paginator
        return paginator(queryset, per_page, orphans, allow_empty_first_page)


def count_of(related: QuerySet, outer_field: str) -> Coalesce:
    """For each listed row, the rows of ``related`` whose ``outer_field`` is it: a subquery PostgreSQL runs for
    the page's rows only, where a joined Count would group the whole table first."""
    counted = related.filter(**{outer_field: OuterRef("pk")}).order_by().values(outer_field)
    return Coalesce(Subquery(counted.annotate(n=Count("pk")).values("n")), 0, output_field=IntegerField())
