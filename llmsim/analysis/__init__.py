"""Reports computed from Results: sessions, spend guards and their savings, output contracts and the
billing identity (``llmsim.analysis.spend_contracts``). Nothing here changes how a run behaves."""
