from rest_framework import pagination
from rest_framework.exceptions import NotFound

from apps.core.exceptions import ValidationError


class CursorPagination(pagination.CursorPagination):
    """Default list pagination: stable cursors, ``page_size`` from 1, capped at 100.

    A malformed ``page_size`` (not an integer, below 1) or ``cursor`` is the
    caller's mistake: 400 ``VALIDATION_ERROR`` naming the parameter (DRF would
    silently use the default size, and answer 404 for a bad cursor).
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def get_page_size(self, request):
        size = self.page_size
        # Every value sent counts (``?page_size=x&page_size=10`` is refused, not half-read).
        # An empty value is malformed too (not "not given"): the schema says integer, without allowEmptyValue.
        for raw in request.query_params.getlist(self.page_size_query_param):
            try:
                size = int(raw)
            except ValueError:
                size = 0
            if size < 1:
                message = f"An integer of at least 1 (larger than {self.max_page_size} reads {self.max_page_size})."
                raise ValidationError(details={self.page_size_query_param: [message]})
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError("Invalid cursor.", details={self.cursor_query_param: ["Invalid cursor."]}) from exc

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = "The `next` or `previous` link's cursor; anything else is a 400."
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page (default {self.page_size}); more than {self.max_page_size} reads "
                    f"{self.max_page_size}."
                )
        return parameters
