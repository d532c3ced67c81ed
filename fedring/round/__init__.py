"""The round, step by step, over stores and key rings (no Prefect).

``fedring.secagg`` is the arithmetic; this package moves its inputs and outputs between
accounts as sealed objects. Each step is one module holding both halves of it, what
the client does and what the host does, and each client half is a function of
(run, round, account, stage) that a flow can call, retry or skip:

1. advertise   ``advertise.py``   (host) ``publish_directory`` once per run;
                                  (client) ``advertise``: round secrets sealed to itself,
                                  public key and Shamir shares (each sealed to its
                                  holder) to its outbox;
                                  (host) ``relay_advertisements``: key list and shares
                                  into the holders' inboxes.
2. broadcast   ``model.py``       (host) the previous global model, sealed to the
                                  participants, into each inbox.
3. contribute  ``contribute.py``  (client) train (``train.py``), quantise, mask with the
                                  neighbours that advertised; y stays sealed in
                                  ``private/``.
4. ring-hop    ``ring.py``        (client) ``ring_hop``: open the partial sum, add y,
                                  seal to the next hop; (host) ``relay_partial``, routed
                                  around failed hops by ``fedring.secagg.ring_route``.
5. reveal      ``reveal.py``      (client) shares of survivors' self masks and of the
                                  dropped accounts' keys, sealed to the host; never
                                  both for one peer.
6. unmask      ``unmask.py``      (host) ring sums + revealed shares -> exact quantised
                                  sum -> mean update -> new global model, sealed.
7. evaluate    ``evaluate.py``    (host) accuracy and loss on the held-out test set.

Also here: ``plan.py`` (the public plan of a round: roster, weights, threshold, graph,
rings), ``party.py`` (a participant's store and keys; the host's views of client
buckets), ``wire.py`` (envelope contexts and codecs both sides share), ``records.py``
(the host's record of how each client stage ended) and ``plain.py`` (the plaintext
baseline round). Object names are built in ``fedring.layout``.

Every output is a sealed envelope whose context names run, round, stage, sender and
recipient: a replayed or mis-routed object fails to open with IntegrityError.
"""
