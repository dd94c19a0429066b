"""Shared helpers for the policy tests (pure pytest, no Django)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from doudi.policy.parameters import ParameterSet, load_defaults  # noqa: E402


@pytest.fixture(scope="session")
def defaults() -> ParameterSet:
    return load_defaults()
