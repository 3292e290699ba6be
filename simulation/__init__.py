"""Demo, simulation and synthetic data: what runs the engine for show and for load.

``demo`` and ``demo_data`` start the local demo network (``onetrip demo``, registered
under the ``onetrip.commands`` entry point); ``network`` builds a whole network in one
process and ``workload`` plays what people do on it, for tests and benchmarks;
``synthetic`` generates large invented catalogues. This package imports ``common``;
``common`` never imports it (tests/test_import_graph.py checks).
"""
