-- The model a use case called most, whose logged answers are the baseline.
SELECT model_name, COUNT(*) AS calls
FROM {dataset}.interactions
WHERE use_case = @use_case
  AND (@template_name = '' OR template_name = @template_name)
GROUP BY model_name
ORDER BY calls DESC, model_name
LIMIT 1
