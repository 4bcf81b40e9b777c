"""Integrations with other Flask extensions (Flask-Login)."""
