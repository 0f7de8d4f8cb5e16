"""Demo data for `make run`: safe to run any number of times, refused in production.

Under production settings (``OLYMPUS_PRODUCTION``) the command stops before it opens a
database connection, unless the operator opts in twice: the ``--i-know-this-is-production``
flag and ``OLYMPUS_ALLOW_DEMO_SEED=true`` in the environment. Even then no account gets
the published demo password: each new account gets a random one, printed once.
"""

import secrets

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.accounts.known_passwords import DEMO_PASSWORD
from apps.accounts.models import User
from apps.catalog.demo import seed_categories, seed_products
from apps.orders.demo import seed_orders
from apps.organizations import services as organization_services
from apps.organizations.models import Membership, Organization
from apps.reviews.demo import seed_reviews

PRODUCTION_FLAG = "--i-know-this-is-production"
STAFF_EMAIL = "staff@demo.olympus.local"
# A staff member who is not a superuser: a member of the demo organization with a few
# admin permissions, to show the tenant-scoped admin.
SUPPORT_EMAIL = "support@demo.olympus.local"
SUPPORT_PERMISSIONS = (
    ("catalog", "view_product"),
    ("catalog", "change_product"),
    ("orders", "view_order"),
    ("orders", "change_order"),
)
DEMO_ORGANIZATION = {"name": "Demo Shop", "slug": "demo"}
# One user per organization role, each a member of the demo organization with that role.
ROLE_USERS = {
    "owner": "owner@demo.olympus.local",
    "admin": "admin@demo.olympus.local",
    "member": "member@demo.olympus.local",
    "viewer": "viewer@demo.olympus.local",
    "customer": "customer@demo.olympus.local",
}

__all__ = ["DEMO_PASSWORD", "ROLE_USERS", "STAFF_EMAIL", "SUPPORT_EMAIL", "Command"]


class Command(BaseCommand):
    help = "Create the demo organization, users, catalog and orders (development only). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            PRODUCTION_FLAG,
            action="store_true",
            dest="production_confirmed",
            help="With OLYMPUS_ALLOW_DEMO_SEED=true, seed demo data under production settings "
            "(new accounts get random passwords, printed once).",
        )

    def handle(self, *args, **options) -> None:
        production = settings.OLYMPUS_PRODUCTION
        if production and not (options["production_confirmed"] and settings.OLYMPUS_ALLOW_DEMO_SEED):
            # Before any database access: nothing is written.
            raise CommandError(
                "seed_demo refuses to run with production settings: it creates users and demo orders.\n"
                "Create your first administrator with `python manage.py createsuperuser` instead.\n"
                f"To load the demo here anyway, pass {PRODUCTION_FLAG} and set OLYMPUS_ALLOW_DEMO_SEED=true; "
                "new accounts then get random passwords, printed once."
            )
        self.random_passwords = production
        self.credentials: dict[str, str | None] = {}
        with transaction.atomic():
            created = 0
            _staff, was_created = self._user(STAFF_EMAIL, "Demo Staff", superuser=True)
            created += was_created
            users = {}
            for role, email in ROLE_USERS.items():
                users[role], was_created = self._user(email, f"Demo {role.title()}")
                created += was_created
            support, was_created = self._user(SUPPORT_EMAIL, "Demo Support", staff=True)
            created += was_created
            organization = self._organization(owner=users["owner"])
            joined = self._memberships(organization, users, support=support)
            self._support_permissions(support)
            products = seed_products(organization)
            categories = seed_categories(organization)
        # Outside the block above: each order service commits on its own.
        orders = seed_orders(organization, customer=users["customer"])
        # After the orders: the customer's delivered order makes their reviews verified.
        reviews = seed_reviews(organization, reviewers=[users["customer"], users["viewer"]])
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready ({created} user(s) created, {joined} membership(s) added).")
        )
        self.stdout.write(f"  organization:   {organization.name} (slug {organization.slug}, id {organization.pk})")
        self.stdout.write(f"  catalog:        {products} product(s), {categories} category(ies) added")
        self.stdout.write(f"  reviews:        {reviews} review(s) added")
        self.stdout.write(f"  orders:         {orders} demo order(s) added, one per status")
        labels = {STAFF_EMAIL: "admin (staff)", SUPPORT_EMAIL: "support (staff)"}
        labels.update({email: role for role, email in ROLE_USERS.items()})
        for email, label in labels.items():
            password = self.credentials.get(email)
            shown = password if password is not None else "(existing account: password unchanged)"
            self.stdout.write(f"  {label + ':':<17} {email} / {shown}")
        if self.random_passwords:
            self.stdout.write(self.style.WARNING("  These random passwords are shown once; store them now."))

    def _organization(self, *, owner: User) -> Organization:
        organization = Organization.objects.filter(slug=DEMO_ORGANIZATION["slug"], deleted_at__isnull=True).first()
        if organization is None:
            organization = organization_services.organization_create(actor=owner, **DEMO_ORGANIZATION)
        return organization

    def _memberships(self, organization: Organization, users: dict[str, User], *, support: User) -> int:
        """Owner, admin, member and viewer join with their role, support as a member; existing ones stay."""
        wanted = [(users[role], role) for role in Membership.Role.values]
        wanted.append((support, Membership.Role.MEMBER))
        added = 0
        for user, role in wanted:
            if not Membership.objects.filter(organization=organization, user=user).exists():
                organization_services.membership_create(
                    organization=organization, user=user, role=role, actor=users["owner"]
                )
                added += 1
        return added

    def _support_permissions(self, support: User) -> None:
        for app_label, codename in SUPPORT_PERMISSIONS:
            support.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))

    def _user(self, email: str, full_name: str, *, staff: bool = False, superuser: bool = False) -> tuple[User, bool]:
        user = User.objects.exclude(status=User.Status.DELETED).filter(email__iexact=email).first()
        if user is not None:
            if user.email_verified_at is None:  # seeded before verification existed
                user.email_verified_at = timezone.now()
                user.save(update_fields=["email_verified_at", "updated_at"])
            # Development shows the demo password; production never knows an existing one.
            self.credentials[email] = None if self.random_passwords else DEMO_PASSWORD
            return user, False
        # In production (explicit opt-in) never the published password: a random one, shown once.
        password = secrets.token_urlsafe(18) if self.random_passwords else DEMO_PASSWORD
        self.credentials[email] = password
        # Demo accounts can sign in at once: active and already verified.
        create = User.objects.create_superuser if superuser else User.objects.create_user
        extra = {"is_staff": True} if staff and not superuser else {}
        user = create(email, password, full_name=full_name, email_verified_at=timezone.now(), **extra)
        return user, True
