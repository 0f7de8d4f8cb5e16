"""Read-only models over the materialized views (``sql.py``); the views are the source of truth."""

from django.db import models


class DailyMetric(models.Model):
    """Per organization, UTC day and currency: counted orders, revenue, average order value, customers."""

    pk = models.CompositePrimaryKey("organization_id", "day", "currency")
    organization = models.ForeignKey("organizations.Organization", on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField()
    currency = models.CharField(max_length=3)
    order_count = models.IntegerField()
    revenue_cents = models.BigIntegerField()
    average_order_cents = models.BigIntegerField()
    unique_customers = models.IntegerField()

    class Meta:
        managed = False
        db_table = 'analytics"."daily_metrics'
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.currency}"


class DailyTopProduct(models.Model):
    """The best sellers of each day (by revenue, at most 10), per organization and currency."""

    pk = models.CompositePrimaryKey("organization_id", "day", "currency", "product_key")
    organization = models.ForeignKey("organizations.Organization", on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField()
    currency = models.CharField(max_length=3)
    product_key = models.CharField(max_length=64)
    product_id = models.UUIDField(null=True)
    name = models.CharField(max_length=200, null=True)
    sku = models.CharField(max_length=64, null=True)
    quantity = models.BigIntegerField()
    revenue_cents = models.BigIntegerField()
    rank = models.IntegerField()

    class Meta:
        managed = False
        db_table = 'analytics"."daily_top_products'
        ordering = ["day", "rank"]

    def __str__(self) -> str:
        return f"{self.day} #{self.rank} {self.name}"
