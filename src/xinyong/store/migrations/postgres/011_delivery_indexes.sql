-- Deliveries are picked by status and notice, and looked up by notice.
CREATE INDEX notice_deliveries_due ON notice_deliveries (status, notice_id);
CREATE INDEX notice_deliveries_notice ON notice_deliveries (notice_id, channel);
CREATE INDEX objections_event ON objections (event_id);
