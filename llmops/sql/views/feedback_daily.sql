-- Positive and negative feedback per day, by use case, template version and model.
SELECT
  DATE(f.feedback_time) AS day,
  f.use_case,
  i.template_name,
  i.template_version,
  i.model_name,
  COUNTIF(f.thumbs > 0 OR f.rating >= 4) AS positive,
  COUNTIF(f.thumbs < 0 OR f.rating <= 2) AS negative,
  COUNT(*) AS feedback_count
FROM {dataset}.feedback AS f
LEFT JOIN {dataset}.interactions AS i
  ON i.interaction_id = f.interaction_id
GROUP BY day, f.use_case, i.template_name, i.template_version, i.model_name
