"""Development services beside the product: not part of the LLMOps platform that is deployed.

* :mod:`devservices.embedded`: a private PostgreSQL (pgvector) and Redis for ``make run`` / ``make test``
  (``python -m devservices.embedded start|stop|status|urls``);
* :mod:`devservices.localmodels`: llama.cpp and MiniLM servers for development and tests
  (``python -m devservices.localmodels ensure``);
* :mod:`devservices.unprivileged`: run the Celery worker and beat as an unprivileged account when
  ``make run`` runs as root.

The product (``llmops``) imports none of this, except ``llmops/settings/embedded.py``: the one seam where the
settings ask for the embedded servers' URLs when ``DATABASE_URL`` / ``REDIS_URL`` are unset.
"""
