-- Estimated cost per day: the usage_daily view joined to a price table.
-- The prices placeholder becomes one SELECT of @model_N, @input_N and @output_N per
-- priced model (USD per million tokens); llmops.monitoring.prices builds it.
WITH prices AS (
  {prices}
)
SELECT
  u.day,
  u.use_case,
  u.template_name,
  u.template_version,
  u.model_name,
  u.interactions,
  u.input_chars,
  u.output_chars,
  u.input_tokens,
  u.output_tokens,
  u.estimated_token_rows,
  p.model_name IS NOT NULL AS priced,
  u.input_tokens / 1000000 * p.input_per_million
    + u.output_tokens / 1000000 * p.output_per_million AS estimated_cost_usd
FROM {dataset}.usage_daily AS u
LEFT JOIN prices AS p
  ON p.model_name = u.model_name
WHERE u.day >= @since
