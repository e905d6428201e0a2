-- Characters and tokens in and out per day, by use case, template version and model.
SELECT
  DATE(request_time) AS day,
  use_case,
  template_name,
  template_version,
  model_name,
  COUNT(*) AS interactions,
  SUM(input_chars) AS input_chars,
  SUM(output_chars) AS output_chars,
  -- Where the model reported no token count, four characters make a token.
  SUM(COALESCE(input_tokens, CAST(CEIL(input_chars / 4) AS INT64))) AS input_tokens,
  SUM(COALESCE(output_tokens, CAST(CEIL(output_chars / 4) AS INT64))) AS output_tokens,
  COUNTIF(input_tokens IS NULL OR output_tokens IS NULL) AS estimated_token_rows
FROM {dataset}.interactions
GROUP BY day, use_case, template_name, template_version, model_name
