"""onetrip's engine: everything a node of any tier runs.

common/ never imports the tier packages (county_node, township_node, village_node);
they register themselves through the ``onetrip.tiers`` entry point and say what they
mount (see common/tiers.py).
"""

__version__ = "0.1.0"
