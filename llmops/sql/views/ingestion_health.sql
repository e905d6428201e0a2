-- Ingestion outcomes per day and status, by use case and embedding model.
SELECT
  DATE(event_time) AS day,
  bucket,
  use_case,
  embedding_model,
  status,
  COUNT(*) AS events,
  COUNT(DISTINCT object) AS objects,
  SUM(chunk_count) AS chunks,
  SUM(bytes) AS bytes,
  AVG(total_ms) AS avg_total_ms,
  MAX(total_ms) AS max_total_ms
FROM {dataset}.ingestion_events
GROUP BY day, bucket, use_case, embedding_model, status
