"""Sampling plans (抽检实施方案), the object and inspector directories, and verifiable random draws (双随机一公开).

The opinion 三 and 六(二): every inspection runs from a plan, and the merchants (and inspectors) are drawn at
random by a commit-reveal protocol anyone can recompute with the SDK (``spotcheck.sdk._draws``).
"""
