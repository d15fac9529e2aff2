"""Performance benchmark (issue 7): python bench/run.py --scale S|M|L."""
