"""The hardening suite (issue 5): hostile data, secret hygiene, faults, permissions."""
