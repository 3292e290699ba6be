"""A township convenience service centre (乡镇便民服务中心): accepts, decides or
escalates cases and watches its villages.

Thin on purpose: the tier says which routers and roles it mounts and its defaults;
the engine is common/.
"""
