-- Labelled feedback rows newer than the last run a pipeline recorded for the use case.
SELECT COUNT(*) AS new_examples
FROM {dataset}.feedback AS f
WHERE f.use_case = @use_case
  AND (
    f.thumbs IS NOT NULL
    OR f.rating IS NOT NULL
    OR f.corrected_response IS NOT NULL
    OR f.preferred IS NOT NULL
  )
  AND f.feedback_time > COALESCE(
    (
      SELECT MAX(e.evaluation_time)
      FROM {dataset}.evaluations AS e
      WHERE e.use_case = @use_case AND e.pipeline = @pipeline
    ),
    TIMESTAMP('1970-01-01 00:00:00+00')
  )
