# expect_exit: 3
"""A program that does not parse."""
import kit

kit.deployment(
