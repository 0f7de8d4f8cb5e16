"""Seed the default plans (free, pro, enterprise) from ``apps/billing/plans_seed.py``.

Stripe price ids are left empty: set them in the admin, or run
``manage.py billing_sync_prices`` to create the prices at Stripe (or
localstripe) and store their ids. Existing plans with these codes are left alone.
"""

from django.db import migrations

from apps.billing.plans_seed import seed_default_plans


def seed(apps, schema_editor):
    seed_default_plans(apps.get_model("billing", "Plan"))


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
