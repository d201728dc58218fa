"""The client pipeline's layers, one module each, over a leaf that sends attempts to stations.

Every layer has ``call(c)``: do the work for one ``Call`` of the layer above, then ``c.done(att)``
with the attempt that decided it. A layer that changes what it asks of the layer below (another
cut, a provider, a hedge group) or keeps state per call hands the layer below a ``Call`` of its own,
whose ``outer`` is the call it serves and whose ``caller`` is the layer (it hears the result in its
``done(call, att)``). Layers nest, so nested retry layers multiply attempts, as in real stacks.

=========== ================================ =========================================
module      stage                            config (``llmsim.config.client``)
=========== ================================ =========================================
leaf        ``Leaf``                         the provider (and its ``CircuitBreaker``)
retry       ``RetryStage``                   ``RetryLayer`` / ``Retry``
route       ``RouteStage``                   ``RouteLayer`` / ``Route``
hedge       ``HedgeStage``                   ``HedgeLayer`` / ``Hedge``
limiter     ``LimiterStage``                 ``LimiterLayer`` / the limiter kinds
timeout     ``TimeoutStage``                 ``TimeoutLayer``
validation  ``ValidationStage``              ``Validation`` (output contract)
=========== ================================ =========================================

The builder is ``llmsim.engine.pipeline.ClientPipeline``.
"""
