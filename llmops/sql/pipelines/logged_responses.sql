-- A model's logged responses for a template version, newest first, for replay.
SELECT
  prompt,
  response,
  blocked,
  ARRAY_LENGTH(guardrails) AS guardrail_count,
  request_time
FROM {dataset}.interactions
WHERE use_case = @use_case
  AND model_name = @model_name
  AND (@template_name = '' OR template_name = @template_name)
  AND (@template_version = 0 OR template_version = @template_version)
  AND prompt IS NOT NULL
  AND response IS NOT NULL
ORDER BY request_time DESC
