"""Celery workers: one task per chapter in parallel, then one that assembles and publishes.

The service calls `workers.tasks.enqueue_job(job_id)` after creating a job and
`workers.tasks.cancel(job_id)` to cancel one. Start a worker with
`celery -A workers.celery_app worker`.
"""
