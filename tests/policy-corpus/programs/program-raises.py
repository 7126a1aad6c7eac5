# expect_exit: 3
"""A program that fails with a Python exception."""
import kit

raise ValueError(f"no such team setting for {kit.TEAM}")
