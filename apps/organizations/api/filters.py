import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.organizations.models import Invitation


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices, method="filter_status")

    class Meta:
        model = Invitation
        fields = ["status", "role"]

    def filter_status(self, queryset: QuerySet[Invitation], name: str, value: str) -> QuerySet[Invitation]:
        now = timezone.now()
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            Invitation.Status.ACCEPTED: queryset.filter(accepted_at__isnull=False),
            Invitation.Status.REVOKED: queryset.filter(revoked_at__isnull=False),
            Invitation.Status.EXPIRED: queryset.filter(open_, expires_at__lte=now),
            Invitation.Status.PENDING: queryset.filter(open_, expires_at__gt=now),
        }[Invitation.Status(value)]
