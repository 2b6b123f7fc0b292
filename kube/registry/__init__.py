"""The resource catalogue: which kinds exist in a logical cluster, and how each behaves."""

from .resources import REGISTRY, Registry, ResourceInfo
from .strategy import Column, Strategy

__all__ = ["REGISTRY", "Registry", "ResourceInfo", "Strategy", "Column"]
