"""netcost: what every layer of a PyTorch model costs, and why.

>>> import netcost, torch
>>> conv = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1)
>>> report = netcost.analyze(conv, input_size=(64, 4, 14, 14))
>>> report.total.macs == 64 * 8 * 7 * 7 * 4 * 3 * 3
True
"""

from netcost.analysis.compare import Comparison, compare
from netcost.analysis.economics import Economics
from netcost.analysis.explain import Explanation
from netcost.analysis.sharding import PerGpu, per_gpu
from netcost.analysis.stages import Breakdown, Stage
from netcost.analysis.timing import Timing
from netcost.analysis.training_compute import TrainingCompute
from netcost.api import analyze
from netcost.cost import Cost
from netcost.errors import ModelError, NetcostError, UnsupportedError, UsageError
from netcost.formulas._registry import register_formula
from netcost.generation import Generation, ServingPlan, generate
from netcost.measure.profile import Profile, profile
from netcost.planning import BatchPlan, largest_batch
from netcost.report import Diagnostic, Layer, Memory, PhasePeak, Report, Totals, TrainingMemory
from netcost.serving import Scheduler, Served, serve
from netcost.trace import TensorSpec

__version__ = "0.1.0"

__all__ = [
    "BatchPlan",
    "Breakdown",
    "Comparison",
    "Cost",
    "Diagnostic",
    "Economics",
    "Explanation",
    "Generation",
    "Layer",
    "Memory",
    "ModelError",
    "NetcostError",
    "PerGpu",
    "PhasePeak",
    "Profile",
    "Report",
    "Scheduler",
    "Served",
    "ServingPlan",
    "Stage",
    "TensorSpec",
    "Timing",
    "Totals",
    "TrainingCompute",
    "TrainingMemory",
    "UnsupportedError",
    "UsageError",
    "__version__",
    "analyze",
    "compare",
    "generate",
    "largest_batch",
    "per_gpu",
    "profile",
    "register_formula",
    "serve",
]
