-- The metrics an earlier evaluation run wrote, to compare a new run against.
SELECT metric, value, examples
FROM {dataset}.evaluations
WHERE evaluation_id = @evaluation_id
