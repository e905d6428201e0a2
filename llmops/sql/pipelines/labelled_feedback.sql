-- Labelled feedback of a use case joined to the interaction it rates.
SELECT
  f.feedback_id,
  f.interaction_id,
  f.feedback_time,
  f.use_case,
  f.thumbs,
  f.rating,
  f.corrected_response,
  f.candidate_a,
  f.candidate_b,
  f.preferred,
  i.prompt,
  i.response,
  i.template_name,
  i.template_version,
  i.model_name,
  i.blocked
FROM {dataset}.feedback AS f
LEFT JOIN {dataset}.interactions AS i
  ON i.interaction_id = f.interaction_id
WHERE f.use_case = @use_case
  AND (@template_name = '' OR i.template_name = @template_name)
  AND (
    f.thumbs IS NOT NULL
    OR f.rating IS NOT NULL
    OR f.corrected_response IS NOT NULL
    OR f.preferred IS NOT NULL
  )
ORDER BY f.feedback_time, f.feedback_id
