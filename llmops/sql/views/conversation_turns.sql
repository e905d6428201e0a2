-- Turns per conversation, by the day it started, use case, template version and model.
WITH conversations AS (
  SELECT
    conversation_id,
    use_case,
    template_name,
    template_version,
    model_name,
    DATE(MIN(request_time)) AS day,
    COUNT(*) AS turns
  FROM {dataset}.interactions
  WHERE conversation_id IS NOT NULL
  GROUP BY conversation_id, use_case, template_name, template_version, model_name
)
SELECT
  day,
  use_case,
  template_name,
  template_version,
  model_name,
  COUNT(*) AS conversations,
  AVG(turns) AS avg_turns,
  MAX(turns) AS max_turns
FROM conversations
GROUP BY day, use_case, template_name, template_version, model_name
