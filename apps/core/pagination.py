from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Default list pagination: stable cursors, ``page_size`` up to 100."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"
