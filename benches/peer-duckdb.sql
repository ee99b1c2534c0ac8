-- The allocation of benches/plan-1m.allot, translated by hand into DuckDB SQL: an independent
-- peer for `allot plan` (benches/peer-duckdb.sh runs both and checks they publish the same
-- offers). It follows docs/inventory.md's order of operations for exactly this policy and the
-- generic CSV that examples/gen.rs writes (sku,location,on_hand,reserved,tags,brand); it is not a
-- general policy engine. The inventory path comes from `SET VARIABLE inventory = '...'`.
--
-- Result: the view `offers(seller_sku, channel, quantity)`, one row per channel of every offer
-- (a seller SKU shared by several marketplaces, as `publish US, CA, MX`, is one offer).

CREATE OR REPLACE TEMP VIEW offers AS
WITH
-- Step 1: available = max(on_hand - reserved, 0) per row; tags are `;`-separated, trimmed.
inventory AS (
    SELECT
        trim(sku) AS sku,
        trim(location) AS location,
        CASE WHEN on_hand > coalesce(reserved, 0) THEN on_hand - coalesce(reserved, 0) ELSE 0 END
            AS available,
        list_transform(string_split(coalesce(tags, ''), ';'), lambda t: trim(t)) AS tags
    FROM read_csv(
        getvariable('inventory'),
        header = true,
        auto_detect = false,
        columns = {
            'sku': 'VARCHAR', 'location': 'VARCHAR', 'on_hand': 'UBIGINT',
            'reserved': 'UBIGINT', 'tags': 'VARCHAR', 'brand': 'VARCHAR'
        }
    )
),
-- One row per inventory SKU: its available stock per location (no row is 0) and its tags (the
-- union over its rows).
skus AS (
    SELECT
        sku,
        coalesce(sum(available) FILTER (WHERE location = 'wh1'), 0) AS wh1,
        coalesce(sum(available) FILTER (WHERE location = 'wh2'), 0) AS wh2,
        coalesce(sum(available) FILTER (WHERE location = 'wh3'), 0) AS wh3,
        bool_or(list_contains(tags, 'apparel')) AS tag_apparel,
        bool_or(list_contains(tags, 'candles')) AS tag_candles
    FROM inventory
    GROUP BY sku
),
-- Steps 2-6 of each rule's targets, integer arithmetic throughout. A share is taken in exact
-- hundredths of a percent and rounded down; a percentage buffer keeps back units rounded up.
quantities AS (
    SELECT
        sku, tag_apparel, tag_candles, wh1, wh2,
        -- "apparel": stock from wh1, wh2; buffer 2; share 50%; cap 50
        least((greatest(wh1 + wh2, 2) - 2) * 5000 // 10000, 50) AS apparel,
        -- "candles": all locations; cap 20
        least(wh1 + wh2 + wh3, 20) AS candles,
        -- "mugs": all locations; share 60% / 40%; threshold 3 (below 3 publishes 0)
        (wh1 + wh2 + wh3) * 6000 // 10000 AS mugs_us,
        (wh1 + wh2 + wh3) * 4000 // 10000 AS mugs_ca,
        -- "everything else": all locations; buffer 10% (kept back rounded up); share 50%
        ((wh1 + wh2 + wh3) - ((wh1 + wh2 + wh3) * 1000 + 9999) // 10000) * 5000 // 10000 AS rest
    FROM skus
),
-- The rules in policy order: the first whose selector matches decides and gives the SKU's offers.
decided AS (
    SELECT CASE
        WHEN tag_apparel THEN [
            {'seller_sku': sku || '-US', 'channel': 'DEFAULT', 'quantity': apparel},
            {'seller_sku': sku || '-CA', 'channel': 'DEFAULT', 'quantity': apparel},
            {'seller_sku': sku || '-MX', 'channel': 'DEFAULT', 'quantity': apparel},
            {'seller_sku': sku || '-BR', 'channel': 'DEFAULT', 'quantity': apparel}]
        -- `publish US, CA, MX` renders "{sku}" three times: one offer listed in three marketplaces.
        WHEN tag_candles THEN [
            {'seller_sku': sku, 'channel': 'DEFAULT', 'quantity': candles}]
        WHEN starts_with(sku, 'MUG-') THEN [
            {'seller_sku': sku || '-US', 'channel': 'DEFAULT',
             'quantity': CASE WHEN mugs_us < 3 THEN 0 ELSE mugs_us END},
            {'seller_sku': sku || '-CA', 'channel': 'DEFAULT',
             'quantity': CASE WHEN mugs_ca < 3 THEN 0 ELSE mugs_ca END}]
        -- `publish US by location` + `default_channel 0`: DEFAULT 0, then each counted location
        -- with a supply source (wh1, wh2; wh3 has none) gets its own available stock.
        WHEN starts_with(sku, 'SHOE-') THEN [
            {'seller_sku': sku, 'channel': 'DEFAULT', 'quantity': 0},
            {'seller_sku': sku, 'channel': '11111111-aaaa-4bbb-8ccc-000000000001', 'quantity': wh1},
            {'seller_sku': sku, 'channel': '11111111-aaaa-4bbb-8ccc-000000000002', 'quantity': wh2}]
        -- match any
        ELSE [
            {'seller_sku': sku || '-MX', 'channel': 'DEFAULT', 'quantity': rest},
            {'seller_sku': sku || '-BR', 'channel': 'DEFAULT', 'quantity': rest}]
    END AS offers
    FROM quantities
)
SELECT o.seller_sku, o.channel, CAST(o.quantity AS UBIGINT) AS quantity
FROM (SELECT unnest(offers) AS o FROM decided);
