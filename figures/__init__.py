"""Every chart of the product, on screen and on paper: a DataFrame in, a plotly Figure out.

Below both the pages (ui/) and the PDF exports (data/exports/): may import outcomes/,
pandas and plotly only, never Streamlit, data/ or models/. One palette and one registered
plotly template (`figures.theme`), so a colour means the same thing everywhere:
response green, remission blue, worse red, neutral grey.
"""
