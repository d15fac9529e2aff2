"""The synthetic demo clinic and benchmark stores. Imports any room of data/ except exports/."""
