"""The Gradio app of clvmodel, as a package: ``app.py`` at the repository root assembles it.

- :mod:`clvapp.state`: what the app serves (model, data source, scorer) as one state, and
  the one accessor handlers reach it through.
- :mod:`clvapp.errors`: library errors as ``gr.Error`` (one decorator).
- :mod:`clvapp.inputs`: customer IDs, as-of dates, filters, checked with messages that say
  what to fix.
- :mod:`clvapp.format`: money, shares, metrics and empty tables as a person reads them.
- :mod:`clvapp.replies`: one customer's reply and how it is shown.
- :mod:`clvapp.tabs`: one module per tab, its layout (``build``) and its handlers.
"""
