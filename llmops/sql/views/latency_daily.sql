-- Latency percentiles per day, by use case, template version and model.
-- p50, p95 and p99 in milliseconds, exact (PERCENTILE_CONT), with the mean and max.
WITH calls AS (
  SELECT
    DATE(request_time) AS day,
    use_case,
    template_name,
    template_version,
    model_name,
    latency_ms,
    -- Exact percentiles: APPROX_QUANTILES is approximate on small groups.
    PERCENTILE_CONT(latency_ms, 0.5) OVER (
      PARTITION BY
        DATE(request_time), use_case, template_name, template_version, model_name
    ) AS p50,
    PERCENTILE_CONT(latency_ms, 0.95) OVER (
      PARTITION BY
        DATE(request_time), use_case, template_name, template_version, model_name
    ) AS p95,
    PERCENTILE_CONT(latency_ms, 0.99) OVER (
      PARTITION BY
        DATE(request_time), use_case, template_name, template_version, model_name
    ) AS p99
  FROM {dataset}.interactions
  WHERE latency_ms IS NOT NULL
)
SELECT
  day,
  use_case,
  template_name,
  template_version,
  model_name,
  COUNT(*) AS calls,
  AVG(latency_ms) AS avg_ms,
  MAX(p50) AS p50_ms,
  MAX(p95) AS p95_ms,
  MAX(p99) AS p99_ms,
  MAX(latency_ms) AS max_ms
FROM calls
GROUP BY day, use_case, template_name, template_version, model_name
