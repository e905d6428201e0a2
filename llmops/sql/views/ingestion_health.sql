-- Ingestion outcomes per day and status: documents, chunks, bytes and latency.
SELECT
  DATE(event_time) AS day,
  bucket,
  status,
  COUNT(*) AS events,
  COUNT(DISTINCT object) AS objects,
  SUM(chunk_count) AS chunks,
  SUM(bytes) AS bytes,
  AVG(total_ms) AS avg_total_ms,
  MAX(total_ms) AS max_total_ms
FROM {dataset}.ingestion_events
GROUP BY day, bucket, status
