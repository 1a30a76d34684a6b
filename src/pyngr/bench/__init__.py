"""Reproduce the paper's experiments, or the same comparison on your own data.

* :mod:`~pyngr.bench.specs`: one declarative :class:`~pyngr.bench.specs.Experiment` per
  table/figure of the paper (:data:`~pyngr.bench.specs.EXPERIMENTS`), expanding into
  :class:`~pyngr.bench.specs.RunSpec` objects;
* :mod:`~pyngr.bench.datasets`: reading and degrading the benchmark data (seeded);
* :mod:`~pyngr.bench.runner`: one run through the public API → one record;
* :mod:`~pyngr.bench.store`: the JSON-lines result store (skip finished runs, resume);
* :mod:`~pyngr.bench.executors`: local (sequential or one worker per GPU) and Ray;
* :mod:`~pyngr.bench.report`: markdown tables beside the paper's numbers, and figures.

The command line is ``ngr bench list | run | report``.
"""

from .executors import pending, run_local, run_ray
from .report import render
from .runner import execute
from .specs import EXPERIMENTS, Case, Experiment, RunSpec
from .store import Store

__all__ = ["EXPERIMENTS", "Case", "Experiment", "RunSpec", "Store", "execute", "pending",
           "render", "run_local", "run_ray"]
