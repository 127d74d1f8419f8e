"""The plan as data: a province's targets, allocation, rounds, reviews, milestones and
the readings of its ambiguous targets, read from its YAML file with the source of every
figure, checked against its own text (``Plan.check``), and drafted for any province
from the national unit tables (``draft``, ``d8 plan new``)."""

from d8lib.plan.model import Finding, Plan, PlanError, load_plan

__all__ = ["Finding", "Plan", "PlanError", "load_plan"]
