-- The trace a webhook was received under, so a stored row leads back to its whole
-- journey (HTTP request → publish → projection) in Jaeger or Grafana Tempo.
alter table webhook_events add column trace_id text;
