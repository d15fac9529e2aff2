"""The synthetic demo clinic and benchmark stores. Imports anything in data/ below the pages."""
