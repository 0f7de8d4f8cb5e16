"""Demo data for `make run`: safe to run any number of times."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.demo import seed_products
from apps.orders.demo import seed_orders
from apps.organizations import services as organization_services
from apps.organizations.models import Membership, Organization

DEMO_PASSWORD = "Olympus-demo-1!"  # noqa: S105 - printed demo credential, dev only
STAFF_EMAIL = "staff@demo.olympus.local"
DEMO_ORGANIZATION = {"name": "Demo Shop", "slug": "demo"}
# One user per organization role, each a member of the demo organization with that role.
ROLE_USERS = {
    "owner": "owner@demo.olympus.local",
    "admin": "admin@demo.olympus.local",
    "member": "member@demo.olympus.local",
    "viewer": "viewer@demo.olympus.local",
    "customer": "customer@demo.olympus.local",
}


class Command(BaseCommand):
    help = "Create the demo users (and, as those apps land, organization, products and orders). Idempotent."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            created = 0
            staff, was_created = self._user(STAFF_EMAIL, "Demo Staff", staff=True)
            created += was_created
            users = {}
            for role, email in ROLE_USERS.items():
                users[role], was_created = self._user(email, f"Demo {role.title()}")
                created += was_created
            organization = self._organization(owner=users["owner"])
            joined = self._memberships(organization, users)
            products = seed_products(organization)
        # Outside the block above: each order service commits on its own.
        orders = seed_orders(organization, customer=users["customer"])
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready ({created} user(s) created, {joined} membership(s) added).")
        )
        self.stdout.write(f"  organization:   {organization.name} (slug {organization.slug}, id {organization.pk})")
        self.stdout.write(f"  catalog:        {products} product(s) added")
        self.stdout.write(f"  orders:         {orders} demo order(s) added, one per status")
        self.stdout.write(f"  admin (staff):  {STAFF_EMAIL} / {DEMO_PASSWORD}")
        for role, email in ROLE_USERS.items():
            self.stdout.write(f"  {role + ':':<15} {email} / {DEMO_PASSWORD}")

    def _organization(self, *, owner: User) -> Organization:
        organization = Organization.objects.filter(slug=DEMO_ORGANIZATION["slug"], deleted_at__isnull=True).first()
        if organization is None:
            organization = organization_services.organization_create(actor=owner, **DEMO_ORGANIZATION)
        return organization

    def _memberships(self, organization: Organization, users: dict[str, User]) -> int:
        """Owner, admin, member and viewer join with their role; existing memberships are left alone."""
        added = 0
        for role in Membership.Role.values:
            user = users[role]
            if not Membership.objects.filter(organization=organization, user=user).exists():
                organization_services.membership_create(
                    organization=organization, user=user, role=role, actor=users["owner"]
                )
                added += 1
        return added

    def _user(self, email: str, full_name: str, *, staff: bool = False) -> tuple[User, bool]:
        user = User.objects.exclude(status=User.Status.DELETED).filter(email__iexact=email).first()
        if user is not None:
            if user.email_verified_at is None:  # seeded before verification existed
                user.email_verified_at = timezone.now()
                user.save(update_fields=["email_verified_at", "updated_at"])
            return user, False
        # Demo accounts can sign in at once: active and already verified.
        create = User.objects.create_superuser if staff else User.objects.create_user
        return create(email, DEMO_PASSWORD, full_name=full_name, email_verified_at=timezone.now()), True
