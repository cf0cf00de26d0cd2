"""The proof behind the promise: kind harnesses, fault injection at every call point, soak runs."""

from .faults import CallPlan, FaultOutcome, FaultRun, inject_fault, record_call_points, run_every_fault, run_fault_case
from .harness import FaultMode, KindHarness
from .soak import SoakResult, soak

__all__ = [
    "CallPlan",
    "FaultMode",
    "FaultOutcome",
    "FaultRun",
    "KindHarness",
    "SoakResult",
    "inject_fault",
    "record_call_points",
    "run_every_fault",
    "run_fault_case",
    "soak",
]
