import os

from celery import Celery

from corral.logs import connect_task_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")

app = Celery("corral")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_task_logging()
