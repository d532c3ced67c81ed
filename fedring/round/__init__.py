"""The round, step by step, over stores and key rings (no Prefect).

``fedring.secagg`` is the arithmetic; this package moves its inputs and outputs between
accounts as sealed objects. Each step is one module holding both halves of it, what
the client does and what the host does, and each client half is a function of
(run, round, account, stage) that a flow can call, retry or skip:

0. directory   ``advertise.py``   (host, once per run) every account's signed public keys.
1. broadcast   ``model.py``       (host) the previous global model, sealed to the
                                  participants, and its digest signed by the host.
2. advertise   ``advertise.py``   (client) round secrets kept; a signed advertisement
                                  (round key, self-mask commitment, model digest);
                                  (host) relays every advertisement to every advertiser.
3. share keys  ``share_keys.py``  (client) checks the view, seeds graph and rings with
                                  every key, shares its secrets, each share sealed to
                                  its holder and signed; (host) regroups them by holder.
4. contribute  ``contribute.py``  (client) train (``train.py``), quantise, append the
                                  exact statistics, mask with the neighbours that
                                  shared; y stays sealed in ``private/``.
5. ring-hop    ``ring.py``        (client) ``ring_hop``: take the signed partial sum from
                                  an earlier hop, add y, send to the next; (host)
                                  ``relay_partial``, routed by ``fedring.secagg.ring_route``.
6. consistency ``consistency.py`` (client) check the announced survivor set, sign it, one
                                  per round; (host) collects the signatures.
7. reveal      ``reveal.py``      (client) with a majority's signatures over the set it
                                  signed: shares of survivors' self masks and of the
                                  dropped accounts' keys, sealed to the host, signed;
                                  never both for one peer.
8. unmask      ``unmask.py``      (host) ring sums + revealed shares -> exact sum, checked
                                  (commitments, clip bound) -> mean update -> new model.
9. evaluate    ``evaluate.py``    (host) accuracy and loss on the held-out test set.

Also here: ``plan.py`` (the public plan of a round: roster, weights, threshold, and
once seeded, graph and rings), ``party.py`` (a participant's store, keys and pins of
everyone's identity; the host's views of client buckets), ``wire.py`` (envelope
contexts and codecs both sides share) and ``plain.py`` (the plaintext baseline round).
Object names are built in ``fedring.layout``.

Every protocol object is sealed to its recipient and signed by its author, both bound to
run, round, stage and recipient: a replayed, mis-routed or forged object is refused
with an IntegrityError that names what was wrong. Every stage is safe to repeat: what it
draws or computes is kept once (``Party.keep``) and a retry adopts it.
"""
