"""Running the package on Azure Synapse: the runtime adapter (``runtime``), the edge helpers the
notebooks and Spark job definitions call (``entry``), the data engineers' questions (``explore``)
and the workspace artifacts generated from ``notebooks/`` and ``jobs/`` (``artifacts``).

Nothing here imports ``notebookutils`` or ``mssparkutils`` at module level: they exist only on a
Synapse pool, and :class:`~accelerator.synapse.runtime.SynapseRuntime` imports them when asked.
"""
