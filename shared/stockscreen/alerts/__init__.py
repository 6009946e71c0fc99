"""Alerts: rules, evaluation, notifications."""
