"""Oversight: the figures the county steers the reform by (数据看板), per county,
township and village, and the case lists behind each number."""
