"""Task templates: sample well-posed spatial questions from a scene and compute exact answers.

Filled in by the task-template issue; the registry lives at ``geoenv.tasks.registry``.
"""
