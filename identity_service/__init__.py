"""The service around the identity store: the composition root and how it is served.

:mod:`settings` (the environment), :mod:`database` (MongoDB or the embedded SecantusDB),
:mod:`readiness` (nothing served before the indexes exist), :mod:`signing_key`, and :mod:`app`
(``create_app``: both facades over one store and one command bus) compose the service;
:mod:`http_server`, :mod:`concurrency`, :mod:`connections` and :mod:`loop_lag` keep the HTTP
server and the process within their limits. :mod:`cli` (the ``identity-store`` command line,
also ``python -m identity_service``) builds on :mod:`app`; nothing here imports it.
"""
