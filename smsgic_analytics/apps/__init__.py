"""ipywidgets apps for JupyterLab and Voilà: estimator, rate explorer, sender, dashboard, copy lab.

Each app is one object: display it (or its ``.widget``) and drive it with the widgets or
its plain methods.  Every interactive widget has a stable CSS class
``smsgic-<app>-<role>`` for browser tests.

>>> from smsgic_analytics.apps import EstimatorApp
>>> EstimatorApp(client, numbers=df["phone"])   # doctest: +SKIP
"""
from __future__ import annotations

from .copylab import CopyLab
from .dashboard import DashboardApp
from .estimator import EstimatorApp
from .rates import RateExplorerApp
from .sender import SenderApp

__all__ = ["CopyLab", "DashboardApp", "EstimatorApp", "RateExplorerApp", "SenderApp"]
