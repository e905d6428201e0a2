"""The runtime side of the pipeline templates: export, validation, split, metrics.

The Kubeflow components in ``pipeline_templates/`` are thin wrappers over the
plain functions here, so the same code runs on Vertex AI Pipelines, under
``kfp.local`` and in tests. Reads go through a ``TableStore``; nothing here
imports kfp.
"""
