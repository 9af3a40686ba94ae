-- 0002: the tenant-wide listing's routing order and date_started windows.
--
-- The store routes every delivery at its notification's date_started, so
-- that column is always set, and the listing relies on it: a date_started
-- window's total is a sum over the notifications it holds
-- (notifications_started), and a campaign or type filter reads its
-- notifications in routing order. Newest-first ties are broken by
-- notification, then target, on both backends; deliveries_routed follows.
UPDATE notifications n SET date_started = coalesce((SELECT max(d.routed_at) FROM deliveries d
	WHERE d.tenant_id = n.tenant_id AND d.nkey = n.nkey), n.created_at)
	WHERE n.date_started IS NULL;
ALTER TABLE notifications ALTER COLUMN date_started SET NOT NULL;
CREATE UNIQUE INDEX notifications_started ON notifications (tenant_id, date_started, nkey);
DROP INDEX notifications_campaign;
CREATE UNIQUE INDEX notifications_campaign ON notifications
	(tenant_id, campaign_id, date_started, nkey);
DROP INDEX notifications_type;
CREATE UNIQUE INDEX notifications_type ON notifications
	(tenant_id, type NULLS FIRST, date_started, nkey);
DROP INDEX deliveries_routed;
CREATE INDEX deliveries_routed ON deliveries (tenant_id, routed_at, nkey, tid)
	WHERE deleted_at IS NULL;
-- Ties in date_completed broken by routing time, notification, target: a new
-- delivery (not completed yet) lands at the end of the index rather than at
-- its target's place in a tenant-wide run.
DROP INDEX deliveries_completed;
CREATE INDEX deliveries_completed ON deliveries
	(tenant_id, completed_at NULLS FIRST, routed_at, nkey, tid) WHERE deleted_at IS NULL;
