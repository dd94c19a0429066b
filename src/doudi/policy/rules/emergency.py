"""疫情防控期间: whether the period is in the emergency window."""

import numpy as np

from doudi.policy.engine import Simulation, as_bool, rule


@rule("emergency.in_window", entity="period", fmt=as_bool)
def in_window(s: Simulation) -> np.bool_:
    """A month is in the window if any day of it is (POLICY §1)."""
    return np.bool_(s.window().contains_month(s.period))
