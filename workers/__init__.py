"""Celery workers: execute runs that the API hands out, talking to it over HTTP only."""
