-- Response length per day, by use case, template version and model.
-- Mean and max characters out, and mean tokens out.
SELECT
  DATE(request_time) AS day,
  use_case,
  template_name,
  template_version,
  model_name,
  COUNT(*) AS interactions,
  AVG(output_chars) AS avg_output_chars,
  MAX(output_chars) AS max_output_chars,
  AVG(output_tokens) AS avg_output_tokens
FROM {dataset}.interactions
GROUP BY day, use_case, template_name, template_version, model_name
