-- Turns per conversation, by the day it started, use case, template version and model.
-- A conversation counts under the template version and model of its first turn,
-- and has as many turns as it logged or as its highest turn number, whichever is
-- more (an app may log only some turns).
WITH turns AS (
  SELECT
    conversation_id,
    use_case,
    request_time,
    turn,
    FIRST_VALUE(template_name) OVER first_turn AS template_name,
    FIRST_VALUE(template_version) OVER first_turn AS template_version,
    FIRST_VALUE(model_name) OVER first_turn AS model_name
  FROM {dataset}.interactions
  WHERE conversation_id IS NOT NULL
  WINDOW first_turn AS (
    PARTITION BY conversation_id, use_case ORDER BY request_time
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
  )
),
conversations AS (
  SELECT
    conversation_id,
    use_case,
    template_name,
    template_version,
    model_name,
    DATE(MIN(request_time)) AS day,
    GREATEST(COUNT(*), IFNULL(MAX(turn), 0)) AS turns
  FROM turns
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
