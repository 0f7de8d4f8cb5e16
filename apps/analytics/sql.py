"""The materialized views, in SQL (created by migration 0001; refreshed CONCURRENTLY by beat).

Counted orders: every placed order except cancelled, refunded (and draft,
which is not placed yet), bucketed by the UTC day it was placed. Amounts stay
per currency: cents of two currencies are never added together.
"""

COUNTED = "o.status NOT IN ('draft', 'cancelled', 'refunded')"
DAY = "(o.created_at AT TIME ZONE 'UTC')::date"
# A customer is the user, or the email when the user was deleted.
CUSTOMER = "COALESCE(o.user_id::text, 'email:' || lower(NULLIF(o.customer_email, '')))"
TOP_PRODUCTS_PER_DAY = 10
PRODUCT_KEY = "COALESCE(i.product_id::text, i.product_snapshot->>'id', i.product_snapshot->>'sku', i.id::text)"

CREATE_DAILY_METRICS = f"""
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE MATERIALIZED VIEW analytics.daily_metrics AS
SELECT o.organization_id,
       {DAY} AS day,
       o.currency,
       count(*)::integer AS order_count,
       sum(o.total_cents)::bigint AS revenue_cents,
       round(sum(o.total_cents)::numeric / count(*))::bigint AS average_order_cents,
       count(DISTINCT {CUSTOMER})::integer AS unique_customers
  FROM orders_order o
 WHERE {COUNTED}
 GROUP BY o.organization_id, {DAY}, o.currency
WITH DATA;
CREATE UNIQUE INDEX daily_metrics_key ON analytics.daily_metrics (organization_id, day, currency);
"""

CREATE_TOP_PRODUCTS = f"""
CREATE MATERIALIZED VIEW analytics.daily_top_products AS
SELECT organization_id, day, currency, product_key, product_id, name, sku, quantity, revenue_cents, rank
  FROM (
    SELECT o.organization_id,
           {DAY} AS day,
           o.currency,
           {PRODUCT_KEY} AS product_key,
           (array_agg(i.product_id))[1] AS product_id,
           max(i.product_snapshot->>'name') AS name,
           max(i.product_snapshot->>'sku') AS sku,
           sum(i.quantity)::bigint AS quantity,
           sum(i.total_cents)::bigint AS revenue_cents,
           row_number() OVER (
             PARTITION BY o.organization_id, {DAY}, o.currency
             ORDER BY sum(i.total_cents) DESC, sum(i.quantity) DESC,
                      {PRODUCT_KEY}
           )::integer AS rank
      FROM orders_order o
      JOIN orders_orderitem i ON i.order_id = o.id
     WHERE {COUNTED}
     GROUP BY o.organization_id, {DAY}, o.currency,
              {PRODUCT_KEY}
  ) ranked
 WHERE rank <= {TOP_PRODUCTS_PER_DAY}
WITH DATA;
CREATE UNIQUE INDEX daily_top_products_key
    ON analytics.daily_top_products (organization_id, day, currency, product_key);
"""

DROP = """
DROP MATERIALIZED VIEW IF EXISTS analytics.daily_top_products;
DROP MATERIALIZED VIEW IF EXISTS analytics.daily_metrics;
DROP SCHEMA IF EXISTS analytics;
"""

VIEWS = ("analytics.daily_metrics", "analytics.daily_top_products")
