"""Growing a benchmark: ask real models, score their answers, price them, store every call.

Submodules: ``sandbox`` (untrusted code), ``store`` (SQLite), ``client`` (HTTP with
retries), ``scorers``, ``tasks`` (readers and converters), ``pricing``, ``runner`` and
``cli`` (the ``routerbench collect`` command). Nothing here is imported by the benchmark path.
"""
