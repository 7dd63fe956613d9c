"""The service around the identity store: how it is served over HTTP and kept within its limits.

The composition root (:mod:`identity_app`, with its command line :mod:`identity_cli`) builds the
app; this package holds what the HTTP server and the process need beyond the two facades.
"""
