"""One module per tab, in the order of the page: forecast, lists, lookup, whatif, batch,
model. Each has handlers that take the served state first and a ``build`` that lays the tab
out and wires them (:meth:`clvapp.state.Served.bind`)."""
