from __future__ import annotations

from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


def _whole_number(raw: str) -> int | None:
    try:
        number = int(raw)
    except ValueError:
        return None
    return number if number >= 1 else None


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M (M ≤ 500; a larger M is answered with 500 rows); the body has
    count, next, previous and results. A page or page size that is not a whole number from 1
    is a 400 naming it; a page past the last one is a 404."""

    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_page_message = "There is no page {page_number}: {message}."

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        size = _whole_number(raw)
        if size is None:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        raw = request.query_params.get(self.page_query_param, "")
        if raw == "":
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        if _whole_number(raw) is None:
            raise ValidationError({self.page_query_param: ["A whole number from 1 (or 'last')."]})
        return raw
