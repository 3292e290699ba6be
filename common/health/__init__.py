"""Liveness and readiness: ``/healthz`` says who this node is and what is wrong."""
