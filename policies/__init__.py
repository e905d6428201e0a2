"""The platform's policy pack: guardrails every stack must pass.

Rules live in one module per area (storage, iam, functions, vector_search,
monitoring, governance); :mod:`policies.pack` lists them all and
:mod:`policies.evaluate` runs them offline on captured resources. Importing
this package never starts the pack's server: only ``__main__.py`` does.
"""
