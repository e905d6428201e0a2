-- Safety attributes triggered per day, by use case, template version and model.
SELECT
  DATE(i.request_time) AS day,
  i.use_case,
  i.template_name,
  i.template_version,
  i.model_name,
  s.category,
  COUNT(*) AS rated,
  -- Triggered: the model blocked on it, or rated it a medium or high risk.
  COUNTIF(s.blocked OR s.probability IN ('MEDIUM', 'HIGH')) AS triggered,
  COUNTIF(s.blocked) AS blocked,
  MAX(s.score) AS max_score
FROM {dataset}.interactions AS i
CROSS JOIN UNNEST(i.safety_attributes) AS s
GROUP BY day, i.use_case, i.template_name, i.template_version, i.model_name, s.category
