-- Guardrails raised per day, on interactions and documents, by use case and model.
SELECT
  DATE(i.request_time) AS day,
  'interaction' AS source,
  i.use_case,
  i.template_name,
  i.template_version,
  i.model_name,
  g AS guardrail,
  COUNT(*) AS raised
FROM {dataset}.interactions AS i
CROSS JOIN UNNEST(i.guardrails) AS g
GROUP BY day, i.use_case, i.template_name, i.template_version, i.model_name, g
UNION ALL
SELECT
  DATE(e.event_time) AS day,
  'ingestion' AS source,
  e.use_case,
  CAST(NULL AS STRING) AS template_name,
  CAST(NULL AS INT64) AS template_version,
  e.embedding_model AS model_name,
  g AS guardrail,
  COUNT(*) AS raised
FROM {dataset}.ingestion_events AS e
CROSS JOIN UNNEST(e.guardrails) AS g
GROUP BY day, e.use_case, e.embedding_model, g
