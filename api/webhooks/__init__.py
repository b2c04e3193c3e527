"""Webhooks: a project's managers register receiver URLs for events; deliveries are signed following the Standard
Webhooks specification, written to an outbox in the transaction of the event, and sent by Celery with backoff."""
