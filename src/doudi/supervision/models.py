"""Supervision's tables (资金监管、监督检查)."""
