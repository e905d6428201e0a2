-- Prompt sentiment per day, by use case, template version and model.
-- Sentiment is VADER's compound score of the user's input, from -1 to 1.
SELECT
  DATE(request_time) AS day,
  use_case,
  template_name,
  template_version,
  model_name,
  COUNT(prompt_sentiment) AS scored,
  AVG(prompt_sentiment) AS avg_sentiment,
  -- VADER's own cut-offs (llmops.monitoring.sentiment).
  COUNTIF(prompt_sentiment < -0.05) AS negative,
  COUNTIF(prompt_sentiment BETWEEN -0.05 AND 0.05) AS neutral,
  COUNTIF(prompt_sentiment > 0.05) AS positive
FROM {dataset}.interactions
GROUP BY day, use_case, template_name, template_version, model_name
