"""Regenerate everything on a profile. For now: the data summary and every task's representations."""
import sys

from closerlook import data, representations

if __name__ == "__main__":
    data.main([])
    representations.main(sys.argv[1:])
