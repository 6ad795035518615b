"""HTTP API of the gateway: registry, cases, operations and the platform intake.

Routes are assembled in :mod:`spotcheck.gateway.api.routes`; this package imports nothing itself, so the
domain modules can use :mod:`spotcheck.gateway.api.dto` without importing the controllers.
"""
